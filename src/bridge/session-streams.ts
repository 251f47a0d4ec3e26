// TCP/TLS streams of one bridge session (protocol v2). Flow control is by credit both ways, so the bridge
// holds at most a window of bytes per stream and direction, never an unbounded buffer:
// - client → TCP: the client may send `streamWindow` bytes; the bridge grants more (a `window` frame) as the
//   TCP socket takes them (the driver reports writes done). Bytes beyond the credit are a protocol error.
// - TCP → client: the bridge sends at most the window the client announced and granted; when that is used
//   up it stops reading the TCP socket (pause) until the client grants more — a client that does not read
//   makes the TCP peer wait, as TCP itself would. It also stops reading while the carrier's queue toward the
//   client is over maxBufferedBytes (a client may grant more than it reads), until the driver says it drained.
import { encodeBridgeFrame, encodeStreamFrame, type ConnectFrame, type ErrorFrame, type StreamFrame, type WindowFrame } from '../net/bridge-frame.js';
import type { TransportAddress } from '../net/transport-address.js';
import type { ConnectFailure, SessionAction, SessionContext } from './session-types.js';

/** Stream bytes per frame toward the client: small enough not to hold up datagrams behind them. */
export const STREAM_CHUNK_BYTES = 16_384;

/** What the streams need of their session. */
export interface StreamHost {
  readonly ctx: SessionContext;
  sendFrame(frame: Uint8Array): void;
  sendError(frame: ErrorFrame): void;
  act(action: SessionAction): void;
  /** A free id in the space sockets and streams share, or undefined if none is left. */
  allocateId(): number | undefined;
}

interface Stream {
  readonly id: number;
  readonly requestId: number;
  state: 'connecting' | 'open';
  readonly deadline: number;
  /** Bytes the client may still send before we grant more. */
  clientCredit: number;
  /** Bytes written to TCP and reported done, not yet granted back. */
  grantable: number;
  /** Bytes handed to the driver to write and not reported done. */
  inFlight: number;
  /** Bytes we may still send to the client. */
  bridgeCredit: number;
  /** TCP bytes that arrived beyond the client's credit (at most what came before the pause took hold). */
  readonly held: Uint8Array[];
  heldBytes: number;
  paused: boolean;
  /** The TCP peer sent FIN; an `end` goes to the client once `held` is flushed. */
  remoteEnded: boolean;
  /** The TCP connection closed cleanly with bytes still held: the `close` goes once they are sent. */
  tcpClosed: boolean;
}

export class SessionStreams {
  private readonly streams = new Map<number, Stream>();
  /** Some stream paused for the carrier's queue: the driver reports when it has drained. */
  private carrierWait = false;

  constructor(private readonly host: StreamHost) {}

  get count(): number {
    return this.streams.size;
  }

  has(id: number): boolean {
    return this.streams.has(id);
  }

  /** Whether a stream waits for the carrier's queue to drain (then the driver calls handleCarrierDrained). */
  get waitingForCarrier(): boolean {
    return this.carrierWait;
  }

  handleConnect(frame: ConnectFrame, now: number): void {
    const { limits, policy, metrics } = this.host.ctx;
    const refuse = (code: string, reason: string) => {
      metrics.streamRefusal(code);
      this.host.sendError({ type: 'error', code, reason, requestId: frame.requestId });
    };
    if (limits.maxStreams === 0) return refuse('not-supported', 'this bridge opens no TCP streams');
    if (frame.tls && !limits.tls) return refuse('not-supported', 'this bridge opens no TLS streams');
    if (this.streams.size >= limits.maxStreams) return refuse('stream-limit', `at most ${limits.maxStreams} streams per session`);
    const { address, port } = frame.remote;
    const verdict = policy.check(address, port, 'tcp');
    if (verdict !== 'allowed') return refuse(verdict, `destination ${address} port ${port} is not allowed`);
    const id = this.host.allocateId();
    if (id === undefined) return refuse('stream-limit', 'no socket or stream id left in this session');
    this.streams.set(id, this.newStream(id, frame.requestId, 'connecting', now + limits.connectTimeoutMs, frame.window));
    this.host.act({ type: 'connect', streamId: id, remote: { address, port }, tls: frame.tls, serverName: frame.serverName });
  }

  /**
   * A connection listener `listenerId` took in: a stream open at once (an `accepted` frame), with the window
   * its `listen` announced. Undefined when it cannot be one (maxStreams, no id left): the driver closes it
   * and the client hears of it in an error frame about the listener.
   */
  handleAccepted(listenerId: number, window: number, local: TransportAddress, remote: TransportAddress): number | undefined {
    const { limits, metrics } = this.host.ctx;
    const id = this.streams.size >= limits.maxStreams ? undefined : this.host.allocateId();
    if (id === undefined) {
      metrics.streamRefusal('stream-limit');
      this.host.sendError({ type: 'error', code: 'stream-limit', reason: `a connection from ${remote.address} port ${remote.port} was refused: at most ${limits.maxStreams} streams per session`, socketId: listenerId });
      return undefined;
    }
    const s = this.newStream(id, 0, 'open', 0, window);
    this.streams.set(id, s);
    metrics.streamsOpen++;
    metrics.streamsTotal++;
    metrics.streamsAccepted++;
    this.host.sendFrame(encodeBridgeFrame({ type: 'accepted', listenerId, streamId: id, local, remote, window: s.clientCredit }));
    if (s.bridgeCredit === 0) this.pause(s);
    return id;
  }

