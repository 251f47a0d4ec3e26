// The bridge end to end: a real ws server, real UDP sockets, the isomorphic client over `ws` — loopback only.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { RunningBridge } from '../../bridge/server.js';
import { BridgeCloseCode } from '../../bridge/close-codes.js';
import { BridgeError, type BridgeConnection, type BridgeSocket } from '../../src/net/bridge-client.js';
import type { TransportAddress } from '../../src/net/transport-address.js';
import { connectBridge } from '../../src/node/bridge-client.js';
import { startStunServer, type RunningStunServer } from '../../src/node/stun-server.js';
import { UdpSocket } from '../../src/node/udp-socket.js';
import { stunBinding } from '../../src/stun/binding.js';
import { closeUdp, startEchoServer, startTestBridge, tokenUrl, within } from './helpers.js';

/** Resolves with the next `count` datagrams the socket receives. */
function collect(socket: BridgeSocket, count: number, ms = 3000): Promise<{ bytes: Uint8Array; from: TransportAddress }[]> {
  const got: { bytes: Uint8Array; from: TransportAddress }[] = [];
  return within(
    new Promise((resolve) => {
      socket.ondatagram = (bytes, from) => {
        got.push({ bytes: bytes.slice(), from });
        if (got.length === count) resolve(got);
      };
    }),
    ms,
    `${count} datagrams (got ${got.length})`,
  );
}

