// Carrier 2 (bridge/webtransport/PROTOCOL.md): one WebTransport session to the bridge. Every frame goes
// length-prefixed ([u32 BE length][frame]) on one bidirectional control stream the client opens after
// `ready`, except data frames, which go as one QUIC datagram each when they fit the session's datagram limit
// (a larger one goes on the control stream: never silently lost). The bridge's close code comes in band, as
// a `session-close` error frame on the control stream (a refusal too, in place of the hello); this side ends
// a session by FIN on the control stream, then wt.close(). Isomorphic: the platform's WebTransport (a page's,
// a Worker's), or any class with its shape.
import { BridgeError } from './bridge-error.js';
import type { BridgeCarrier, CarrierClose } from './bridge-carrier.js';
import { DATA_HEADER_MAX, BridgeFrameType, decodeBridgeFrame, parseSessionCloseReason, SESSION_CLOSE_ERROR } from './bridge-frame.js';

/** Bytes as W3C APIs take them (the DOM's BufferSource, named here so Node-only consumers need no DOM lib). */
export type BytesSource = ArrayBuffer | ArrayBufferView;

/** A certificate hash as W3C WebTransport takes it; `value` may be base64 text (as /config.json gives it). */
export interface CertificateHash {
  algorithm: 'sha-256';
  value: string | BytesSource;
}

/** The W3C WebTransport options this carrier passes. */
export interface WebTransportInit {
  serverCertificateHashes?: { algorithm: string; value: BytesSource }[];
}

/** The part of W3C WebTransport used here. */
export interface WebTransportLike {
  readonly ready: Promise<unknown>;
  readonly closed: Promise<{ closeCode?: number; reason?: string }>;
  readonly datagrams: {
    readonly readable: ReadableStream<Uint8Array>;
    readonly writable: WritableStream<Uint8Array>;
    readonly maxDatagramSize: number;
    /** W3C WebTransport: how long an outgoing datagram may wait in the browser's queue (ms); null: no limit. */
    outgoingMaxAge?: number | null;
    incomingHighWaterMark?: number;
  };
  createBidirectionalStream(): Promise<{ readable: ReadableStream<Uint8Array>; writable: WritableStream<Uint8Array> }>;
  close(info?: { closeCode?: number; reason?: string }): void;
}

/** Any WebTransport class: the platform's (a page's, a Worker's), or a test's. */
export type WebTransportConstructor = new (url: string, options?: WebTransportInit) => object;

/** How long an outgoing datagram may wait in the browser's QUIC queue, and how many incoming ones it keeps. */
const OUTGOING_DATAGRAM_MAX_AGE_MS = 1000;
const INCOMING_DATAGRAM_QUEUE = 512;

/**
 * Chromium drops a queued outgoing datagram once it has waited about 1.25 smoothed RTTs (its QUIC datagram
 * queue's default age): on a fast link a burst the congestion window holds back is lost without a word.
 * UDP through the bridge would not lose them: let them wait (W3C WebTransport outgoingMaxAge), and keep a
 * burst of incoming ones for a reader that is busy. Browsers without the setters keep their defaults.
 */
function keepQueuedDatagrams(wt: WebTransportLike): void {
  try {
    wt.datagrams.outgoingMaxAge = OUTGOING_DATAGRAM_MAX_AGE_MS;
    wt.datagrams.incomingHighWaterMark = INCOMING_DATAGRAM_QUEUE;
  } catch {
    // not settable here: the defaults stay
  }
}

/** The largest v2 frame: a data frame of the largest payload a hello can announce (u16). */
const MAX_FRAME_BYTES = 0xffff + DATA_HEADER_MAX;
const LENGTH_PREFIX = 4;
/** After the control stream ends, how long to wait for the session's close code before calling it broken. */
const CLOSE_GRACE_MS = 1000;

export interface WebTransportCarrierOptions {
  WebTransport?: WebTransportConstructor;
  certificateHashes?: CertificateHash[];
}

export class WebTransportCarrier implements BridgeCarrier {
  readonly kind = 'webtransport';
  onframe: ((frame: Uint8Array) => void) | null = null;
  onmalformed: (() => void) | null = null;
  onclose: ((close: CarrierClose) => void) | null = null;
  /** Datagrams queued for Chromium's datagram writer (its high-water mark is 1), and their bytes. */
  private readonly datagramQueue: Uint8Array[] = [];
  private datagramBytes = 0;
  private pumping = false;
  /** Bytes written to the control stream whose write has not completed. */
  private streamBytes = 0;
  private streamWriter: WritableStreamDefaultWriter<Uint8Array> | undefined;
  private datagramWriter: WritableStreamDefaultWriter<Uint8Array> | undefined;
  private ended = false;
  private isReady = false;
  private readonly wt: WebTransportLike;

