import type { TransportAddress } from './transport-address.js';

/** Receives one datagram: its bytes and the transport address it came from. */
export type DatagramHandler = (bytes: Uint8Array, from: TransportAddress) => void;

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
  close(): void;
}