  private newStream(id: number, requestId: number, state: Stream['state'], deadline: number, window: number): Stream {
    return {
      id,
      requestId,
      state,
      deadline,
      clientCredit: this.host.ctx.limits.streamWindow,
      grantable: 0,
      inFlight: 0,
      // All of the client's window: what the carrier queues is bounded by pausing on its backlog instead
      // (capping the credit here would leave a client with a larger window waiting for bytes it granted).
      bridgeCredit: window,
      held: [],
      heldBytes: 0,
      paused: false,
      remoteEnded: false,
      tcpClosed: false,
    };
  }

  handleConnected(id: number, local: TransportAddress, remote: TransportAddress): void {
    const s = this.streams.get(id);
    if (!s || s.state !== 'connecting') return;
    s.state = 'open';
    const m = this.host.ctx.metrics;
    m.streamsOpen++;
    m.streamsTotal++;
    this.host.sendFrame(encodeBridgeFrame({ type: 'connected', requestId: s.requestId, streamId: id, local, remote, window: s.clientCredit }));
    if (s.bridgeCredit === 0) this.pause(s);
  }

  handleConnectFailed(id: number, failure: ConnectFailure | 'connect-timeout', reason: string): void {
    const s = this.streams.get(id);
    if (!s || s.state !== 'connecting') return;
    this.forget(s);
    this.host.ctx.metrics.streamRefusal(failure);
    this.host.sendError({ type: 'error', code: failure, reason, requestId: s.requestId });
  }

  /** Client → TCP, within the credit granted; beyond it the stream ends with `flow-control`. */
  handleStreamFrame(frame: StreamFrame): void {
    const s = this.streams.get(frame.streamId);
    if (!s || s.state !== 'open') return this.unknown(frame.streamId);
    const n = frame.payload.length;
    if (s.tcpClosed) return; // the close follows the held bytes; there is no TCP connection to write to
    if (n > s.clientCredit) {
      this.host.ctx.metrics.streamFlowControlErrors++;
      return this.abort(s, 'flow-control', `${n} bytes sent with ${s.clientCredit} bytes of credit left`);
    }
    if (n === 0) return;
    s.clientCredit -= n;
    s.inFlight += n;
    this.host.ctx.metrics.streamBytesOut += n;
    // The payload is a view into the carrier's message; the driver writes it before that is reused.
    this.host.act({ type: 'write', streamId: s.id, bytes: frame.payload });
  }

  handleEndFrame(id: number): void {
    const s = this.streams.get(id);
    if (!s || s.state !== 'open') return this.unknown(id);
    this.host.act({ type: 'end-stream', streamId: id });
  }

  handleCloseFrame(id: number): boolean {
    const s = this.streams.get(id);
    if (!s) return false;
    this.forget(s);
    this.host.act({ type: 'close-stream', streamId: id });
    return true;
  }

  handleWindowFrame(frame: WindowFrame): void {
    const s = this.streams.get(frame.streamId);
    if (!s || s.state !== 'open') return this.unknown(frame.streamId);
    s.bridgeCredit = Math.min(s.bridgeCredit + frame.increment, 0xffffffff);
    this.flush(s);
  }

  /** TCP → client. */
  handleData(id: number, bytes: Uint8Array): void {
    const s = this.streams.get(id);
    if (!s || s.state !== 'open' || bytes.length === 0) return;
    if (s.heldBytes === 0 && bytes.length <= s.bridgeCredit && !this.carrierFull()) {
      this.deliver(s, bytes);
      if (this.carrierFull()) this.pauseForCarrier(s);
      return;
    }
    s.held.push(bytes);
    s.heldBytes += bytes.length;
    this.flush(s);
    // More than a window held means the driver keeps reading a paused socket: end it rather than grow.
    if (s.heldBytes > Math.max(this.host.ctx.limits.streamWindow, STREAM_CHUNK_BYTES * 4)) {
      this.host.ctx.metrics.drop('backpressure');
      this.abort(s, 'stream-buffer-full', 'the client did not read and the TCP peer kept sending');
    }
  }

  /** The driver wrote `count` bytes to TCP: grant them back when a quarter window (or everything) is done. */
  handleWritten(id: number, count: number): void {
    const s = this.streams.get(id);
    if (!s) return;
    s.inFlight = Math.max(0, s.inFlight - count);
    s.grantable += count;
    if (s.grantable >= this.host.ctx.limits.streamWindow / 4 || s.inFlight === 0) {
      const increment = s.grantable;
      s.grantable = 0;
      s.clientCredit += increment;
      this.host.sendFrame(encodeBridgeFrame({ type: 'window', streamId: id, increment }));
    }
  }

