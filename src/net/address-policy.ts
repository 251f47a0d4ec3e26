// Which remote IP addresses a server may send to on a client's behalf — the bridge's destination policy and
// the TURN server's peer policy (RFC 8656 §9: "The server MAY impose restrictions on the IP address"). CIDR
// matching over raw address bytes, IPv4 and IPv6, without allocating per check.
import { writeIp } from './ip.js';

export interface Cidr {
  readonly text: string;
  /** 4 or 16 network-order bytes, host bits cleared. */
  readonly bytes: Uint8Array;
  readonly prefix: number;
}

/** Parses `a.b.c.d/n`, `x::y/n`, or a bare address (a /32 or /128). Throws a TypeError for anything else. */
export function parseCidr(text: string): Cidr {
  const slash = text.indexOf('/');
  const addressText = slash < 0 ? text : text.slice(0, slash);
  const scratch = new Uint8Array(16);
  const length = writeIp(addressText, scratch, 0);
  if (length === 0 || addressText.includes('%')) throw new TypeError(`not a CIDR block: ${JSON.stringify(text)}`);
  const prefixText = slash < 0 ? String(length * 8) : text.slice(slash + 1);
  const prefix = Number(prefixText);
  if (!/^[0-9]{1,3}$/.test(prefixText) || prefix > length * 8) throw new TypeError(`not a CIDR block: ${JSON.stringify(text)} (prefix 0..${length * 8})`);
  const bytes = scratch.slice(0, length);
  for (let bit = prefix; bit < length * 8; bit++) bytes[bit >> 3] &= ~(0x80 >> (bit & 7));
  return { text, bytes, prefix };
}

/** Whether `cidr` holds the address in `address[offset, offset + length)`. */
export function cidrContains(cidr: Cidr, address: Uint8Array, offset: number, length: number): boolean {
  if (cidr.bytes.length !== length) return false;
  const whole = cidr.prefix >> 3;
  for (let i = 0; i < whole; i++) if (address[offset + i] !== cidr.bytes[i]) return false;
  const rest = cidr.prefix & 7;
  if (rest === 0) return true;
  const mask = (0xff << (8 - rest)) & 0xff;
  return (address[offset + whole] & mask) === cidr.bytes[whole];
}

/** Loopback: refused unless a policy is built with `allowLoopback`. */
export const LOOPBACK_CIDRS: readonly string[] = Object.freeze(['127.0.0.0/8', '::1/128']);

export type AddressVerdict = 'allowed' | 'denied' | 'invalid';

export interface AddressPolicyOptions {
  /** Ranges denied unless allowed (the caller's defaults). */
  defaults: readonly string[];
  /** Let 127.0.0.0/8 and ::1 through. Default false. */
  allowLoopback?: boolean;
  /** Ranges let through even though a default denies them. */
  allow?: readonly string[];
  /** Ranges denied in addition to the defaults. */
  deny?: readonly string[];
  /**
   * Which wins when an address is both explicitly allowed and explicitly denied: 'deny' (the bridge) or
   * 'allow' (coturn's allowed-peer-ip over denied-peer-ip, the TURN server). Default 'deny'.
   */
  precedence?: 'allow' | 'deny';
}

export class AddressPolicy {
  private readonly defaults: Cidr[];
  private readonly allow: Cidr[];
  private readonly deny: Cidr[];
  private readonly allowFirst: boolean;
  private readonly scratch = new Uint8Array(16);

  /** Throws a TypeError for a malformed CIDR block, so bad configuration fails at start. */
  constructor(options: AddressPolicyOptions) {
    const defaults = [...options.defaults, ...(options.allowLoopback ? [] : LOOPBACK_CIDRS)];
    this.defaults = defaults.map(parseCidr);
    this.allow = (options.allow ?? []).map(parseCidr);
    this.deny = (options.deny ?? []).map(parseCidr);
    this.allowFirst = options.precedence === 'allow';
  }

  /** Decides for one address; an IPv4-mapped IPv6 address (::ffff:a.b.c.d) is judged as the IPv4 host. */
  check(address: string): AddressVerdict {
    const a = this.scratch;
    let length: number = writeIp(address, a, 0);
    if (length === 0) return 'invalid';
    let offset = 0;
    if (length === 16 && isIpv4Mapped(a)) {
      offset = 12;
      length = 4;
    }
    const allowed = matchesAny(this.allow, a, offset, length);
    if (allowed && this.allowFirst) return 'allowed';
    if (matchesAny(this.deny, a, offset, length)) return 'denied';
    if (allowed) return 'allowed';
    return matchesAny(this.defaults, a, offset, length) ? 'denied' : 'allowed';
  }
}

function matchesAny(list: readonly Cidr[], a: Uint8Array, offset: number, length: number): boolean {
  for (const c of list) if (cidrContains(c, a, offset, length)) return true;
  return false;
}

function isIpv4Mapped(a: Uint8Array): boolean {
  for (let i = 0; i < 10; i++) if (a[i] !== 0) return false;
  return a[10] === 0xff && a[11] === 0xff;
}
