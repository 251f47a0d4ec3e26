import type { TransportAddress } from './transport-address.js';

/** Receives one datagram: its bytes and the transport address it came from. */
export type DatagramHandler = (bytes: Uint8Array, from: TransportAddress) => void;

/**
 * A destination that a socket cannot reach and will not try again soon: the bridge refused it (its
 * destination policy, its rate limit) — the way an ICMP unreachable would tell a native agent. `code` is the
 * bridge's stable error code (`destination-denied`, `invalid-destination`, `rate-limited`, …).
 */
export class DestinationUnreachableError extends Error {
  override readonly name = 'DestinationUnreachableError';
  constructor(
    readonly code: string,
    readonly destination: TransportAddress,
    readonly reason: string,
  ) {
    super(`${code}: ${reason}`);
  }
}

/**
 * A TypeError for what is no datagram or no destination at all (a caller's mistake, not a network error:
 * sockets still drop and count a datagram to an address or port that cannot be reached).
 */
export function checkSendArguments(bytes: unknown, to: unknown): void {
  if (!(bytes instanceof Uint8Array)) throw new TypeError(`send() takes the datagram as a Uint8Array, got ${bytes === null ? 'null' : typeof bytes}`);
  if (to === null || typeof to !== 'object') throw new TypeError(`send() needs a destination { address, port }, got ${to === null ? 'null' : typeof to}`);
}

/** A TypeError for what is no DatagramSocket, before an agent takes it (and would fail to close it later). */
export function checkDatagramSocket(value: unknown, where: string): asserts value is DatagramSocket {
  const s = value as Partial<DatagramSocket> | null;
  if (typeof s === 'object' && s !== null && typeof s.send === 'function' && typeof s.close === 'function' && typeof s.localAddress?.address === 'string') return;
  throw new TypeError(`${where} takes a DatagramSocket (send, close, localAddress), got ${s === null ? 'null' : typeof s}`);
}

/** Receives a refusal of datagrams to one destination. */
export type UnreachableHandler = (error: DestinationUnreachableError) => void;

/**
 * The only I/O surface of icebridge. A Node `dgram` socket, a socket carried over the bridge's WebSocket
 * and a socket on the simulated network all look like this, so every engine runs unchanged on each.
 */
export interface DatagramSocket {
  /** The local transport address the socket is bound to (for a bridge socket: the bridge host's). */
  readonly localAddress: TransportAddress;
  /** Sends one datagram. Never throws for network errors: a datagram that cannot go is dropped. */
  send(bytes: Uint8Array, to: TransportAddress): void;
  /** Called once per received datagram; set by whoever drives the socket. */
  ondatagram: DatagramHandler | null;
  /** Called once when the socket closes, by `close()` or from the other side (the bridge went away). */
  onclose: ((reason?: Error) => void) | null;
  /**
   * Called when datagrams to one destination are refused (sockets that can tell: the bridge's, the
   * simulator's). Whoever waits for an answer from that destination should give up at once.
   */
  onunreachable?: UnreachableHandler | null;
  close(): void;
}
