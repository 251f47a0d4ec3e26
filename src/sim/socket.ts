import type { DatagramHandler, DatagramSocket, DestinationUnreachableError, UnreachableHandler } from '../net/datagram-socket.js';
import type { TransportAddress } from '../net/transport-address.js';
import { canonicalAddress } from './ip-address.js';

/** The host a socket is bound on, as the socket sees it. */
export interface SocketOwner {
  transmit(socket: SimSocket, bytes: Uint8Array, to: TransportAddress): void;
  release(socket: SimSocket): void;
}

/**
 * A UDP socket on a simulated host. `send` copies the bytes and never throws: a datagram that cannot go
 * (closed socket aside) is counted and dropped by the network. `ondatagram` is always called from a clock
 * timer, never from inside `send`; so is `onunreachable`, for a destination the host or the network
 * refuses (`refuse()`), as the bridge reports its refusals in an error frame after the fact.
 */
export class SimSocket implements DatagramSocket {
  ondatagram: DatagramHandler | null = null;
  onclose: ((reason?: Error) => void) | null = null;
  onunreachable: UnreachableHandler | null = null;
  readonly localAddress: TransportAddress;
  /** Multicast groups joined (`addMembership`): datagrams to them on this socket's port arrive here. */
  readonly memberships = new Set<string>();
  private open = true;

  constructor(
    localAddress: TransportAddress,
    private readonly owner: SocketOwner,
  ) {
    this.localAddress = Object.freeze({ address: localAddress.address, port: localAddress.port });
  }

  get closed(): boolean {
    return !this.open;
  }

  /** Sends one datagram; on a closed socket this does nothing (and counts nothing). */
  send(bytes: Uint8Array, to: TransportAddress): void {
    if (this.open) this.owner.transmit(this, bytes, to);
  }

  /**
   * Joins a multicast group, as `dgram`'s addMembership on the interface of the socket's address: datagrams
   * sent to `group` and this socket's port on its segment are delivered to it.
   */
  addMembership(group: string): void {
    this.memberships.add(canonicalAddress(group) ?? group);
  }

  dropMembership(group: string): void {
    this.memberships.delete(canonicalAddress(group) ?? group);
  }

  /** Frees the port at once and calls `onclose` (once, synchronously). Datagrams already sent still travel. */
  close(reason?: Error): void {
    if (!this.open) return;
    this.open = false;
    this.owner.release(this);
    this.onclose?.(reason);
  }

  /** @internal Called by the host, from a timer, when a datagram this socket sent was refused. */
  refused(error: DestinationUnreachableError): void {
    if (this.open) this.onunreachable?.(error);
  }

  /** @internal Called by the host when a datagram arrives for this socket. */
  deliver(bytes: Uint8Array, from: TransportAddress): void {
    this.ondatagram?.(bytes, from);
  }
}
