// What the bridge refuses, and how: close codes at connect, error frames after. After each refusal a session
// opened beforehand must still be served — nothing a client sends takes the bridge down.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import fc from 'fast-check';
import type { RunningBridge } from '../../bridge/server.js';
import { BridgeCloseCode } from '../../bridge/close-codes.js';
import { BridgeError, type BridgeConnection, type BridgeSocket } from '../../src/net/bridge-client.js';
import { BridgeFrameType, encodeBridgeFrame, encodeDataFrame, type BridgeFrame } from '../../src/net/bridge-frame.js';
import { connectBridge } from '../../src/node/bridge-client.js';
import { RawClient, startEchoServer, startTestBridge, tokenUrl, within } from './helpers.js';

const ORIGIN = 'https://app.example';

async function refusedWith(url: string, code: number, origin?: string): Promise<string> {
  const client = new RawClient(url, { origin });
  const closed = await within(client.closed, 3000, `close ${code}`);
  assert.equal(closed.code, code, `closed with ${closed.code} ${closed.reason}`);
  assert.equal(client.frames.length, 0, 'a refused client gets no hello');
  return closed.reason;
}

const isError = (code: string) => (f: BridgeFrame) => f.type === 'error' && f.code === code;

describe('bridge refusals', () => {
  let bridge: RunningBridge;
  let echo: Awaited<ReturnType<typeof startEchoServer>>;
  let healthy: BridgeConnection;
  let healthySocket: BridgeSocket;
  let rounds = 0;
  const logLines: { event?: string; code?: number }[] = [];

  /** The session opened first still echoes. */
  async function assertStillServing(): Promise<void> {
    const tag = ++rounds;
    const echoed = new Promise<number>((resolve) => (healthySocket.ondatagram = (bytes) => resolve(bytes[0])));
    healthySocket.send(Uint8Array.of(tag), echo.address);
    assert.equal(await within(echoed, 2000, 'the healthy session echo'), tag);
  }

  before(async () => {
    // Loopback is refused as by default, except 127.0.0.1, which the healthy session needs for its echo.
    bridge = await startTestBridge({
      allowLoopback: false,
      allow: ['127.0.0.1/32'],
      allowOrigins: [ORIGIN],
      maxSockets: 2,
      maxMalformedFrames: 3,
      packetsPerSecond: 20,
      errorFramesPerSecond: 1000,
      logger: (line) => logLines.push(JSON.parse(line) as { event?: string; code?: number }),
    });
    echo = await startEchoServer();
    healthy = await connectBridge(tokenUrl(bridge), { origin: ORIGIN });
    healthySocket = await healthy.bind();
    await assertStillServing();
  });

  after(async () => {
    healthy?.close();
    await bridge?.close();
    await echo?.close();
  });

  it('refuses a connection without a token with 4001', async () => {
    assert.match(await refusedWith(bridge.url, BridgeCloseCode.unauthorized), /no token/);
    await assertStillServing();
  });

  it('refuses an expired token with 4002', async () => {
    const url = tokenUrl(bridge, { ttlSeconds: 60, nowSeconds: Date.now() / 1000 - 3600 });
    assert.match(await refusedWith(url, BridgeCloseCode.credentialExpired), /expired/);
    await assertStillServing();
  });

  it('refuses a wrong signature and a malformed token with 4001', async () => {
    assert.match(await refusedWith(tokenUrl(bridge, { secret: 'not-the-secret' }), BridgeCloseCode.unauthorized), /bad signature/);
    assert.match(await refusedWith(`${bridge.url}?username=tomorrow:eve&credential=abc`, BridgeCloseCode.unauthorized), /malformed/);
    assert.match(await refusedWith(`${bridge.url}?username=${Date.now()}:eve`, BridgeCloseCode.unauthorized), /both/);
    await assertStillServing();
  });

  it('refuses a disallowed Origin with 4003, and reports it to the client as a BridgeError', async () => {
    await refusedWith(tokenUrl(bridge), BridgeCloseCode.originNotAllowed, 'https://evil.example');
    await assert.rejects(connectBridge(tokenUrl(bridge), { origin: 'https://evil.example' }), (e: unknown) => e instanceof BridgeError && e.closeCode === 4003);
    // Non-browser clients send no Origin; allowed by default.
    (await connectBridge(tokenUrl(bridge))).close();
    await assertStillServing();
  });

  it('refuses loopback and link-local (cloud metadata) destinations with an error frame; the session stays open', async () => {
    const connection = await connectBridge(tokenUrl(bridge));
    const v4 = await connection.bind({ family: 'IPv4' });
    const v6 = await connection.bind({ family: 'IPv6' });
    const errors: BridgeError[] = [];
    const refusedBefore = bridge.metrics.snapshot().drops['destination-denied'] ?? 0;
    const denied: [BridgeSocket, string][] = [
      [v4, '127.0.0.2'],
      [v4, '169.254.169.254'],
      [v4, '0.0.0.0'],
      [v4, '224.0.0.1'],
      [v4, '255.255.255.255'],
      [v6, '::1'],
      [v6, 'fe80::1'],
      [v6, '::ffff:127.0.0.2'],
    ];
    const allReported = new Promise<void>((resolve) => {
      connection.onerror = (e) => {
        errors.push(e);
        if (errors.length === denied.length) resolve();
      };
    });
    for (const [socket, address] of denied) socket.send(Uint8Array.of(1), { address, port: 80 });
    await within(allReported, 2000, 'an error frame per refused datagram');
    assert.ok(errors.every((e) => e.code === 'destination-denied'), errors.join('\n'));
    assert.equal((bridge.metrics.snapshot().drops['destination-denied'] ?? 0) - refusedBefore, denied.length);
    // Still open: an allowed destination works on the same socket.
    const echoed = new Promise<void>((resolve) => (v4.ondatagram = () => resolve()));
    v4.send(Uint8Array.of(2), echo.address);
    await within(echoed, 2000, 'an echo after the refusals');
    connection.close();
    await assertStillServing();
  });

  it('refuses a third socket over the cap of 2 with socket-limit', async () => {
    const connection = await connectBridge(tokenUrl(bridge));
    await connection.bind();
    await connection.bind();
    await assert.rejects(connection.bind(), (e: unknown) => e instanceof BridgeError && e.code === 'socket-limit');
    assert.ok((bridge.metrics.snapshot().refusals['socket-limit'] ?? 0) >= 1);
    connection.close();
    await assertStillServing();
  });

  it('drops datagrams over packetsPerSecond with rate-limited error frames', async () => {
    const connection = await connectBridge(tokenUrl(bridge));
    const socket = await connection.bind();
    let echoed = 0;
    socket.ondatagram = () => echoed++;
    const limited = new Promise<void>((resolve) => (socket.onerror = (e) => e.code === 'rate-limited' && resolve()));
    const echoBefore = echo.received;
    for (let i = 0; i < 100; i++) socket.send(Uint8Array.of(i), echo.address);
    await within(limited, 2000, 'a rate-limited error frame');
    // A bind is answered after every earlier frame was handled: the counters are final.
    (await connection.bind()).close();
    const passed = echo.received - echoBefore;
    assert.ok(passed >= 20 && passed <= 25, `${passed} datagrams passed a 20/s bucket`);
    assert.ok((bridge.metrics.snapshot().drops['rate-limited'] ?? 0) >= 75);
    assert.ok(echoed <= passed);
    connection.close();
    await assertStillServing();
  });

  it('answers a malformed frame with an error frame and closes after more than maxMalformedFrames with 4010', async () => {
    const client = new RawClient(tokenUrl(bridge));
    await client.frame((f) => f.type === 'hello');
    client.send(Uint8Array.of(0xff));
    const error = await client.frame(isError('malformed-frame'));
    assert.ok(error.type === 'error' && /UNKNOWN_TYPE/.test(error.reason), JSON.stringify(error));
    client.send('a text message is not a frame');
    client.send(encodeBridgeFrame({ type: 'bound', requestId: 1, socketId: 1, local: { address: '1.2.3.4', port: 1 }, hostAddresses: [] }));
    client.send(Uint8Array.of(0x00, 0x00));
    const closed = await within(client.closed, 3000, 'the close after malformed frames');
    assert.equal(closed.code, BridgeCloseCode.malformedFrames);
    assert.equal(client.frames.filter(isError('malformed-frame')).length, 3);
    await assertStillServing();
  });

  it('closes a session sending a frame over the size limit with 4009, and one over maxMessageBytes with 1009', async () => {
    const a = new RawClient(tokenUrl(bridge));
    await a.frame((f) => f.type === 'hello');
    a.send(encodeDataFrame(1, { address: '127.0.0.1', port: 9 }, new Uint8Array(70_000)));
    assert.equal((await within(a.closed, 3000, 'close 4009')).code, BridgeCloseCode.frameTooLarge);
    const b = new RawClient(tokenUrl(bridge));
    await b.frame((f) => f.type === 'hello');
    b.send(new Uint8Array(300_000));
    assert.equal((await within(b.closed, 3000, 'close 1009')).code, BridgeCloseCode.messageTooBig);
    // The session log says what the client was told (it used to say 1006: ws's 'close' gives the peer's code).
    const deadline = Date.now() + 3000;
    while (!logLines.some((l) => l.event === 'session-close' && l.code === BridgeCloseCode.messageTooBig) && Date.now() < deadline) await sleep(20);
    const closes = logLines.filter((l) => l.event === 'session-close').map((l) => l.code);
    assert.ok(closes.includes(BridgeCloseCode.messageTooBig), `session-close codes logged: ${closes.join(', ')}`);
    assert.ok(!closes.includes(1006), `no 1006 logged: ${closes.join(', ')}`);
    await assertStillServing();
  });

  it('counts refusals by reason in /metrics', async () => {
    const text = await (await fetch(`http://127.0.0.1:${bridge.port}/metrics`)).text();
    for (const reason of ['unauthorized', 'credential-expired', 'origin-not-allowed', 'socket-limit']) {
      assert.match(text, new RegExp(`^icebridge_bridge_refusals_total\\{reason="${reason}"\\} [1-9]`, 'm'), reason);
    }
    for (const reason of ['destination-denied', 'rate-limited']) {
      assert.match(text, new RegExp(`^icebridge_bridge_drops_total\\{reason="${reason}"\\} [1-9]`, 'm'), reason);
    }
    assert.match(text, /^icebridge_bridge_malformed_frames_total [1-9]/m);
  });
});