  /** Throws a BridgeError('connect-failed') for a URL or options the WebTransport class refuses. */
  constructor(url: string, options: WebTransportCarrierOptions = {}) {
    const Ctor = options.WebTransport ?? (globalThis as { WebTransport?: WebTransportConstructor }).WebTransport;
    if (!Ctor) throw new BridgeError('not-supported', 'no WebTransport here (this browser or runtime has none)');
    const hashes = options.certificateHashes?.map((h) => ({ algorithm: h.algorithm, value: hashBytes(h.value) }));
    try {
      this.wt = new Ctor(url, hashes && hashes.length > 0 ? { serverCertificateHashes: hashes } : {}) as unknown as WebTransportLike;
    } catch (err) {
      throw new BridgeError('connect-failed', `WebTransport refused ${url}: ${messageOf(err)}`);
    }
    const withHashes = hashes !== undefined && hashes.length > 0;
    // `closed` rejects as `ready` does when the handshake fails (whichever settles first): both say handshake-failed.
    this.wt.closed.then(
      (info) => this.end({ code: info.closeCode ?? 0, reason: info.reason ?? '' }),
      (err: unknown) => this.end({ code: 0, reason: messageOf(err), error: this.failure(err, this.isReady ? undefined : url, withHashes) }),
    );
    this.start(url, withHashes).catch((err: unknown) => {
      this.end({ code: 0, reason: messageOf(err), error: this.failure(err) });
      this.closeSession(0, '');
    });
  }

  get open(): boolean {
    return !this.ended && this.streamWriter !== undefined;
  }

  get bufferedAmount(): number {
    return this.streamBytes + this.datagramBytes;
  }

  send(frame: Uint8Array): void {
    if (!this.open) return;
    // PROTOCOL.md: each datagram is exactly one data frame; one larger than the datagram limit goes on the stream.
    if (frame[0] === BridgeFrameType.data && frame.length <= this.wt.datagrams.maxDatagramSize) {
      this.datagramQueue.push(frame);
      this.datagramBytes += frame.length;
      void this.pumpDatagrams();
      return;
    }
    const message = new Uint8Array(LENGTH_PREFIX + frame.length);
    new DataView(message.buffer).setUint32(0, frame.length);
    message.set(frame, LENGTH_PREFIX);
    this.streamBytes += message.length;
    this.streamWriter!.write(message).then(
      () => (this.streamBytes -= message.length),
      () => {}, // the session is ending: `closed` says why
    );
  }

  close(code = 1000, reason = ''): void {
    if (this.ended) return;
    this.ended = true;
    this.onframe = this.onclose = this.onmalformed = null;
    this.closeSession(code, reason);
  }

  private async start(url: string, withHashes: boolean): Promise<void> {
    try {
      await this.wt.ready;
    } catch (err) {
      throw this.failure(err, url, withHashes);
    }
    this.isReady = true;
    if (this.ended) return;
    const stream = await this.wt.createBidirectionalStream();
    if (this.ended) return;
    this.datagramWriter = this.wt.datagrams.writable.getWriter();
    keepQueuedDatagrams(this.wt);
    void this.readDatagrams(this.wt.datagrams.readable.getReader());
    void this.readStream(stream.readable.getReader());
    this.streamWriter = stream.writable.getWriter();
  }

  /** A handshake that failed, as a typed error naming the likely causes (the browser does not say which). */
  private failure(err: unknown, url?: string, withHashes?: boolean): BridgeError {
    if (err instanceof BridgeError) return err;
    if (url === undefined) return new BridgeError('closed', `the WebTransport session failed: ${messageOf(err)}`);
    const why = withHashes
      ? "the server's certificate does not match certificateHashes, or nothing serves WebTransport there"
      : 'the certificate is not trusted (pass certificateHashes for a self-signed one), or nothing serves WebTransport there';
    return new BridgeError('handshake-failed', `WebTransport handshake with ${url} failed (${messageOf(err)}): ${why}`);
  }

  /** Feeds Chromium's datagram writer one at a time: its high-water mark is 1, so wait for `ready` between. */
  private async pumpDatagrams(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    try {
      const writer = this.datagramWriter!;
      while (this.datagramQueue.length > 0 && !this.ended) {
        await writer.ready;
        const datagram = this.datagramQueue.shift()!;
        this.datagramBytes -= datagram.length;
        writer.write(datagram).catch(() => {}); // a datagram lost on the way is UDP's semantics
      }
    } catch {
      // The writer errored: the session is ending, `closed` says why.
    } finally {
      this.pumping = false;
    }
  }

