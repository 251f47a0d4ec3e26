// Every RFC timing constant icebridge uses, in one place, each with the section it comes from.
// Engines take these as option defaults; nothing else in src/ writes a protocol timer value literally.

/** RFC 8489 §6.2.1: initial retransmission timeout; SHOULD be > 500 ms for servers reached over the Internet. */
export const STUN_RTO_MS = 500;
/** RFC 8489 §6.2.1: Rc, the number of requests sent over an unreliable transport before giving up. */
export const STUN_RC = 7;
/** RFC 8489 §6.2.1: Rm, the final wait after the last request, as a multiple of the RTO. */
export const STUN_RM = 16;
/** RFC 8489 §6.2.2: over TCP/TLS a transaction is sent once and times out after Ti = 39.5 s. */
export const STUN_RELIABLE_TIMEOUT_MS = 39_500;
/** RFC 8489 §6.2.1: an RTO computed from RTT measurements is kept (cached) for this long, SHOULD be 10 min. */
export const STUN_RTO_CACHE_MS = 10 * 60_000;

/** RFC 8656 §2 / §7.2: default allocation lifetime (10 min) and the server's cap (it MAY choose 3600 s). */
export const TURN_DEFAULT_LIFETIME_S = 600;
export const TURN_MAX_LIFETIME_S = 3600;
/** RFC 8656 §9: a permission lasts 300 s; clients refresh a little before (here: 60 s before). */
export const TURN_PERMISSION_LIFETIME_MS = 300_000;
/** RFC 8656 §12: a channel binding lasts 600 s; clients refresh a little before. */
export const TURN_CHANNEL_LIFETIME_MS = 600_000;
/** RFC 8656 §12.2: after a channel binding expires, its number and peer stay reserved for 5 min. */
export const TURN_CHANNEL_RESERVATION_MS = 300_000;
/** RFC 8656 §7.2: the port N+1 an EVEN-PORT R=1 Allocate reserves is held "for at least 30 seconds". */
export const TURN_RESERVATION_LIFETIME_MS = 30_000;
/** How long before expiry a TURN client refreshes an allocation, permission or channel. */
export const TURN_REFRESH_MARGIN_MS = 60_000;
/** RFC 8656 §6.3 (via RFC 8489 §9.2): nonces expire; 438 Stale Nonce asks the client to retry. One hour is coturn's default. */
export const TURN_NONCE_LIFETIME_MS = 3_600_000;

/** RFC 8445 §14.2: Ta, the pacing of connectivity checks; SHOULD default to 50 ms. */
export const ICE_TA_MS = 50;
/** RFC 8445 §14.2: no agent sends checks more often than once every 5 ms, whatever its Ta. */
export const ICE_MIN_PACING_MS = 5;
/**
 * How long the selected pair may be silent while the peer's data arrives on another valid pair before the
 * agent follows it there (failover without an ICE restart). Not from an RFC: the peer has moved; consent
 * (RFC 7675) would take 30 s to say so.
 */
export const ICE_FAILOVER_SILENCE_MS = 1_000;
/**
 * RFC 6544 §6.2, §7.2: with only a passive TCP candidate for the peer's active one, the agent has no pair of
 * its own to check and waits for the peer to connect; it gives up after as long as a check over a stream
 * would wait for its answer (RFC 8489 §6.2.2: 39.5 s).
 */
export const ICE_INBOUND_TCP_WAIT_MS = STUN_RELIABLE_TIMEOUT_MS;
/**
 * An active TCP connection the far end accepts and closes before sending a byte is opened again after these
 * waits (then it fails): a TURN server closes a peer's connection to a relayed address that has no permission
 * yet (RFC 6062 §5.3), and the relaying agent installs it once that peer's candidates reach it — often just
 * after the peer heard of the relayed candidate and connected. Not from an RFC.
 */
