// A TCP or TLS stream the bridge opened (protocol v2 `connect`), with the protocol's credit-based flow
// control (bridge-frame.ts; the shape of HTTP/2's WINDOW_UPDATE, RFC 9113 §6.9): this side never sends more
// than the bridge granted, and grants the bridge more only as the application takes what it sent.
import { BridgeError } from './bridge-error.js';
import { encodeBridgeFrame, encodeStreamFrame } from './bridge-frame.js';
import type { TransportAddress } from './transport-address.js';

/** What a BridgeStream needs of its connection. */
export interface BridgeStreamCarrier {
  /** Sends one frame; a no-op once the connection has closed. */
  sendFrame(frame: Uint8Array): void;
  /** Forgets the stream id (the stream is closed on this side). */
  releaseStream(streamId: number): void;
}

export interface BridgeStreamLimits {
  /** The receive window announced in `connect`. */
  receiveWindow: number;
  /** Above this many bytes queued for want of credit, `write` returns false. */
  maxBufferedBytes: number;
  /** The most stream bytes in one frame (the bridge's maxPayload). */
  maxChunk: number;
}

type InboxItem = { type: 'data'; bytes: Uint8Array } | { type: 'end' } | { type: 'close'; reason: Error | undefined };

/**
 * A byte stream to a TCP/TLS server, through the bridge. Like Node's writable: `write` queues what the
 * bridge's credit does not cover yet and returns false once the queue is over `maxStreamBufferedBytes`;
 * `ondrain` says when it has fallen back to it. Bytes passed to `write` may be reused after it returns.
 */
export class BridgeStream {
  /** The write queue has fallen back to `maxStreamBufferedBytes` after a write returned false. */
  ondrain: (() => void) | null = null;
  private dataHandler: ((bytes: Uint8Array) => void) | null = null;
  private endHandler: (() => void) | null = null;
  private closeHandler: ((reason?: Error) => void) | null = null;
  /**
   * What came from the bridge before it could be handed on, in order: everything before the first handler
   * is set (the bridge's first bytes can come in the same task as `connected`, before the caller's `await`
   * resumes), and bytes while `ondata` is unset (and what follows them). No credit goes back for them.
   */
  private readonly inbox: InboxItem[] = [];
  private attached = false;
  private draining = false;
  private sendCredit: number;
  private readonly queue: Uint8Array[] = [];
  private queued = 0;
  private needDrain = false;
  /** Bytes the bridge may still send before this side grants more. */
  private receiveCredit: number;
  /** Bytes delivered to ondata since the last window frame. */
  private consumed = 0;
  private endCalled = false;
  private endSent = false;
  private remoteEnded = false;
  private closed = false;
  /** An error frame about this stream, which comes before the bridge's close. */
  private error: BridgeError | undefined;

  /** @internal made by BridgeConnection.connect(). */
  constructor(
    private readonly carrier: BridgeStreamCarrier,
    readonly id: number,
    /** The bridge's end of the TCP connection. */
    readonly localAddress: TransportAddress,
    readonly remoteAddress: TransportAddress,
    sendWindow: number,
    private readonly limits: BridgeStreamLimits,
  ) {
    this.sendCredit = sendWindow;
    this.receiveCredit = limits.receiveWindow;
  }

  /**
   * Bytes from the server; a view that stays valid. Credit goes back to the bridge after this returns.
   * While unset, bytes wait here (like a paused Node socket), and the end and close wait behind them.
   */
  get ondata(): ((bytes: Uint8Array) => void) | null {
    return this.dataHandler;
  }
  set ondata(handler: ((bytes: Uint8Array) => void) | null) {
    this.dataHandler = handler;
    this.attach();
  }

  /** The server sends no more bytes (TCP FIN); this side may go on writing. */
  get onend(): (() => void) | null {
    return this.endHandler;
  }
  set onend(handler: (() => void) | null) {
    this.endHandler = handler;
    this.attach();
  }

  /** Called once: no error after close() or a clean end both ways, else the BridgeError saying why. */
  get onclose(): ((reason?: Error) => void) | null {
    return this.closeHandler;
  }
  set onclose(handler: ((reason?: Error) => void) | null) {
    this.closeHandler = handler;
    this.attach();
  }

  /** Bytes queued here, waiting for credit from the bridge. */
  get bufferedAmount(): number {
    return this.queued;
  }

  /** Whether write() still takes bytes (not ended, not closed). */
  get writable(): boolean {
    return !this.closed && !this.endCalled;
  }

  /**
   * Sends bytes, or queues what the credit does not cover. Returns false when the queue is over
   * `maxStreamBufferedBytes` (the bytes are still queued: wait for ondrain). After end() it throws a
   * TypeError; on a closed stream it is a no-op that returns false (the other side may close at any time).
   */
  write(bytes: Uint8Array): boolean {
    if (!(bytes instanceof Uint8Array)) throw new TypeError('BridgeStream.write takes a Uint8Array');
    if (this.closed) return false;
    if (this.endCalled) throw new TypeError(`write after end() on bridge stream ${this.id}`);
    const sent = this.queued === 0 ? this.sendNow(bytes) : 0;
    if (sent < bytes.length) {
      this.queue.push(bytes.slice(sent)); // a copy: the caller may reuse its buffer
      this.queued += bytes.length - sent;
    }
    if (this.queued <= this.limits.maxBufferedBytes) return true;
    this.needDrain = true;
    return false;
  }

