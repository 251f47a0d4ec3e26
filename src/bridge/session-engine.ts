// One bridge session as a sans-I/O engine (DESIGN.md, "Bridge"): carrier messages, datagrams, stream bytes
// and lookup answers go in with the time; frames for the client, actions for the driver (bind, send,
// connect, resolve, …) and log lines come out. The WebSocket carrier (bridge/session.ts) and the
// WebTransport one drive the same engine. Nothing a client sends may throw out of here.
import { BridgeFrameError, DATA_HEADER_MAX, decodeBridgeFrame, encodeBridgeFrame, V2_FRAME_TYPES, type ErrorFrame } from '../net/bridge-frame.js';
import { Queue } from '../net/engine.js';
import type { TransportAddress } from '../net/transport-address.js';
import { BridgeFrameType } from '../net/bridge-frame-types.js';
import { BridgeCloseCode } from './close-codes.js';
import type { DropReason } from './metrics.js';
import { helloLimits } from './hello-limits.js';
import { TokenBucket } from './rate-limit.js';
import { SessionListeners } from './session-listeners.js';
import { SessionLookups } from './session-lookups.js';
import { SessionMdnsNames } from './session-mdns.js';
import { SessionSockets, type SessionStats } from './session-sockets.js';
import { SessionStreams } from './session-streams.js';
import type { ConnectFailure, LookupAnswer, LookupFailure, SessionAction, SessionContext, SessionLogEvent } from './session-types.js';

export class BridgeSessionEngine {
  private readonly frames = new Queue<Uint8Array>();
  private readonly actions = new Queue<SessionAction>();
  private readonly events = new Queue<SessionLogEvent>();
  private readonly sockets: SessionSockets;
  private readonly lookups: SessionLookups;
  private readonly streams: SessionStreams;
  private readonly listeners: SessionListeners;
  private readonly mdnsNames: SessionMdnsNames;
  private readonly errorFrames: TokenBucket;
  private readonly maxFrame: number;
  private readonly stats: SessionStats = { sockets: 0, datagramsOut: 0, datagramsIn: 0, bytesOut: 0, bytesIn: 0, dropped: 0, streams: 0 };
  private nextId = 1;
  private malformed = 0;
  private lastActivity: number;
  /** The latest time any input carried; what the error frame bucket is charged at. */
  private now: number;
  private closing = false;
  private closed = false;
  private readonly opened: number;

  constructor(
    readonly id: number,
    /** The protocol version of this session (1, or 2 when the client asked for it). */
    readonly version: number,
    private readonly ctx: SessionContext,
    info: Record<string, unknown>,
    now: number,
  ) {
    const l = ctx.limits;
    this.errorFrames = new TokenBucket(l.errorFramesPerSecond, l.errorFramesPerSecond, now);
    this.maxFrame = l.maxPayload + DATA_HEADER_MAX;
    this.lastActivity = now;
    this.now = now;
    this.opened = now;
    const host = {
      ctx,
      sendFrame: (frame: Uint8Array) => this.sendFrame(frame),
      sendError: (frame: ErrorFrame) => this.sendError(frame),
      act: (action: SessionAction) => this.actions.push(action),
      allocateId: () => this.allocateId(),
    };
    this.sockets = new SessionSockets({ ...host, version, stats: this.stats }, now);
    this.lookups = new SessionLookups(host, now);
    this.streams = new SessionStreams(host);
    this.listeners = new SessionListeners(host, this.streams);
    this.mdnsNames = new SessionMdnsNames({ ...host, isOwnAddress: (a) => this.sockets.owns(a) });
    ctx.metrics.sessionsOpen++;
    ctx.metrics.sessionsTotal++;
    this.log('session-open', { version, ...info });
    this.frames.push(encodeBridgeFrame({ type: 'hello', version, limits: helloLimits(ctx.limits, version) }));
  }

  get socketCount(): number {
    return this.sockets.count;
  }

  get streamCount(): number {
    return this.streams.count;
  }

  /** A stream stopped reading TCP for the carrier's backlog: call handleCarrierDrained once it is below maxBufferedBytes. */
  get waitingForCarrier(): boolean {
    return this.streams.waitingForCarrier;
  }

  // ---- inputs ----------------------------------------------------------------------------------------------

