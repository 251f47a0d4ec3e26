// Where a bridge session may send: CIDR matching for IPv4 and IPv6 over raw address bytes. The defaults keep a
// page from reaching the bridge host itself and the cloud metadata service (an SSRF over UDP otherwise).
import { writeIp } from '../src/net/ip.js';

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

/** Refused unless `allow` names them; loopback only unless `allowLoopback`. */
export const DEFAULT_DENIED: readonly { cidr: string; why: string; loopback?: true }[] = [
  { cidr: '0.0.0.0/8', why: '"this network" (RFC 6890)' },
  { cidr: '127.0.0.0/8', why: 'loopback', loopback: true },
  { cidr: '::1/128', why: 'loopback', loopback: true },
  { cidr: '::/128', why: 'unspecified' },
  { cidr: '169.254.0.0/16', why: 'link-local, holds the cloud metadata service 169.254.169.254' },
  { cidr: 'fe80::/10', why: 'link-local' },
  { cidr: 'fd00:ec2::254/128', why: 'AWS metadata service over IPv6' },
  { cidr: '100.100.100.200/32', why: 'Alibaba Cloud metadata service' },
  { cidr: '224.0.0.0/4', why: 'multicast' },
  { cidr: 'ff00::/8', why: 'multicast' },
  { cidr: '255.255.255.255/32', why: 'limited broadcast' },
];

export interface DestinationPolicyOptions {
  /** Let sessions reach 127.0.0.0/8 and ::1 (local use and tests). Default false. */
  allowLoopback?: boolean;
  /** CIDR blocks let through even though a default denies them. */
  allow?: string[];
  /** CIDR blocks refused; an explicit deny wins over `allow`. */
  deny?: string[];
}

export type DestinationVerdict = 'allowed' | 'invalid-destination' | 'destination-denied';

export class DestinationPolicy {
  private readonly defaults: Cidr[];
  private readonly allow: Cidr[];
  private readonly deny: Cidr[];
  private readonly scratch = new Uint8Array(16);

  /** Throws a TypeError for a malformed CIDR block, so bad configuration fails at start. */
  constructor(options: DestinationPolicyOptions = {}) {
    this.defaults = DEFAULT_DENIED.filter((d) => !(d.loopback && options.allowLoopback)).map((d) => parseCidr(d.cidr));
    this.allow = (options.allow ?? []).map(parseCidr);
    this.deny = (options.deny ?? []).map(parseCidr);
  }

  /** Decides for one destination without allocating: it runs once per outgoing datagram. */
  check(address: string, port: number): DestinationVerdict {
    if (!Number.isInteger(port) || port < 1 || port > 0xffff) return 'invalid-destination';
    const a = this.scratch;
    let length: number = writeIp(address, a, 0);
    if (length === 0) return 'invalid-destination';
    let offset = 0;
    // An IPv4-mapped IPv6 address (::ffff:a.b.c.d) reaches the IPv4 host: judge it as that host.
    if (length === 16 && isIpv4Mapped(a)) {
      offset = 12;
      length = 4;
    }
    if (matchesAny(this.deny, a, offset, length)) return 'destination-denied';
    if (matchesAny(this.allow, a, offset, length)) return 'allowed';
    return matchesAny(this.defaults, a, offset, length) ? 'destination-denied' : 'allowed';
  }
}

function matchesAny(list: Cidr[], a: Uint8Array, offset: number, length: number): boolean {
  for (const c of list) if (cidrContains(c, a, offset, length)) return true;
  return false;
}

function isIpv4Mapped(a: Uint8Array): boolean {
  for (let i = 0; i < 10; i++) if (a[i] !== 0) return false;
  return a[10] === 0xff && a[11] === 0xff;
}