  private async readDatagrams(reader: ReadableStreamDefaultReader<Uint8Array>): Promise<void> {
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done || this.ended) return;
        if (value[0] !== BridgeFrameType.data) this.onmalformed?.(); // only data frames travel as datagrams
        else this.onframe?.(value);
      }
    } catch {
      // The session ended: `closed` reports it.
    }
  }

  /** Reassembles `[u32 length][frame]` messages across chunks; a length beyond the largest frame is fatal. */
  private async readStream(reader: ReadableStreamDefaultReader<Uint8Array>): Promise<void> {
    let pending: Uint8Array = new Uint8Array(0);
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done || this.ended) break;
        pending = pending.length === 0 ? value : concat(pending, value);
        let offset = 0;
        while (pending.length - offset >= LENGTH_PREFIX) {
          const length = new DataView(pending.buffer, pending.byteOffset + offset).getUint32(0);
          if (length > MAX_FRAME_BYTES) {
            this.fail(new BridgeError('protocol', `a frame of ${length} bytes on the control stream, limit ${MAX_FRAME_BYTES}`));
            return;
          }
          if (pending.length - offset < LENGTH_PREFIX + length) break;
          const frame = pending.slice(offset + LENGTH_PREFIX, offset + LENGTH_PREFIX + length);
          offset += LENGTH_PREFIX + length;
          const close = sessionCloseOf(frame);
          if (close) {
            // PROTOCOL.md: the bridge's close code travels in band (a refusal, before any hello, included).
            this.end(close);
            this.closeSession(1000, '');
            return;
          }
          this.onframe?.(frame);
          if (this.ended) return;
        }
        pending = offset === pending.length ? new Uint8Array(0) : pending.subarray(offset);
      }
    } catch {
      // The stream was reset or the session ended: wait for the session's close below.
    }
    if (this.ended) return;
    // The bridge says why before it ends the control stream; a bridge that closes the session with a code in
    // `wt.closed` instead (not Deno's) is given time to.
    const timer = setTimeout(() => this.fail(new BridgeError('protocol', 'the bridge ended the control stream but not the session')), CLOSE_GRACE_MS);
    this.wt.closed.finally(() => clearTimeout(timer)).catch(() => {});
  }

  private fail(error: BridgeError): void {
    this.end({ code: 0, reason: error.reason, error });
    this.closeSession(1011, error.reason);
  }

  private end(close: CarrierClose): void {
    if (this.ended) return;
    this.ended = true;
    const onclose = this.onclose;
    this.onframe = this.onclose = this.onmalformed = null;
    onclose?.(close);
  }

  /** PROTOCOL.md: FIN the control stream first, so the bridge sees the end at once, then close the session. */
  private closeSession(code: number, reason: string): void {
    this.datagramQueue.length = 0;
    this.datagramBytes = 0;
    const writer = this.streamWriter;
    this.streamWriter = undefined;
    const closeWt = () => {
      try {
        this.wt.close({ closeCode: code, reason });
      } catch {
        // already closed
      }
    };
    if (!writer) {
      closeWt();
      return;
    }
    // close() resolves once queued frames are written and the FIN went; bounded, in case the peer is gone.
    const fin = writer.close().catch(() => {});
    const timer = setTimeout(closeWt, CLOSE_GRACE_MS);
    void fin.then(() => {
      clearTimeout(timer);
      closeWt();
    });
  }
}

/** A hash's bytes: base64 text (standard or URL alphabet) decoded, a BufferSource as is. */
export function hashBytes(value: string | BytesSource): Uint8Array<ArrayBuffer> {
  if (typeof value !== 'string') return ArrayBuffer.isView(value) ? new Uint8Array(value.buffer, value.byteOffset, value.byteLength).slice() : new Uint8Array(value).slice();
  const text = atob(value.replace(/-/g, '+').replace(/_/g, '/'));
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
  return bytes;
}

/** The close of a session-close error frame (PROTOCOL.md "The close code in band"); undefined for any other frame. */
function sessionCloseOf(frame: Uint8Array): CarrierClose | undefined {
  if (frame[0] !== BridgeFrameType.error) return undefined;
  let decoded;
  try {
    decoded = decodeBridgeFrame(frame);
  } catch {
    return undefined; // the connection counts it as malformed
  }
  return decoded.type === 'error' && decoded.code === SESSION_CLOSE_ERROR ? parseSessionCloseReason(decoded.reason) : undefined;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message || err.name : String(err);
}
