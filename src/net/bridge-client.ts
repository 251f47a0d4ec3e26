// The page's side of the bridge (protocol v2): UDP sockets, name lookups and TCP/TLS streams carried over one
// WebSocket. Isomorphic — a page, a Worker and Node (with the `ws` package's WebSocket) all run it; each
// BridgeSocket is a DatagramSocket like any other, and openStreamSocket makes one out of a stream.
import { BridgeError } from './bridge-error.js';
import {
  BRIDGE_SUBPROTOCOL_V2,
  BridgeFeature,
  decodeBridgeFrame,
  encodeBridgeFrame,
  encodeDataFrame,
  isHostName,
  type BridgeFrame,
  type BridgeLimits,
  type BoundFrame,
  type ConnectedFrame,
  type ErrorFrame,
  type ResolvedAddress,
} from './bridge-frame.js';
import { BridgeLookups, type ResolveOptions } from './bridge-lookups.js';
import { BridgeRequests, type AnswerOf, type BridgeRequestKind } from './bridge-requests.js';
import { BridgeSocket } from './bridge-socket.js';
import { BridgeStream } from './bridge-stream.js';
import { FramedStreamSocket } from './framed-stream-socket.js';
import type { IceServerTransport } from './ice-server-uri.js';
import { isIp } from './ip.js';
import type { AddressFamily, TransportAddress } from './transport-address.js';

export { BridgeError } from './bridge-error.js';
export { BridgeSocket } from './bridge-socket.js';
export { BridgeStream } from './bridge-stream.js';
export type { ResolveOptions } from './bridge-lookups.js';
export type { ResolvedAddress } from './bridge-frame.js';

/** The protocol version this client needs; it offers BRIDGE_SUBPROTOCOL_V2 to get it. */
const CLIENT_PROTOCOL_VERSION = 2;

/** Any WebSocket class: the platform's, or `ws`'s in Node. Only the standard API is used. */
export type WebSocketConstructor = new (url: string, protocols?: string | string[]) => object;

/** The part of the WHATWG WebSocket API used here; both the DOM's and `ws`'s have it. */
interface WebSocketLike {
  binaryType: string;
  readonly readyState: number;
  readonly bufferedAmount: number;
  send(data: Uint8Array): void;
  close(code?: number, reason?: string): void;
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: { code: number; reason: string }) => void) | null;
  onerror: ((event: unknown) => void) | null;
}

const OPEN = 1;

export interface BridgeConnectOptions {
  /** The WebSocket class; default the global one (Node 20 has none: pass `ws`'s, or use `connectBridge`). */
  WebSocket?: WebSocketConstructor;
  /** Give up when the bridge has not said hello within this long. Default 10 000 ms. */
  connectTimeoutMs?: number;
  /** Give up on a bind, resolve or connect the bridge has not answered within this long. Default 10 000 ms. */
  requestTimeoutMs?: number;
  /** Above this many bytes queued on the WebSocket, `send` drops datagrams instead of queueing. Default 1 MiB. */
  maxBufferedBytes?: number;
  /** The WebSocket's binaryType: 'arraybuffer' (default); Node's `ws` avoids a copy per message with 'nodebuffer'. */
  binaryType?: string;
  /** Bytes a stream lets the bridge send before this side grants more (announced in `connect`). Default 256 KiB. */
  streamReceiveWindow?: number;
  /** Above this many bytes queued on a stream for want of credit, `BridgeStream.write` returns false. Default 1 MiB. */
  maxStreamBufferedBytes?: number;
}

type ConnectionOptions = Required<Omit<BridgeConnectOptions, 'WebSocket' | 'binaryType'>>;

/** The limits of a v2 session: every field of its hello. */
export type BridgeSessionLimits = Required<BridgeLimits>;

export interface BridgeStreamConnectOptions {
  /** An IP address, or a host name the bridge resolves first. */
  address: string;
  port: number;
  /** TLS over the TCP connection (the bridge checks the server's certificate). Default false. */
  tls?: boolean;
  /** The TLS server name (SNI and certificate check). Default: `address` when it is a name, else none. */
  serverName?: string;
}

export class BridgeConnection {
  /** Error frames from the bridge (drops it reports, malformed frames); informational. */
  onerror: ((error: BridgeError) => void) | null = null;
  /** Called once when the connection closes, with why. */
  onclose: ((error: BridgeError) => void) | null = null;
  /** Frames from the bridge that did not decode, or that a bridge does not send; counted and dropped. */
  malformedFrames = 0;
  /** Datagrams `send` dropped (connection not open, too large, WebSocket queue full, bad address). */
  droppedSends = 0;
  private readonly sockets = new Map<number, BridgeSocket>();
  private readonly streams = new Map<number, BridgeStream>();
  private readonly requests: BridgeRequests;
  private readonly lookups: BridgeLookups;
  private closedWith: BridgeError | undefined;

