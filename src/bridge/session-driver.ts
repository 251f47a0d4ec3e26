// What every driver of a BridgeSessionEngine does the same way, whatever its runtime: run an input into the
// engine, carry out the actions it asks for, send its frames, log its events, keep one timer at its earliest
// deadline, and release everything once when the session ends. A carrier's driver (bridge/session.ts for
// WebSocket on Node, bridge/webtransport/session-driver.ts for WebTransport on Deno) adds only its own I/O.
import type { TransportAddress, AddressFamily } from '../net/transport-address.js';
import { BridgeCloseCode } from './close-codes.js';
import type { BridgeSessionEngine } from './session-engine.js';
import type { ConnectFailure, LookupAnswer, LookupFailure, SessionAction } from './session-types.js';

/** A TCP/TLS connection as the drivers' connectors make them (node:net, Deno.connect). */
export interface DriverStream {
  /** Writes; `written` once the bytes are handed to the OS (the engine then grants the client credit). */
  write(bytes: Uint8Array, written: () => void): unknown;
  end(): unknown;
  destroy(): unknown;
  pause(): unknown;
  resume(): unknown;
}

/** What a connector reports about one connection. */
export interface DriverStreamEvents {
  connected(local: TransportAddress, remote: TransportAddress): void;
  failed(failure: ConnectFailure, reason: string): void;
  data(bytes: Uint8Array): void;
  ended(): void;
  closed(error: string | undefined): void;
}

/** A TCP listener as the drivers make them (node:net servers, Deno.listen). */
export interface DriverListener {
  close(): unknown;
}

/** What a driver reports about one listener. */
export interface DriverListenerEvents<Stream> {
  listening(local: TransportAddress): void;
  failed(reason: string): void;
  /** A connection came in; `wire` gives it its events if the engine takes it, else it is destroyed. */
  accepted(stream: Stream, local: TransportAddress, remote: TransportAddress, wire: (events: DriverStreamEvents) => void): void;
  /** Gone by the OS (not by close()), with the error text if it died of one. */
  closed(error: string | undefined): void;
}

const LOOKUP_FAILURES: ReadonlySet<string> = new Set<LookupFailure>(['name-not-found', 'resolve-timeout', 'resolve-failed']);

export abstract class SessionDriver<Socket, Stream extends DriverStream> {
  protected readonly sockets = new Map<number, Socket>();
  protected readonly streams = new Map<number, Stream>();
  protected readonly listeners = new Map<number, DriverListener>();
  protected finished = false;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private timerAt = Infinity;
  private pumping = false;

  protected constructor(
    readonly id: number,
    protected readonly engine: BridgeSessionEngine,
  ) {}

  get socketCount(): number {
    return this.engine.socketCount;
  }

  /** The bridge's host addresses changed: the client hears of each socket and listener announced otherwise now. */
  hostAddressesChanged(): void {
    this.run(() => this.engine.handleHostAddressesChanged());
  }

  /** Ends the session: its sockets and streams close at once, the client is told `code`. */
  close(code: number, reason: string): void {
    this.run(() => this.engine.close(code, reason));
  }

  // ---- the carrier's own I/O ---------------------------------------------------------------------------

  /** Sends one frame to the client. */
  protected abstract writeFrame(frame: Uint8Array): void;
  /** Closes the carrier toward the client with `code` (the session has finished already). */
  protected abstract closeCarrier(code: number, reason: string): void;
  protected abstract sendDatagram(socket: Socket, payload: Uint8Array, to: TransportAddress): void;
  /** Binds a UDP socket; then `adoptSocket` it, or tell the engine `handleBindFailed` (through `run`). */
  protected abstract bindSocket(socketId: number, family: AddressFamily, port: number, connect: TransportAddress | undefined): void;
  /** Closes a socket this session no longer holds. */
  protected abstract releaseSocket(socket: Socket): void;
  /** Opens a TCP/TLS connection that reports to `events`. */
  protected abstract openStream(remote: TransportAddress, tls: boolean, serverName: string, events: DriverStreamEvents): Stream;
  /**
   * Listens for TCP connections at `port` (0: a free one, from `portRange` when given) and reports to
   * `events`, never before it returns except `failed`. A carrier that cannot keeps this default (its limits
   * should say listen false).
   */
  protected listen(_family: AddressFamily, _port: number, _portRange: readonly [number, number] | undefined, events: DriverListenerEvents<Stream>): DriverListener {
    events.failed('this carrier does not listen for TCP connections');
    return { close: () => undefined };
  }
  /** `mdns`: by multicast DNS on the bridge's LAN (only asked when the limits say `mdns`). */
  protected abstract lookup(name: string, families: AddressFamily[], mdns: boolean): Promise<LookupAnswer[]>;
  protected abstract writeLog(line: string): void;
  /**
   * Has the bridge's mDNS responder answer for `name` with `address`; returns why not, or undefined when it
   * does. A carrier without a responder keeps this default (its limits should say maxMdnsNames 0).
   */
  protected mdnsRegister(_name: string, _address: string): string | undefined {
    return 'this carrier has no mDNS responder';
  }
  /** Withdraws a name mdnsRegister registered (goodbye). */
  protected mdnsUnregister(_name: string): void {}
  /** Once, after everything was released. */
  protected abstract onFinished(): void;