  /** Sends no more bytes (TCP half-close) once the queue has gone; the server may go on sending. Idempotent. */
  end(): void {
    if (this.closed || this.endCalled) return;
    this.endCalled = true;
    this.sendEndIfFlushed();
  }

  /** Closes both directions now; queued bytes are dropped. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.shut();
    this.inbox.length = 0; // closing drops what was not read
    this.carrier.sendFrame(encodeBridgeFrame({ type: 'close', socketId: this.id }));
    // Like BridgeSocket, report the close after close() returns.
    queueMicrotask(() => this.onclose?.());
  }

  /** @internal stream bytes from the bridge. */
  receive(payload: Uint8Array): void {
    if (this.closed || payload.length === 0) return;
    if (this.remoteEnded) return this.abort(new BridgeError('protocol', `stream bytes after the end of bridge stream ${this.id}`));
    if (payload.length > this.receiveCredit) {
      return this.abort(new BridgeError('flow-control', `the bridge sent ${payload.length} bytes on stream ${this.id} with ${this.receiveCredit} of credit`));
    }
    this.receiveCredit -= payload.length;
    if (this.inbox.length > 0 || !this.attached || !this.dataHandler) this.inbox.push({ type: 'data', bytes: payload });
    else this.deliver(payload);
  }

  /** @internal the bridge grants more credit. */
  grant(increment: number): void {
    if (this.closed) return;
    this.sendCredit += increment;
    this.flush();
  }

  /** @internal the server ended its direction. */
  remoteEnd(): void {
    if (this.closed || this.remoteEnded) return;
    this.remoteEnded = true;
    this.notify({ type: 'end' });
  }

  /** @internal an error frame named this stream; the bridge's close follows. */
  noteError(error: BridgeError): void {
    this.error ??= error;
  }

  /** @internal the bridge closed the stream. */
  closedByBridge(): void {
    if (this.closed) return;
    this.shut();
    const clean = this.error === undefined && this.remoteEnded && this.endSent;
    this.notify({ type: 'close', reason: clean ? undefined : (this.error ?? new BridgeError('stream-closed', `the bridge closed stream ${this.id}`)) });
  }

  /** @internal the connection went away. */
  closedBy(error: BridgeError): void {
    if (this.closed) return;
    this.shut();
    this.notify({ type: 'close', reason: error });
  }

  /** Hands bytes to ondata and grants their credit back, one grant per half window, not one per chunk. */
  private deliver(payload: Uint8Array): void {
    this.dataHandler?.(payload);
    if (this.closed || this.remoteEnded) return;
    this.consumed += payload.length;
    if (this.consumed * 2 >= this.limits.receiveWindow) {
      this.carrier.sendFrame(encodeBridgeFrame({ type: 'window', streamId: this.id, increment: this.consumed }));
      this.receiveCredit += this.consumed;
      this.consumed = 0;
    }
  }

  /** An end or a close: now, or after what waits in the inbox. */
  private notify(item: InboxItem): void {
    if (this.inbox.length > 0 || !this.attached) this.inbox.push(item);
    else this.dispatch(item);
  }

  private dispatch(item: InboxItem): void {
    if (item.type === 'data') this.deliver(item.bytes);
    else if (item.type === 'end') this.endHandler?.();
    else this.closeHandler?.(item.reason);
  }

  /** A handler was set: what waits goes out after the caller's other assignments (a microtask later). */
  private attach(): void {
    this.attached = true;
    if (this.inbox.length === 0 || this.draining) return;
    this.draining = true;
    queueMicrotask(() => {
      this.draining = false;
      // Bytes wait for ondata; the end and close behind them wait with them.
      while (this.inbox.length > 0 && (this.inbox[0].type !== 'data' || this.dataHandler)) this.dispatch(this.inbox.shift()!);
    });
  }

  /** Sends what the credit allows of `bytes` in frames of at most maxChunk; returns how many went. */
  private sendNow(bytes: Uint8Array): number {
    let offset = 0;
    while (offset < bytes.length && this.sendCredit > 0) {
      const n = Math.min(bytes.length - offset, this.sendCredit, this.limits.maxChunk);
      this.carrier.sendFrame(encodeStreamFrame(this.id, bytes.subarray(offset, offset + n)));
      this.sendCredit -= n;
      offset += n;
    }
    return offset;
  }

  private flush(): void {
    while (this.queue.length > 0 && this.sendCredit > 0) {
      const head = this.queue[0];
      const sent = this.sendNow(head);
      this.queued -= sent;
      if (sent < head.length) this.queue[0] = head.subarray(sent);
      else this.queue.shift();
    }
    this.sendEndIfFlushed();
    if (this.needDrain && this.queued <= this.limits.maxBufferedBytes) {
      this.needDrain = false;
      this.ondrain?.();
    }
  }

  private sendEndIfFlushed(): void {
    if (!this.endCalled || this.endSent || this.queued > 0) return;
    this.endSent = true;
    this.carrier.sendFrame(encodeBridgeFrame({ type: 'end', streamId: this.id }));
  }

  /** The bridge broke the protocol on this stream: close it there and report why here. */
  private abort(error: BridgeError): void {
    this.shut();
    this.inbox.length = 0;
    this.carrier.sendFrame(encodeBridgeFrame({ type: 'close', socketId: this.id }));
    this.notify({ type: 'close', reason: error });
  }

  private shut(): void {
    this.closed = true;
    this.queue.length = 0;
    this.queued = 0;
    this.carrier.releaseStream(this.id);
  }
}
