// Which peer addresses a TURN server relays to (RFC 8656 §9, §10.2, §12.2: "The server MAY impose
// restrictions on the IP address allowed in the XOR-PEER-ADDRESS attribute" → 403 Forbidden). Modelled on
// coturn's denied-peer-ip / allowed-peer-ip: a deny list of CIDR ranges, an allow list that overrides it.
// The default table, the embedded-IPv4 forms and the host-address rule are the bridge's too:
// src/net/address-policy.ts.
import { AddressPolicy, DENIED_RANGES, LOOPBACK_CIDRS, parseCidr, type Cidr } from '../net/address-policy.js';

export { parseCidr, type Cidr as CidrRange };

/**
 * Denied unless allowed — the table shared with the bridge (DENIED_RANGES, each row with its reason):
 * "this network" (0.0.0.0/8, ::/128), link-local (169.254/16 — cloud metadata lives there — and fe80::/10),
 * IETF protocol assignments (192.0.0.0/24), multicast (224/4, ff00::/8), reserved and broadcast (240/4) and
 * the metadata services outside them. Relaying to these turns the server into a tool against its own network.
 */
export const DEFAULT_DENIED_PEERS: readonly string[] = Object.freeze(DENIED_RANGES.map((d) => d.cidr));

/** Loopback, denied as well unless `allowLoopback` (tests, and a server that relays to itself on purpose). */
export const LOOPBACK_PEERS = LOOPBACK_CIDRS;

export interface PeerPolicyOptions {
  /** Extra CIDR ranges (or single addresses) to deny, added to the defaults. Default []. */
  deny?: readonly string[];
  /** CIDR ranges always allowed, even if a deny entry (default or not) covers them. Default []. */
  allow?: readonly string[];
  /** Relay to 127.0.0.0/8 and ::1. Default false. */
  allowLoopback?: boolean;
  /** Start from DEFAULT_DENIED_PEERS. Default true; false denies only `deny` (and loopback, and the host's addresses). */
  denyDefaults?: boolean;
  /**
   * Relay to the server's own addresses (its listening and relay addresses, every interface: what the
   * driver passes to `setHostAddresses`) on any port. Default false: only the relayed transport addresses of
   * the server's live allocations are reachable there (relay to relay). `allow` does not lift it.
   */
  allowHostAddresses?: boolean;
}

/** 'host': one of the server's own addresses, refused unless it is the relayed address of a live allocation. */
export type PeerVerdict = 'allowed' | 'denied' | 'host';

export class PeerPolicy {
  private readonly policy: AddressPolicy;

  constructor(options: PeerPolicyOptions = {}) {
    this.policy = new AddressPolicy({
      defaults: options.denyDefaults === false ? [] : DEFAULT_DENIED_PEERS,
      allowLoopback: options.allowLoopback,
      allow: options.allow,
      deny: options.deny,
      allowHostAddresses: options.allowHostAddresses,
      precedence: 'allow',
    });
  }

  /** The server's own addresses; loopback ones are left to `allowLoopback`. Returns whether the set changed. */
  setHostAddresses(addresses: readonly string[]): boolean {
    return this.policy.setHostAddresses(addresses);
  }

  /** The host addresses in force, canonical. */
  get hostAddresses(): readonly string[] {
    return this.policy.hostAddresses;
  }

  /**
   * Whether relaying to `address` is permitted, whatever the port. Text that is not an IP address is never
   * permitted; an IPv6 address that embeds an IPv4 one (IPv4-mapped, NAT64, 6to4, Teredo…) is judged as
   * that IPv4 address too. The server's own addresses are not permitted (see `judge`).
   */
  permits(address: string): boolean {
    return this.policy.check(address) === 'allowed';
  }

  /** `permits`, telling apart an address refused only because it is the server's own ('host'). */
  judge(address: string): PeerVerdict {
    const v = this.policy.check(address);
    return v === 'invalid' ? 'denied' : v;
  }

  /** For the data path: whether `canonicalIp` (as canonicalIp() prints it) is one of the server's own addresses. */
  isHostAddress(canonicalIp: string): boolean {
    return this.policy.isHostAddress(canonicalIp);
  }
}