  private constructor(
    private readonly ws: WebSocketLike,
    readonly limits: BridgeSessionLimits,
    private readonly options: ConnectionOptions,
  ) {
    this.requests = new BridgeRequests(options.requestTimeoutMs);
    this.lookups = new BridgeLookups((name, families) => this.ask('resolve', (requestId) => ({ type: 'resolve', requestId, name, families }), (f) => f.addresses));
    ws.onmessage = (event) => this.onMessage(event.data);
    ws.onclose = (event) => this.onClosed(new BridgeError('closed', event.reason || 'the bridge connection closed', event.code));
    ws.onerror = null;
  }

  /** Opens the WebSocket and waits for the bridge's hello. Rejects with a BridgeError if the bridge refuses. */
  static connect(url: string, options: BridgeConnectOptions = {}): Promise<BridgeConnection> {
    const Ctor = options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
    if (!Ctor) return Promise.reject(new TypeError('no WebSocket class here: pass { WebSocket } (in Node, use connectBridge)'));
    let resolved: ConnectionOptions;
    try {
      resolved = {
        connectTimeoutMs: integerOption('connectTimeoutMs', options.connectTimeoutMs, 10_000, 1),
        requestTimeoutMs: integerOption('requestTimeoutMs', options.requestTimeoutMs, 10_000, 1),
        maxBufferedBytes: integerOption('maxBufferedBytes', options.maxBufferedBytes, 1_048_576, 0),
        streamReceiveWindow: integerOption('streamReceiveWindow', options.streamReceiveWindow, 262_144, 1, 0xffffffff),
        maxStreamBufferedBytes: integerOption('maxStreamBufferedBytes', options.maxStreamBufferedBytes, 1_048_576, 0),
      };
    } catch (err) {
      return Promise.reject(err);
    }
    return new Promise((resolve, reject) => {
      let ws: WebSocketLike;
      try {
        // Offering the v2 subprotocol is how a client asks for v2; a bridge that does not speak it says hello v1.
        ws = new Ctor(url, [BRIDGE_SUBPROTOCOL_V2]) as unknown as WebSocketLike;
      } catch (err) {
        reject(new BridgeError('connect-failed', err instanceof Error ? err.message : String(err)));
        return;
      }
      ws.binaryType = options.binaryType ?? 'arraybuffer';
      const fail = (error: BridgeError) => {
        clearTimeout(timer);
        ws.onmessage = ws.onclose = ws.onerror = null;
        if (ws.readyState <= OPEN) ws.close(1000);
        reject(error);
      };
      const timer = setTimeout(() => fail(new BridgeError('timeout', `no hello from the bridge within ${resolved.connectTimeoutMs} ms`)), resolved.connectTimeoutMs);
      // A refusal arrives as a close after the upgrade (a code in 4000..4999), so wait for hello, not for open.
      ws.onclose = (event) => fail(new BridgeError('closed', event.reason || 'the bridge closed the connection', event.code));
      ws.onerror = () => {};
      ws.onmessage = (event) => {
        let frame: BridgeFrame;
        try {
          frame = decodeBridgeFrame(bytesOf(event.data));
        } catch (err) {
          fail(new BridgeError('protocol', `bad hello from the bridge: ${err instanceof Error ? err.message : String(err)}`));
          return;
        }
        if (frame.type !== 'hello') {
          fail(new BridgeError('protocol', `expected a hello from the bridge, got a ${frame.type} frame`));
          return;
        }
        if (frame.version !== CLIENT_PROTOCOL_VERSION) {
          fail(new BridgeError('protocol', `the bridge speaks protocol ${frame.version} and this client needs ${CLIENT_PROTOCOL_VERSION}: upgrade the bridge`));
          return;
        }
        clearTimeout(timer);
        // A v2 hello decodes with every v2 field, so the limits are complete.
        resolve(new BridgeConnection(ws, frame.limits as BridgeSessionLimits, resolved));
      };
    });
  }

  get closed(): boolean {
    return this.closedWith !== undefined;
  }

  /** Asks the bridge for a UDP socket; `port` 0 (default) lets it pick. One WebSocket carries them all. */
  bind(options: { family?: AddressFamily; port?: number } = {}): Promise<BridgeSocket> {
    return this.ask('bind', (requestId) => ({ type: 'bind', requestId, family: options.family ?? 'IPv4', port: options.port ?? 0 }), (frame) => this.onBound(frame));
  }

