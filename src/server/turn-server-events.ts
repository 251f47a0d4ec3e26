// What the TURN server engine tells its driver (pollEvent), and how it describes an allocation.
import type { Millis } from '../net/clock.js';
import type { SocketId } from '../net/engine.js';
import type { AddressFamily, TransportAddress } from '../net/transport-address.js';
import type { TurnTcpEvent } from './turn-tcp-events.js';

/** 'connection-closed': the client's TCP/TLS connection closed (RFC 8656 §3.1). */
export type TurnDeallocationReason = 'refresh' | 'expired' | 'relay-closed' | 'connection-closed' | 'closed';

export type TurnServerEvent =
  /** RFC 6062 TCP allocations: see turn-tcp-events.ts. */
  | TurnTcpEvent
  /**
   * Open relay sockets and answer with relayOpened / relayFailed (the protocol is described at the top of
   * turn-server.ts): one per family in `families` (`family` is the first), an even port if `evenPort`, and
   * with `reserveNext` (EVEN-PORT R=1, one family) also the port above it on the same address.
   */
  | {
      readonly type: 'open-relay';
      readonly requestId: number;
      readonly family: AddressFamily;
      readonly families: readonly AddressFamily[];
      readonly evenPort: boolean;
      readonly reserveNext: boolean;
    }
  /** Close the relay socket attached as `socket`. */
  | { readonly type: 'close-relay'; readonly socket: SocketId }
  | {
      readonly type: 'allocated';
      readonly client: TransportAddress;
      /** The first relayed address; `relayedAddresses` has both of a dual allocation. */
      readonly relayed: TransportAddress;
      readonly relayedAddresses: readonly TransportAddress[];
      readonly username: string;
      readonly lifetimeS: number;
    }
  | { readonly type: 'deallocated'; readonly client: TransportAddress; readonly relayed: TransportAddress; readonly username: string; readonly reason: TurnDeallocationReason };

/** A snapshot of one allocation, for logs and tests. */
export interface TurnAllocationInfo {
  readonly client: TransportAddress;
  /** The first relayed address (the only one but for a dual allocation). */
  readonly relayed: TransportAddress;
  readonly relaySocket: SocketId;
  /** Every relayed address, the requested family first, with its socket and expiry. */
  readonly relays: readonly { readonly relayed: TransportAddress; readonly socket: SocketId; readonly expiresAt: Millis }[];
  /** The client's transport: 'udp', or the stream the driver attached (clientSocketOpened). */
  readonly transport: 'udp' | 'tcp' | 'tls';
  readonly username: string;
  readonly realm: string;
  readonly expiresAt: Millis;
  readonly permissions: number;
  readonly channels: number;
  readonly packetsRelayed: number;
  readonly bytesRelayed: number;
}
