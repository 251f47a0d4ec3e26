// Splits a byte stream (STUN or TURN over TCP/TLS) into messages. RFC 8489 §6.2.2: STUN messages over a
// stream are self-delimiting by their length field. RFC 8656 §12.5: ChannelData messages are padded to a
// multiple of 4 bytes on streams, and the padding is not counted in their length field.

export class StreamFramingError extends Error {
  override readonly name = 'StreamFramingError';
  constructor(readonly reason: string) {
    super(`stream framing: ${reason}`);
  }
}

export interface StreamFramerOptions {
  /** Largest frame accepted; a longer one means the stream is not STUN/TURN and must be closed. Default 65 535 + 20. */
  maxFrame?: number;
  /**
   * Which first bytes are ChannelData: 'rfc8656' 0x40–0x4F (channels 0x4000–0x4FFF, RFC 8656 §12); 'rfc5766'
   * 0x40–0x7F (RFC 5766's 0x4000–0x7FFF, which a server accepts for older clients such as turnutils_uclient).
   * Default 'rfc8656'.
   */
  channelNumbers?: 'rfc8656' | 'rfc5766';
  /**
   * Hand frames out as views into the chunks given to `push` rather than as copies: one ArrayBuffer
   * allocation and copy fewer per message (the TURN server's relaying path). Only for a stream that never
   * reuses or changes a chunk once it has handed it over — Node's net/tls sockets give each read a fresh
   * buffer — and a frame that is kept keeps its whole chunk's memory alive. Default false: every frame is a
   * copy of its own.
   */
  views?: boolean;
}

/**
 * Accumulates chunks and yields whole frames. A first byte that is neither STUN (0..3) nor ChannelData
 * (0x40..0x4F) cannot be resynchronised on a stream, so it raises StreamFramingError: close the connection.
 */
const EMPTY = new Uint8Array(0);

export class StreamFramer {
  private buffer: Uint8Array = EMPTY;
  private readonly maxFrame: number;
  private readonly lastChannelByte: number;
  private readonly views: boolean;

  constructor(options: StreamFramerOptions = {}) {
    this.maxFrame = options.maxFrame ?? 0xffff + 20;
    this.lastChannelByte = options.channelNumbers === 'rfc5766' ? 0x7f : 0x4f;
    this.views = options.views === true;
  }

  /**
   * Adds a chunk; returns the frames it completes: copies of their own, or with `views` views into the
   * chunk (or into the framer's own buffer when a frame spans chunks), which stay valid as long as the
   * chunk is not reused. The bytes held for an incomplete frame are always copied out.
   */
  push(chunk: Uint8Array): Uint8Array[] {
    // The chunk is read in place (frames and the rest are copied out): one copy fewer on the relaying path.
    this.buffer = this.buffer.length === 0 ? chunk : concat(this.buffer, chunk);
    const frames: Uint8Array[] = [];
    let offset = 0;
    for (;;) {
      const available = this.buffer.length - offset;
      if (available < 4) break;
      const first = this.buffer[offset];
      const length = (this.buffer[offset + 2] << 8) | this.buffer[offset + 3];
      let frameLength: number;
      let consumed: number;
      if (first < 4) {
        frameLength = 20 + length;
        consumed = frameLength;
      } else if (first >= 0x40 && first <= this.lastChannelByte) {
        frameLength = 4 + length;
        consumed = (frameLength + 3) & ~3;
      } else {
        throw new StreamFramingError(`first byte 0x${first.toString(16)} is neither STUN nor ChannelData`);
      }
      if (frameLength > this.maxFrame) throw new StreamFramingError(`frame of ${frameLength} bytes exceeds ${this.maxFrame}`);
      if (available < consumed) break;
      frames.push(this.views ? this.buffer.subarray(offset, offset + frameLength) : this.buffer.slice(offset, offset + frameLength));
      offset += consumed;
    }
    // Never keep the caller's chunk itself: it may reuse it (and with `views`, a few bytes would pin all of it).
    this.buffer = offset === this.buffer.length ? EMPTY : offset > 0 || this.buffer === chunk ? this.buffer.slice(offset) : this.buffer;
    return frames;
  }

  /** Bytes held waiting for the rest of a frame. */
  get pending(): number {
    return this.buffer.length;
  }

  /** Returns the bytes held and forgets them (a stream that stops being framed, RFC 6062 §5.4). */
  takePending(): Uint8Array {
    const held = this.buffer;
    this.buffer = new Uint8Array(0);
    return held;
  }
}

/** ChannelData sent on a stream is padded to 4 bytes (RFC 8656 §12.5); STUN messages already are. */
export function frameForStream(bytes: Uint8Array): Uint8Array {
  if (bytes.length % 4 === 0) return bytes;
  const padded = new Uint8Array((bytes.length + 3) & ~3);
  padded.set(bytes);
  return padded;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