describe('bridge refusals under the default policy and a session cap', () => {
  let bridge: RunningBridge;
  let echo: Awaited<ReturnType<typeof startEchoServer>>;

  before(async () => {
    bridge = await startTestBridge({ allowLoopback: false, maxSessions: 1 });
    echo = await startEchoServer();
  });

  after(async () => {
    await bridge?.close();
    await echo?.close();
  });

  it('refuses 127.0.0.1 without allowLoopback, refuses a second session with 4008, and keeps the first', async () => {
    const first = await connectBridge(tokenUrl(bridge));
    const socket = await first.bind();
    const denied = new Promise<BridgeError>((resolve) => (socket.onerror = resolve));
    socket.send(Uint8Array.of(1), echo.address);
    assert.equal((await within(denied, 2000, 'destination-denied')).code, 'destination-denied');
    assert.equal(echo.received, 0);
    assert.match(await refusedWith(tokenUrl(bridge), BridgeCloseCode.tooManySessions), /too many sessions/);
    assert.equal(first.closed, false);
    // The first session still answers.
    (await first.bind()).close();
    first.close();
  });

  it('needs a secret unless allowAnonymous is said explicitly', async () => {
    await assert.rejects(startTestBridge({ secret: undefined }), /allowAnonymous/);
    const anonymous = await startTestBridge({ secret: undefined, allowAnonymous: true });
    try {
      (await connectBridge(anonymous.url)).close();
    } finally {
      await anonymous.close();
    }
  });
});

