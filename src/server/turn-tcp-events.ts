// What the TURN server engine asks of its driver for RFC 6062 TCP allocations, and the counters it keeps.
// The protocol, after the relay-socket one at the top of turn-server.ts:
//
//   1. A TCP Allocate passes every check: `open-tcp-relay` { requestId, family }. The driver listens on a TCP
//      port of the relay address, under a SocketId from the same counter as relay sockets, and answers with
//      `relayOpened(requestId, socket, relayed, now)` or `relayFailed(requestId, reason, now)`, exactly as for
//      UDP; `close-relay` closes the listener, `relayClosed` reports it closed by itself.
//   2. A Connect (§5.2): `connect-tcp-peer` { connectionId, relaySocket, peer }. The driver connects from the
//      relay address and answers `engine.tcp.peerConnected(id, now)` or `engine.tcp.peerConnectFailed(id,
//      reason, now)`. It must not read from the peer yet (§5.2: buffer, let the receive window close).
//   3. A connection arriving at a listener (§5.3): the driver calls `engine.tcp.peerAccepted(relaySocket,
//      peer, now)`; undefined means close it at once, a number is its connection id (do not read from it yet).
//   4. A ConnectionBind on a new client connection (§5.4): its success response is transmitted on that
//      connection, then `splice-tcp-peer` { connectionId, clientSocket }: from here on the client connection
//      carries raw bytes; the driver stops framing it and pipes it to the peer connection, both ways.
//   5. `close-tcp-peer` { connectionId }: close the peer connection (and its client data connection, if
//      spliced). When either closes by itself the driver calls `engine.tcp.connectionClosed(id, now)`.
import type { SocketId } from '../net/engine.js';
import type { AddressFamily, TransportAddress } from '../net/transport-address.js';

export type TurnTcpCloseReason = 'connect-timeout' | 'bind-timeout' | 'deallocated' | 'refused' | 'closed';

export type TurnTcpEvent =
  | { readonly type: 'open-tcp-relay'; readonly requestId: number; readonly family: AddressFamily }
  | { readonly type: 'connect-tcp-peer'; readonly connectionId: number; readonly relaySocket: SocketId; readonly peer: TransportAddress }
  | { readonly type: 'splice-tcp-peer'; readonly connectionId: number; readonly clientSocket: SocketId }
  | { readonly type: 'close-tcp-peer'; readonly connectionId: number; readonly reason: TurnTcpCloseReason };

export const TURN_TCP_EVENT_TYPES: ReadonlySet<string> = new Set(['open-tcp-relay', 'connect-tcp-peer', 'splice-tcp-peer', 'close-tcp-peer']);

export interface TurnTcpCounters {
  connectRequests: number;
  connectionBindRequests: number;
  /** Outgoing peer connections established (Connect success sent). */
  connected: number;
  /** Connects answered 447 (refused, failed or timed out). */
  connectFailed: number;
  /** Incoming peer connections accepted with a permission (ConnectionAttempt sent). */
  accepted: number;
  /** Incoming peer connections closed at once: no permission, no TCP allocation, or over the limit. */
  refused: number;
  /** Peer connections spliced to a client data connection. */
  bound: number;
  /** Peer connections closed for want of a ConnectionBind in time (§5.2, §5.3). */
  bindTimeouts: number;
  /** Peer connections ended, for any reason. */
  closed: number;
}

export function createTurnTcpCounters(): TurnTcpCounters {
  return { connectRequests: 0, connectionBindRequests: 0, connected: 0, connectFailed: 0, accepted: 0, refused: 0, bound: 0, bindTimeouts: 0, closed: 0 };
}
