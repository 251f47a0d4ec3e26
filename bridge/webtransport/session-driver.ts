// The Deno driver of one WebTransport bridge session (PROTOCOL.md): the control stream (length-prefixed
// frames both ways), QUIC datagrams (one data frame each), Deno UDP sockets, TCP/TLS streams and name
// lookups (asked of the parent) around the sans-I/O BridgeSessionEngine, which makes every decision — the
// twin of bridge/session.ts. Nothing a client sends may throw out of here.
import { BridgeCloseCode } from '../../src/bridge/close-codes.js';
import type { BridgeMetrics } from '../../src/bridge/metrics.js';
import { BridgeSessionEngine } from '../../src/bridge/session-engine.js';
import type { LookupAnswer, LookupFailure, SessionAction, SessionContext } from '../../src/bridge/session-types.js';
import { BridgeFrameType, DATA_HEADER_MAX, encodeBridgeFrame, SESSION_CLOSE_ERROR, sessionCloseReason } from '../../src/net/bridge-frame.js';
import type { AddressFamily, TransportAddress } from '../../src/net/transport-address.js';
import type { DestinationPolicy } from '../policy.js';
import { LengthPrefixedReader, lengthPrefixed } from './framing.js';
import { DenoStream } from './stream-connector.js';

/** After the bridge ends a session, how long the client has to read the session-close frame before QUIC closes. */

/** Datagrams Deno may hold for this session while its reader is busy (×1.2 KB at most each). */
const INCOMING_DATAGRAM_QUEUE = 512;

function setIncomingHighWaterMark(wt: WebTransport, count: number): void {
  const g = globalThis as { NumberIsNaN?: (n: number) => boolean };
  g.NumberIsNaN ??= Number.isNaN;
  try {
    wt.datagrams.incomingHighWaterMark = count;
  } catch {
    // A Deno whose setter still throws: the reader below is always waiting, which is the best left.
  }
}

export const CLOSE_LINGER_MS = 1000;

/** A lookup the parent could not answer. */
export class LookupFailed extends Error {
  constructor(
    readonly failure: LookupFailure,
    message: string,
  ) {
    super(message);
  }
}

/** What the sessions of one endpoint share. */
export interface DriverContext {
  readonly metrics: BridgeMetrics;
  readonly policy: DestinationPolicy;
  /** The engine's view (carrierBacklog is per session). */
  readonly session: Omit<SessionContext, 'carrierBacklog'>;
  readonly udpBindAddress: { IPv4: string; IPv6: string };
  readonly tlsCa: string[] | undefined;
  lookup(name: string, families: AddressFamily[]): Promise<LookupAnswer[]>;
  log(line: string): void;
  /** Once, when the session has closed and released its sockets. */
  onClosed(session: WebTransportSession): void;
}

export interface SessionInfo {
  user: string | undefined;
  remote: string | undefined;
}

type Transport = WebTransport & { url: string };

export class WebTransportSession {
  private readonly engine: BridgeSessionEngine;
  private readonly sockets = new Map<number, Deno.DatagramConn>();
  private readonly streams = new Map<number, DenoStream>();
  private readonly control: WritableStreamDefaultWriter<Uint8Array>;
  private readonly datagrams: WritableStreamDefaultWriter<Uint8Array>;
  private readonly reader: LengthPrefixedReader;
  /** Bytes handed to the control stream or the datagram writer and not yet taken by QUIC. */
  private backlog = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private timerAt = Infinity;
  private pumping = false;
  private finished = false;
  private transportClosed = false;
  private clientFinished: (() => void) | undefined;

  constructor(
    readonly id: number,
    private readonly wt: Transport,
    controlStream: WebTransportBidirectionalStream,
    private readonly ctx: DriverContext,
    info: SessionInfo,
  ) {
    const session: SessionContext = { ...ctx.session, carrierBacklog: () => this.backlog };
    this.reader = new LengthPrefixedReader(ctx.session.limits.maxPayload + DATA_HEADER_MAX);
    this.control = controlStream.writable.getWriter();
    this.datagrams = wt.datagrams.writable.getWriter();
    // Deno keeps incomingHighWaterMark (default 1) datagrams for a reader that is not waiting and drops the
    // rest without a word, so a burst from the page was lost between reads. Its setter in 2.9.6 calls a global
    // `NumberIsNaN` it never defines: give it one, then allow a bounded queue.
    setIncomingHighWaterMark(wt, INCOMING_DATAGRAM_QUEUE);
    // WebTransport sessions are always version 2 (PROTOCOL.md "Version").
    this.engine = new BridgeSessionEngine(id, 2, session, { carrier: 'webtransport', user: info.user, remote: info.remote }, performance.now());
    void this.readControl(controlStream.readable);
    void this.readDatagrams();
    wt.closed.then(
      (c) => this.onTransportClosed(c.closeCode ?? 0, c.reason ?? 'session closed'),
      (err: unknown) => this.onTransportClosed(BridgeCloseCode.normal, `session lost: ${err instanceof Error ? err.message : String(err)}`),
    );
    this.pump();
  }