describe('bridge: datagrams through a WebSocket', () => {
  const logLines: string[] = [];
  let onLogLine: (line: string) => void = () => {};
  let bridge: RunningBridge;
  let stun: RunningStunServer;
  let echo: Awaited<ReturnType<typeof startEchoServer>>;
  let connection: BridgeConnection;

  before(async () => {
    bridge = await startTestBridge({
      logger: (line) => {
        logLines.push(line);
        onLogLine(line);
      },
    });
    stun = await startStunServer({ port: 0, hosts: ['127.0.0.1'] });
    echo = await startEchoServer();
    connection = await connectBridge(tokenUrl(bridge, { user: 'alice' }));
  });

  after(async () => {
    connection?.close();
    await bridge?.close();
    await stun?.close();
    await echo?.close();
  });

  it('says hello with the session limits', () => {
    assert.deepEqual(connection.limits, {
      maxSockets: 8,
      maxPayload: 65507,
      packetsPerSecond: 2000,
      bytesPerSecond: 2_000_000,
      idleTimeoutMs: 60_000,
      maxStreams: 4,
      streamWindow: 262_144,
      maxConcurrentLookups: 4,
      lookupsPerSecond: 10,
      features: 71, // resolve, tcp, tls, connect
    });
  });

  it('runs a STUN Binding through the bridge: the mapped address is the bridge socket', async () => {
    const socket = await connection.bind();
    assert.equal(socket.localAddress.address, '127.0.0.1');
    assert.deepEqual(socket.hostAddresses, ['127.0.0.1']);
    const result = await stunBinding(stun.addresses[0], { socket, timeoutMs: 3000 });
    assert.deepEqual(result.mapped, socket.localAddress);
    assert.deepEqual(result.local, socket.localAddress);
    socket.close();
  });

  it('carries datagrams both ways to a UDP echo server, byte for byte', async () => {
    const socket = await connection.bind({ family: 'IPv4' });
    const sizes = [0, 1, 20, 548, 1200, 1500, 9000, 65507];
    const received = collect(socket, sizes.length);
    for (const [i, size] of sizes.entries()) socket.send(new Uint8Array(size).fill(i + 1), echo.address);
    const got = await received;
    assert.deepEqual(got.map((g) => g.bytes.length).sort((a, b) => a - b), [...sizes].sort((a, b) => a - b));
    for (const g of got) {
      assert.deepEqual(g.from, echo.address);
      assert.ok(g.bytes.every((b) => b === g.bytes[0]));
    }
    socket.close();
  });

  it('delivers datagrams sent to the bridge socket from anywhere (the page can be reached)', async () => {
    const socket = await connection.bind();
    const stranger = await UdpSocket.bind({ address: '127.0.0.1' });
    try {
      const received = collect(socket, 1);
      stranger.send(Uint8Array.of(1, 2, 3), socket.localAddress);
      const [got] = await received;
      assert.deepEqual(got.from, stranger.localAddress);
      assert.deepEqual([...got.bytes], [1, 2, 3]);
    } finally {
      socket.close();
      await closeUdp(stranger);
    }
  });

  it('carries several sockets, IPv4 and IPv6, on one WebSocket', async () => {
    const v4 = await connection.bind({ family: 'IPv4' });
    const v6 = await connection.bind({ family: 'IPv6' });
    const echo6 = await UdpSocket.bind({ address: '::1' });
    echo6.ondatagram = (bytes, from) => echo6.send(bytes.slice(), from);
    try {
      assert.notEqual(v4.id, v6.id);
      assert.equal(v6.localAddress.address, '::1');
      const got4 = collect(v4, 1);
      const got6 = collect(v6, 1);
      v4.send(Uint8Array.of(4), echo.address);
      v6.send(Uint8Array.of(6), echo6.localAddress);
      assert.deepEqual([...(await got4)[0].bytes], [4]);
      const [six] = await got6;
      assert.deepEqual([...six.bytes], [6]);
      assert.deepEqual(six.from, echo6.localAddress);
    } finally {
      v4.close();
      v6.close();
      await closeUdp(echo6);
    }
  });

  it('reports a socket closed by the application with onclose and frees it on the bridge', async () => {
    const socket = await connection.bind();
    const withSocket = bridge.metrics.socketsOpen;
    const closed = new Promise<Error | undefined>((resolve) => (socket.onclose = resolve));
    socket.close();
    assert.equal(await within(closed, 1000, 'onclose'), undefined);
    // The close frame and the bind after it travel in order, so the bridge has closed the socket by the time it answers.
    const probe = await connection.bind();
    assert.equal(bridge.metrics.socketsOpen, withSocket, 'one socket closed, one opened');
    probe.close();
  });

  it('serves Prometheus counters at /metrics', async () => {
    const res = await fetch(`http://127.0.0.1:${bridge.port}/metrics`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain/);
    const text = await res.text();
    assert.match(text, /^icebridge_bridge_sessions_open 1$/m);
    assert.match(text, /^icebridge_bridge_sessions_total 1$/m);
    assert.match(text, /^icebridge_bridge_sockets_total \d+$/m);
    assert.match(text, /^icebridge_bridge_datagrams_total\{direction="out"\} [1-9]\d*$/m);
    assert.match(text, /^icebridge_bridge_datagrams_total\{direction="in"\} [1-9]\d*$/m);
    assert.match(text, /^icebridge_bridge_bytes_total\{direction="out"\} [1-9]\d*$/m);
    assert.match(text, /^# TYPE icebridge_bridge_drops_total counter$/m);
    assert.match(text, /^# TYPE icebridge_bridge_refusals_total counter$/m);
    assert.equal((await fetch(`http://127.0.0.1:${bridge.port}/nothing`)).status, 404);
    assert.equal((await fetch(`http://127.0.0.1:${bridge.port}/`)).status, 426);
  });

  it('logs one JSON line per session open and close', async () => {
    const other = await connectBridge(tokenUrl(bridge, { user: 'bob' }));
    const closedOnBridge = new Promise<void>((resolve) => (onLogLine = (line) => line.includes('"session-close"') && resolve()));
    other.close();
    await within(closedOnBridge, 2000, 'the session-close log line');
    const records = logLines.map((l) => JSON.parse(l) as Record<string, unknown>);
    const open = records.find((r) => r.event === 'session-open' && r.user === 'bob');
    assert.ok(open, logLines.join('\n'));
    const close = records.find((r) => r.event === 'session-close' && r.session === open.session);
    assert.ok(close && close.code === 1000 && typeof close.durationMs === 'number', logLines.join('\n'));
  });
});

describe('bridge: lifetime', () => {
  it('closes an idle session with 4011', async () => {
    const bridge = await startTestBridge({ idleTimeoutMs: 150 });
    try {
      const connection = await connectBridge(tokenUrl(bridge));
      const socket = await connection.bind();
      const closed = new Promise<Error | undefined>((resolve) => (socket.onclose = resolve));
      const reason = await within(closed, 3000, 'the idle close');
      assert.ok(reason instanceof BridgeError && reason.closeCode === BridgeCloseCode.idleTimeout, String(reason));
      assert.equal(bridge.metrics.socketsOpen, 0);
    } finally {
      await bridge.close();
    }
  });

  it('closes its sessions with 1001 when it stops', async () => {
    const bridge = await startTestBridge();
    const connection = await connectBridge(tokenUrl(bridge));
    const closed = new Promise<BridgeError>((resolve) => (connection.onclose = resolve));
    await within(bridge.close(), 3000, 'bridge.close()');
    assert.equal((await within(closed, 1000, 'the close')).closeCode, BridgeCloseCode.goingAway);
  });

  it('attaches to an existing http.Server next to the app and leaves its other routes alone', async () => {
    const app: Server = createServer((req, res) => res.end(`app ${req.url}`));
    await new Promise<void>((resolve) => app.listen(0, '127.0.0.1', resolve));
    const bridge = await startTestBridge({ server: app, path: '/bridge' });
    const stun = await startStunServer({ port: 0, hosts: ['127.0.0.1'] });
    try {
      assert.match(bridge.url, /^ws:\/\/127\.0\.0\.1:\d+\/bridge$/);
      assert.equal(await (await fetch(`http://127.0.0.1:${bridge.port}/hello`)).text(), 'app /hello');
      const connection = await connectBridge(tokenUrl(bridge));
      const socket = await connection.bind();
      const result = await stunBinding(stun.addresses[0], { socket, timeoutMs: 3000 });
      assert.deepEqual(result.mapped, socket.localAddress);
      connection.close();
    } finally {
      await bridge.close();
      await stun.close();
      await new Promise<void>((resolve) => app.close(() => resolve()));
    }
  });
});