  // ---- the loop ----------------------------------------------------------------------------------------

  /** Runs one input into the engine, then carries out what it asked; a fault ends this session (1011), never the process. */
  protected run(input: () => void): void {
    if (this.finished) return;
    try {
      input();
      this.pump();
    } catch (err) {
      this.log('session-fault', { session: this.id, error: err instanceof Error ? err.message : String(err) });
      this.finish(BridgeCloseCode.internalError, 'internal error');
      this.closeCarrier(BridgeCloseCode.internalError, 'internal error');
    }
  }

  protected pump(): void {
    if (this.pumping) return; // an action's callback ran synchronously: the outer loop picks up what it queued
    this.pumping = true;
    try {
      let again = true;
      while (again) {
        again = false;
        for (let a = this.engine.pollAction(); a; a = this.engine.pollAction()) {
          this.perform(a);
          again = true;
        }
        for (let f = this.engine.pollFrame(); f; f = this.engine.pollFrame()) this.writeFrame(f);
        for (let e = this.engine.pollEvent(); e; e = this.engine.pollEvent()) this.log(e.event, e.fields);
      }
    } finally {
      this.pumping = false;
    }
    this.arm(this.engine.pollTimeout());
  }

  private perform(a: SessionAction): void {
    switch (a.type) {
      case 'send': {
        const socket = this.sockets.get(a.socketId);
        if (socket !== undefined) this.sendDatagram(socket, a.payload, a.to);
        return;
      }
      case 'bind':
        return this.bindSocket(a.socketId, a.family, a.port, a.connect);
      case 'close-socket': {
        const socket = this.sockets.get(a.socketId);
        this.sockets.delete(a.socketId);
        if (socket !== undefined) this.releaseSocket(socket);
        return;
      }
      case 'resolve':
        this.lookup(a.name, a.families, a.mdns).then(
          (answers) => this.run(() => this.engine.handleLookupAnswered(a.lookupId, answers, performance.now())),
          (err: unknown) => {
            const named = (err as { failure?: unknown }).failure;
            const failure = typeof named === 'string' && LOOKUP_FAILURES.has(named) ? (named as LookupFailure) : 'resolve-failed';
            this.run(() => this.engine.handleLookupFailed(a.lookupId, failure, err instanceof Error ? err.message : String(err), performance.now()));
          },
        );
        return;
      case 'mdns-register': {
        let failure: string | undefined;
        try {
          failure = this.mdnsRegister(a.name, a.address);
        } catch (err) {
          failure = err instanceof Error ? err.message : String(err);
        }
        // Answered through the engine in this same pump: the request never waits.
        if (failure === undefined) this.engine.handleMdnsRegistered(a.requestId);
        else this.engine.handleMdnsRegisterFailed(a.requestId, a.name, failure);
        return;
      }
      case 'mdns-unregister':
        return this.mdnsUnregister(a.name);
      case 'connect':
        return this.connect(a.streamId, a.remote, a.tls, a.serverName);
      case 'listen':
        return this.openListener(a.listenerId, a.family, a.port, a.portRange);
      case 'close-listener': {
        const listener = this.listeners.get(a.listenerId);
        this.listeners.delete(a.listenerId);
        listener?.close();
        return;
      }
      case 'write': {
        const n = a.bytes.length;
        this.streams.get(a.streamId)?.write(a.bytes, () => this.run(() => this.engine.handleStreamWritten(a.streamId, n)));
        return;
      }
      case 'end-stream':
        this.streams.get(a.streamId)?.end();
        return;
      case 'close-stream': {
        const stream = this.streams.get(a.streamId);
        this.streams.delete(a.streamId);
        stream?.destroy();
        return;
      }
      case 'pause-stream':
        this.streams.get(a.streamId)?.pause();
        return;
      case 'resume-stream':
        this.streams.get(a.streamId)?.resume();
        return;
      case 'close-carrier':
        this.finish(a.code, a.reason);
        this.closeCarrier(a.code, a.reason);
        return;
    }
  }

