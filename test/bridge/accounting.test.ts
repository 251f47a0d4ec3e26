// Accounting that adds up: every datagram a client sends and does not get back is in a drop counter of the
// bridge, the kernel's receive-buffer drops on the bridge's UDP sockets included. Bridge, client and echo
// server share this process, so the bridge cannot read its socket while the echo answers a burst: with a
// small receiveBufferBytes the kernel drops some of the answers, and /metrics must say how many.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { RunningBridge } from '../../bridge/server.js';
import { forEachUdpRow, procSocketKey, UdpDropCounter } from '../../bridge/udp-drops.js';
import { BRIDGE_SUBPROTOCOL_V2, encodeBridgeFrame, encodeDataFrame } from '../../src/net/bridge-frame.js';
import type { TransportAddress } from '../../src/net/transport-address.js';
import { UdpSocket } from '../../src/node/udp-socket.js';
import { closeUdp, RawClient, startTestBridge, tokenUrl, within } from './helpers.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const sum = (record: Partial<Record<string, number>>) => Object.values(record).reduce<number>((a, b) => a + (b ?? 0), 0);

/** Waits until `count()` has not changed for `quietMs` (bounded by `maxMs`). */
async function settled(count: () => number, quietMs = 400, maxMs = 10_000): Promise<void> {
  const deadline = Date.now() + maxMs;
  let last = -1;
  let since = Date.now();
  while (Date.now() < deadline) {
    const now = count();
    if (now !== last) {
      last = now;
      since = Date.now();
    } else if (Date.now() - since >= quietMs) return;
    await sleep(50);
  }
  throw new Error('the counts did not settle');
}

async function bindSocket(client: RawClient): Promise<{ socketId: number; local: TransportAddress }> {
  await client.frame((f) => f.type === 'hello');
  client.send(encodeBridgeFrame({ type: 'bind', requestId: 1, family: 'IPv4', port: 0 }));
  const bound = await client.frame((f) => f.type === 'bound');
  assert.equal(bound.type, 'bound');
  return { socketId: bound.socketId, local: bound.local };
}

describe('the /proc/net/udp reader', () => {
  it('names sockets as the kernel prints them and reads the drops column', () => {
    const key = procSocketKey('127.0.0.1', 8080);
    assert.match(key, /^(0100007F|7F000001):1F90$/);
    const table = [
      '   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops',
      `   7: ${key} 00000000:0000 07 00000000:00000000 00:00000000 00000000  1000        0 4242 2 0000000000000000 17`,
      '   8: 00000000:14E9 00000000:0000 07 00000000:00000000 00:00000000 00000000   108        0 20297 2 0000000000000000 0',
    ].join('\n');
    const rows: [string, number][] = [];
    forEachUdpRow(table, (k, d) => rows.push([k, d]));
    assert.deepEqual(rows, [
      [key, 17],
      ['00000000:14E9', 0],
    ]);
    assert.equal(procSocketKey('::1', 1).length, 32 + 5);
  });

  it('counts only the increase of watched sockets, and reads a socket once more before it closes', () => {
    let drops = 5;
    const counted: number[] = [];
    const deferred: (() => void)[] = [];
    const key = procSocketKey('127.0.0.1', 4000);
    const table = () => `header\n 0: ${key} 00000000:0000 07 0:0 0:0 0 0 0 1 2 0 ${drops}\n 1: 0100007F:0FA1 00000000:0000 07 0:0 0:0 0 0 0 1 2 0 99\n`;
    const counter = new UdpDropCounter((n) => counted.push(n), (family) => (family === 'IPv4' ? table() : ''), (run) => deferred.push(run));
    counter.watch('IPv4', '127.0.0.1', 4000);
    drops = 5; // a fresh socket's counter starts at 0: these 5 are its own
    counter.refresh();
    drops = 8;
    counter.refresh();
    let closed = false;
    drops = 10;
    counter.release('IPv4', key, () => (closed = true));
    assert.equal(closed, false, 'the close waits for the last read');
    deferred.shift()!();
    assert.equal(closed, true);
    drops = 50;
    counter.refresh();
    assert.deepEqual(counted, [5, 3, 2]);
  });
});

