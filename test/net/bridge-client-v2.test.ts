// The isomorphic bridge client, protocol v2, against a fake bridge in this file: a bare ws server on
// 127.0.0.1 that speaks the frames by hand with the codec. Covers the version handshake, resolve, TCP/TLS
// streams with credit-based flow control, STUN/TURN framing over a stream, and refusals naming a destination.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { BridgeError, type BridgeConnection, type BridgeStream } from '../../src/net/bridge-client.js';
import {
  BRIDGE_SUBPROTOCOL_V2,
  BridgeFeature,
  decodeBridgeFrame,
  encodeBridgeFrame,
  type BridgeFrame,
  type BridgeLimits,
  type ConnectFrame,
} from '../../src/net/bridge-frame.js';
import { DestinationUnreachableError } from '../../src/net/datagram-socket.js';
import { encodeChannelData } from '../../src/turn/channel-data.js';
import { connectBridge, type NodeBridgeConnectOptions } from '../../src/node/bridge-client.js';
import { StreamSocket } from '../../src/node/stream-socket.js';

const V2_LIMITS: Required<BridgeLimits> = {
  maxSockets: 4,
  maxPayload: 1200,
  packetsPerSecond: 100,
  bytesPerSecond: 100_000,
  idleTimeoutMs: 30_000,
  maxStreams: 4,
  streamWindow: 65_536,
  maxConcurrentLookups: 8,
  lookupsPerSecond: 20,
  features: BridgeFeature.resolve | BridgeFeature.tcp | BridgeFeature.tls,
};
const LOCAL = { address: '192.0.2.1', port: 40_000 };
const SERVER = { address: '198.51.100.7', port: 3478 };

type FrameOf<T extends BridgeFrame['type']> = Extract<BridgeFrame, { type: T }>;

