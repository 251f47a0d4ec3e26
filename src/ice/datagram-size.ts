// The largest datagram IceAgent.send() takes, and the typed error for one over it. UDP does not split a
// datagram the network cannot carry in one: sent anyway it is dropped somewhere without a word, so the
// agent refuses it up front (as RTCDataChannel.send() throws for a message over maxMessageSize).

/**
 * Default `maxDatagramSize`: 65 443 bytes — the largest UDP payload over IPv4 (65 535 − 20 IP − 8 UDP =
 * 65 507) less 64 bytes for the TURN framing a relayed pair adds (a Send indication: 20 header, 24 for an
 * IPv6 XOR-PEER-ADDRESS, 4 + 3 for DATA and its padding, 8 FINGERPRINT = 59). Paths with a smaller MTU
 * fragment such datagrams at the IP layer; keep datagrams near 1 200 bytes where loss matters.
 */
export const DEFAULT_MAX_DATAGRAM_SIZE = 65_443;

/** The upper bound of `maxDatagramSize`: no UDP datagram over IPv4 carries more. */
export const MAX_UDP_PAYLOAD_SIZE = 65_507;

export type IceSendErrorCode = 'DATAGRAM_TOO_LARGE';

/** send() refused the data: `code` says why (`DATAGRAM_TOO_LARGE`: `size` bytes over `maxSize`). */
export class IceSendError extends RangeError {
  override readonly name = 'IceSendError';
  constructor(
    readonly code: IceSendErrorCode,
    readonly size: number,
    readonly maxSize: number,
  ) {
    super(`cannot send ${size} bytes in one datagram: the most is ${maxSize} (maxDatagramSize)`);
  }
}

/** The option's value, checked once at construction (RangeError for a non-integer or out of 1..65 507). */
export function resolveMaxDatagramSize(value: number | undefined): number {
  if (value === undefined) return DEFAULT_MAX_DATAGRAM_SIZE;
  if (!Number.isInteger(value) || value < 1 || value > MAX_UDP_PAYLOAD_SIZE) {
    throw new RangeError(`maxDatagramSize must be an integer from 1 to ${MAX_UDP_PAYLOAD_SIZE}, got ${value}`);
  }
  return value;
}

/** The bytes to send, or an IceSendError when there are more than `maxSize`. */
export function datagramBytes(data: Uint8Array | string, maxSize: number): Uint8Array {
  if (typeof data !== 'string' && !(data instanceof Uint8Array)) throw new TypeError(`send() takes a Uint8Array or a string, got ${data === null ? 'null' : typeof data === 'object' ? Object.prototype.toString.call(data).slice(8, -1) : typeof data}`);
  const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data;
  if (bytes.byteLength > maxSize) throw new IceSendError('DATAGRAM_TOO_LARGE', bytes.byteLength, maxSize);
  return bytes;
}
