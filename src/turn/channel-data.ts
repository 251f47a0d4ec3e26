// ChannelData messages (RFC 8656 §12.4): a 4-byte header — channel number, length — then the application
// data. Channel numbers 0x4000–0x4FFF (§12); over UDP the message need not be padded, over TCP/TLS it is
// padded to a multiple of 4 (§12.5, see net/stream-framer.ts). A server may accept RFC 5766's wider range,
// 0x4000–0x7FFF (RFC 5766 §11), by passing CHANNEL_MAX_RFC5766 as `max`; clients always use the narrow one.

export const CHANNEL_MIN = 0x4000;
export const CHANNEL_MAX = 0x4fff;
/** RFC 5766 §11: the last channel number of the older, wider range (RFC 8656 §12 narrowed it to 0x4FFF). */
export const CHANNEL_MAX_RFC5766 = 0x7fff;
export const CHANNEL_DATA_HEADER = 4;

export function isValidChannelNumber(channel: number, max: number = CHANNEL_MAX): boolean {
  return Number.isInteger(channel) && channel >= CHANNEL_MIN && channel <= max;
}

function rangeText(max: number): string {
  return `0x4000-0x${max.toString(16).toUpperCase()}`;
}

export class ChannelDataError extends Error {
  override readonly name = 'ChannelDataError';
  constructor(
    readonly code: 'TRUNCATED' | 'BAD_CHANNEL' | 'LENGTH_MISMATCH',
    readonly reason: string,
  ) {
    super(`ChannelData ${code}: ${reason}`);
  }
}

export interface ChannelData {
  readonly channel: number;
  /** A view into the datagram, not a copy. */
  readonly data: Uint8Array;
}

/**
 * Reads a ChannelData message whose channel is in 0x4000..`max`. The length field may be shorter than the datagram (padding, §12.5: a
 * receiver ignores it on UDP too), never longer.
 */
export function decodeChannelData(bytes: Uint8Array, max: number = CHANNEL_MAX): ChannelData {
  if (bytes.length < CHANNEL_DATA_HEADER) throw new ChannelDataError('TRUNCATED', `${bytes.length} bytes, the header is 4`);
  const channel = (bytes[0] << 8) | bytes[1];
  if (!isValidChannelNumber(channel, max)) throw new ChannelDataError('BAD_CHANNEL', `channel 0x${channel.toString(16)} is outside ${rangeText(max)}`);
  const length = (bytes[2] << 8) | bytes[3];
  if (CHANNEL_DATA_HEADER + length > bytes.length) {
    throw new ChannelDataError('LENGTH_MISMATCH', `length ${length} but only ${bytes.length - CHANNEL_DATA_HEADER} bytes follow the header`);
  }
  return { channel, data: bytes.subarray(CHANNEL_DATA_HEADER, CHANNEL_DATA_HEADER + length) };
}

/** Writes a ChannelData message (unpadded; a stream transport pads it). */
export function encodeChannelData(channel: number, data: Uint8Array, max: number = CHANNEL_MAX): Uint8Array {
  if (!isValidChannelNumber(channel, max)) throw new ChannelDataError('BAD_CHANNEL', `channel 0x${channel.toString(16)} is outside ${rangeText(max)}`);
  if (data.length > 0xffff) throw new ChannelDataError('LENGTH_MISMATCH', `${data.length} bytes do not fit a 16-bit length`);
  return writeChannelData(new Uint8Array(CHANNEL_DATA_HEADER + data.length), channel, data);
}

/**
 * Writes ChannelData's header and `data` into `out` (exactly CHANNEL_DATA_HEADER + data.length bytes, e.g.
 * carved from an output slab) and returns it; the caller has checked the channel number and the length.
 */
export function writeChannelData(out: Uint8Array, channel: number, data: Uint8Array): Uint8Array {
  out[0] = channel >> 8;
  out[1] = channel & 0xff;
  out[2] = data.length >> 8;
  out[3] = data.length & 0xff;
  out.set(data, CHANNEL_DATA_HEADER);
  return out;
}
