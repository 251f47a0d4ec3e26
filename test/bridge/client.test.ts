// The isomorphic bridge client against a scripted fake bridge (a bare ws server on 127.0.0.1): what it does
// with a bad hello, silence, unanswered binds, stray and malformed frames, and a bridge that goes away.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { WebSocketServer, type WebSocket } from 'ws';
import { BridgeError } from '../../src/net/bridge-client.js';
import { decodeBridgeFrame, encodeBridgeFrame, encodeDataFrame, type BridgeFrame } from '../../src/net/bridge-frame.js';
import { connectBridge } from '../../src/node/bridge-client.js';
import { within } from './helpers.js';

const LIMITS = {
  maxSockets: 2,
  maxPayload: 1200,
  packetsPerSecond: 100,
  bytesPerSecond: 100_000,
  idleTimeoutMs: 1000,
  maxStreams: 1,
  streamWindow: 4096,
  maxConcurrentLookups: 1,
  lookupsPerSecond: 1,
  features: 7,
};
const hello = () => encodeBridgeFrame({ type: 'hello', version: 2, limits: LIMITS });

describe('bridge client against a scripted bridge', () => {
  let server: WebSocketServer;
  let url: string;
  /** What the fake bridge does with each new connection. */
  let script: (ws: WebSocket, received: BridgeFrame[]) => void = () => {};

  before(async () => {
    server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise<void>((resolve) => server.once('listening', resolve));
    const a = server.address();
    url = `ws://127.0.0.1:${a !== null && typeof a === 'object' ? a.port : 0}/`;
    server.on('connection', (ws) => {
      const received: BridgeFrame[] = [];
      ws.on('message', (data: Buffer) => received.push(decodeBridgeFrame(new Uint8Array(data).slice())));
      script(ws, received);
    });
  });

  after(async () => {
    for (const ws of server.clients) ws.terminate();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('rejects a hello of another protocol version with a protocol error', async () => {
    script = (ws) => ws.send(Uint8Array.of(0x01, 0x03, ...new Uint8Array(16)));
    await assert.rejects(connectBridge(url), (e: unknown) => e instanceof BridgeError && e.code === 'protocol' && /VERSION/.test(e.reason));
  });

  it('gives up on a bridge that never says hello', async () => {
    script = () => {};
    await assert.rejects(connectBridge(url, { connectTimeoutMs: 100 }), (e: unknown) => e instanceof BridgeError && e.code === 'timeout');
  });

  it('reports a refusal with its close code and reason', async () => {
    script = (ws) => ws.close(4008, 'too many sessions');
    await assert.rejects(connectBridge(url), (e: unknown) => e instanceof BridgeError && e.closeCode === 4008 && e.reason === 'too many sessions');
  });

  it('times out an unanswered bind, and gives back a socket bound after the timeout', async () => {
    let peer!: WebSocket;
    let frames!: BridgeFrame[];
    script = (ws, received) => {
      peer = ws;
      frames = received;
      ws.send(hello());
    };
    const connection = await connectBridge(url, { requestTimeoutMs: 50 });
    assert.deepEqual(connection.limits, LIMITS);
    await assert.rejects(connection.bind(), (e: unknown) => e instanceof BridgeError && e.code === 'timeout');
    const bind = frames.find((f) => f.type === 'bind');
    assert.ok(bind?.type === 'bind' && bind.family === 'IPv4' && bind.port === 0);
    const closeFrame = new Promise<void>((resolve) => peer.on('message', () => frames.some((f) => f.type === 'close') && resolve()));
    peer.send(encodeBridgeFrame({ type: 'bound', requestId: bind.requestId, socketId: 9, local: { address: '127.0.0.1', port: 5000 }, hostAddresses: [] }));
    await within(closeFrame, 2000, 'the close frame for the late socket');
    assert.deepEqual(frames.at(-1), { type: 'close', socketId: 9 });
    connection.close();
  });

  it('delivers data, drops what it cannot send, counts malformed frames, and closes sockets when the bridge goes', async () => {
    let peer!: WebSocket;
    let frames!: BridgeFrame[];
    script = (ws, received) => {
      peer = ws;
      frames = received;
      ws.send(hello());
      ws.on('message', () => {
        const last = received.at(-1);
        if (last?.type === 'bind') {
          ws.send(encodeBridgeFrame({ type: 'bound', requestId: last.requestId, socketId: 3, local: { address: '0.0.0.0', port: 4000 }, hostAddresses: ['192.0.2.7'] }));
        }
      });
    };
    const connection = await connectBridge(url);
    const socket = await connection.bind();
    assert.deepEqual(socket.localAddress, { address: '0.0.0.0', port: 4000 });
    assert.deepEqual(socket.hostAddresses, ['192.0.2.7']);

    const got = new Promise<[number[], string]>((resolve) => (socket.ondatagram = (bytes, from) => resolve([[...bytes], `${from.address}:${from.port}`])));
    peer.send(Uint8Array.of(0xee)); // malformed
    peer.send(encodeDataFrame(77, { address: '192.0.2.1', port: 1 }, Uint8Array.of(0))); // unknown socket: ignored
    peer.send(encodeDataFrame(3, { address: '2001:db8::1', port: 3478 }, Uint8Array.of(1, 2)));
    assert.deepEqual(await within(got, 2000, 'a datagram'), [[1, 2], '2001:db8::1:3478']);
    assert.equal(connection.malformedFrames, 1);

    socket.send(new Uint8Array(1201), { address: '192.0.2.1', port: 1 }); // over the bridge's maxPayload
    socket.send(Uint8Array.of(1), { address: 'not-an-ip', port: 1 });
    assert.equal(connection.droppedSends, 2);
    const sent = new Promise<void>((resolve) => peer.on('message', () => frames.at(-1)?.type === 'data' && resolve()));
    socket.send(Uint8Array.of(5), { address: '192.0.2.1', port: 9 });
    await within(sent, 2000, 'the data frame');
    assert.deepEqual(frames.at(-1), { type: 'data', socketId: 3, peer: { address: '192.0.2.1', port: 9 }, payload: Uint8Array.of(5) });

    const closed = new Promise<Error | undefined>((resolve) => (socket.onclose = resolve));
    peer.close(1001, 'bridge shutting down');
    const reason = await within(closed, 2000, 'onclose');
    assert.ok(reason instanceof BridgeError && reason.closeCode === 1001, String(reason));
    assert.equal(connection.closed, true);
    await assert.rejects(connection.bind(), (e: unknown) => e instanceof BridgeError && e.closeCode === 1001);
  });
});
