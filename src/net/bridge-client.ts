// The page's side of the bridge (protocol v2): UDP sockets, name lookups and TCP/TLS streams carried over one
// WebTransport session or one WebSocket (bridge-carrier.ts; WebSocket is the fallback). Isomorphic — a page, a Worker and Node (with the `ws` package's WebSocket) all run it; each
// BridgeSocket is a DatagramSocket like any other, and openStreamSocket makes one out of a stream.
import { BridgeError } from './bridge-error.js';
import { WebSocketCarrier, type BridgeCarrier, type BridgeCarrierKind, type WebSocketConstructor } from './bridge-carrier.js';
import {
  BridgeFeature,
  decodeBridgeFrame,
  encodeBridgeFrame,
  encodeDataFrame,
  isHostName,
  type BridgeFrame,
  type BoundFrame,
  type AcceptedFrame,
  type ConnectedFrame,
  type ErrorFrame,
  type ResolvedAddress,
} from './bridge-frame.js';
import { carrierChoice, checkBridgeUrl, resolveConnectOptions, type BridgeConnectOptions, type BridgeStreamConnectOptions, type ConnectionOptions } from './bridge-connect-options.js';
import { awaitHello, type BridgeSessionLimits } from './bridge-handshake.js';
import { BridgeLookups, type ResolveOptions } from './bridge-lookups.js';
import { BridgeRequests, type AnswerOf, type BridgeRequestKind } from './bridge-requests.js';
import { BridgeListener } from './bridge-listener.js';
import { BridgeSocket } from './bridge-socket.js';
import { BridgeStream } from './bridge-stream.js';
import { FramedStreamSocket } from './framed-stream-socket.js';
import type { IceServerTransport } from './ice-server-uri.js';
import { isIp } from './ip.js';
import { generateMdnsName, isUuidLocalName } from '../mdns/mdns-names.js';
import type { AddressFamily, TransportAddress } from './transport-address.js';
import { WebTransportCarrier } from './webtransport-carrier.js';

export { BridgeError } from './bridge-error.js';
export { BridgeListener } from './bridge-listener.js';
export { BridgeSocket } from './bridge-socket.js';
export { BridgeStream } from './bridge-stream.js';
export type { ResolveOptions } from './bridge-lookups.js';
export type { ResolvedAddress } from './bridge-frame.js';
export type { BridgeCarrierKind, WebSocketConstructor } from './bridge-carrier.js';
export type { CertificateHash, WebTransportConstructor } from './webtransport-carrier.js';
export type { BridgeCarrierChoice, BridgeConnectOptions, BridgeStreamConnectOptions } from './bridge-connect-options.js';

/** The protocol version this client needs; it offers BRIDGE_SUBPROTOCOL_V2 to get it. */
const CLIENT_PROTOCOL_VERSION = 2;

export type { BridgeSessionLimits } from './bridge-handshake.js';

export class BridgeConnection {
  /** Error frames from the bridge (drops it reports, malformed frames); informational. */
  onerror: ((error: BridgeError) => void) | null = null;
  /** Called once when the connection closes, with why. */
  onclose: ((error: BridgeError) => void) | null = null;
  /** Frames from the bridge that did not decode, or that a bridge does not send; counted and dropped. */
  malformedFrames = 0;
  /** Datagrams `send` dropped (connection not open, too large, carrier queue full, bad address). */
  droppedSends = 0;
  /** In `auto`, why WebTransport was not used (handshake failed, timed out, none here); undefined otherwise. */
  fallbackReason: BridgeError | undefined;
  private readonly sockets = new Map<number, BridgeSocket>();
  private readonly streams = new Map<number, BridgeStream>();
  private readonly listeners = new Map<number, BridgeListener>();
  private readonly requests: BridgeRequests;
  private readonly lookups: BridgeLookups;
  private closedWith: BridgeError | undefined;

