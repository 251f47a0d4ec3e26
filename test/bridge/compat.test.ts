// Protocol versions both ways: the frozen version 1 client (test/bridge/v1/) against today's bridge, a raw
// v1 session's frames, and today's client against a bridge that speaks only version 1. Loopback only.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { WebSocket, WebSocketServer } from 'ws';
import type { RunningBridge } from '../../bridge/server.js';
import { BRIDGE_SUBPROTOCOL_V2, decodeBridgeFrame, encodeBridgeFrame, encodeDataFrame } from '../../src/net/bridge-frame.js';
import { BridgeError } from '../../src/net/bridge-client.js';
import { connectBridge } from '../../src/node/bridge-client.js';
import { BridgeConnection as BridgeConnectionV1, type WebSocketConstructor } from './v1/bridge-client.js';
import * as v1 from './v1/bridge-frame.js';
import { RawClient, startEchoServer, startTestBridge, tokenUrl, within } from './helpers.js';

/** `ws`'s WebSocket as the v1 client used it: one argument, no subprotocol. */
const V1WebSocket = class extends WebSocket {
  constructor(address: string) {
    super(address, { perMessageDeflate: false });
  }
} as unknown as WebSocketConstructor;

describe('a version 1 client against a version 2 bridge', () => {
  let bridge: RunningBridge;
  let echo: Awaited<ReturnType<typeof startEchoServer>>;

  before(async () => {
    bridge = await startTestBridge();
    echo = await startEchoServer();
  });
  after(async () => {
    await bridge?.close();
    await echo?.close();
  });

  it('gets a version 1 hello and binds, sends and receives as before', async () => {
    const connection = await BridgeConnectionV1.connect(tokenUrl(bridge), { WebSocket: V1WebSocket });
    try {
      assert.deepEqual(Object.keys(connection.limits).sort(), ['bytesPerSecond', 'idleTimeoutMs', 'maxPayload', 'maxSockets', 'packetsPerSecond']);
      const socket = await connection.bind();
      const got = within(new Promise<Uint8Array>((resolve) => (socket.ondatagram = (bytes) => resolve(bytes.slice()))), 3000, 'the echo');
      socket.send(Uint8Array.of(1, 2, 3), echo.address);
      assert.deepEqual([...(await got)], [1, 2, 3]);
    } finally {
      connection.close();
    }
  });

  it('is answered in version 1 frames only: v2 frames are malformed, refusals name no destination', async () => {
    const raw = new RawClient(tokenUrl(bridge));
    try {
      await raw.opened;
      await raw.frame((f) => f.type === 'hello' && f.version === 1);
      raw.send(encodeBridgeFrame({ type: 'resolve', requestId: 1, name: 'stun.test', families: ['IPv4'] }));
      const malformed = await raw.frame((f) => f.type === 'error' && f.code === 'malformed-frame');
      assert.ok(malformed.type === 'error' && /version 1 session carries no resolve/.test(malformed.reason), JSON.stringify(malformed));
      raw.send(encodeBridgeFrame({ type: 'bind', requestId: 2, family: 'IPv4', port: 0 }));
      const bound = await raw.frame((f) => f.type === 'bound');
      assert.ok(bound.type === 'bound');
      // The raw client decodes with today's codec; a v1 client must be able to decode it with its own.
      const received: Uint8Array[] = [];
      raw.ws.on('message', (data: Buffer) => received.push(new Uint8Array(data).slice()));
      raw.send(encodeDataFrame(bound.socketId, { address: '169.254.169.254', port: 80 }, Uint8Array.of(1)));
      const denied = await raw.frame((f) => f.type === 'error' && f.code === 'destination-denied');
      assert.ok(denied.type === 'error' && denied.destination === undefined && denied.socketId === bound.socketId);
      const bytes = received.find((b) => b[0] === 0x05);
      assert.ok(bytes, 'the error frame bytes');
      assert.equal(v1.decodeBridgeFrame(bytes).type, 'error');
    } finally {
      raw.close();
    }
  });

  it('a version 2 client gets version 2 from the same bridge', async () => {
    const raw = new RawClient(tokenUrl(bridge), { protocols: [BRIDGE_SUBPROTOCOL_V2] });
    try {
      await raw.opened;
      assert.equal(raw.ws.protocol, BRIDGE_SUBPROTOCOL_V2);
      const hello = await raw.frame((f) => f.type === 'hello');
      assert.ok(hello.type === 'hello' && hello.version === 2 && hello.limits.features === 71); // resolve, tcp, tls, connect
    } finally {
      raw.close();
    }
  });
});

describe('a version 2 client against a version 1 bridge', () => {
  let server: WebSocketServer;
  let url: string;

  before(async () => {
    // What a v1 bridge does: `ws` accepts whatever subprotocol is offered, and the hello says version 1.
    server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise<void>((resolve) => server.once('listening', resolve));
    const a = server.address();
    url = `ws://127.0.0.1:${a !== null && typeof a === 'object' ? a.port : 0}/`;
    server.on('connection', (ws) => {
      ws.send(v1.encodeBridgeFrame({ type: 'hello', version: 1, limits: { maxSockets: 8, maxPayload: 1200, packetsPerSecond: 10, bytesPerSecond: 1000, idleTimeoutMs: 1000 } }));
    });
  });
  after(async () => {
    for (const ws of server.clients) ws.terminate();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('refuses the session with a BridgeError that says to upgrade the bridge', async () => {
    await assert.rejects(
      connectBridge(url),
      (e: unknown) => e instanceof BridgeError && e.code === 'protocol' && /protocol 1/.test(e.reason) && /upgrade the bridge/.test(e.reason),
    );
  });

  it('and the frozen v1 codec agrees the hello it got is a v1 hello', () => {
    const hello = v1.encodeBridgeFrame({ type: 'hello', version: 1, limits: { maxSockets: 1, maxPayload: 2, packetsPerSecond: 3, bytesPerSecond: 4, idleTimeoutMs: 5 } });
    const decoded = decodeBridgeFrame(hello);
    assert.ok(decoded.type === 'hello' && decoded.version === 1 && decoded.limits.maxStreams === undefined);
  });
});
