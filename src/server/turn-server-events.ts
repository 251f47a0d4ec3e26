// What the TURN server engine tells its driver (pollEvent), and how it describes an allocation.
import type { Millis } from '../net/clock.js';
import type { SocketId } from '../net/engine.js';
import type { AddressFamily, TransportAddress } from '../net/transport-address.js';

export type TurnDeallocationReason = 'refresh' | 'expired' | 'relay-closed' | 'closed';

export type TurnServerEvent =
  /** Open a relay socket and answer with relayOpened / relayFailed (the protocol is described at the top of turn-server.ts). */
  | { readonly type: 'open-relay'; readonly requestId: number; readonly family: AddressFamily; readonly evenPort: boolean }
  /** Close the relay socket attached as `socket`. */
  | { readonly type: 'close-relay'; readonly socket: SocketId }
  | { readonly type: 'allocated'; readonly client: TransportAddress; readonly relayed: TransportAddress; readonly username: string; readonly lifetimeS: number }
  | { readonly type: 'deallocated'; readonly client: TransportAddress; readonly relayed: TransportAddress; readonly username: string; readonly reason: TurnDeallocationReason };

/** A snapshot of one allocation, for logs and tests. */
export interface TurnAllocationInfo {
  readonly client: TransportAddress;
  readonly relayed: TransportAddress;
  readonly relaySocket: SocketId;
  readonly username: string;
  readonly expiresAt: Millis;
  readonly permissions: number;
  readonly channels: number;
  readonly packetsRelayed: number;
  readonly bytesRelayed: number;
}
