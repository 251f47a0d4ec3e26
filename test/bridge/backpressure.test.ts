// Back-pressure: a client that stops reading its WebSocket while its UDP socket is flooded must cost the bridge
// a bounded amount of memory; the excess is dropped and counted. Bridge, client and flooder share this process,
// so the heap measured is the bridge's (plus a constant for the test).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import type { Socket } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { WebSocket } from 'ws';
import type { RunningBridge } from '../../bridge/server.js';
import { decodeBridgeFrame, encodeBridgeFrame } from '../../src/net/bridge-frame.js';
import type { TransportAddress } from '../../src/net/transport-address.js';
import { startTestBridge, tokenUrl, within } from './helpers.js';

const DATAGRAMS = 200_000;
const PAYLOAD = 1000;
const BATCH = 32;
const GROWTH_LIMIT = 32 * 1024 * 1024;

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

function memory(): number {
  gc();
  gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.external;
}

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('bridge back-pressure', () => {
  let bridge: RunningBridge;
  let client: WebSocket;
  let flooder: UdpSocket;

  before(async () => {
    bridge = await startTestBridge();
    flooder = createSocket('udp4');
    await new Promise<void>((resolve) => flooder.bind(0, '127.0.0.1', resolve));
  });

  after(async () => {
    client?.terminate();
    flooder?.close();
    await bridge?.close();
  });

  it(`keeps memory bounded while a paused client's socket takes ${DATAGRAMS} datagrams, and counts the drops`, { timeout: 30_000 }, async () => {
    client = new WebSocket(tokenUrl(bridge), { perMessageDeflate: false });
    client.on('error', () => {});
    // Hello first, then the bound frame for our bind: the socket to flood.
    const target = await within(
      new Promise<TransportAddress>((resolve) => {
        client.on('message', (data: Buffer) => {
          const frame = decodeBridgeFrame(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
          if (frame.type === 'hello') client.send(encodeBridgeFrame({ type: 'bind', requestId: 1, family: 'IPv4', port: 0 }));
          if (frame.type === 'bound') resolve(frame.local);
        });
      }),
      3000,
      'hello and bound',
    );
    // Stop reading: the kernel buffers fill, then the bridge's WebSocket queue grows.
    (client as unknown as { _socket: Socket })._socket.pause();

    const baseline = memory();
    let peak = 0;
    const payload = new Uint8Array(PAYLOAD).fill(7);
    for (let sent = 0; sent < DATAGRAMS; sent += BATCH) {
      // Small batches with a turn of the event loop between them: the bridge reads about as many per turn,
      // so most datagrams reach it rather than overflowing its receive buffer in the kernel.
      for (let i = 0; i < BATCH; i++) flooder.send(payload, target.port, target.address);
      await turn();
      if (sent % (BATCH * 200) === 0) {
        const m = process.memoryUsage();
        peak = Math.max(peak, m.heapUsed + m.external - baseline);
      }
    }
    // Let the bridge drain its UDP receive queue: stop when its counters hold still for a while.
    let last = -1;
    for (let still = 0, turns = 0; still < 20 && turns < 5000; turns++) {
      const m = bridge.metrics.snapshot();
      const seen = m.datagramsIn + (m.drops.backpressure ?? 0);
      still = seen === last ? still + 1 : 0;
      last = seen;
      await turn();
    }
    const growth = memory() - baseline;
    const m = bridge.metrics.snapshot();
    const dropped = m.drops.backpressure ?? 0;
    const mib = (n: number) => (n / 1048576).toFixed(1);
    console.log(
      `back-pressure: ${m.datagramsIn} datagrams forwarded, ${dropped} dropped, ${DATAGRAMS - m.datagramsIn - dropped} lost in the kernel; ` +
        `memory growth ${mib(growth)} MiB after gc (peak ${mib(peak)} MiB without gc); ${mib(m.bytesIn)} MiB forwarded into kernel and WebSocket buffers`,
    );
    assert.ok(dropped > DATAGRAMS / 10, `${dropped} back-pressure drops`);
    assert.ok(growth < GROWTH_LIMIT, `memory grew ${mib(growth)} MiB`);
    // Forwarded bytes are bounded by the queue limit plus what the kernel buffers hold.
    assert.ok(m.datagramsIn * PAYLOAD < 64 * 1048576, `${m.datagramsIn} datagrams forwarded to a client that reads nothing`);
  });
});