function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no ${what} within ${ms} ms`)), ms);
    }),
  ]);
}

const isBridgeError = (code: string, pattern?: RegExp) => (e: unknown) =>
  e instanceof BridgeError && e.code === code && (pattern === undefined || pattern.test(e.reason));

/** A STUN Binding request header with no attributes (RFC 8489 §5): 20 bytes, self-delimiting on a stream. */
function stunMessage(id: number): Uint8Array {
  const bytes = new Uint8Array(20);
  bytes[1] = 0x01; // Binding request
  bytes.set([0x21, 0x12, 0xa4, 0x42], 4); // magic cookie
  bytes[19] = id;
  return bytes;
}

/** The fake bridge's end of one session: every frame the client sent, and ways to wait for the next. */
class Peer {
  readonly frames: BridgeFrame[] = [];
  private readonly taken = new Set<BridgeFrame>();
  private readonly waiters = new Set<() => void>();

  constructor(
    readonly ws: WebSocket,
    readonly offered: string | undefined,
  ) {
    ws.on('message', (data: Buffer) => {
      this.frames.push(decodeBridgeFrame(new Uint8Array(data)));
      for (const wake of [...this.waiters]) wake();
    });
  }

  send(frame: BridgeFrame): void {
    this.ws.send(encodeBridgeFrame(frame));
  }

  /** The first frame of `type` (matching `match`) not taken before. */
  take<T extends BridgeFrame['type']>(type: T, match: (frame: FrameOf<T>) => boolean = () => true): Promise<FrameOf<T>> {
    const find = () => this.frames.find((f): f is FrameOf<T> => f.type === type && !this.taken.has(f) && match(f as FrameOf<T>));
    return within(
      new Promise<FrameOf<T>>((resolve) => {
        const check = () => {
          const frame = find();
          if (!frame) return;
          this.waiters.delete(check);
          this.taken.add(frame);
          resolve(frame);
        };
        this.waiters.add(check);
        check();
      }),
      2000,
      `${type} frame from the client`,
    );
  }

  /** Resolves when `condition` holds over the frames received. */
  until(condition: () => boolean, what: string): Promise<void> {
    return within(
      new Promise<void>((resolve) => {
        const check = () => {
          if (!condition()) return;
          this.waiters.delete(check);
          resolve();
        };
        this.waiters.add(check);
        check();
      }),
      2000,
      what,
    );
  }

  /** Every byte the client sent on a stream so far. */
  streamBytes(streamId: number): number[] {
    return this.frames.flatMap((f) => (f.type === 'stream' && f.streamId === streamId ? [...f.payload] : []));
  }

  count(type: BridgeFrame['type']): number {
    return this.frames.filter((f) => f.type === type).length;
  }
}

describe('bridge client, protocol v2', () => {
  let server: WebSocketServer;
  let url: string;
  let onPeer: (peer: Peer) => void = () => {};
  let barriers = 0;

  before(async () => {
    server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise<void>((resolve) => server.once('listening', resolve));
    const a = server.address();
    url = `ws://127.0.0.1:${a !== null && typeof a === 'object' ? a.port : 0}/`;
    server.on('connection', (ws, request) => onPeer(new Peer(ws, request.headers['sec-websocket-protocol'])));
  });

  after(async () => {
    for (const ws of server.clients) ws.terminate();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  /** A connection to the fake bridge, which says a v2 hello with `limits`. */
  async function session(options: NodeBridgeConnectOptions = {}, limits: Required<BridgeLimits> = V2_LIMITS): Promise<{ connection: BridgeConnection; peer: Peer }> {
    let peer: Peer | undefined;
    onPeer = (p) => {
      peer = p;
      p.send({ type: 'hello', version: 2, limits });
    };
    const connection = await connectBridge(url, options);
    assert.ok(peer);
    return { connection, peer };
  }

  /**
   * Waits until the fake bridge has every frame the client sent before now: the client sends a resolve, and
   * WebSocket messages arrive in order.
   */
  async function barrier(connection: BridgeConnection, peer: Peer): Promise<void> {
    const name = `barrier-${++barriers}.test`;
    const answered = connection.resolve(name);
    const request = await peer.take('resolve', (f) => f.name === name);
    peer.send({ type: 'resolved', requestId: request.requestId, addresses: [] });
    await answered;
  }

  /** A stream the fake bridge accepted with `window` bytes of credit for the client. */
  async function openStream(connection: BridgeConnection, peer: Peer, window: number, streamId = 5): Promise<{ stream: BridgeStream; connect: ConnectFrame }> {
    const opening = connection.connect({ address: SERVER.address, port: SERVER.port });
    const connect = await peer.take('connect');
    peer.send({ type: 'connected', requestId: connect.requestId, streamId, local: LOCAL, remote: connect.remote, window });
    return { stream: await within(opening, 2000, 'connected stream'), connect };
  }

  describe('version', () => {
    it('offers icebridge.v2 and accepts a v2 hello, exposing its limits', async () => {
      const { connection, peer } = await session();
      assert.equal(peer.offered, BRIDGE_SUBPROTOCOL_V2);
      assert.deepEqual(connection.limits, V2_LIMITS);
      connection.close();
    });

    it('refuses a v1 bridge with a protocol error that says to upgrade it', async () => {
      onPeer = (p) => p.send({ type: 'hello', version: 1, limits: { maxSockets: 2, maxPayload: 1200, packetsPerSecond: 100, bytesPerSecond: 100_000, idleTimeoutMs: 1000 } });
      await assert.rejects(connectBridge(url), isBridgeError('protocol', /speaks protocol 1 and this client needs 2.*upgrade the bridge/));
    });

    it('refuses options out of range before connecting', async () => {
      await assert.rejects(connectBridge(url, { streamReceiveWindow: 0 }), RangeError);
      await assert.rejects(connectBridge(url, { maxStreamBufferedBytes: -1 }), RangeError);
    });
  });

  describe('resolve', () => {
    it('resolves a name with ttls, picks a family, shares concurrent lookups, and answers IP literals itself', async () => {
      const { connection, peer } = await session();
      const first = connection.resolve('stun.example.com');
      const second = connection.resolve('STUN.example.com.');
      const request = await peer.take('resolve');
      assert.deepEqual(request.families, ['IPv4', 'IPv6']);
      peer.send({ type: 'resolved', requestId: request.requestId, addresses: [{ address: '2001:db8::5', ttl: 60 }, { address: '192.0.2.5', ttl: 30 }] });
      assert.deepEqual(await first, [{ address: '2001:db8::5', ttl: 60 }, { address: '192.0.2.5', ttl: 30 }]);
      assert.deepEqual(await second, await first);
      assert.equal(peer.count('resolve'), 1, 'one request for both lookups');

      const v4 = connection.resolveHost('turn.example.com', 'IPv4');
      const aRequest = await peer.take('resolve');
      assert.deepEqual(aRequest.families, ['IPv4']);
      peer.send({ type: 'resolved', requestId: aRequest.requestId, addresses: [{ address: '192.0.2.9', ttl: 5 }] });
      assert.equal(await v4, '192.0.2.9');

      assert.deepEqual(await connection.resolve('192.0.2.1'), [{ address: '192.0.2.1', ttl: 0xffffffff }]);
      const resolveHost = connection.resolveHost; // bound: the gatherer takes it as `resolve`
      assert.equal(await resolveHost('2001:db8::1'), '2001:db8::1');
      await assert.rejects(connection.resolveHost('192.0.2.1', 'IPv6'), isBridgeError('name-not-found'));
      await assert.rejects(connection.resolve('not a name!'), TypeError);
      await assert.rejects(connection.resolve('x.test', { families: [] }), TypeError);
      await barrier(connection, peer);
      assert.equal(peer.count('resolve'), 3, 'literals and bad names send nothing');
      connection.close();
    });

    for (const code of ['name-not-found', 'resolve-timeout', 'destination-denied', 'rate-limited', 'resolve-failed', 'not-supported']) {
      it(`rejects with the bridge's ${code}`, async () => {
        const { connection, peer } = await session();
        const errors: BridgeError[] = [];
        connection.onerror = (e) => errors.push(e);
        const lookup = connection.resolve('nowhere.example');
        const request = await peer.take('resolve');
        peer.send({ type: 'error', requestId: request.requestId, code, reason: `${code} for nowhere.example` });
        await assert.rejects(lookup, isBridgeError(code, /nowhere\.example/));
        assert.deepEqual(errors, [], 'an answered request is not an informational error');
        connection.close();
      });
    }

    it('times out an unanswered lookup, and refuses early when the bridge resolves no names', async () => {
      const { connection } = await session({ requestTimeoutMs: 50 });
      await assert.rejects(connection.resolve('silent.example'), isBridgeError('timeout', /resolve/));
      connection.close();
      const bare = await session({}, { ...V2_LIMITS, features: BridgeFeature.tcp });
      await assert.rejects(bare.connection.resolve('x.example'), isBridgeError('not-supported'));
      assert.equal(bare.peer.count('resolve'), 0);
      bare.connection.close();
    });
  });

  describe('streams', () => {
    it('never sends beyond the credit, queues the rest, reports back-pressure and drains', async () => {
      const { connection, peer } = await session({ maxStreamBufferedBytes: 50 });
      const { stream, connect } = await openStream(connection, peer, 10);
      assert.deepEqual(connect.remote, SERVER);
      assert.equal(connect.tls, false);
      assert.equal(connect.window, 262_144, 'the default receive window');
      assert.deepEqual(stream.localAddress, LOCAL);
      assert.deepEqual(stream.remoteAddress, SERVER);

      const bytes = Uint8Array.from({ length: 100 }, (_, i) => i);
      assert.equal(stream.write(bytes), false, '90 bytes queued is over maxStreamBufferedBytes 50');
      bytes.fill(0xee); // the caller may reuse its buffer
      assert.equal(stream.bufferedAmount, 90);
      await barrier(connection, peer);
      assert.equal(peer.streamBytes(5).length, 10, 'exactly the granted 10 bytes');

      const drained = new Promise<void>((resolve) => (stream.ondrain = resolve));
      peer.send({ type: 'window', streamId: 5, increment: 50 });
      await within(drained, 2000, 'ondrain');
      assert.equal(stream.bufferedAmount, 40);
      await barrier(connection, peer);
      assert.equal(peer.streamBytes(5).length, 60);

      peer.send({ type: 'window', streamId: 5, increment: 1000 });
      await peer.until(() => peer.streamBytes(5).length === 100, 'all 100 bytes');
      assert.deepEqual(peer.streamBytes(5), Array.from({ length: 100 }, (_, i) => i));
      assert.equal(stream.write(Uint8Array.of(1, 2, 3)), true, 'within credit: sent at once');
      await peer.until(() => peer.streamBytes(5).length === 103, 'three more bytes');
      assert.throws(() => stream.write('text' as unknown as Uint8Array), TypeError);
      connection.close();
    });

    it('splits writes into frames of at most maxPayload bytes', async () => {
      const { connection, peer } = await session({}, { ...V2_LIMITS, maxPayload: 100 });
      const { stream } = await openStream(connection, peer, 1000);
      stream.write(new Uint8Array(250));
      await peer.until(() => peer.streamBytes(5).length === 250, '250 bytes');
      assert.deepEqual(
        peer.frames.flatMap((f) => (f.type === 'stream' ? [f.payload.length] : [])),
        [100, 100, 50],
      );
      connection.close();
    });

    it('grants credit back once half the receive window is consumed, not per chunk, and closes a bridge that overruns it', async () => {
      const { connection, peer } = await session({ streamReceiveWindow: 1000 });
      const { stream, connect } = await openStream(connection, peer, 10);
      assert.equal(connect.window, 1000);
      const received: number[] = [];
      let chunks = 0;
      const nine = new Promise<void>((resolve) => {
        stream.ondata = (bytes) => {
          received.push(...bytes);
          if (++chunks === 9) resolve();
        };
      });
      for (let i = 0; i < 9; i++) peer.send({ type: 'stream', streamId: 5, payload: new Uint8Array(100).fill(i) });
      await within(nine, 2000, 'nine chunks');
      assert.equal(received.length, 900);
      await barrier(connection, peer);
      const windows = peer.frames.filter((f): f is FrameOf<'window'> => f.type === 'window');
      assert.deepEqual(windows, [{ type: 'window', streamId: 5, increment: 500 }], 'one grant after 500 bytes');

      // Credit now: 1000 − 900 + 500 = 600. Sending 601 is a violation.
      const closed = new Promise<Error | undefined>((resolve) => (stream.onclose = resolve));
      peer.send({ type: 'stream', streamId: 5, payload: new Uint8Array(601) });
      assert.ok(isBridgeError('flow-control')(await within(closed, 2000, 'onclose')));
      assert.deepEqual(await peer.take('close'), { type: 'close', socketId: 5 });
      assert.equal(stream.write(Uint8Array.of(1)), false, 'a no-op on a closed stream');
      connection.close();
    });

    it('half-closes each way: the client ends, the server goes on; a clean close reports no error', async () => {
      const { connection, peer } = await session();
      const { stream } = await openStream(connection, peer, 100);
      stream.write(Uint8Array.of(1, 2));
      stream.end();
      stream.end(); // idempotent
      assert.equal(stream.writable, false);
      assert.throws(() => stream.write(Uint8Array.of(3)), TypeError);
      await peer.take('end');
      const data = new Promise<number[]>((resolve) => (stream.ondata = (b) => resolve([...b])));
      peer.send({ type: 'stream', streamId: 5, payload: Uint8Array.of(9, 8) });
      assert.deepEqual(await within(data, 2000, 'data after the client ended'), [9, 8]);
      const ended = new Promise<void>((resolve) => (stream.onend = resolve));
      peer.send({ type: 'end', streamId: 5 });
      await within(ended, 2000, 'onend');
      const closed = new Promise<Error | undefined>((resolve) => (stream.onclose = resolve));
      peer.send({ type: 'close', socketId: 5 });
      assert.equal(await within(closed, 2000, 'onclose'), undefined);
      assert.deepEqual(peer.streamBytes(5), [1, 2]);
      connection.close();
    });

    it('half-closes the other way: the server ends first, the client writes on, and end waits for queued bytes', async () => {
      const { connection, peer } = await session();
      const { stream } = await openStream(connection, peer, 3);
      const ended = new Promise<void>((resolve) => (stream.onend = resolve));
      peer.send({ type: 'end', streamId: 5 });
      await within(ended, 2000, 'onend');
      stream.write(Uint8Array.of(1, 2, 3, 4, 5));
      stream.end();
      await barrier(connection, peer);
      assert.deepEqual(peer.streamBytes(5), [1, 2, 3]);
      assert.equal(peer.count('end'), 0, 'end waits for the queued bytes');
      peer.send({ type: 'window', streamId: 5, increment: 10 });
      await peer.take('end');
      assert.deepEqual(peer.streamBytes(5), [1, 2, 3, 4, 5]);
      const last = peer.frames.filter((f) => ('streamId' in f && f.streamId === 5) || (f.type === 'close' && f.socketId === 5)).at(-1);
      assert.deepEqual(last, { type: 'end', streamId: 5 }, 'end after the bytes');
      connection.close();
    });

    it('closes from either side; an error frame on the stream becomes the close reason', async () => {
      const { connection, peer } = await session();
      const { stream } = await openStream(connection, peer, 100, 5);
      let reported: Error | undefined | 'none' = 'none';
      stream.onclose = (reason) => (reported = reason);
      stream.close();
      assert.equal(reported, 'none', 'onclose comes after close() returns');
      await Promise.resolve();
      assert.equal(reported, undefined);
      assert.deepEqual(await peer.take('close'), { type: 'close', socketId: 5 });
      assert.equal(stream.write(Uint8Array.of(1)), false);
      stream.end();
      stream.close();

      const second = (await openStream(connection, peer, 100, 6)).stream;
      const abrupt = new Promise<Error | undefined>((resolve) => (second.onclose = resolve));
      peer.send({ type: 'close', socketId: 6 });
      assert.ok(isBridgeError('stream-closed')(await within(abrupt, 2000, 'onclose')));

      const third = (await openStream(connection, peer, 100, 7)).stream;
      const errors: BridgeError[] = [];
      connection.onerror = (e) => errors.push(e);
      const failed = new Promise<Error | undefined>((resolve) => (third.onclose = resolve));
      peer.send({ type: 'error', socketId: 7, code: 'stream-error', reason: 'ECONNRESET' });
      peer.send({ type: 'close', socketId: 7 });
      assert.ok(isBridgeError('stream-error', /ECONNRESET/)(await within(failed, 2000, 'onclose')));
      assert.equal(errors.length, 1);

      const fourth = (await openStream(connection, peer, 100, 8)).stream;
      const gone = new Promise<Error | undefined>((resolve) => (fourth.onclose = resolve));
      peer.ws.close(1001, 'bridge going away');
      assert.ok(isBridgeError('closed')(await within(gone, 2000, 'onclose')));
    });

    it('rejects connects with the bridge code, refuses unsupported ones early, resolves names, and gives back a late stream', async () => {
      const { connection, peer } = await session({ requestTimeoutMs: 100 });
      for (const code of ['destination-denied', 'invalid-destination', 'stream-limit', 'connect-failed', 'connect-timeout', 'tls-failed', 'not-supported']) {
        const opening = connection.connect({ address: SERVER.address, port: SERVER.port, tls: code === 'tls-failed' });
        const connect = await peer.take('connect');
        peer.send({ type: 'error', requestId: connect.requestId, code, reason: `${code}: because` });
        await assert.rejects(opening, isBridgeError(code, /because/));
      }
      await assert.rejects(connection.connect({ address: SERVER.address, port: 0 }), TypeError);
      await assert.rejects(connection.connect({ address: SERVER.address, port: 1, serverName: 'bad name' }), TypeError);

      const byName = connection.connect({ address: 'turn.example.com', port: 5349, tls: true });
      const lookup = await peer.take('resolve');
      peer.send({ type: 'resolved', requestId: lookup.requestId, addresses: [{ address: '192.0.2.44', ttl: 60 }] });
      const connect = await peer.take('connect');
      assert.deepEqual([connect.remote, connect.tls, connect.serverName], [{ address: '192.0.2.44', port: 5349 }, true, 'turn.example.com']);
      peer.send({ type: 'connected', requestId: connect.requestId, streamId: 9, local: LOCAL, remote: connect.remote, window: 10 });
      (await byName).close();
      await peer.take('close', (f) => f.socketId === 9);

      const literal = connection.connect({ address: SERVER.address, port: 443, tls: true, serverName: '198.51.100.7' });
      const literalConnect = await peer.take('connect');
      assert.equal(literalConnect.serverName, '', 'no SNI for an address');
      await assert.rejects(literal, isBridgeError('timeout'));
      peer.send({ type: 'connected', requestId: literalConnect.requestId, streamId: 11, local: LOCAL, remote: literalConnect.remote, window: 10 });
      assert.deepEqual(await peer.take('close', (f) => f.socketId === 11), { type: 'close', socketId: 11 });
      connection.close();

      const plain = await session({}, { ...V2_LIMITS, features: BridgeFeature.tcp | BridgeFeature.resolve });
      await assert.rejects(plain.connection.connect({ address: SERVER.address, port: 443, tls: true }), isBridgeError('not-supported', /TLS/));
      const none = await session({}, { ...V2_LIMITS, features: BridgeFeature.resolve });
      await assert.rejects(none.connection.connect({ address: SERVER.address, port: 80 }), isBridgeError('not-supported', /TCP/));
      assert.equal(plain.peer.count('connect') + none.peer.count('connect'), 0);
      plain.connection.close();
      none.connection.close();
    });
  });

  describe('STUN and TURN over a bridge stream', () => {
    it('frames messages split across stream frames into datagrams, and pads ChannelData it sends (RFC 8656 §12.5)', async () => {
      const { connection, peer } = await session();
      const openStreamSocket = connection.openStreamSocket; // bound: the gatherer takes it as is
      const opening = openStreamSocket(SERVER, 'tcp', 'turn.example.com');
      const connect = await peer.take('connect');
      assert.deepEqual([connect.tls, connect.serverName], [false, '']);
      peer.send({ type: 'connected', requestId: connect.requestId, streamId: 5, local: LOCAL, remote: SERVER, window: 1000 });
      const socket = await within(opening, 2000, 'the stream socket');
      assert.equal(socket.reliable, true);
      assert.deepEqual(socket.localAddress, LOCAL);

      const datagrams: Array<[number[], string]> = [];
      const three = new Promise<void>((resolve) => {
        socket.ondatagram = (bytes, from) => {
          datagrams.push([[...bytes], `${from.address}:${from.port}`]);
          if (datagrams.length === 3) resolve();
        };
      });
      // Two STUN messages and a 5-byte ChannelData (padded to 12 on the stream), cut at awkward places.
      const channelData = encodeChannelData(0x4001, Uint8Array.of(1, 2, 3, 4, 5));
      const wire = Uint8Array.from([...stunMessage(1), ...stunMessage(2), ...channelData, 0, 0, 0]);
      for (const [from, to] of [[0, 7], [7, 30], [30, wire.length]]) peer.send({ type: 'stream', streamId: 5, payload: wire.subarray(from, to) });
      await within(three, 2000, 'three datagrams');
      const at = `${SERVER.address}:${SERVER.port}`;
      assert.deepEqual(datagrams, [[[...stunMessage(1)], at], [[...stunMessage(2)], at], [[...channelData], at]]);

      socket.send(channelData, SERVER);
      socket.send(stunMessage(3), { address: '192.0.2.200', port: 3478 }); // not the server: dropped
      socket.send(stunMessage(4), SERVER);
      await peer.until(() => peer.streamBytes(5).length === 32, 'two framed messages');
      assert.deepEqual(peer.streamBytes(5), [...channelData, 0, 0, 0, ...stunMessage(4)]);
      assert.equal(socket.droppedSends, 1);

      const closed = new Promise<Error | undefined>((resolve) => (socket.onclose = resolve));
      peer.send({ type: 'stream', streamId: 5, payload: Uint8Array.of(0xff, 0, 0, 0) });
      assert.match(String(await within(closed, 2000, 'onclose')), /neither STUN nor ChannelData/);
      assert.deepEqual(await peer.take('close'), { type: 'close', socketId: 5 });
      connection.close();
    });

    it('opens TLS with the server name, and refuses udp', async () => {
      const { connection, peer } = await session();
      const opening = connection.openStreamSocket(SERVER, 'tls', 'turn.example.com');
      const connect = await peer.take('connect');
      assert.deepEqual([connect.tls, connect.serverName], [true, 'turn.example.com']);
      peer.send({ type: 'connected', requestId: connect.requestId, streamId: 5, local: LOCAL, remote: SERVER, window: 1000 });
      const socket = await opening;
      const closed = new Promise<Error | undefined>((resolve) => (socket.onclose = resolve));
      socket.close();
      assert.equal(await closed, undefined);
      await peer.take('close');
      await assert.rejects(connection.openStreamSocket(SERVER, 'udp', ''), TypeError);
      connection.close();
    });
  });

  describe('connected sockets', () => {
    it('asks for one only of a bridge whose hello offers it (BridgeFeature.connect)', async () => {
      const without = await session();
      const plain = without.connection.bind({ family: 'IPv4', connect: SERVER });
      const asked = await without.peer.take('bind');
      assert.equal(asked.connect, undefined, 'left out: this bridge cannot connect its sockets');
      without.peer.send({ type: 'bound', requestId: asked.requestId, socketId: 1, local: LOCAL, hostAddresses: [] });
      await plain;
      without.connection.close();

      const offering = await session({}, { ...V2_LIMITS, features: V2_LIMITS.features | BridgeFeature.connect });
      const connected = offering.connection.bind({ family: 'IPv4', connect: SERVER });
      const bind = await offering.peer.take('bind');
      assert.deepEqual(bind.connect, SERVER);
      offering.peer.send({ type: 'bound', requestId: bind.requestId, socketId: 2, local: LOCAL, hostAddresses: [] });
      await connected;
      offering.connection.close();
    });
  });

  describe('refusals', () => {
    it('reports a refused destination on the socket through onunreachable and onerror', async () => {
      const { connection, peer } = await session();
      const binding = connection.bind();
      const bind = await peer.take('bind');
      peer.send({ type: 'bound', requestId: bind.requestId, socketId: 3, local: { address: '0.0.0.0', port: 4000 }, hostAddresses: [] });
      const socket = await binding;
      const destination = { address: '10.0.0.1', port: 3478 };
      const errors: BridgeError[] = [];
      socket.onerror = (e) => errors.push(e);
      const unreachable = new Promise<DestinationUnreachableError>((resolve) => (socket.onunreachable = resolve));
      peer.send({ type: 'error', socketId: 3, destination, code: 'destination-denied', reason: '10.0.0.0/8 is private' });
      const error = await within(unreachable, 2000, 'onunreachable');
      assert.ok(error instanceof DestinationUnreachableError);
      assert.deepEqual([error.code, error.destination, error.reason], ['destination-denied', destination, '10.0.0.0/8 is private']);
      assert.equal(errors.length, 1);
      assert.ok(isBridgeError('destination-denied')(errors[0]));

      peer.send({ type: 'error', socketId: 3, code: 'rate-limited', reason: 'slow down' }); // no destination: onerror only
      await new Promise<void>((resolve) => (socket.onerror = () => resolve()));
      // A caller's mistake is a TypeError (the page's socket says the same); an unreachable address is dropped and counted.
      assert.throws(() => socket.send(5 as unknown as Uint8Array, destination), { name: 'TypeError', message: 'send() takes the datagram as a Uint8Array, got number' });
      assert.throws(() => socket.send(new Uint8Array(1), null as unknown as typeof destination), { name: 'TypeError', message: 'send() needs a destination { address, port }, got null' });
      const dropped = connection.droppedSends;
      socket.send(new Uint8Array(1), { address: 'not-an-address', port: 1 });
      assert.equal(connection.droppedSends, dropped + 1);
      connection.close();
    });
  });
});