  /**
   * Resolves a host name on the bridge (A and/or AAAA). An IP literal resolves to itself without asking.
   * Rejects with the bridge's BridgeError: `name-not-found`, `resolve-timeout`, `destination-denied` (every
   * answer was denied by the bridge's policy), `rate-limited`, `resolve-failed`, `not-supported`.
   */
  resolve(name: string, options: ResolveOptions = {}): Promise<ResolvedAddress[]> {
    return this.lookups.resolve(name, options);
  }

  /** The first address `name` resolves to (of `family` if given). Bound: pass it as `resolve` to the gatherer or stunBinding. */
  readonly resolveHost = (name: string, family?: AddressFamily): Promise<string> => this.lookups.resolveHost(name, family);

  /**
   * Opens a TCP (or TLS) stream from the bridge host. Rejects with a TypeError for bad options, or the
   * bridge's BridgeError: `destination-denied`, `invalid-destination`, `stream-limit`, `connect-failed`,
   * `connect-timeout`, `tls-failed` (the reason says why the certificate was rejected), `not-supported`.
   */
  async connect(options: BridgeStreamConnectOptions): Promise<BridgeStream> {
    const { address, port, tls = false } = options;
    if (typeof address !== 'string') throw new TypeError('connect needs an address string');
    if (!Number.isInteger(port) || port < 1 || port > 0xffff) throw new TypeError(`connect needs a port in 1..65535, got ${port}`);
    let serverName = options.serverName ?? (tls && !isIp(address) ? address : '');
    if (isIp(serverName)) serverName = ''; // RFC 6066 §3: SNI carries host names, never addresses
    if (serverName !== '' && !isHostName(serverName)) throw new TypeError(`not a TLS server name: ${JSON.stringify(serverName)}`);
    const features = this.limits.features;
    if (!(features & BridgeFeature.tcp) || this.limits.maxStreams === 0) throw new BridgeError('not-supported', 'this bridge opens no TCP streams');
    if (tls && !(features & BridgeFeature.tls)) throw new BridgeError('not-supported', 'this bridge opens no TLS streams');
    const remote = { address: isIp(address) ? address : await this.resolveHost(address), port };
    return this.ask(
      'connect',
      (requestId) => ({ type: 'connect', requestId, remote, tls, serverName, window: this.options.streamReceiveWindow }),
      (frame) => this.onConnected(frame),
    );
  }

  /**
   * A STUN/TURN connection over a bridge stream (RFC 8489 §6.2.2, RFC 8656 §12.5 framing), in the shape of
   * the gatherer's `openStreamSocket` (bound: pass it as is) for `turn:…?transport=tcp` and `turns:…`.
   */
  readonly openStreamSocket = async (server: TransportAddress, transport: IceServerTransport, serverName: string): Promise<FramedStreamSocket> => {
    if (transport !== 'tcp' && transport !== 'tls') throw new TypeError(`openStreamSocket opens tcp or tls streams, not ${transport}`);
    const stream = await this.connect({ address: server.address, port: server.port, tls: transport === 'tls', serverName: transport === 'tls' ? serverName : '' });
    // The caller's spelling of the server's address, so `send(…, server)` and `from` compare as it expects.
    return new FramedStreamSocket(stream, stream.localAddress, { address: isIp(server.address) ? server.address : stream.remoteAddress.address, port: server.port });
  };

  /** Closes the WebSocket and with it every socket and stream. */
  close(): void {
    if (this.closedWith) return;
    this.onClosed(new BridgeError('closed', 'closed by the application', 1000));
    this.ws.close(1000);
  }

  /** @internal BridgeSocket's way out. */
  sendData(socketId: number, bytes: Uint8Array, to: TransportAddress): void {
    if (this.closedWith || this.ws.readyState !== OPEN || bytes.length > this.limits.maxPayload || this.ws.bufferedAmount > this.options.maxBufferedBytes) {
      this.droppedSends++;
      return;
    }
    let frame: Uint8Array;
    try {
      frame = encodeDataFrame(socketId, to, bytes);
    } catch {
      this.droppedSends++; // not an IP address, or a port out of range: a datagram that cannot go
      return;
    }
    this.ws.send(frame);
  }

  /** @internal BridgeSocket.close(). */
  releaseSocket(socketId: number): void {
    if (this.sockets.delete(socketId)) this.sendFrame(encodeBridgeFrame({ type: 'close', socketId }));
  }

