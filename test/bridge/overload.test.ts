// Overload: the bridge judges a session by what it sent, not by the bridge's own backlog; control frames go
// ahead of data; a datagram that waited over maxQueueDelayMs is dropped and counted, not delivered late.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BridgeMetrics } from '../../src/bridge/metrics.js';
import { ResolveCache } from '../../src/bridge/resolve-cache.js';
import { BridgeSessionEngine } from '../../src/bridge/session-engine.js';
import type { SessionAction, SessionContext, SessionLimits } from '../../src/bridge/session-types.js';
import { BRIDGE_SUBPROTOCOL_V2, encodeBridgeFrame, encodeDataFrame } from '../../src/net/bridge-frame.js';
import type { TransportAddress } from '../../src/net/transport-address.js';
import { UdpSocket } from '../../src/node/udp-socket.js';
import type { Socket } from 'node:net';
import type { RunningBridge } from '../../bridge/server.js';
import { closeUdp, RawClient, startTestBridge, tokenUrl, within } from './helpers.js';

const LIMITS: SessionLimits = {
  maxQueueDelayMs: 5000,
  maxSockets: 2,
  maxPayload: 1200,
  packetsPerSecond: 100,
  bytesPerSecond: 1_000_000,
  idleTimeoutMs: 60_000,
  maxBufferedBytes: 1 << 20,
  maxMalformedFrames: 3,
  errorFramesPerSecond: 1000,
  bindPortRange: [1024, 65535],
  maxStreams: 0,
  streamWindow: 1024,
  connectTimeoutMs: 1000,
  tls: false,
  resolve: false,
  mdns: false,
  maxMdnsNames: 0,
  mdnsHostCandidates: false,
  maxConcurrentLookups: 1,
  lookupsPerSecond: 1,
  resolveTimeoutMs: 1000,
  listen: false,
  maxListeners: 0,
  listenPortRange: undefined,
};

function boundEngine(limits: Partial<SessionLimits>) {
  const metrics = new BridgeMetrics();
  const ctx: SessionContext = {
    limits: { ...LIMITS, ...limits },
    metrics,
    policy: { check: () => 'allowed', checkAnswer: () => 'allowed' },
    resolveCache: new ResolveCache(),
    hostAddresses: () => [],
    carrierBacklog: () => 0,
  };
  const engine = new BridgeSessionEngine(1, 2, ctx, {}, 0);
  engine.handleFrame(encodeBridgeFrame({ type: 'bind', requestId: 1, family: 'IPv4', port: 0 }), 0);
  const bind = engine.pollAction();
  assert.ok(bind?.type === 'bind');
  engine.handleBound(bind.socketId, { address: '0.0.0.0', port: 4000 });
  const sends = () => {
    let n = 0;
    for (let a: SessionAction | undefined = engine.pollAction(); a; a = engine.pollAction()) if (a.type === 'send') n++;
    return n;
  };
  const frame = encodeDataFrame(bind.socketId, { address: '192.0.2.9', port: 9 }, Uint8Array.of(1));
  return { engine, metrics, sends, frame };
}

describe('overload in the session engine (virtual time)', () => {
  it('charges the rate limit at arrival: a backlog the bridge serves at once is no burst of the client', () => {
    // 50 datagrams/s against a limit of 100/s (burst 100), served 3 s late in one go: 150 frames.
    const byArrival = boundEngine({});
    for (let i = 0; i < 150; i++) byArrival.engine.handleFrame(byArrival.frame, 4000, true, 1000 + i * 20);
    assert.equal(byArrival.sends(), 150);
    assert.equal(byArrival.metrics.snapshot().drops['rate-limited'], undefined);
    // The same frames judged when served: what the bucket would say of the bridge's backlog.
    const byService = boundEngine({});
    for (let i = 0; i < 150; i++) byService.engine.handleFrame(byService.frame, 4000);
    assert.equal(byService.sends(), 100, 'served at once, they would overflow the burst');
    // A client that really bursts is still limited.
    const burst = boundEngine({});
    for (let i = 0; i < 150; i++) burst.engine.handleFrame(burst.frame, 4000, true, 3990);
    assert.equal(burst.sends(), 100);
    assert.equal(burst.metrics.snapshot().drops['rate-limited'], 50);
  });

  it('drops a data frame that waited over maxQueueDelayMs, uncharged, and serves control frames whatever they waited', () => {
    const s = boundEngine({ maxQueueDelayMs: 200 });
    s.engine.handleFrame(s.frame, 1000, true, 800); // waited exactly the limit: goes
    s.engine.handleFrame(s.frame, 1000, true, 799); // over it: dropped
    assert.equal(s.sends(), 1);
    assert.equal(s.metrics.snapshot().drops['queue-delay'], 1);
    s.engine.handleFrame(encodeBridgeFrame({ type: 'bind', requestId: 2, family: 'IPv4', port: 0 }), 1000, true, 0);
    assert.equal(s.engine.pollAction()?.type, 'bind');
  });
});