describe('bridge under random frames', () => {
  it('survives 2000 random frames in one session (no binds among them, so nothing leaves the host); it and another stay served', async () => {
    const bridge = await startTestBridge({ maxMalformedFrames: 1_000_000 });
    const echo = await startEchoServer();
    try {
      const other = await connectBridge(tokenUrl(bridge));
      const otherSocket = await other.bind();
      const client = new RawClient(tokenUrl(bridge));
      await client.frame((f) => f.type === 'hello');
      const frames = fc.sample(
        fc.oneof(
          fc.uint8Array({ maxLength: 40 }),
          fc.tuple(fc.integer({ min: 0, max: 6 }), fc.uint8Array({ maxLength: 40 })).map(([t, rest]) => Uint8Array.of(t, ...rest)),
        ).filter((b) => b[0] !== BridgeFrameType.bind),
        2000,
      );
      for (const bytes of frames) client.send(bytes);
      // Frames are handled in order: the bound answer (never rate-limited, unlike error frames) comes after
      // all the random ones. The socket it opens is never sent to.
      client.send(encodeBridgeFrame({ type: 'bind', requestId: 4242, family: 'IPv4', port: 0 }));
      await client.frame((f) => f.type === 'bound' && f.requestId === 4242, 5000);
      assert.equal(client.ws.readyState, client.ws.OPEN);
      assert.ok(bridge.metrics.malformedFrames > 100);
      const echoed = new Promise<void>((resolve) => (otherSocket.ondatagram = () => resolve()));
      otherSocket.send(Uint8Array.of(1), echo.address);
      await within(echoed, 2000, 'the other session echo');
      client.close();
      other.close();
    } finally {
      await bridge.close();
      await echo.close();
    }
  });
});