  handleRemoteEnded(id: number): void {
    const s = this.streams.get(id);
    if (!s || s.state !== 'open') return;
    s.remoteEnded = true;
    this.flush(s);
  }

  /** The TCP connection is gone (closed by the peer, or an error). */
  handleClosed(id: number, error: string | undefined): void {
    const s = this.streams.get(id);
    if (!s) return;
    if (s.state === 'connecting') return this.handleConnectFailed(id, 'connect-failed', error ?? 'the connection closed');
    this.flush(s);
    if (error === undefined && s.heldBytes > 0) {
      // A clean close loses no byte: the rest goes as the client grants credit, then the end and the close.
      s.tcpClosed = true;
      return;
    }
    this.forget(s);
    if (error !== undefined) this.host.sendError({ type: 'error', code: 'stream-error', reason: error, socketId: id });
    this.host.sendFrame(encodeBridgeFrame({ type: 'close', socketId: id }));
  }

  handleTimeout(now: number): void {
    for (const s of [...this.streams.values()]) {
      if (s.state !== 'connecting' || s.deadline > now) continue;
      this.host.act({ type: 'close-stream', streamId: s.id });
      this.handleConnectFailed(s.id, 'connect-timeout', `no connection within ${this.host.ctx.limits.connectTimeoutMs} ms`);
    }
  }

  pollTimeout(): number | undefined {
    let at: number | undefined;
    for (const s of this.streams.values()) if (s.state === 'connecting' && (at === undefined || s.deadline < at)) at = s.deadline;
    return at;
  }

  /** The carrier's queue toward the client has drained below maxBufferedBytes: paused streams go on. */
  handleCarrierDrained(): void {
    this.carrierWait = false;
    for (const s of [...this.streams.values()]) if (s.paused && s.state === 'open') this.flush(s);
  }

  /** The session ended: every stream goes (the driver is told to close each). */
  closeAll(): void {
    for (const s of [...this.streams.values()]) {
      this.forget(s);
      this.host.act({ type: 'close-stream', streamId: s.id });
    }
  }

  private deliver(s: Stream, bytes: Uint8Array): void {
    for (let at = 0; at < bytes.length; at += STREAM_CHUNK_BYTES) {
      this.host.sendFrame(encodeStreamFrame(s.id, bytes.subarray(at, Math.min(bytes.length, at + STREAM_CHUNK_BYTES))));
    }
    s.bridgeCredit -= bytes.length;
    this.host.ctx.metrics.streamBytesIn += bytes.length;
    if (s.bridgeCredit === 0) this.pause(s);
  }

  /** Sends what the credit allows of the held bytes; resumes reading when all went; the FIN follows the bytes. */
  private flush(s: Stream): void {
    while (s.held.length > 0 && s.bridgeCredit > 0 && !this.carrierFull()) {
      const first = s.held[0];
      const n = Math.min(first.length, s.bridgeCredit);
      if (n === first.length) s.held.shift();
      else s.held[0] = first.subarray(n);
      s.heldBytes -= n;
      this.deliver(s, first.subarray(0, n));
    }
    if (this.carrierFull()) return this.pauseForCarrier(s);
    if (s.heldBytes > 0 || s.bridgeCredit === 0) {
      this.pause(s);
      return;
    }
    if (s.remoteEnded) {
      s.remoteEnded = false;
      this.host.sendFrame(encodeBridgeFrame({ type: 'end', streamId: s.id }));
    }
    if (s.tcpClosed) {
      this.forget(s);
      this.host.sendFrame(encodeBridgeFrame({ type: 'close', socketId: s.id }));
      return;
    }
    if (s.paused) {
      s.paused = false;
      this.host.act({ type: 'resume-stream', streamId: s.id });
    }
  }

  private carrierFull(): boolean {
    return this.host.ctx.carrierBacklog() > this.host.ctx.limits.maxBufferedBytes;
  }

  private pauseForCarrier(s: Stream): void {
    this.carrierWait = true;
    this.pause(s);
  }

  private pause(s: Stream): void {
    if (s.paused) return;
    s.paused = true;
    this.host.ctx.metrics.streamPauses++;
    this.host.act({ type: 'pause-stream', streamId: s.id });
  }

  private abort(s: Stream, code: string, reason: string): void {
    this.forget(s);
    this.host.act({ type: 'close-stream', streamId: s.id });
    this.host.sendError({ type: 'error', code, reason, socketId: s.id });
    this.host.sendFrame(encodeBridgeFrame({ type: 'close', socketId: s.id }));
  }

  private unknown(id: number): void {
    this.host.sendError({ type: 'error', code: 'unknown-stream', reason: 'no such open stream', socketId: id });
  }

  private forget(s: Stream): void {
    if (!this.streams.delete(s.id)) return;
    if (s.state === 'open') this.host.ctx.metrics.streamsOpen--;
    s.held.length = 0;
    s.heldBytes = 0;
  }
}