describe('bridge accounting', { skip: new UdpDropCounter(() => {}).available ? false : 'no /proc/net/udp here' }, () => {
  let bridge: RunningBridge;
  let echo: UdpSocket;
  let echoed = 0;
  const echoDrops = { count: 0 };
  let echoCounter: UdpDropCounter;

  before(async () => {
    bridge = await startTestBridge({
      // A few datagrams fill it: the echo's answers to a burst overflow it while the bridge is not reading.
      receiveBufferBytes: 4096,
      packetsPerSecond: 400,
      maxPayload: 1200,
      deny: ['127.0.0.2/32'],
    });
    // The echo server is the test's, not the bridge's: a big buffer, and its own kernel drops counted too.
    echo = await UdpSocket.bind({ address: '127.0.0.1', receiveBufferSize: 4 * 1024 * 1024 });
    echoCounter = new UdpDropCounter((n) => (echoDrops.count += n));
    echoCounter.watch('IPv4', echo.localAddress.address, echo.localAddress.port);
    echo.ondatagram = (bytes, from) => {
      echoed++;
      echo.send(bytes.slice(), from);
    };
  });

  after(async () => {
    await closeUdp(echo);
    await bridge.close();
  });

  it('sent − received = the sum of the drop counters, kernel drops included', { timeout: 30_000 }, async () => {
    const client = new RawClient(tokenUrl(bridge), { protocols: [BRIDGE_SUBPROTOCOL_V2] });
    const { socketId } = await bindSocket(client);
    let received = 0;
    client.ws.on('message', (data: Buffer) => {
      if (data[0] === 0x00) received++;
    });

    const payload = new Uint8Array(1000).fill(7);
    let sent = 0;
    const send = (id: number, to: TransportAddress, bytes: Uint8Array) => {
      client.send(encodeDataFrame(id, to, bytes));
      sent++;
    };
    // Each reason at least once, then a burst to the echo over the session's rate.
    for (let i = 0; i < 10; i++) send(socketId, { address: '127.0.0.2', port: echo.localAddress.port }, payload); // destination-denied
    for (let i = 0; i < 10; i++) send(socketId + 100, echo.localAddress, payload); // unknown-socket
    for (let i = 0; i < 10; i++) send(socketId, echo.localAddress, new Uint8Array(1201)); // payload-too-large
    for (let i = 0; i < 900; i++) send(socketId, echo.localAddress, payload); // ~400 go (burst), the rest rate-limited

    await settled(() => received + echoed);
    echoCounter.refresh();
    const m = bridge.snapshot();
    const drops = m.drops;
    const text = bridge.metricsText();
    client.close();

    assert.equal(drops['destination-denied'], 10);
    assert.equal(drops['unknown-socket'], 10);
    assert.equal(drops['payload-too-large'], 10);
    assert.ok((drops['rate-limited'] ?? 0) > 0, 'the burst went over the rate');
    assert.ok((drops['receive-buffer'] ?? 0) > 0, `the kernel dropped answers on the 4 KiB buffer: ${JSON.stringify(drops)}`);
    assert.match(text, new RegExp(`icebridge_bridge_drops_total\\{reason="receive-buffer"\\} ${drops['receive-buffer']}`));
    assert.equal(m.datagramsIn, received, 'every datagram the bridge read reached the client');
    assert.equal(m.datagramsOut, echoed + echoDrops.count, 'every datagram the bridge sent reached the echo (or its own drop count)');
    assert.equal(sent - received, sum(drops) + echoDrops.count, `sent ${sent}, received ${received}, drops ${JSON.stringify(drops)}, echo's own ${echoDrops.count}`);
  });

  it('counts the kernel drops of a socket that closed since the last scrape', { timeout: 30_000 }, async () => {
    const before = bridge.snapshot().drops['receive-buffer'] ?? 0;
    const client = new RawClient(tokenUrl(bridge), { protocols: [BRIDGE_SUBPROTOCOL_V2] });
    const { socketId, local } = await bindSocket(client);
    let received = 0;
    client.ws.on('message', (data: Buffer) => {
      if (data[0] === 0x00) received++;
    });
    const flooder = await UdpSocket.bind({ address: '127.0.0.1' });
    // One synchronous burst: the bridge (this thread) reads none of it until the loop turns.
    for (let i = 0; i < 200; i++) flooder.send(new Uint8Array(1000), local);
    await settled(() => received);
    client.send(encodeBridgeFrame({ type: 'close', socketId }));
    await within(
      (async () => {
        while (bridge.metrics.socketsOpen > 0) await sleep(20);
      })(),
      5000,
      'the socket to close',
    );
    await sleep(50); // the batched last read runs in the next turn
    const after = bridge.metrics.snapshot().drops['receive-buffer'] ?? 0; // no refresh: what the close read
    client.close();
    await closeUdp(flooder);
    assert.ok(received > 0 && received < 200, `some got through, some not: ${received}`);
    assert.equal(after - before, 200 - received);
  });
});