  /** A socket `bindSocket` opened: from now on the engine's. Its datagrams go to `handleDatagram`. */
  protected adoptSocket(socketId: number, socket: Socket, local: TransportAddress): void {
    this.sockets.set(socketId, socket);
    this.run(() => this.engine.handleBound(socketId, local));
  }

  /** The socket died under us (by the OS), not by the engine's close-socket. */
  protected socketDied(socketId: number, socket: Socket): void {
    if (this.sockets.get(socketId) !== socket) return;
    this.sockets.delete(socketId);
    this.releaseSocket(socket);
    this.run(() => this.engine.handleSocketClosed(socketId));
  }

  private connect(streamId: number, remote: TransportAddress, tls: boolean, serverName: string): void {
    const holder: { stream?: Stream } = {};
    const stream = this.openStream(remote, tls, serverName, this.streamEvents(streamId, holder));
    holder.stream = stream;
    this.streams.set(streamId, stream);
  }

  /** A stream's events into the engine; those of a stream this session no longer holds are ignored. */
  private streamEvents(streamId: number, holder: { stream?: Stream }): DriverStreamEvents {
    const gone = () => {
      if (holder.stream === undefined || this.streams.get(streamId) !== holder.stream) return true;
      this.streams.delete(streamId);
      return false;
    };
    return {
      connected: (local, peer) => this.run(() => this.engine.handleStreamConnected(streamId, local, peer, performance.now())),
      failed: (failure, reason) => {
        if (!gone()) this.run(() => this.engine.handleStreamConnectFailed(streamId, failure, reason));
      },
      data: (bytes) => this.run(() => this.engine.handleStreamData(streamId, bytes, performance.now())),
      ended: () => this.run(() => this.engine.handleStreamEnded(streamId)),
      closed: (error) => {
        if (!gone()) this.run(() => this.engine.handleStreamClosed(streamId, error));
      },
    };
  }

  private openListener(listenerId: number, family: AddressFamily, port: number, portRange: readonly [number, number] | undefined): void {
    let listener: DriverListener | undefined;
    let failedAtOnce = false;
    const ours = () => listener !== undefined && this.listeners.get(listenerId) === listener;
    listener = this.listen(family, port, portRange, {
      listening: (local) => {
        if (ours()) this.run(() => this.engine.handleListening(listenerId, local));
      },
      failed: (reason) => {
        if (listener === undefined) failedAtOnce = true;
        else if (!ours()) return;
        this.listeners.delete(listenerId);
        this.run(() => this.engine.handleListenFailed(listenerId, reason));
      },
      accepted: (stream, local, remote, wire) => {
        let streamId: number | undefined;
        // The stream is the session's before the engine's actions for it run (a pause for a zero window).
        this.run(() => {
          streamId = ours() ? this.engine.handleAccepted(listenerId, local, remote, performance.now()) : undefined;
          if (streamId !== undefined) this.streams.set(streamId, stream);
        });
        if (streamId === undefined || this.streams.get(streamId) !== stream) {
          stream.destroy();
          return;
        }
        wire(this.streamEvents(streamId, { stream }));
      },
      closed: (error) => {
        if (!ours()) return;
        this.listeners.delete(listenerId);
        this.run(() => this.engine.handleListenerClosed(listenerId, error));
      },
    });
    if (this.finished) listener.close();
    else if (!failedAtOnce) this.listeners.set(listenerId, listener);
  }

  /** One timer at the earliest deadline; a deadline that moved later (the idle one) just fires early and re-arms. */
  private arm(at: number | undefined): void {
    if (this.finished || at === undefined || at >= this.timerAt) return;
    clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(() => {
      this.timerAt = Infinity;
      this.timer = undefined;
      this.run(() => this.engine.handleTimeout(performance.now()));
    }, Math.max(0, at - performance.now()));
  }

  /** The session ends (either side): everything goes once, and the log line is written. */
  protected finish(code: number, reason: string): void {
    if (this.finished) return;
    this.engine.handleCarrierClosed(code, reason, performance.now());
    // The log line and the releases; inside a pump, its loop drains them when this returns.
    if (!this.pumping) this.pump();
    this.finished = true;
    clearTimeout(this.timer);
    for (const s of this.sockets.values()) this.releaseSocket(s);
    for (const s of this.streams.values()) s.destroy();
    for (const l of this.listeners.values()) l.close();
    this.sockets.clear();
    this.streams.clear();
    this.listeners.clear();
    this.onFinished();
  }

  protected log(event: string, fields: Record<string, unknown>): void {
    try {
      this.writeLog(JSON.stringify({ time: new Date().toISOString(), event, ...fields }));
    } catch {
      // A failing logger must not take the session down.
    }
  }
}
