// A byte stream to one STUN/TURN server seen as a DatagramSocket: each framed message is one datagram from
// the server, and `send` writes one message to the stream (RFC 8489 §6.2.2; ChannelData padded to 4 bytes,
// RFC 8656 §12.5). Isomorphic: Node's TCP/TLS sockets (node/stream-socket.ts) and the bridge's streams
// (BridgeConnection.openStreamSocket) both run over it.
import type { DatagramHandler, DatagramSocket } from './datagram-socket.js';
import { isIp, parseIp } from './ip.js';
import { frameForStream, StreamFramer, type StreamFramerOptions } from './stream-framer.js';
import type { TransportAddress } from './transport-address.js';

/** The byte stream a FramedStreamSocket runs over. */
export interface ByteStream {
  /** Writes bytes; false when the stream's queue is over its limit (then messages are dropped until ondrain). */
  write(bytes: Uint8Array): boolean;
  close(): void;
  ondata: ((bytes: Uint8Array) => void) | null;
  /** Once, when the stream closes for good; with an error if it failed. */
  onclose: ((reason?: Error) => void) | null;
  /** The other side sends no more: a STUN/TURN connection is over then. */
  onend?: (() => void) | null;
  ondrain?: (() => void) | null;
  /** Stop / start delivering ondata (flow control when the bytes are piped on, RFC 6062 §3). Optional. */
  pause?(): void;
  resume?(): void;
  /** Finishes writing what is queued, then closes (a half-close); close() otherwise. Optional. */
  end?(): void;
}

export class FramedStreamSocket implements DatagramSocket {
  ondatagram: DatagramHandler | null = null;
  onclose: ((reason?: Error) => void) | null = null;
  /** A stream delivers in order or not at all: STUN sends each request once (RFC 8489 §6.2.2). */
  readonly reliable = true;
  /** Messages `send` dropped: not to the server, or the stream's queue was full (whole messages only). */
  droppedSends = 0;
  private readonly framer: StreamFramer;
  private busy = false;
  private closed = false;
  private unframedValue = false;

  constructor(
    private readonly stream: ByteStream,
    readonly localAddress: TransportAddress,
    readonly remoteAddress: TransportAddress,
    options: StreamFramerOptions = {},
  ) {
    this.framer = new StreamFramer(options);
    stream.ondata = (bytes) => this.onData(bytes);
    stream.onclose = (reason) => this.shut(reason);
    stream.onend = () => this.shut();
    stream.ondrain = () => {
      this.busy = false;
    };
  }

  /** Writes one message; `to` must be the server this connection goes to (anything else is dropped). */
  send(bytes: Uint8Array, to: TransportAddress): void {
    if (this.closed || to.port !== this.remoteAddress.port || !sameHost(to.address, this.remoteAddress.address)) {
      this.droppedSends++;
      return;
    }
    // Dropping a whole message keeps the framing intact; the stream's queue stays bounded.
    if (this.busy) {
      this.droppedSends++;
      return;
    }
    if (!this.stream.write(frameForStream(bytes))) this.busy = true;
  }

  close(): void {
    this.shut();
  }

  /** True once unframe() handed the stream over: whoever owns the connection must leave it open. */
  get unframed(): boolean {
    return this.unframedValue;
  }

  /**
   * Stops framing and hands the stream over, open, with the bytes received after the last whole message
   * (RFC 6062 §5.4: after a ConnectionBind, a connection carries raw data). The socket is closed for its
   * owner (onclose fires) but the stream is not; undefined if already closed.
   */
  unframe(): { stream: ByteStream; pending: Uint8Array } | undefined {
    if (this.closed) return undefined;
    this.closed = true;
    this.unframedValue = true;
    const stream = this.stream;
    stream.ondata = stream.onclose = stream.onend = stream.ondrain = null;
    const pending = this.framer.takePending();
    this.onclose?.();
    return { stream, pending };
  }

  private onData(bytes: Uint8Array): void {
    let frames: Uint8Array[];
    try {
      frames = this.framer.push(bytes);
    } catch (err) {
      // Not STUN or ChannelData: a stream cannot be resynchronised, so it is closed.
      this.shut(err instanceof Error ? err : new Error(String(err)));
      return;
    }
    for (const frame of frames) {
      if (this.closed) return;
      this.ondatagram?.(frame, this.remoteAddress);
    }
  }

  private shut(reason?: Error): void {
    if (this.closed) return;
    this.closed = true;
    const stream = this.stream;
    stream.ondata = stream.onclose = stream.onend = stream.ondrain = null;
    stream.close();
    this.onclose?.(reason);
  }
}

/** Whether two IP literals name one host: byte-wise, and an IPv4-mapped IPv6 address (::ffff:a.b.c.d) is its IPv4 address. */
export function sameHost(a: string, b: string): boolean {
  if (a === b) return true;
  if (!isIp(a) || !isIp(b)) return false;
  const x = unmapped(parseIp(a));
  const y = unmapped(parseIp(b));
  return x.length === y.length && x.every((byte, i) => byte === y[i]);
}

function unmapped(bytes: Uint8Array): Uint8Array {
  if (bytes.length !== 16) return bytes;
  for (let i = 0; i < 10; i++) if (bytes[i] !== 0) return bytes;
  return bytes[10] === 0xff && bytes[11] === 0xff ? bytes.subarray(12) : bytes;
}