  /** @internal BridgeStream's way out: stream bytes are never dropped, the credit bounds them. */
  sendFrame(frame: Uint8Array): void {
    if (!this.closedWith && this.ws.readyState === OPEN) this.ws.send(frame);
  }

  /** @internal a stream closed on this side. */
  releaseStream(streamId: number): void {
    this.streams.delete(streamId);
  }

  /** Sends a request if the connection is open; `accept` turns the answer into the result. */
  private ask<K extends BridgeRequestKind, T>(kind: K, frame: (requestId: number) => BridgeFrame, accept: (answer: AnswerOf[K]) => T): Promise<T> {
    if (this.closedWith) return Promise.reject(this.closedWith);
    if (this.ws.readyState !== OPEN) return Promise.reject(new BridgeError('closed', 'the bridge connection is closing'));
    if (kind === 'resolve' && !(this.limits.features & BridgeFeature.resolve)) {
      return Promise.reject(new BridgeError('not-supported', 'this bridge resolves no names'));
    }
    return this.requests.start(kind, (requestId) => encodeBridgeFrame(frame(requestId)), (bytes) => this.ws.send(bytes), accept);
  }

  private onMessage(data: unknown): void {
    let frame: BridgeFrame;
    try {
      frame = decodeBridgeFrame(bytesOf(data));
    } catch {
      this.malformedFrames++;
      return;
    }
    switch (frame.type) {
      case 'data':
        this.sockets.get(frame.socketId)?.ondatagram?.(frame.payload, frame.peer);
        return;
      case 'stream':
        this.streams.get(frame.streamId)?.receive(frame.payload);
        return;
      case 'window':
        this.streams.get(frame.streamId)?.grant(frame.increment);
        return;
      case 'end':
        this.streams.get(frame.streamId)?.remoteEnd();
        return;
      case 'bound':
      case 'resolved':
      case 'connected':
        if (this.requests.answer(frame)) return;
        // Timed out here but done there: give the socket or stream back.
        if (frame.type !== 'resolved') this.sendFrame(encodeBridgeFrame({ type: 'close', socketId: frame.type === 'bound' ? frame.socketId : frame.streamId }));
        return;
      case 'error':
        this.onErrorFrame(frame);
        return;
      case 'close':
        this.onCloseFrame(frame.socketId);
        return;
      default:
        this.malformedFrames++; // hello twice, or a client-only frame
    }
  }

  private onBound(frame: BoundFrame): BridgeSocket {
    const socket = new BridgeSocket(this, frame.socketId, frame.local, frame.hostAddresses);
    this.sockets.set(frame.socketId, socket);
    return socket;
  }

  private onConnected(frame: ConnectedFrame): BridgeStream {
    const stream = new BridgeStream(this, frame.streamId, frame.local, frame.remote, frame.window, {
      receiveWindow: this.options.streamReceiveWindow,
      maxBufferedBytes: this.options.maxStreamBufferedBytes,
      maxChunk: Math.max(1, this.limits.maxPayload), // the bridge takes no frame larger than a full datagram
    });
    this.streams.set(frame.streamId, stream);
    return stream;
  }

  private onErrorFrame(frame: ErrorFrame): void {
    const error = new BridgeError(frame.code, frame.reason);
    if (frame.requestId !== undefined && this.requests.fail(frame.requestId, error)) return;
    if (frame.socketId !== undefined) {
      this.sockets.get(frame.socketId)?.errorFrame(frame, error);
      this.streams.get(frame.socketId)?.noteError(error);
    }
    this.onerror?.(error);
  }

  private onCloseFrame(id: number): void {
    const socket = this.sockets.get(id);
    if (socket) {
      this.sockets.delete(id);
      socket.closedBy(new BridgeError('socket-closed', 'the bridge closed this socket'));
      return;
    }
    this.streams.get(id)?.closedByBridge();
  }

  private onClosed(error: BridgeError): void {
    if (this.closedWith) return;
    this.closedWith = error;
    this.ws.onmessage = this.ws.onclose = null;
    this.requests.failAll(error);
    const sockets = [...this.sockets.values()];
    const streams = [...this.streams.values()];
    this.sockets.clear();
    this.streams.clear();
    for (const s of sockets) s.closedBy(error);
    for (const s of streams) s.closedBy(error);
    this.onclose?.(error);
  }
}

/** An integer option in min..max, or its default when absent; checked once, at connect. */
function integerOption(name: string, value: number | undefined, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < min || value > max) throw new RangeError(`${name} must be an integer in ${min}..${max}, got ${value}`);
  return value;
}

function bytesOf(data: unknown): Uint8Array {
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return new Uint8Array(0); // a text message: decodes as EMPTY, counted as malformed
}