  private constructor(
    private readonly link: BridgeCarrier,
    readonly limits: BridgeSessionLimits,
    private readonly options: ConnectionOptions,
  ) {
    this.requests = new BridgeRequests(options.requestTimeoutMs);
    this.lookups = new BridgeLookups(
      (name, families, mdns) => this.ask('resolve', (requestId) => (mdns ? { type: 'resolve', requestId, name, families, mdns } : { type: 'resolve', requestId, name, families }), (f) => f.addresses),
      (limits.features & BridgeFeature.mdns) !== 0,
    );
    link.onframe = (frame) => this.onFrame(frame);
    link.onmalformed = () => this.malformedFrames++;
    link.onclose = (close) => this.onClosed(close.error ?? new BridgeError('closed', close.reason || 'the bridge connection closed', close.code));
  }

  /**
   * Opens a carrier to the bridge (see `carrier`) and waits for its hello. Rejects with a BridgeError if the
   * bridge refuses (`closed` with its close code), cannot be reached, or over WebTransport alone,
   * `handshake-failed` (a certificate that does not match `certificateHashes`, nothing listening) or `not-supported`.
   */
  static async connect(url: string, options: BridgeConnectOptions = {}): Promise<BridgeConnection> {
    checkBridgeUrl(url, options);
    const { resolved, webTransportTimeoutMs } = resolveConnectOptions(options);
    const { choice, webTransportUrl } = carrierChoice(url, options);
    const overWebSocket = () => {
      const Ctor = options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
      if (!Ctor) throw new TypeError('no WebSocket class here: pass { WebSocket } (in Node, use connectBridge)');
      return BridgeConnection.handshake(() => new WebSocketCarrier(url, Ctor, options.binaryType), resolved, resolved.connectTimeoutMs);
    };
    const overWebTransport = (timeoutMs: number) =>
      BridgeConnection.handshake(
        () => new WebTransportCarrier(webTransportUrl!, { WebTransport: options.WebTransport, certificateHashes: options.certificateHashes }),
        resolved,
        timeoutMs,
      );
    if (choice === 'websocket') return overWebSocket();
    if (choice === 'webtransport') return overWebTransport(resolved.connectTimeoutMs);
    let fallbackReason: BridgeError;
    try {
      return await overWebTransport(Math.min(webTransportTimeoutMs, resolved.connectTimeoutMs));
    } catch (err) {
      if (!(err instanceof BridgeError)) throw err;
      fallbackReason = err;
    }
    const connection = await overWebSocket();
    connection.fallbackReason = fallbackReason;
    return connection;
  }

  /** Opens a carrier and waits for the bridge's v2 hello on it. */
  private static async handshake(open: () => BridgeCarrier, options: ConnectionOptions, timeoutMs: number): Promise<BridgeConnection> {
    const { link, limits } = await awaitHello(open, CLIENT_PROTOCOL_VERSION, timeoutMs);
    return new BridgeConnection(link, limits, options);
  }

  /** Whether the bridge resolves `<uuid>.local` names by mDNS on its LAN (its operator enabled `mdns`). */
  get mdns(): boolean {
    return (this.limits.features & BridgeFeature.mdns) !== 0;
  }

  /** Whether the bridge's operator wants page host candidates hidden behind `<uuid>.local` names (hello bit). */
  get mdnsHostCandidates(): boolean {
    return (this.limits.features & BridgeFeature.mdnsHostCandidates) !== 0;
  }

