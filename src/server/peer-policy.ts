// Which peer addresses a TURN server relays to (RFC 8656 §9, §10.2, §12.2: "The server MAY impose
// restrictions on the IP address allowed in the XOR-PEER-ADDRESS attribute" → 403 Forbidden). Modelled on
// coturn's denied-peer-ip / allowed-peer-ip: a deny list of CIDR ranges, an allow list that overrides it.
import { AddressPolicy, LOOPBACK_CIDRS, parseCidr, type Cidr } from '../net/address-policy.js';

export { parseCidr, type Cidr as CidrRange };

/**
 * Denied unless allowed: "this network" (0.0.0.0/8, ::/128), link-local (169.254/16 — cloud metadata
 * lives there — and fe80::/10), multicast (224/4, ff00::/8) and reserved/broadcast (240/4). Relaying to
 * these turns the server into a tool against its own network.
 */
export const DEFAULT_DENIED_PEERS: readonly string[] = Object.freeze([
  '0.0.0.0/8',
  '169.254.0.0/16',
  '224.0.0.0/4',
  '240.0.0.0/4',
  '::/128',
  'fe80::/10',
  'ff00::/8',
]);

/** Loopback, denied as well unless `allowLoopback` (tests, and a server that relays to itself on purpose). */
export const LOOPBACK_PEERS = LOOPBACK_CIDRS;

export interface PeerPolicyOptions {
  /** Extra CIDR ranges (or single addresses) to deny, added to the defaults. Default []. */
  deny?: readonly string[];
  /** CIDR ranges always allowed, even if a deny entry (default or not) covers them. Default []. */
  allow?: readonly string[];
  /** Relay to 127.0.0.0/8 and ::1. Default false. */
  allowLoopback?: boolean;
  /** Start from DEFAULT_DENIED_PEERS. Default true; false denies only `deny` (and loopback). */
  denyDefaults?: boolean;
}

export class PeerPolicy {
  private readonly policy: AddressPolicy;

  constructor(options: PeerPolicyOptions = {}) {
    this.policy = new AddressPolicy({
      defaults: options.denyDefaults === false ? [] : DEFAULT_DENIED_PEERS,
      allowLoopback: options.allowLoopback,
      allow: options.allow,
      deny: options.deny,
      precedence: 'allow',
    });
  }

  /**
   * Whether relaying to `address` is permitted. Text that is not an IP address is never permitted. An
   * IPv4-mapped IPv6 address (::ffff:a.b.c.d) is judged as the IPv4 address it reaches.
   */
  permits(address: string): boolean {
    return this.policy.check(address) === 'allowed';
  }
}