export const ICE_TCP_EARLY_CLOSE_RETRY_MS: readonly number[] = [250, 500, 1_000];
/** RFC 8445 §14.3: the RTO of a check is MAX(500 ms, Ta · N · (Waiting + In-Progress)), never below 500 ms. */
export const ICE_MIN_RTO_MS = 500;
/** RFC 8445 §11: keepalives on a candidate pair in use at least every Tr = 15 s (consent checks count). */
export const ICE_KEEPALIVE_MS = 15_000;
/** RFC 7675 §5.1: consent checks every 5 s, randomised to 0.8–1.2 of that. */
export const CONSENT_CHECK_INTERVAL_MS = 5_000;
export const CONSENT_CHECK_JITTER = 0.2;
/** RFC 7675 §5.1: consent expires 30 s after the last authenticated response. */
export const CONSENT_TIMEOUT_MS = 30_000;
/**
 * Silence on the selected pair after which the transport reports 'disconnected' (W3C RTCIceTransportState),
 * before consent expires. Not from an RFC; Chromium reports unwritable after about 5 s without responses.
 */
export const ICE_DISCONNECTED_AFTER_MS = 7_500;
/**
 * How long the controlling agent waits, after the first valid pair, for better pairs still being checked
 * before it nominates anyway (RFC 8445 §8.1.1 leaves the choice to the agent).
 */
export const ICE_NOMINATION_DELAY_MS = 2_000;
/**
 * The same wait when the best valid pair is already direct (host, srflx, prflx): better pairs still being
 * checked are usually host pairs across different LANs that will time out, and a direct path is never the
 * relay the long wait guards against. Not from an RFC.
 */
export const ICE_DIRECT_NOMINATION_DELAY_MS = 300;
/**
 * Not an RFC value: how soon a TURN client tries again after a refresh (of an allocation, permission or
 * channel) failed while the thing refreshed has not yet expired (RFC 8656 §8: refresh "before it expires").
 */
export const TURN_REFRESH_RETRY_MS = 10_000;
/**
 * Not an RFC value: how long close() waits for the answer to its deleting Refresh (RFC 8656 §8.1) before it
 * reports 'deallocate-unconfirmed' and lets go of the socket. The RFC asks for no answer (an allocation left
 * behind expires with its lifetime); a full transaction would hold the socket, and a Node process, 39.5 s
 * when the server is gone.
 */
export const TURN_DEALLOCATE_TIMEOUT_MS = 2_000;
/** RFC 6062 §5.2: a TURN server's outgoing connection to a peer times out after "at least 30 seconds" (→ 447). */
export const TURN_TCP_CONNECT_TIMEOUT_MS = 30_000;
/** RFC 6062 §5.2/§5.3: a peer data connection without a ConnectionBind after 30 s is closed. */
export const TURN_TCP_BIND_TIMEOUT_MS = 30_000;
/** RFC 6062 §4.3: after a 447 the client MAY retry the same peer but MUST wait at least 10 s. */
export const TURN_TCP_CONNECT_RETRY_MS = 10_000;
/**
 * mDNS ICE candidates: how long a `.local` name is given to resolve before the candidate is dropped. The
 * draft (draft-ietf-mmusic-mdns-ice-candidates §3.2.1) names no value; RFC 6762 §5.2's query schedule
 * (1 s, then doubling) has sent three queries by 3 s, and 5 s leaves room for their answers. Not an RFC value.
 */
export const MDNS_QUERY_TIMEOUT_MS = 5_000;
/** RFC 6762 §5.2: the second query goes out at least one second after the first; intervals then double. */
export const MDNS_QUERY_RETRANSMIT_MS = 1_000;
/** RFC 6762 §10: host name (A/AAAA) records SHOULD have a TTL of 120 s. */
export const MDNS_HOST_RECORD_TTL_S = 120;
/** RFC 6762 §6.7: a legacy unicast response's TTL SHOULD be no more than ten seconds. */
export const MDNS_LEGACY_UNICAST_TTL_S = 10;
/** RFC 6762 §8.3: the announcement is sent twice, at least one second apart. */
export const MDNS_ANNOUNCE_INTERVAL_MS = 1_000;
/** RFC 6762 §6: a record is not multicast on an interface again within one second of its last multicast. */
export const MDNS_RECORD_MULTICAST_INTERVAL_MS = 1_000;
