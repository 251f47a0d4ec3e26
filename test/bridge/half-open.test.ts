// Limits before authentication: TCP connections that never become sessions (half-open: connected, silent, or
// a request never finished) are capped in number, in total and per IP address, and closed after
// headersTimeoutMs; a real session still gets in while they are held. Loopback only: 127.0.0.0/8 gives the
// test several source addresses.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { WebSocket } from 'ws';
import type { RunningBridge } from '../../bridge/server.js';
import { startTestBridge, tokenUrl, within } from './helpers.js';

const PER_IP = 20;
const TOTAL = 50;
const HEADERS_TIMEOUT_MS = 1000;

interface HalfOpen {
  socket: Socket;
  closedAt: number | undefined;
  closed: Promise<void>;
}

function halfOpen(port: number, localAddress: string, send?: string): Promise<HalfOpen> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, localAddress });
    const h: HalfOpen = { socket, closedAt: undefined, closed: new Promise((done) => socket.once('close', () => ((h.closedAt = Date.now()), done()))) };
    socket.on('error', () => {});
    socket.on('data', () => {});
    socket.once('connect', () => {
      if (send) socket.write(send);
      resolve(h);
    });
    socket.once('close', () => reject(new Error('closed before connect')));
  });
}

async function session(bridge: RunningBridge, localAddress: string): Promise<number> {
  const ws = new WebSocket(tokenUrl(bridge), { localAddress, perMessageDeflate: false });
  ws.on('error', () => {});
  // The hello is the first frame of an admitted session.
  const first = await within(new Promise<Buffer>((resolve, reject) => {
    ws.once('message', (data: Buffer) => resolve(data));
    ws.once('close', (code) => reject(new Error(`closed with ${code}`)));
  }), 5000, 'the hello');
  ws.terminate();
  return first[0]!;
}

describe('half-open connections', () => {
  let bridge: RunningBridge;
  const held: HalfOpen[] = [];

  before(async () => {
    bridge = await startTestBridge({
      maxPendingConnections: TOTAL,
      maxPendingConnectionsPerIp: PER_IP,
      headersTimeoutMs: HEADERS_TIMEOUT_MS,
      requestTimeoutMs: 2 * HEADERS_TIMEOUT_MS,
    });
  });

  after(async () => {
    for (const h of held) h.socket.destroy();
    await bridge.close();
  });

  it('caps them per IP and in total, lets a real session in meanwhile, and closes them after headersTimeoutMs', { timeout: 30_000 }, async () => {
    const start = Date.now();
    // 30 silent ones from .1: 20 held, 10 destroyed at once; a real session from .2 still gets in.
    for (let i = 0; i < 30; i++) held.push(await halfOpen(bridge.port, '127.0.0.1'));
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(held.filter((h) => h.closedAt !== undefined).length, 10, 'the ones over the per-IP cap were closed at once');
    assert.equal(bridge.snapshot().refusals['too-many-pending-per-ip'], 10);
    assert.equal(await session(bridge, '127.0.0.2'), 0x01, 'a hello');

    // Then 2 × 20 from .3 and .4 (half of them with an unfinished request): the total cap of 50 takes 30 of them.
    for (const ip of ['127.0.0.3', '127.0.0.4']) {
      for (let i = 0; i < PER_IP; i++) held.push(await halfOpen(bridge.port, ip, i % 2 ? 'GET / HTTP/1.1\r\nHost: x\r\n' : undefined));
    }
    await new Promise((resolve) => setTimeout(resolve, 300));
    const refusals = bridge.snapshot().refusals;
    assert.equal(refusals['too-many-pending'], 10, JSON.stringify(refusals));
    assert.equal(held.filter((h) => h.closedAt !== undefined).length, 20, 'the refused ones were closed at once, the others held');

    // … and the held ones are closed by the headers timeout (checked every quarter of it), not held ~90 s.
    await within(Promise.all(held.map((h) => h.closed)), 4 * HEADERS_TIMEOUT_MS + 2000, 'the half-open connections to be closed');
    const last = Math.max(...held.map((h) => h.closedAt!)) - start;
    assert.ok(last < 2 * HEADERS_TIMEOUT_MS + 2000, `all closed ${last} ms after they opened`);
    // And the address that was capped gets a session now.
    assert.equal(await session(bridge, '127.0.0.1'), 0x01);
  });
});
