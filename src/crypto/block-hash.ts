/**
 * The Merkle–Damgård framing shared by MD5, SHA-1 and SHA-256: 64-byte blocks, a 0x80 byte, zero fill and
 * the message length in bits as a 64-bit integer (FIPS 180-4 §5.1.1; RFC 1321 §3.1–3.2 for MD5, which
 * writes the length little-endian). Subclasses supply only the compression function and the chaining state.
 *
 * A state is incremental — `update(data, start, end)` any number of times, then `digest()` — and can be
 * copied, which is what lets HMAC precompute the key's pad blocks once (RFC 2104 §4, "implementation note").
 */
export abstract class BlockHash {
  abstract readonly digestLength: number;

  /** Bytes not yet compressed because they do not fill a block. */
  private readonly pending = new Uint8Array(64);
  private pendingLength = 0;
  /** Total bytes hashed; a double counts exactly up to 2^53 bytes, far beyond anything hashed here. */
  private byteLength = 0;

  protected constructor(private readonly lengthLittleEndian: boolean) {}

  /** Processes one 64-byte block starting at `offset` of `bytes`. */
  protected abstract compress(bytes: Uint8Array, offset: number): void;
  /** Writes the chaining value as the digest bytes. */
  protected abstract writeDigest(out: Uint8Array, offset: number): void;
  /** Restores the initial chaining value. */
  protected abstract resetChain(): void;
  /** Copies the chaining value of another state of the same algorithm. */
  protected abstract copyChain(from: this): void;

  /** Back to the state of a fresh hash, so one object can serve many messages without allocating. */
  reset(): this {
    this.resetChain();
    this.pendingLength = 0;
    this.byteLength = 0;
    return this;
  }

  /** Makes this state identical to `from` (same algorithm), e.g. an HMAC pad state saved after its key block. */
  copyFrom(from: this): this {
    this.copyChain(from);
    // Only the live bytes: an HMAC pad state has none, so the per-message copy is just the chain.
    for (let i = 0; i < from.pendingLength; i++) this.pending[i] = from.pending[i];
    this.pendingLength = from.pendingLength;
    this.byteLength = from.byteLength;
    return this;
  }

  /** Hashes `data[start, end)`; whole blocks are compressed straight from `data`, never copied. */
  update(data: Uint8Array, start = 0, end = data.length): this {
    checkRange(data, start, end);
    this.byteLength += end - start;
    let pos = start;
    const pending = this.pending;
    let fill = this.pendingLength;
    if (fill > 0) {
      // A byte loop: these copies are under 64 bytes, where set(subarray()) costs more in allocation.
      while (fill < 64 && pos < end) pending[fill++] = data[pos++];
      if (fill < 64) {
        this.pendingLength = fill;
        return this;
      }
      this.compress(pending, 0);
      fill = 0;
    }
    while (end - pos >= 64) {
      this.compress(data, pos);
      pos += 64;
    }
    while (pos < end) pending[fill++] = data[pos++];
    this.pendingLength = fill;
    return this;
  }

  /**
   * Finishes the hash and writes the digest into `out` at `offset`. The state is spent afterwards:
   * call `reset()` or `copyFrom()` before hashing again.
   */
  digestInto(out: Uint8Array, offset = 0): void {
    if (!Number.isInteger(offset) || offset < 0 || offset + this.digestLength > out.length) {
      throw new RangeError(`digest needs ${this.digestLength} bytes at offset ${offset} of ${out.length}`);
    }
    const pending = this.pending;
    let fill = this.pendingLength;
    pending[fill++] = 0x80;
    // The 8-byte length must fit after the 0x80; otherwise it goes in one more block (FIPS 180-4 §5.1.1).
    if (fill > 56) {
      pending.fill(0, fill);
      this.compress(pending, 0);
      fill = 0;
    }
    pending.fill(0, fill, 56);
    // Bit length = bytes · 8 as two 32-bit halves, computed without ever forming an inexact double.
    const high = Math.floor(this.byteLength / 0x20000000) >>> 0;
    const low = ((this.byteLength >>> 0) << 3) >>> 0;
    if (this.lengthLittleEndian) {
      writeUint32LE(pending, 56, low);
      writeUint32LE(pending, 60, high);
    } else {
      writeUint32BE(pending, 56, high);
      writeUint32BE(pending, 60, low);
    }
    this.compress(pending, 0);
    this.writeDigest(out, offset);
    this.pendingLength = 0;
  }

  /** Finishes the hash and returns the digest in a new array; the state is spent (see `digestInto`). */
  digest(): Uint8Array {
    const out = new Uint8Array(this.digestLength);
    this.digestInto(out, 0);
    return out;
  }
}

/** Rejects a range that is not `0 ≤ start ≤ end ≤ length` in whole numbers: a bad range is a caller bug. */
export function checkRange(data: Uint8Array, start: number, end: number): void {
  if (!(Number.isInteger(start) && Number.isInteger(end) && start >= 0 && start <= end && end <= data.length)) {
    throw new RangeError(`range [${start}, ${end}) is outside 0..${data.length}`);
  }
}

export function writeUint32BE(out: Uint8Array, offset: number, value: number): void {
  out[offset] = value >>> 24;
  out[offset + 1] = value >>> 16;
  out[offset + 2] = value >>> 8;
  out[offset + 3] = value;
}

export function writeUint32LE(out: Uint8Array, offset: number, value: number): void {
  out[offset] = value;
  out[offset + 1] = value >>> 8;
  out[offset + 2] = value >>> 16;
  out[offset + 3] = value >>> 24;
}