  get socketCount(): number {
    return this.engine.socketCount;
  }

  /** Ends the session: its sockets and streams close at once, the client is told `code`. */
  close(code: number, reason: string): void {
    this.run(() => this.engine.close(code, reason));
  }

  // ---- carrier in ------------------------------------------------------------------------------------------

  private async readControl(readable: ReadableStream<Uint8Array>): Promise<void> {
    const reader = readable.getReader();
    let why = 'control stream closed by the client';
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done || this.finished) break;
        const out = this.reader.push(value);
        if (!Array.isArray(out)) {
          const limit = this.ctx.session.limits.maxPayload + DATA_HEADER_MAX;
          this.run(() => this.engine.close(BridgeCloseCode.frameTooLarge, `frame of ${out.oversized} bytes, limit ${limit}`));
          return;
        }
        for (const frame of out) this.run(() => this.engine.handleFrame(frame, performance.now()));
      }
    } catch (err) {
      why = `control stream reset: ${err instanceof Error ? err.message : String(err)}`;
    }
    // PROTOCOL.md "Closing": the client FINs (or resets) its control stream to end the session, at once.
    this.clientFinished?.();
    if (this.finished) return;
    this.finish(BridgeCloseCode.normal, why);
    this.closeTransport(BridgeCloseCode.normal, why, false);
  }

  private async readDatagrams(): Promise<void> {
    const reader = this.wt.datagrams.readable.getReader();
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done || this.finished) return;
        // PROTOCOL.md "Datagrams": only data frames travel as datagrams; anything else counts as malformed.
        if (value.length > 0 && value[0] === BridgeFrameType.data) this.run(() => this.engine.handleFrame(value, performance.now()));
        else this.run(() => this.engine.handleMalformed(`a datagram carries only data frames, not frame type ${value.length > 0 ? value[0] : 'none (empty)'}`, performance.now()));
      }
    } catch {
      // The session is going: wt.closed or the control stream says why.
    }
  }

  // ---- engine loop -----------------------------------------------------------------------------------------

  /** Runs one input into the engine, then carries out what it asked; a fault ends this session (1011), never the process. */
  private run(input: () => void): void {
    if (this.finished) return;
    try {
      input();
      this.pump();
    } catch (err) {
      this.log('session-fault', { session: this.id, error: err instanceof Error ? err.message : String(err) });
      this.finish(BridgeCloseCode.internalError, 'internal error');
      this.closeTransport(BridgeCloseCode.internalError, 'internal error');
    }
  }

  private pump(): void {
    if (this.pumping) return;
    this.pumping = true;
    try {
      let again = true;
      while (again) {
        again = false;
        for (let a = this.engine.pollAction(); a; a = this.engine.pollAction()) {
          this.perform(a);
          again = true;
        }
        for (let f = this.engine.pollFrame(); f; f = this.engine.pollFrame()) this.write(f);
        for (let e = this.engine.pollEvent(); e; e = this.engine.pollEvent()) this.log(e.event, e.fields);
      }
    } finally {
      this.pumping = false;
    }
    this.arm(this.engine.pollTimeout());
  }

  /** A data frame that fits a QUIC datagram goes as one; every other frame on the control stream (PROTOCOL.md). */
  private write(frame: Uint8Array): void {
    if (this.transportClosed) return;
    const n = frame.length;
    const asDatagram = frame[0] === BridgeFrameType.data && n <= this.wt.datagrams.maxDatagramSize;
    this.backlog += n;
    const done = () => {
      this.backlog -= n;
      if (this.engine.waitingForCarrier && this.backlog <= this.ctx.session.limits.maxBufferedBytes) this.run(() => this.engine.handleCarrierDrained());
    };
    const writing = asDatagram ? this.datagrams.write(frame) : this.control.write(lengthPrefixed(frame));
    writing.then(done, done);
  }

  private perform(a: SessionAction): void {
    switch (a.type) {
      case 'send': {
        const socket = this.sockets.get(a.socketId);
        socket?.send(a.payload, { transport: 'udp', hostname: a.to.address, port: a.to.port }).catch(() => {});
        return;
      }
      case 'bind':
        return this.bind(a.socketId, a.family, a.port);
      case 'close-socket': {
        const socket = this.sockets.get(a.socketId);
        this.sockets.delete(a.socketId);
        if (socket) this.release(socket);
        return;
      }
      case 'resolve':
        this.ctx.lookup(a.name, a.families).then(
          (answers) => this.run(() => this.engine.handleLookupAnswered(a.lookupId, answers, performance.now())),
          (err: unknown) => {
            const failure = err instanceof LookupFailed ? err.failure : 'resolve-failed';
            this.run(() => this.engine.handleLookupFailed(a.lookupId, failure, err instanceof Error ? err.message : String(err), performance.now()));
          },
        );
        return;
      case 'connect':
        return this.connect(a.streamId, a.remote, a.tls, a.serverName);
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
        this.closeTransport(a.code, a.reason);
        return;
    }
  }

  private bind(socketId: number, family: AddressFamily, port: number): void {
    let socket: Deno.DatagramConn;
    try {
      socket = Deno.listenDatagram({ transport: 'udp', hostname: this.ctx.udpBindAddress[family], port });
    } catch (err) {
      // Reported after this action, as a bind failure reported by a callback would be.
      const detail = err instanceof Error ? err.name : undefined;
      queueMicrotask(() => this.run(() => this.engine.handleBindFailed(socketId, detail)));
      return;
    }
    const local = socket.addr as Deno.NetAddr;
    this.sockets.set(socketId, socket);
    this.ctx.policy.addSessionPort(local.port);
    void this.receive(socketId, socket);
    queueMicrotask(() => this.run(() => this.engine.handleBound(socketId, { address: local.hostname, port: local.port })));
  }

  private async receive(socketId: number, socket: Deno.DatagramConn): Promise<void> {
    try {
      for (;;) {
        const [bytes, from] = await socket.receive();
        const addr = from as Deno.NetAddr;
        this.run(() => this.engine.handleDatagram(socketId, bytes, { address: addr.hostname, port: addr.port }, performance.now()));
      }
    } catch {
      if (this.sockets.get(socketId) !== socket) return; // closed by us
      this.sockets.delete(socketId);
      this.release(socket);
      this.run(() => this.engine.handleSocketClosed(socketId));
    }
  }

  private connect(streamId: number, remote: TransportAddress, tls: boolean, serverName: string): void {
    const stream: DenoStream = new DenoStream(
      { remote, tls, serverName, ca: this.ctx.tlsCa },
      {
        connected: (local, peer) => this.run(() => this.engine.handleStreamConnected(streamId, local, peer, performance.now())),
        failed: (failure, reason) => {
          if (this.streams.get(streamId) !== stream) return;
          this.streams.delete(streamId);
          this.run(() => this.engine.handleStreamConnectFailed(streamId, failure, reason));
        },
        data: (bytes) => this.run(() => this.engine.handleStreamData(streamId, bytes, performance.now())),
        ended: () => this.run(() => this.engine.handleStreamEnded(streamId)),
        closed: (error) => {
          if (this.streams.get(streamId) !== stream) return;
          this.streams.delete(streamId);
          this.run(() => this.engine.handleStreamClosed(streamId, error));
        },
      },
    );
    this.streams.set(streamId, stream);
  }

  private release(socket: Deno.DatagramConn): void {
    this.ctx.policy.releaseSessionPort((socket.addr as Deno.NetAddr).port);
    try {
      socket.close();
    } catch {
      // Closed already.
    }
  }

  /** One timer at the earliest deadline; a deadline that moved later (the idle one) fires early and re-arms. */
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

  // ---- the end ---------------------------------------------------------------------------------------------

  private finish(code: number, reason: string): void {
    if (this.finished) return;
    this.engine.handleCarrierClosed(code, reason, performance.now());
    if (!this.pumping) this.pump();
    this.finished = true;
    clearTimeout(this.timer);
    for (const s of this.sockets.values()) this.release(s);
    for (const s of this.streams.values()) s.destroy();
    this.sockets.clear();
    this.streams.clear();
    this.ctx.onClosed(this);
  }

  /**
   * Deno's wt.close() ends the QUIC connection, which Chromium reports as "Connection lost" without the code
   * (no CLOSE_WEBTRANSPORT_SESSION capsule). So the code goes first, in band: an error frame `session-close`
   * whose reason starts with the code, then FIN; QUIC closes once the client has FINed too (it read the
   * frame), or after CLOSE_LINGER_MS. A client that ended the session itself gets no frame.
   */
  private closeTransport(code: number, reason: string, tellClient = true): void {
    if (this.transportClosed) return;
    if (tellClient) {
      const frame = encodeBridgeFrame({ type: 'error', code: SESSION_CLOSE_ERROR, reason: sessionCloseReason(code, reason) });
      this.control.write(lengthPrefixed(frame)).catch(() => {});
    }
    this.transportClosed = true;
    this.control.close().catch(() => {});
    const clientDone = !tellClient ? Promise.resolve() : new Promise<void>((resolve) => (this.clientFinished = resolve));
    let linger: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<void>((resolve) => (linger = setTimeout(resolve, CLOSE_LINGER_MS)));
    void Promise.race([clientDone, timeout]).then(() => {
      clearTimeout(linger);
      try {
        this.wt.close({ closeCode: code, reason: reason.slice(0, 1024) });
      } catch {
        // Closed already.
      }
    });
  }

  private onTransportClosed(code: number, reason: string): void {
    this.transportClosed = true;
    this.clientFinished?.();
    this.finish(code, reason);
  }

  private log(event: string, fields: Record<string, unknown>): void {
    try {
      this.ctx.log(JSON.stringify({ time: new Date().toISOString(), event, ...fields }));
    } catch {
      // A failing logger must not take the session down.
    }
  }
}
