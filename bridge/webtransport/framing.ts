// The control stream's framing (PROTOCOL.md): every frame is `[length u32 big-endian][frame bytes]`. Pure:
// bytes in, whole frames out; a length over the limit is reported before a byte of that frame is buffered.

/** A length prefix announcing more than the session's largest frame. */
export interface OversizedFrame {
  readonly oversized: number;
}

export class LengthPrefixedReader {
  private chunks: Uint8Array[] = [];
  private buffered = 0;
  /** The length of the frame being read, once its prefix is in. */
  private want: number | undefined;

  constructor(private readonly maxFrame: number) {}

  /** Takes the next chunk of the stream; returns the frames it completed, or the first oversized prefix. */
  push(chunk: Uint8Array): Uint8Array[] | OversizedFrame {
    if (chunk.length > 0) {
      this.chunks.push(chunk);
      this.buffered += chunk.length;
    }
    const frames: Uint8Array[] = [];
    for (;;) {
      if (this.want === undefined) {
        if (this.buffered < 4) return frames;
        const p = this.take(4);
        const length = ((p[0] << 24) | (p[1] << 16) | (p[2] << 8) | p[3]) >>> 0;
        if (length > this.maxFrame) return { oversized: length };
        this.want = length;
      }
      if (this.buffered < this.want) return frames;
      frames.push(this.take(this.want));
      this.want = undefined;
    }
  }

  /** Bytes of an unfinished frame held now. */
  get pending(): number {
    return this.buffered;
  }

  private take(n: number): Uint8Array {
    const first = this.chunks[0];
    if (first !== undefined && first.length >= n) {
      const out = first.subarray(0, n);
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
      this.buffered -= n;
      return out;
    }
    const out = new Uint8Array(n);
    let at = 0;
    while (at < n) {
      const c = this.chunks[0];
      const k = Math.min(c.length, n - at);
      out.set(c.subarray(0, k), at);
      at += k;
      if (k === c.length) this.chunks.shift();
      else this.chunks[0] = c.subarray(k);
    }
    this.buffered -= n;
    return out;
  }
}

/** One frame with its length prefix, as it goes on the control stream. */
export function lengthPrefixed(frame: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + frame.length);
  new DataView(out.buffer).setUint32(0, frame.length);
  out.set(frame, 4);
  return out;
}