  /**
   * One carrier message from the client. `binary` false: a text message, which is no frame. `arrived`: when
   * the carrier handed it over, if the driver queued it since (data frames wait behind control ones). A data
   * frame is judged by it: it is dropped if it waited over maxQueueDelayMs, and the rate limits are charged
   * at its arrival, so the bridge's own backlog never looks like the client's burst.
   */
  handleFrame(bytes: Uint8Array, now: number, binary = true, arrived = now): void {
    if (this.closing) {
      if (binary && bytes[0] === BridgeFrameType.data) this.handleDropped('session-closed');
      return;
    }
    this.lastActivity = this.now = now;
    if (!binary) return this.onMalformed('text messages are not bridge frames');
    if (bytes[0] === BridgeFrameType.data && now - arrived > this.ctx.limits.maxQueueDelayMs) return this.handleDropped('queue-delay');
    if (bytes.length > this.maxFrame) {
      return this.close(BridgeCloseCode.frameTooLarge, `frame of ${bytes.length} bytes, limit ${this.maxFrame}`);
    }
    let frame;
    try {
      frame = decodeBridgeFrame(bytes);
    } catch (err) {
      if (!(err instanceof BridgeFrameError)) throw err;
      return this.onMalformed(err.message);
    }
    if (this.version < 2 && V2_FRAME_TYPES.has(frame.type)) return this.onMalformed(`a version ${this.version} session carries no ${frame.type} frames`);
    switch (frame.type) {
      case 'data':
        return this.sockets.forward(frame, Math.min(arrived, now));
      case 'bind':
        return this.sockets.handleBind(frame);
      case 'close':
        if (this.sockets.close(frame.socketId) || this.streams.handleCloseFrame(frame.socketId) || this.listeners.handleCloseFrame(frame.socketId)) return;
        return this.sendError({ type: 'error', code: 'unknown-socket', reason: 'no such socket', socketId: frame.socketId });
      case 'resolve':
        return this.lookups.handleResolve(frame, now);
      case 'connect':
        return this.streams.handleConnect(frame, now);
      case 'listen':
        return this.listeners.handleListen(frame);
      case 'stream':
        return this.streams.handleStreamFrame(frame);
      case 'end':
        return this.streams.handleEndFrame(frame.streamId);
      case 'window':
        return this.streams.handleWindowFrame(frame);
      case 'mdns-register':
        return this.mdnsNames.handleRegister(frame);
      case 'mdns-unregister':
        return this.mdnsNames.handleUnregister(frame.name);
      default:
        return this.onMalformed(`a client does not send ${frame.type} frames`);
    }
  }

  /** A carrier message its mapping forbids (a WebTransport datagram that is no data frame): one malformed frame. */
  handleMalformed(reason: string, now?: number): void {
    if (this.closing) return;
    if (now !== undefined) this.lastActivity = this.now = now;
    this.onMalformed(reason);
  }

  /** The driver bound the UDP socket asked for by a `bind` action. */
  handleBound(socketId: number, local: TransportAddress): void {
    this.sockets.handleBound(socketId, local);
  }

  handleBindFailed(socketId: number, detail: string | undefined): void {
    this.sockets.handleBindFailed(socketId, detail);
  }

  /** A connected socket's peer refused (ICMP port unreachable, as the OS reported it). */
  handleUnreachable(socketId: number, destination: TransportAddress): void {
    if (!this.closing) this.sockets.handleUnreachable(socketId, destination);
  }

  /**
   * The addresses ctx.hostAddresses gives changed (an interface came or went, or the operator set others):
   * the client hears of each socket and listener whose announcement differs (v2 `host-addresses`).
   */
  handleHostAddressesChanged(): void {
    if (this.closing || this.version < 2) return;
    this.sockets.refreshHostAddresses();
    this.listeners.refreshHostAddresses();
  }

  /** A datagram arrived on a session socket: to the client, unless its queue is over the bound. */
  handleDatagram(socketId: number, payload: Uint8Array, from: TransportAddress, now: number): void {
    if (!this.closing && this.sockets.handleDatagram(socketId, payload, from)) this.lastActivity = this.now = now;
  }

  /** A datagram the driver dropped (one it held too long, or still held when the session ended): counted for the session. */
  handleDropped(reason: DropReason): void {
    this.sockets.dropped(reason);
  }

  /** A socket closed under us (by the OS): tell the client it is gone. */
  handleSocketClosed(socketId: number): void {
    this.sockets.handleSocketClosed(socketId);
  }

  handleLookupAnswered(lookupId: number, answers: LookupAnswer[], now: number): void {
    if (!this.closing) this.lookups.handleAnswered(lookupId, answers, now);
  }

  handleLookupFailed(lookupId: number, failure: LookupFailure, reason: string, now: number): void {
    if (!this.closing) this.lookups.handleFailed(lookupId, failure, reason, now);
  }

  handleStreamConnected(streamId: number, local: TransportAddress, remote: TransportAddress, now: number): void {
    if (this.closing) return;
    this.lastActivity = now;
    this.stats.streams++;
    this.streams.handleConnected(streamId, local, remote);
  }

  handleStreamConnectFailed(streamId: number, failure: ConnectFailure, reason: string): void {
    if (!this.closing) this.streams.handleConnectFailed(streamId, failure, reason);
  }

  /** The driver listens, for a `listen` action. */
  handleListening(listenerId: number, local: TransportAddress): void {
    if (!this.closing) this.listeners.handleListening(listenerId, local);
  }

  handleListenFailed(listenerId: number, detail: string | undefined): void {
    if (!this.closing) this.listeners.handleListenFailed(listenerId, detail);
  }

  /** A connection came in on a listener: the stream id it now is, or undefined: the driver closes it at once. */
  handleAccepted(listenerId: number, local: TransportAddress, remote: TransportAddress, now: number): number | undefined {
    if (this.closing) return undefined;
    const id = this.listeners.handleAccepted(listenerId, local, remote);
    if (id !== undefined) {
      this.lastActivity = now;
      this.stats.streams++;
    }
    return id;
  }