  /**
   * Has the bridge answer mDNS queries on its LAN for `name` (default a fresh `<uuid>.local` one) with
   * `address`, an address the bridge announced for one of this connection's sockets; resolves to the name.
   * Rejects with the bridge's BridgeError: `not-supported` (no mDNS; also at once, without asking, when the
   * hello lacks the mdns bit), `address-not-owned`, `invalid-name`, `name-in-use`, `mdns-name-limit`,
   * `mdns-register-failed`.
   */
  registerMdnsName(address: string, name: string = generateMdnsName()): Promise<string> {
    if (!this.mdns) return Promise.reject(new BridgeError('not-supported', 'this bridge does not answer mDNS names (its operator has not enabled mdns)'));
    if (!isIp(address)) return Promise.reject(new TypeError(`not an IP address: ${JSON.stringify(address)}`));
    if (!isUuidLocalName(name)) return Promise.reject(new TypeError(`not a <uuid>.local name: ${JSON.stringify(name)}`));
    return this.ask('mdns-register', (requestId) => ({ type: 'mdns-register', requestId, address, name }), () => name);
  }

  /** Withdraws a name registerMdnsName registered (the bridge sends the goodbye). Nothing when closed. */
  unregisterMdnsName(name: string): void {
    if (this.closedWith || !this.link.open || !isUuidLocalName(name)) return;
    this.sendFrame(encodeBridgeFrame({ type: 'mdns-unregister', name }));
  }

  /** Whether the bridge listens for TCP connections for this client (its operator enabled `allowListen`). */
  get listenSupported(): boolean {
    return (this.limits.features & BridgeFeature.listen) !== 0 && this.limits.maxStreams > 0;
  }

  /**
   * Has the bridge listen for TCP connections (a passive ICE-TCP candidate on the bridge host): each one that
   * comes in is a BridgeStream on the listener's `onconnection`. `port` 0 (default) lets the bridge pick.
   * Rejects with the bridge's BridgeError: `not-supported` (also at once, without asking, when the hello
   * lacks the listen bit), `listener-limit`, `listen-port-not-allowed`, `listen-failed`.
   */
  listen(options: { family?: AddressFamily; port?: number } = {}): Promise<BridgeListener> {
    if (!this.listenSupported) return Promise.reject(new BridgeError('not-supported', 'this bridge does not listen for TCP connections (its operator has not enabled allowListen)'));
    const family = options.family ?? 'IPv4';
    return this.ask(
      'listen',
      (requestId) => ({ type: 'listen', requestId, family, port: options.port ?? 0, window: this.options.streamReceiveWindow }),
      (frame) => {
        const listener = new BridgeListener(this, frame.listenerId, frame.local, frame.hostAddresses);
        this.listeners.set(frame.listenerId, listener);
        return listener;
      },
    );
  }

  /** Which carrier this connection runs on. */
  get carrier(): BridgeCarrierKind {
    return this.link.kind;
  }

  get closed(): boolean {
    return this.closedWith !== undefined;
  }

  /**
   * A UDP socket on the bridge (`port` 0: it picks). With `connect`, where the bridge offers it (BridgeFeature.connect),
   * one that talks to that peer only, whose ICMP port unreachable comes back as `onunreachable`.
   */
  bind(options: { family?: AddressFamily; port?: number; connect?: TransportAddress } = {}): Promise<BridgeSocket> {
    const { family = 'IPv4', port = 0, connect } = options;
    const peer = connect && this.limits.features & BridgeFeature.connect ? { connect: { address: connect.address, port: connect.port } } : {};
    return this.ask('bind', (requestId) => ({ type: 'bind', requestId, family, port, ...peer }), (frame) => this.onBound(frame));
  }

