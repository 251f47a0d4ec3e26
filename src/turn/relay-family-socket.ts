// One relayed address of a dual allocation (RFC 8656 §7.1, ADDITIONAL-ADDRESS-FAMILY) as a DatagramSocket
// of its own: the ICE agent keeps one candidate per socket, so each family's relayed candidate gets a socket
// whose local address is that relayed address, sending to and hearing from peers of that family only.
import type { DatagramHandler, DatagramSocket, DestinationUnreachableError, UnreachableHandler } from '../net/datagram-socket.js';
import { familyOf, type AddressFamily, type TransportAddress } from '../net/transport-address.js';

/** What a family socket needs of the relay socket it is a view of. */
export interface FamilySocketRelay {
  send(bytes: Uint8Array, to: TransportAddress): void;
  createPermission(peer: TransportAddress | string): Promise<void>;
  /** The view closed: the relay may end when none is left open. */
  viewClosed(view: TurnRelayFamilySocket): void;
}

export class TurnRelayFamilySocket implements DatagramSocket {
  ondatagram: DatagramHandler | null = null;
  onclose: ((reason?: Error) => void) | null = null;
  onunreachable: UnreachableHandler | null = null;
  readonly family: AddressFamily;
  private open = true;

  constructor(
    private readonly relay: FamilySocketRelay,
    /** The relayed address of this family. */
    readonly localAddress: TransportAddress,
  ) {
    this.family = familyOf(localAddress.address);
  }

  get closed(): boolean {
    return !this.open;
  }

  /** Sends through the relay; a peer of the other family is not this socket's and is dropped (§10.1). */
  send(bytes: Uint8Array, to: TransportAddress): void {
    if (this.open && familyOf(to.address) === this.family) this.relay.send(bytes, to);
  }

  /** Installs the permission for `peer`'s IP on the allocation (see TurnRelaySocket.createPermission). */
  createPermission(peer: TransportAddress | string): Promise<void> {
    return this.relay.createPermission(peer);
  }

  close(): void {
    if (!this.open) return;
    this.open = false;
    this.relay.viewClosed(this);
    this.onclose?.();
  }

  /** @internal A datagram from a peer of this family. */
  deliver(bytes: Uint8Array, from: TransportAddress): void {
    if (this.open) this.ondatagram?.(bytes, from);
  }

  /** @internal A peer of this family cannot be reached. */
  unreachable(error: DestinationUnreachableError): void {
    if (this.open) this.onunreachable?.(error);
  }

  /** @internal The allocation ended. */
  ended(reason?: Error): void {
    if (!this.open) return;
    this.open = false;
    this.onclose?.(reason);
  }
}