  /** A listener closed under us (by the OS). */
  handleListenerClosed(listenerId: number, error: string | undefined): void {
    if (!this.closing) this.listeners.handleListenerClosed(listenerId, error);
  }

  handleStreamData(streamId: number, bytes: Uint8Array, now: number): void {
    if (this.closing) return;
    this.lastActivity = now;
    this.streams.handleData(streamId, bytes);
  }

  handleStreamWritten(streamId: number, count: number): void {
    if (!this.closing) this.streams.handleWritten(streamId, count);
  }

  handleStreamEnded(streamId: number): void {
    if (!this.closing) this.streams.handleRemoteEnded(streamId);
  }

  handleStreamClosed(streamId: number, error: string | undefined): void {
    if (!this.closing) this.streams.handleClosed(streamId, error);
  }

  /** The driver's responder now answers for the name of a `mdns-register` action. */
  handleMdnsRegistered(requestId: number): void {
    if (!this.closing) this.mdnsNames.handleRegistered(requestId);
  }

  handleMdnsRegisterFailed(requestId: number, name: string, reason: string): void {
    if (!this.closing) this.mdnsNames.handleRegisterFailed(requestId, name, 'mdns-register-failed', reason);
  }

  /** The carrier's queue toward the client is back at or below maxBufferedBytes. */
  handleCarrierDrained(): void {
    if (!this.closing) this.streams.handleCarrierDrained();
  }

  handleTimeout(now: number): void {
    if (this.closing) return;
    this.now = now;
    this.lookups.handleTimeout(now);
    this.streams.handleTimeout(now);
    const limit = this.ctx.limits.idleTimeoutMs;
    if (now - this.lastActivity >= limit) this.close(BridgeCloseCode.idleTimeout, `idle for ${limit} ms`);
  }

  /** Ends the session: the driver closes the carrier with `code`, every socket and stream goes at once. */
  close(code: number, reason: string): void {
    if (this.closing) return;
    this.closing = true;
    this.actions.push({ type: 'close-carrier', code, reason });
    this.release();
  }

  /** The carrier closed (either side); releases everything once. */
  handleCarrierClosed(code: number, reason: string, now: number): void {
    if (this.closed) return;
    this.closing = true;
    this.closed = true;
    this.release();
    this.ctx.metrics.sessionsOpen--;
    this.log('session-close', { code, reason, durationMs: Math.round(now - this.opened), ...this.stats });
  }

  // ---- outputs ---------------------------------------------------------------------------------------------

  pollFrame(): Uint8Array | undefined {
    return this.frames.shift();
  }

  pollAction(): SessionAction | undefined {
    return this.actions.shift();
  }

  pollEvent(): SessionLogEvent | undefined {
    return this.events.shift();
  }

  pollTimeout(): number | undefined {
    if (this.closing) return undefined;
    let at = this.lastActivity + this.ctx.limits.idleTimeoutMs;
    for (const t of [this.lookups.pollTimeout(), this.streams.pollTimeout()]) if (t !== undefined && t < at) at = t;
    return at;
  }

  // ---- lifetime and plumbing -------------------------------------------------------------------------------

  private release(): void {
    this.sockets.closeAll();
    this.streams.closeAll();
    this.listeners.closeAll();
    this.lookups.clear();
    this.mdnsNames.releaseAll();
  }

  /** Sockets, streams and listeners share one id space, so a `close` or an error names exactly one of them. */
  private allocateId(): number | undefined {
    for (let tries = 0; tries < 0xffff; tries++) {
      const id = this.nextId;
      this.nextId = id === 0xffff ? 1 : id + 1;
      if (!this.sockets.has(id) && !this.streams.has(id) && !this.listeners.has(id)) return id;
    }
    return undefined;
  }

  private onMalformed(reason: string): void {
    this.ctx.metrics.malformedFrames++;
    this.malformed++;
    const limit = this.ctx.limits.maxMalformedFrames;
    if (this.malformed > limit) return this.close(BridgeCloseCode.malformedFrames, `more than ${limit} malformed frames`);
    this.sendError({ type: 'error', code: 'malformed-frame', reason });
  }

  /**
   * Error frames obey the same queue bound as data: a client that does not read gets none. Those that
   * answer a request always go (one per request, so no amplification): a request must never hang.
   */
  private sendError(frame: ErrorFrame): void {
    const overQueue = this.ctx.carrierBacklog() > this.ctx.limits.maxBufferedBytes;
    if (overQueue || (frame.requestId === undefined && !this.errorFrames.take(1, this.now))) {
      this.ctx.metrics.errorFramesSuppressed++;
      return;
    }
    this.ctx.metrics.errorFramesSent++;
    this.frames.push(encodeBridgeFrame(frame));
  }

  private sendFrame(frame: Uint8Array): void {
    if (!this.closing) this.frames.push(frame);
  }

  private log(event: string, fields: Record<string, unknown>): void {
    this.events.push({ event, fields: { session: this.id, ...fields } });
  }
}
