// Destinations the simulated network refuses the way the bridge does (its destination policy, its rate
// limit): nothing is delivered, and the sending socket hears `onunreachable` with a DestinationUnreachableError
// — so engine tests can check that a refusal ends transactions at once instead of after their timeouts.
import { cidrContains, parseCidr, type Cidr } from '../net/address-policy.js';
import { DestinationUnreachableError } from '../net/datagram-socket.js';
import { writeIp } from '../net/ip.js';
import type { TransportAddress } from '../net/transport-address.js';

/**
 * What to refuse: a CIDR block or one address (`'169.254.0.0/16'`, `'192.0.2.1'`, `'2001:db8::/32'`), one
 * transport address (`{ address, port }`), or a predicate on the destination (and the sending socket's address).
 */
export type RefusalMatch = string | TransportAddress | ((to: TransportAddress, from: TransportAddress) => boolean);

export interface RefusalOptions {
  /** The bridge's stable code: `destination-denied` (default), `invalid-destination`, `rate-limited`, … */
  code?: string;
  /** The reason text; default the bridge's own: `destination 169.254.169.254 port 80 is not allowed`. */
  reason?: string | ((to: TransportAddress) => string);
}

interface Rule {
  readonly matches: (to: TransportAddress, from: TransportAddress) => boolean;
  readonly code: string;
  readonly reason: (to: TransportAddress) => string;
}

/** An ordered set of refusal rules; the first that matches a destination decides its code and reason. */
export class RefusalRules {
  private readonly rules: Rule[] = [];

  get size(): number {
    return this.rules.length;
  }

  /** Adds a rule; returns a function that lifts it again. Throws a TypeError for a malformed CIDR. */
  add(match: RefusalMatch, options: RefusalOptions = {}): () => void {
    const given = options.reason;
    const rule: Rule = {
      matches: matcherOf(match),
      code: options.code ?? 'destination-denied',
      reason: typeof given === 'function' ? given : given !== undefined ? () => given : (to) => `destination ${to.address} port ${to.port} is not allowed`,
    };
    this.rules.push(rule);
    return () => {
      const i = this.rules.indexOf(rule);
      if (i >= 0) this.rules.splice(i, 1);
    };
  }

  /** The refusal of a datagram from `from` to `to`, or undefined when no rule refuses it. */
  check(to: TransportAddress, from: TransportAddress): DestinationUnreachableError | undefined {
    for (const rule of this.rules) {
      if (rule.matches(to, from)) return new DestinationUnreachableError(rule.code, { address: to.address, port: to.port }, rule.reason(to));
    }
    return undefined;
  }
}

function matcherOf(match: RefusalMatch): (to: TransportAddress, from: TransportAddress) => boolean {
  if (typeof match === 'function') return match;
  if (typeof match === 'string') {
    const cidr: Cidr = parseCidr(match);
    const scratch = new Uint8Array(16);
    return (to) => {
      const length = writeIp(to.address, scratch, 0);
      return length !== 0 && cidrContains(cidr, scratch, 0, length);
    };
  }
  const address = canonical(match.address);
  return (to) => to.port === match.port && canonical(to.address) === address;
}

/** Compares addresses by their bytes, so '2001:db8::1' and '2001:0db8::1' are one. */
function canonical(text: string): string {
  const bytes = new Uint8Array(16);
  const length = writeIp(text, bytes, 0);
  return length === 0 ? text : bytes.subarray(0, length).join('.');
}
