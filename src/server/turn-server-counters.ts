// What the TURN server counts: every datagram it drops has a reason here (DESIGN.md rule 3).

export type TurnDropReason =
  /** An indication or ChannelData on a 5-tuple with no allocation (RFC 8656 §5: silently ignored). */
  | 'no-allocation'
  /** A Send indication or a peer's datagram with no permission for the peer's IP (§11.2, §11.3). */
  | 'no-permission'
  /** ChannelData on a channel not bound (§12.6). */
  | 'no-channel'
  /** ChannelData that does not decode (length beyond the datagram). */
  | 'bad-channel-data'
  /** A Send indication without XOR-PEER-ADDRESS or DATA, of the wrong family, to port 0, or with DONT-FRAGMENT or another unknown comprehension-required attribute (§11.2). */
  | 'bad-send'
  /** Over the allocation's bytes-per-second quota (§5). */
  | 'rate-limited'
  /** A peer datagram too large to fit in a Data indication or ChannelData message. */
  | 'too-large'
  /** A TURN message of a class the server does not take (a response, a Send request, an Allocate indication). */
  | 'not-a-request'
  /** relayOpened / relayFailed for a request no longer waiting (timed out, or unknown). */
  | 'late-relay'
  /** A retransmitted Allocate while its relay socket is being opened: the answer is on its way. */
  | 'allocate-in-progress'
  /** A response or relayed message that could not be encoded. */
  | 'encode-failed'
  /** A datagram on a reserved relay port (EVEN-PORT R=1) that no allocation uses yet. */
  | 'reserved-port'
  /** A bug caught at the engine boundary rather than thrown into the driver; should stay 0. */
  | 'internal-error';

export const TURN_DROP_REASONS: readonly TurnDropReason[] = [
  'no-allocation',
  'no-permission',
  'no-channel',
  'bad-channel-data',
  'bad-send',
  'rate-limited',
  'too-large',
  'not-a-request',
  'late-relay',
  'allocate-in-progress',
  'encode-failed',
  'reserved-port',
  'internal-error',
];

export interface TurnServerCounters {
  /** Datagrams received on the listening sockets (STUN, TURN, ChannelData and anything else). */
  received: number;
  /** Datagrams received on relay sockets, from peers. */
  peerDatagrams: number;
  requests: { allocate: number; refresh: number; createPermission: number; channelBind: number };
  allocations: {
    created: number;
    /** Deleted for any reason (refresh to 0, expiry, relay socket closed, server closed). */
    deleted: number;
    expired: number;
    /** Allocates that passed every check but got no relay socket (508). */
    failed: number;
    /** Retransmitted Allocates answered from the allocation (RFC 8656 §7.2 NOTE). */
    retransmitted: number;
  };
  /** Port reservations (EVEN-PORT R=1, RESERVATION-TOKEN): made, taken by an Allocate, expired unused. */
  reservations: { created: number; used: number; expired: number };
  /** Error responses sent, by code. */
  errorResponses: Record<number, number>;
  relayed: { packetsToPeers: number; bytesToPeers: number; packetsToClients: number; bytesToClients: number };
  dropped: Record<TurnDropReason, number>;
}

export function createTurnServerCounters(): TurnServerCounters {
  const dropped = {} as Record<TurnDropReason, number>;
  for (const reason of TURN_DROP_REASONS) dropped[reason] = 0;
  return {
    received: 0,
    peerDatagrams: 0,
    requests: { allocate: 0, refresh: 0, createPermission: 0, channelBind: 0 },
    allocations: { created: 0, deleted: 0, expired: 0, failed: 0, retransmitted: 0 },
    reservations: { created: 0, used: 0, expired: 0 },
    errorResponses: {},
    relayed: { packetsToPeers: 0, bytesToPeers: 0, packetsToClients: 0, bytesToClients: 0 },
    dropped,
  };
}