  /**
   * Resolves a host name on the bridge (A and/or AAAA). An IP literal resolves to itself without asking.
   * A `<uuid>.local` name (an mDNS ICE candidate's) is resolved by multicast DNS on the bridge's LAN, when
   * the bridge offers it (`mdns`; else `not-supported` at once, without asking).
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
    this.link.close(1000);
  }

  /** @internal BridgeSocket's way out. */
  sendData(socketId: number, bytes: Uint8Array, to: TransportAddress): void {
    if (this.closedWith || !this.link.open || bytes.length > this.limits.maxPayload || this.link.bufferedAmount > this.options.maxBufferedBytes) {
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
    this.link.send(frame);
  }

  /** @internal BridgeSocket.close(). */
  releaseSocket(socketId: number): void {
    if (this.sockets.delete(socketId)) this.sendFrame(encodeBridgeFrame({ type: 'close', socketId }));
  }

  /** @internal BridgeStream's way out: stream bytes are never dropped, the credit bounds them. */
  sendFrame(frame: Uint8Array): void {
    if (!this.closedWith && this.link.open) this.link.send(frame);
  }

  /** @internal BridgeListener.close(). */
  releaseListener(listenerId: number): void {
    if (this.listeners.delete(listenerId)) this.sendFrame(encodeBridgeFrame({ type: 'close', socketId: listenerId }));
  }

  /** @internal a stream closed on this side. */
  releaseStream(streamId: number): void {
    this.streams.delete(streamId);
  }

  /** Sends a request if the connection is open; `accept` turns the answer into the result. */
  private ask<K extends BridgeRequestKind, T>(kind: K, frame: (requestId: number) => BridgeFrame, accept: (answer: AnswerOf[K]) => T): Promise<T> {
    if (this.closedWith) return Promise.reject(this.closedWith);
    if (!this.link.open) return Promise.reject(new BridgeError('closed', 'the bridge connection is closing'));
    if (kind === 'resolve' && !(this.limits.features & BridgeFeature.resolve)) {
      return Promise.reject(new BridgeError('not-supported', 'this bridge resolves no names'));
    }
    return this.requests.start(kind, (requestId) => encodeBridgeFrame(frame(requestId)), (bytes) => this.link.send(bytes), accept);
  }

  private onFrame(bytes: Uint8Array): void {
    let frame: BridgeFrame;
    try {
      frame = decodeBridgeFrame(bytes);
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
      case 'mdns-registered':
        // Late (timed out here): the bridge holds the name until unregistered or the session ends.
        this.requests.answer(frame);
        return;
      case 'bound':
      case 'resolved':
      case 'connected':
      case 'listening':
        if (this.requests.answer(frame)) return;
        // Timed out here but done there: give the socket, stream or listener back.
        if (frame.type !== 'resolved') {
          const id = frame.type === 'bound' ? frame.socketId : frame.type === 'connected' ? frame.streamId : frame.listenerId;
          this.sendFrame(encodeBridgeFrame({ type: 'close', socketId: id }));
        }
        return;
      case 'accepted':
        return this.onAccepted(frame);
      case 'host-addresses':
        (this.sockets.get(frame.socketId) ?? this.listeners.get(frame.socketId))?.hostAddressesChanged(frame.hostAddresses);
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

  private onAccepted(frame: AcceptedFrame): void {
    const listener = this.listeners.get(frame.listenerId);
    const stream = this.onConnected(frame);
    if (listener) listener.accept(stream);
    else stream.close(); // a listener closed here whose close the bridge has not seen yet
  }

  private onConnected(frame: ConnectedFrame | AcceptedFrame): BridgeStream {
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
    const listener = this.listeners.get(id);
    if (listener) {
      this.listeners.delete(id);
      listener.closedBy(new BridgeError('listener-closed', 'the bridge closed this listener'));
      return;
    }
    this.streams.get(id)?.closedByBridge();
  }

  private onClosed(error: BridgeError): void {
    if (this.closedWith) return;
    this.closedWith = error;
    this.link.onframe = this.link.onclose = this.link.onmalformed = null;
    this.requests.failAll(error);
    const sockets = [...this.sockets.values()];
    const streams = [...this.streams.values()];
    const listeners = [...this.listeners.values()];
    this.sockets.clear();
    this.streams.clear();
    this.listeners.clear();
    for (const s of sockets) s.closedBy(error);
    for (const s of streams) s.closedBy(error);
    for (const l of listeners) l.closedBy(error);
    this.onclose?.(error);
  }
}