describe('Node StreamSocket over FramedStreamSocket', () => {
  let tcp: Server;
  let port: number;
  let accepted: Promise<Socket>;

  before(async () => {
    tcp = createServer();
    accepted = new Promise((resolve) => tcp.once('connection', resolve));
    await new Promise<void>((resolve) => tcp.listen(0, '127.0.0.1', resolve));
    const a = tcp.address();
    port = a !== null && typeof a === 'object' ? a.port : 0;
  });

  after(() => new Promise<void>((resolve) => tcp.close(() => resolve())));

  it('keeps its API: frames both ways over node:net and reports the close', async () => {
    const socket = await StreamSocket.connect({ host: '127.0.0.1', port });
    const peer = await accepted;
    assert.equal(socket.reliable, true);
    assert.equal(socket.remoteAddress.port, port);
    const got = new Promise<number[]>((resolve) => (socket.ondatagram = (bytes) => resolve([...bytes])));
    const message = stunMessage(7);
    peer.write(message.subarray(0, 9));
    setImmediate(() => peer.write(message.subarray(9)));
    assert.deepEqual(await within(got, 2000, 'a datagram'), [...message]);

    const received = new Promise<number[]>((resolve) => peer.once('data', (b: Buffer) => resolve([...b])));
    socket.send(encodeChannelData(0x4000, Uint8Array.of(1)), { address: '::ffff:127.0.0.1', port });
    assert.deepEqual(await within(received, 2000, 'the padded ChannelData'), [0x40, 0, 0, 1, 1, 0, 0, 0]);

    const closed = new Promise<Error | undefined>((resolve) => (socket.onclose = resolve));
    peer.destroy();
    assert.equal(await within(closed, 2000, 'onclose'), undefined);
  });
});
