// The signalling relay over real WebSockets on 127.0.0.1: rooms of two, verbatim forwarding, the relay's own
// control frames, and every refusal and limit with its close code.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { WebSocket } from 'ws';
import { attachSignalingRelay, SignalingCloseCode, type RunningSignalingRelay, type SignalingRelayOptions } from '../../src/node/signaling-relay.js';

const WAIT_MS = 5000;

interface Relay {
  url: string;
  relay: RunningSignalingRelay;
  close(): Promise<void>;
}

async function startRelay(options: SignalingRelayOptions = {}): Promise<Relay> {
  const server: Server = createServer((_, res) => res.writeHead(404).end());
  const relay = attachSignalingRelay(server, options);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `ws://127.0.0.1:${port}${options.path ?? '/signal'}`,
    relay,
    close: async () => {
      await relay.close();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

/** A peer: its text frames queue up in order; next() waits (bounded) for the next one. */
function peer(url: string) {
  const ws = new WebSocket(url);
  const frames: string[] = [];
  const waiters: ((text: string) => void)[] = [];
  ws.on('message', (data, isBinary) => {
    assert.equal(isBinary, false, 'the relay sends text frames only');
    const text = data.toString();
    const waiter = waiters.shift();
    if (waiter) waiter(text);
    else frames.push(text);
  });
  ws.on('error', () => {});
  const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  const opened = new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('close', () => reject(new Error('closed before opening')));
  });
  opened.catch(() => {});
  const next = () =>
    within(
      new Promise<string>((resolve) => {
        const queued = frames.shift();
        if (queued !== undefined) resolve(queued);
        else waiters.push(resolve);
      }),
      'the next frame',
    );
  return { ws, next, opened, closed: () => within(closed, 'the close'), pending: () => frames.length };
}

