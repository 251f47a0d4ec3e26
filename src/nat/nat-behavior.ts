// What NAT behaviour discovery finds, in RFC 4787's terms (mapping §4.1, filtering §5), with the classic
// RFC 3489 names alongside and what the behaviour means for ICE. Pure functions, no I/O.

/** RFC 4787 §4.1 mapping and §5 filtering behaviours share these three names. */
export type NatBehavior = 'endpoint-independent' | 'address-dependent' | 'address-and-port-dependent';

/**
 * RFC 3489's names (§5 there), still what people say. RFC 4787 §3 explains why they are too coarse: they
 * mix mapping and filtering. No NAT with filtering is RFC 3489's "symmetric UDP firewall".
 */
export type ClassicNatType =
  | 'open internet'
  | 'symmetric UDP firewall'
  | 'full cone'
  | 'restricted cone'
  | 'port-restricted cone'
  | 'symmetric';

/**
 * What the behaviour means for ICE (RFC 8445) with a peer behind some other NAT:
 * - `direct`: reachable at its own address by anyone; host candidates work.
 * - `direct likely`: endpoint-independent mapping — hole punching works with any peer whose NAT is not
 *   symmetric, and with a symmetric one unless this side filters by port.
 * - `needs relay`: the mapping changes per destination, so the server-reflexive candidate is not what
 *   peers see; direct only with some peers (public, full- or restricted-cone, a few symmetric ones, see
 *   predictDirect) — have a TURN server.
 */
export type IceOutlook = 'direct' | 'direct likely' | 'needs relay';

export function classicNatType(natted: boolean, mapping: NatBehavior, filtering: NatBehavior): ClassicNatType {
  if (!natted) return filtering === 'endpoint-independent' ? 'open internet' : 'symmetric UDP firewall';
  if (mapping !== 'endpoint-independent') return 'symmetric';
  if (filtering === 'endpoint-independent') return 'full cone';
  return filtering === 'address-dependent' ? 'restricted cone' : 'port-restricted cone';
}

export function iceOutlook(natted: boolean, mapping: NatBehavior, filtering: NatBehavior): IceOutlook {
  if (!natted && filtering === 'endpoint-independent') return 'direct';
  return mapping === 'endpoint-independent' ? 'direct likely' : 'needs relay';
}

/** One sentence for people: the outlook and why. */
export function describeIceOutlook(natted: boolean, mapping: NatBehavior, filtering: NatBehavior): string {
  const outlook = iceOutlook(natted, mapping, filtering);
  if (outlook === 'direct') return 'no NAT and no filtering: peers can reach this host directly';
  if (outlook === 'direct likely') {
    return filtering === 'address-and-port-dependent'
      ? 'endpoint-independent mapping: direct connections work, except with peers behind symmetric NATs (those need a relay)'
      : 'endpoint-independent mapping: direct connections work with peers behind any NAT';
  }
  return 'the mapping changes with the destination (symmetric NAT): direct only with some peers (public, full- or restricted-cone, a few symmetric ones); plan on a TURN relay';
}

/**
 * Whether ICE can connect two agents directly, each behind its own NAT (or none), from RFC 4787 behaviours,
 * with server-reflexive and peer-reflexive candidates (RFC 8445 §7.2.5.3.1) and the rule that a response
 * must come from where the request went (§7.2.5.2.1). Hairpinning plays no part (different NATs).
 * Checked against IceAgents on the simulated network for every pair (test/stun/nat-discovery-predict).
 */
export function predictDirect(a: NatProfile, b: NatProfile): boolean {
  const open = (x: NatProfile) => !x.natted && x.filtering === 'endpoint-independent';
  if (open(a) || open(b)) return true;
  const eim = (x: NatProfile) => !x.natted || x.mapping === 'endpoint-independent';
  if (eim(a) && eim(b)) return true;
  // One endpoint-independent side A: the other side's checks come from a new mapping and must pass A's
  // filter, which has seen A send to the other side's address (not that port).
  if (eim(a) || eim(b)) return (eim(a) ? a : b).filtering !== 'address-and-port-dependent';
  // Both change mappings per destination. The first check gets in only through an endpoint-independent
  // filter (X); after that the pair converges on peer-reflexive addresses only if one side keeps one
  // mapping per peer address (address-dependent mapping) and Y's filter lets in a new port of X's address.
  const converges = (x: NatProfile, y: NatProfile) =>
    x.filtering === 'endpoint-independent' &&
    y.filtering !== 'address-and-port-dependent' &&
    (x.mapping === 'address-dependent' || y.mapping === 'address-dependent');
  return converges(a, b) || converges(b, a);
}

/** The parts of a discovery result `predictDirect` needs. */
export interface NatProfile {
  readonly natted: boolean;
  readonly mapping: NatBehavior;
  readonly filtering: NatBehavior;
}
