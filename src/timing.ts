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
