// RFC 4571 §2 framing: each packet on a stream is preceded by its length as a 16-bit big-endian number.
// ICE-TCP (RFC 6544 §7.1, §10) carries STUN checks and application data this way, so anything — STUN or
// not — fits; a packet cannot exceed 65 535 bytes.

/** Largest packet the 16-bit length can carry. */
export const RFC4571_MAX_PACKET = 0xffff;

const EMPTY = new Uint8Array(0);

/** Accumulates stream chunks and yields whole packets (copies, so the caller may reuse its chunks). */
export class Rfc4571Framer {
  private buffer: Uint8Array = EMPTY;

  push(chunk: Uint8Array): Uint8Array[] {
    let buffer = chunk;
    if (this.buffer.length > 0) {
      buffer = new Uint8Array(this.buffer.length + chunk.length);
      buffer.set(this.buffer);
      buffer.set(chunk, this.buffer.length);
    }
    const packets: Uint8Array[] = [];
    let offset = 0;
    while (buffer.length - offset >= 2) {
      const length = (buffer[offset] << 8) | buffer[offset + 1];
      if (buffer.length - offset - 2 < length) break;
      packets.push(buffer.slice(offset + 2, offset + 2 + length));
      offset += 2 + length;
    }
    this.buffer = offset === buffer.length ? EMPTY : buffer.slice(offset);
    return packets;
  }

  /** Bytes held waiting for the rest of a packet. */
  get pending(): number {
    return this.buffer.length;
  }
}

/** The packet with its RFC 4571 length in front; a RangeError over 65 535 bytes. */
export function frameRfc4571(packet: Uint8Array): Uint8Array {
  if (packet.length > RFC4571_MAX_PACKET) throw new RangeError(`an RFC 4571 packet is at most ${RFC4571_MAX_PACKET} bytes, not ${packet.length}`);
  const out = new Uint8Array(2 + packet.length);
  out[0] = packet.length >>> 8;
  out[1] = packet.length & 0xff;
  out.set(packet, 2);
  return out;
}
