// The Deno driver of one WebTransport bridge session (PROTOCOL.md): the control stream (length-prefixed
// frames both ways), QUIC datagrams (one data frame each), Deno UDP sockets, TCP/TLS streams and name
// lookups (asked of the parent) around the sans-I/O BridgeSessionEngine, which makes every decision; the loop
// itself is src/bridge/session-driver.ts, shared with bridge/session.ts. Nothing a client sends may throw.
import { BridgeCloseCode } from '../../src/bridge/close-codes.js';
import type { BridgeMetrics } from '../../src/bridge/metrics.js';
import { BridgeSessionEngine } from '../../src/bridge/session-engine.js';
import { SessionDriver, type DriverListener, type DriverListenerEvents, type DriverStreamEvents } from '../../src/bridge/session-driver.js';
import type { LookupAnswer, LookupFailure, SessionContext } from '../../src/bridge/session-types.js';
import { BridgeFrameType, DATA_HEADER_MAX, encodeBridgeFrame, SESSION_CLOSE_ERROR, sessionCloseReason } from '../../src/net/bridge-frame.js';
import type { AddressFamily, TransportAddress } from '../../src/net/transport-address.js';
import { withSessionPort, type DestinationPolicy } from '../policy.js';
import { LengthPrefixedReader, lengthPrefixed } from './framing.js';
import { DenoStream } from './stream-connector.js';
import { listenDeno } from './tcp-listener.js';

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

/** After the bridge ends a session, how long the client has to read the session-close frame before QUIC closes. */
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
  lookup(name: string, families: AddressFamily[], mdns: boolean): Promise<LookupAnswer[]>;
  log(line: string): void;
  /** Once, when the session has closed and released its sockets. */
  onClosed(session: WebTransportSession): void;
}

export interface SessionInfo {
  user: string | undefined;
  remote: string | undefined;
}

type Transport = WebTransport & { url: string };

export class WebTransportSession extends SessionDriver<Deno.DatagramConn, DenoStream> {
  private readonly control: WritableStreamDefaultWriter<Uint8Array>;
  private readonly datagrams: WritableStreamDefaultWriter<Uint8Array>;
  private readonly reader: LengthPrefixedReader;
  /** Bytes handed to the control stream or the datagram writer and not yet taken by QUIC. */
  private readonly queued: { bytes: number };
  private transportClosed = false;
  private clientFinished: (() => void) | undefined;

  constructor(
    id: number,
    private readonly wt: Transport,
    controlStream: WebTransportBidirectionalStream,
    private readonly ctx: DriverContext,
    info: SessionInfo,
  ) {
    const queued = { bytes: 0 };
    const session: SessionContext = { ...ctx.session, carrierBacklog: () => queued.bytes };
    // WebTransport sessions are always version 2 (PROTOCOL.md "Version").
    super(id, new BridgeSessionEngine(id, 2, session, { carrier: 'webtransport', user: info.user, remote: info.remote }, performance.now()));
    this.queued = queued;
    this.reader = new LengthPrefixedReader(ctx.session.limits.maxPayload + DATA_HEADER_MAX);
    this.control = controlStream.writable.getWriter();
    this.datagrams = wt.datagrams.writable.getWriter();
    // Deno keeps incomingHighWaterMark (default 1) datagrams for a reader that is not waiting and drops the
    // rest without a word, so a burst from the page was lost between reads. Its setter in 2.9.6 calls a global
    // `NumberIsNaN` it never defines: give it one, then allow a bounded queue.
    setIncomingHighWaterMark(wt, INCOMING_DATAGRAM_QUEUE);
    void this.readControl(controlStream.readable);
    void this.readDatagrams();
    wt.closed.then(
      (c) => this.onTransportClosed(c.closeCode ?? 0, c.reason ?? 'session closed'),
      (err: unknown) => this.onTransportClosed(BridgeCloseCode.normal, `session lost: ${err instanceof Error ? err.message : String(err)}`),
    );
    this.pump();
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

  // ---- the carrier's I/O ----------------------------------------------------------------------------------

  /** A data frame that fits a QUIC datagram goes as one; every other frame on the control stream (PROTOCOL.md). */
  protected writeFrame(frame: Uint8Array): void {
    if (this.transportClosed) return;
    const n = frame.length;
    const asDatagram = frame[0] === BridgeFrameType.data && n <= this.wt.datagrams.maxDatagramSize;
    this.queued.bytes += n;
    const done = () => {
      this.queued.bytes -= n;
      if (this.engine.waitingForCarrier && this.queued.bytes <= this.ctx.session.limits.maxBufferedBytes) this.run(() => this.engine.handleCarrierDrained());
    };
    const writing = asDatagram ? this.datagrams.write(frame) : this.control.write(lengthPrefixed(frame));
    writing.then(done, done);
  }

  protected bindSocket(socketId: number, family: AddressFamily, port: number): void {
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
    this.ctx.policy.addSessionPort(local.port);
    queueMicrotask(() => {
      if (this.finished) return this.releaseSocket(socket);
      this.adoptSocket(socketId, socket, { address: local.hostname, port: local.port });
      void this.receive(socketId, socket);
    });
  }

  private async receive(socketId: number, socket: Deno.DatagramConn): Promise<void> {
    try {
      for (;;) {
        const [bytes, from] = await socket.receive();
        const addr = from as Deno.NetAddr;
        this.run(() => this.engine.handleDatagram(socketId, bytes, { address: addr.hostname, port: addr.port }, performance.now()));
      }
    } catch {
      this.socketDied(socketId, socket); // nothing if the engine closed it
    }
  }

  protected sendDatagram(socket: Deno.DatagramConn, payload: Uint8Array, to: TransportAddress): void {
    socket.send(payload, { transport: 'udp', hostname: to.address, port: to.port }).catch(() => {});
  }

  protected openStream(remote: TransportAddress, tls: boolean, serverName: string, events: DriverStreamEvents): DenoStream {
    return new DenoStream({ remote, tls, serverName, ca: this.ctx.tlsCa }, events);
  }

  protected override listen(family: AddressFamily, port: number, portRange: readonly [number, number] | undefined, events: DriverListenerEvents<DenoStream>): DriverListener {
    return withSessionPort(this.ctx.policy, events, (e) => listenDeno(this.ctx.udpBindAddress[family], port, portRange, e));
  }

  protected lookup(name: string, families: AddressFamily[], mdns: boolean): Promise<LookupAnswer[]> {
    return this.ctx.lookup(name, families, mdns);
  }

  protected writeLog(line: string): void {
    this.ctx.log(line);
  }

  protected onFinished(): void {
    this.ctx.onClosed(this);
  }

  protected closeCarrier(code: number, reason: string): void {
    this.closeTransport(code, reason);
  }

  protected releaseSocket(socket: Deno.DatagramConn): void {
    this.ctx.policy.releaseSessionPort((socket.addr as Deno.NetAddr).port);
    try {
      socket.close();
    } catch {
      // Closed already.
    }
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
}
