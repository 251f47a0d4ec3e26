import type { TransportAddress } from '../net/transport-address.js';

/**
 * One UDP datagram in flight on the simulated network. Immutable: a NAT that rewrites an address and a
 * router that decrements the hop limit each make a new one, so a trace event keeps what it saw.
 */
export interface Datagram {
  /** Numbered in send order across the whole network; kept through NAT translation. */
  readonly id: number;
  readonly src: TransportAddress;
  readonly dst: TransportAddress;
  readonly bytes: Uint8Array;
  /** Router hops left; guards against loops between misconfigured nested NATs. */
  readonly ttl: number;
  readonly sentAt: number;
}

/** Initial hop limit, as a typical host's IPv4 TTL. */
export const INITIAL_TTL = 64;

/** Why the network dropped a datagram; each has its own counter in `SimStats`. */
export const DROP_REASONS = [
  /** A link's random loss (`lossRate`). */
  'loss',
  /** No host or NAT owns the destination address, or it is not a usable destination. */
  'no-route',
  /** The destination host has no socket bound on that address and port. */
  'no-socket',
  /** A NAT's filtering behaviour (RFC 4787 §5) refused it. */
  'filtered',
  /** Sent to a NAT's public address on a port with no mapping, ever. */
  'no-mapping',
  /** Sent to a NAT's public address on a port whose mapping timed out (RFC 4787 §4.3). */
  'mapping-expired',
  /** Sent from inside a NAT to one of its own public addresses while hairpinning is off (RFC 4787 §6). */
  'hairpin-disabled',
  /** A NAT had no free public port left for a new mapping. */
  'ports-exhausted',
  /** The hop limit ran out. */
  'ttl-exceeded',
  /** Refused at the sender (`refuse()`, as the bridge's policy refuses): its socket hears `onunreachable`. */
  'refused',
  /** Dropped silently by a firewall rule (`SimNetwork.blockUdp`), as `iptables -j DROP` does. */
  'blocked',
] as const;

export type DropReason = (typeof DROP_REASONS)[number];