async function within<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([promise, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no ${what} within ${WAIT_MS} ms`)), WAIT_MS)))]);
  } finally {
    clearTimeout(timer);
  }
}

/** Waits (bounded) for the server side to catch up with what a client already saw. */
async function eventually(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + WAIT_MS;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`not ${what} within ${WAIT_MS} ms`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

/** Two peers in `room`, both welcomed, the first told of the second. */
async function pair(url: string, room: string) {
  const a = peer(`${url}?room=${room}`);
  assert.deepEqual(JSON.parse(await a.next()), { type: 'welcome', peers: 0 });
  const b = peer(`${url}?room=${room}`);
  assert.deepEqual(JSON.parse(await b.next()), { type: 'welcome', peers: 1 });
  assert.deepEqual(JSON.parse(await a.next()), { type: 'peer-joined' });
  return { a, b };
}

describe('signalling relay', () => {
  let r: Relay;
  before(async () => {
    r = await startRelay();
  });
  after(async () => {
    await r.close();
  });

  it('forwards every text frame verbatim to the other peer, both ways', async () => {
    const { a, b } = await pair(r.url, 'forward');
    const line = 'a=candidate:1 1 udp 2130706431 127.0.0.1 50000 typ host';
    a.ws.send(line);
    assert.equal(await b.next(), line);
    const json = JSON.stringify({ type: 'params', usernameFragment: 'uf', password: 'pw'.repeat(11), note: 'ünïcödé ✓' });
    b.ws.send(json);
    assert.equal(await a.next(), json);
    // Even text that is neither JSON nor SDP: the relay does not look inside.
    a.ws.send('{"type":"peer-left"} not json');
    assert.equal(await b.next(), '{"type":"peer-left"} not json');
    assert.ok(r.relay.counters.messagesRelayed >= 3);
    a.ws.close();
    b.ws.close();
    await Promise.all([a.closed(), b.closed()]);
  });

  it('refuses a third peer with 4008 "room full" and leaves the two alone', async () => {
    const { a, b } = await pair(r.url, 'full');
    const c = peer(`${r.url}?room=full`);
    const closed = await c.closed();
    assert.equal(closed.code, SignalingCloseCode.roomFull);
    assert.equal(closed.code, 4008);
    assert.equal(closed.reason, 'room full');
    a.ws.send('still here');
    assert.equal(await b.next(), 'still here');
    assert.equal(a.pending(), 0, 'the first peer heard nothing of the refused one');
    a.ws.close();
    b.ws.close();
    await Promise.all([a.closed(), b.closed()]);
  });

  it('refuses a missing or bad room name with 4000', async () => {
    for (const query of ['', '?room=', '?room=has%20space', '?room=a/b', `?room=${'x'.repeat(65)}`, '?room=%E2%9C%93', '?other=1']) {
      const p = peer(`${r.url}${query}`);
      const closed = await p.closed();
      assert.equal(closed.code, 4000, `room query ${JSON.stringify(query)}`);
      assert.equal(closed.reason, 'bad room name');
    }
    const ok = peer(`${r.url}?room=${'A-z_9'.repeat(12)}1234`);
    assert.deepEqual(JSON.parse(await ok.next()), { type: 'welcome', peers: 0 }, 'a 64-character name of every allowed kind is fine');
    ok.ws.close();
    await ok.closed();
  });

  it('closes a peer that sends a frame over 16 KiB with 1009; 16 KiB exactly is forwarded', async () => {
    const { a, b } = await pair(r.url, 'size');
    const largest = 'x'.repeat(16 * 1024);
    a.ws.send(largest);
    assert.equal(await b.next(), largest);
    a.ws.send('y'.repeat(16 * 1024 + 1));
    assert.equal((await a.closed()).code, 1009);
    assert.deepEqual(JSON.parse(await b.next()), { type: 'peer-left' });
    assert.equal(r.relay.counters.closures['too-large'], 1);
    b.ws.close();
    await b.closed();
  });

  it('tells the other peer "peer-left", lets a new peer take the place, and frees an empty room', async () => {
    const { a, b } = await pair(r.url, 'leave');
    b.ws.close();
    await b.closed();
    assert.deepEqual(JSON.parse(await a.next()), { type: 'peer-left' });
    const c = peer(`${r.url}?room=leave`);
    assert.deepEqual(JSON.parse(await c.next()), { type: 'welcome', peers: 1 });
    assert.deepEqual(JSON.parse(await a.next()), { type: 'peer-joined' });
    a.ws.close();
    await a.closed();
    assert.deepEqual(JSON.parse(await c.next()), { type: 'peer-left' });
    c.ws.close();
    await c.closed();
    await eventually(() => r.relay.roomCount === 0 && r.relay.peerCount === 0, 'the room freed');
  });

  it('drops (and counts) frames sent while alone in the room', async () => {
    const before = r.relay.counters.droppedNoPeer;
    const a = peer(`${r.url}?room=alone`);
    await a.next();
    a.ws.send('anyone?');
    const b = peer(`${r.url}?room=alone`);
    await b.next();
    assert.deepEqual(JSON.parse(await a.next()), { type: 'peer-joined' });
    b.ws.send('ping');
    assert.equal(await a.next(), 'ping');
    assert.equal(b.pending(), 0, 'the early frame was not queued for the late peer');
    assert.equal(r.relay.counters.droppedNoPeer, before + 1);
    a.ws.close();
    b.ws.close();
    await Promise.all([a.closed(), b.closed()]);
  });

  it('closes a peer that sends a binary frame with 1003', async () => {
    const a = peer(`${r.url}?room=binary`);
    await a.next();
    a.ws.send(new Uint8Array([1, 2, 3]));
    assert.equal((await a.closed()).code, 1003);
  });

  it('reports its counters as Prometheus text', async () => {
    await eventually(() => r.relay.roomCount === 0, 'every room freed');
    const text = r.relay.metricsText();
    assert.match(text, /^# TYPE icebridge_signaling_messages_relayed_total counter$/m);
    assert.match(text, /^icebridge_signaling_refusals_total\{reason="room-full"\} 1$/m);
    assert.match(text, /^icebridge_signaling_refusals_total\{reason="bad-room"\} 7$/m);
    assert.match(text, /^icebridge_signaling_rooms_open 0$/m);
  });
});

describe('signalling relay limits', () => {
  it('closes a peer over its message rate with 1008', async () => {
    const r = await startRelay({ messagesPerSecond: 1, messageBurst: 3 });
    try {
      const { a, b } = await pair(r.url, 'rate');
      for (let i = 0; i < 3; i++) a.ws.send(`m${i}`);
      for (let i = 0; i < 3; i++) assert.equal(await b.next(), `m${i}`);
      a.ws.send('one too many');
      const closed = await a.closed();
      assert.equal(closed.code, 1008);
      assert.equal(closed.reason, 'message rate exceeded');
      assert.deepEqual(JSON.parse(await b.next()), { type: 'peer-left' });
      b.ws.close();
      await b.closed();
    } finally {
      await r.close();
    }
  });

  it('refuses a room beyond maxRooms with 4013, and closes idle peers with 4011', async () => {
    const r = await startRelay({ maxRooms: 1, idleTimeoutMs: 200 });
    try {
      const a = peer(`${r.url}?room=one`);
      await a.next();
      const other = peer(`${r.url}?room=two`);
      assert.equal((await other.closed()).code, 4013);
      // Nothing sent: the idle timer closes it and frees the room.
      assert.equal((await a.closed()).code, 4011);
      assert.equal(r.relay.roomCount, 0);
      const b = peer(`${r.url}?room=two`);
      assert.deepEqual(JSON.parse(await b.next()), { type: 'welcome', peers: 0 }, 'the freed room count lets a new room open');
      b.ws.close();
      await b.closed();
    } finally {
      await r.close();
    }
  });

  it('close() ends every peer with 1001 and takes no more upgrades', async () => {
    const r = await startRelay({ path: '/rooms' });
    const { a, b } = await pair(r.url, 'bye');
    const closing = r.close();
    assert.equal((await a.closed()).code, 1001);
    assert.equal((await b.closed()).code, 1001);
    await closing;
  });

  it('rejects bad options at attach time', () => {
    const server = createServer();
    assert.throws(() => attachSignalingRelay(server, { maxMessageBytes: 0 }), RangeError);
    assert.throws(() => attachSignalingRelay(server, { messagesPerSecond: 1.5 }), RangeError);
    assert.throws(() => attachSignalingRelay(server, { path: 'signal' }), TypeError);
    // An allowOrigins that is no list ('….map is not a function'), or holds no origin (it never matched).
    assert.throws(() => attachSignalingRelay(server, { allowOrigins: 'https://app.example' as unknown as string[] }), { name: 'TypeError', message: /^signalling option allowOrigins must be an array of strings/ });
    assert.throws(() => attachSignalingRelay(server, { allowOrigins: ['app.example'] }), { name: 'TypeError', message: /^signalling option allowOrigins: "app\.example" is not an origin/ });
  });
});