describe('overload through the bridge', () => {
  let bridge: RunningBridge;
  let patient: RunningBridge;
  let sink: UdpSocket;
  let sunk = 0;

  before(async () => {
    bridge = await startTestBridge({ packetsPerSecond: 1_000_000, bytesPerSecond: 0xffffffff, maxQueueDelayMs: 30 });
    // Drops nothing for age: what the control frame overtook is still served, so it can be counted.
    patient = await startTestBridge({ packetsPerSecond: 1_000_000, bytesPerSecond: 0xffffffff, maxQueueDelayMs: 60_000 });
    sink = await UdpSocket.bind({ address: '127.0.0.1', receiveBufferSize: 4 * 1024 * 1024 });
    sink.ondatagram = () => sunk++;
  });

  after(async () => {
    await closeUdp(sink);
    await bridge.close();
    await patient.close();
  });

  async function session(on = bridge): Promise<{ client: RawClient; socketId: number }> {
    const client = new RawClient(tokenUrl(on), { protocols: [BRIDGE_SUBPROTOCOL_V2] });
    await client.frame((f) => f.type === 'hello');
    client.send(encodeBridgeFrame({ type: 'bind', requestId: 1, family: 'IPv4', port: 0 }));
    const bound = await client.frame((f) => f.type === 'bound');
    assert.ok(bound.type === 'bound');
    return { client, socketId: bound.socketId };
  }

  it('answers a control frame sent after a burst of data before the data is served', { timeout: 30_000 }, async () => {
    const { client, socketId } = await session(patient);
    const before = patient.snapshot();
    // The burst and the control frame in one write (~115 KB, within loopback's default 128 KB receive
    // buffer), all in the bridge's kernel buffer before it reads any: the bridge reads them in one turn of
    // its loop, so the data is queued when the control frame comes, whatever the machine's load.
    const N = 2500;
    const frame = encodeDataFrame(socketId, sink.localAddress as TransportAddress, new Uint8Array(32));
    const sunkBefore = sunk;
    const tcp = (client.ws as unknown as { _socket: Socket })._socket;
    tcp.cork();
    for (let i = 0; i < N; i++) client.send(frame);
    // A close of a socket the session does not have: answered (error frame) as soon as it is read.
    client.send(encodeBridgeFrame({ type: 'close', socketId: 999 }));
    tcp.uncork();
    let servedWhenAnswered = -1;
    client.ws.on('message', (data: Buffer) => {
      if (servedWhenAnswered < 0 && data[0] === 0x05) {
        servedWhenAnswered = patient.metrics.snapshot().datagramsOut - before.datagramsOut;
      }
    });
    await client.frame((f) => f.type === 'error' && f.socketId === 999, 10_000);
    // Every data frame served, and the sink has them.
    await within(
      (async () => {
        for (;;) {
          const m = patient.metrics.snapshot();
          if (m.datagramsOut - before.datagramsOut === N && sunk === m.datagramsOut - before.datagramsOut + sunkBefore) return;
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      })(),
      20_000,
      'every data frame served',
    );
    client.close();
    const m = patient.snapshot();
    assert.ok(servedWhenAnswered >= 0 && servedWhenAnswered < N, `the control frame was answered with ${servedWhenAnswered} of ${N} data frames served`);
    assert.deepEqual(m.drops, before.drops, 'nothing dropped');
    assert.equal(m.drops['rate-limited'], undefined, 'the bridge backlog charged nothing to the session');
  });

  it("drops a datagram that waited over maxQueueDelayMs for a slow client's WebSocket, and the count adds up", { timeout: 30_000 }, async () => {
    const { client, socketId } = await session();
    const bound = client.frames.find((f) => f.type === 'bound');
    assert.ok(bound?.type === 'bound' && bound.socketId === socketId);
    let received = 0;
    client.ws.on('message', (data: Buffer) => {
      if (data[0] === 0x00) received++;
    });
    const before = bridge.snapshot();
    const flooder = await UdpSocket.bind({ address: '127.0.0.1' });
    const tcp = (client.ws as unknown as { _socket: Socket })._socket;
    tcp.pause(); // the client stops reading: the TCP buffers fill, then the bridge queues
    let flooded = 0;
    const payload = new Uint8Array(1200);
    await new Promise<void>((resolve) => {
      const timer = setInterval(() => {
        for (let i = 0; i < 20; i++) flooder.send(payload, bound.local);
        flooded += 20;
        if (flooded >= 8000) {
          clearInterval(timer);
          resolve();
        }
      }, 2);
    });
    await new Promise((resolve) => setTimeout(resolve, 200));
    tcp.resume();
    let last = -1;
    await within(
      (async () => {
        while (received !== last) {
          last = received;
          await new Promise((resolve) => setTimeout(resolve, 300));
        }
      })(),
      20_000,
      'the client to read what came',
    );
    const m = bridge.snapshot();
    client.close();
    await closeUdp(flooder);
    const gained = (reason: string) => ((m.drops as Record<string, number>)[reason] ?? 0) - ((before.drops as Record<string, number>)[reason] ?? 0);
    const dropped = ['receive-buffer', 'backpressure', 'queue-delay', 'session-closed'].reduce((a, r) => a + gained(r), 0);
    assert.ok(gained('queue-delay') > 0, `some waited too long: ${JSON.stringify(m.drops)}`);
    assert.equal(flooded - received, dropped, `flooded ${flooded}, received ${received}, drops ${JSON.stringify(m.drops)}`);
  });
});
