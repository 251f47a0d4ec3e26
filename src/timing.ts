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
/** How long before expiry a TURN client refreshes an allocation, permission or channel. */
export const TURN_REFRESH_MARGIN_MS = 60_000;
/** RFC 8656 §6.3 (via RFC 8489 §9.2): nonces expire; 438 Stale Nonce asks the client to retry. One hour is coturn's default. */
export const TURN_NONCE_LIFETIME_MS = 3_600_000;
/**
 * Not an RFC value: how soon a TURN client tries again after a refresh (of an allocation, permission or
 * channel) failed while the thing refreshed has not yet expired (RFC 8656 §8: refresh "before it expires").
 */
export const TURN_REFRESH_RETRY_MS = 10_000;
