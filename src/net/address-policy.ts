// Which remote IP addresses a server may send to on a client's behalf — the bridge's destination policy and
// the TURN server's peer policy (RFC 8656 §9: "The server MAY impose restrictions on the IP address"). CIDR
// matching over raw address bytes, IPv4 and IPv6, without allocating per check. One table of default
// denials serves both (DENIED_RANGES); every IPv6 form that embeds an IPv4 address is judged as that IPv4
// address too, and the host's own addresses are refused unless allowed.
import { formatIpAt, writeIp } from './ip.js';

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

/** One row of a default deny list: the block, and why it is refused (for the README's table and for operators). */
export interface DeniedRange {
  readonly cidr: string;
  readonly why: string;
}

/**
 * Refused by default by both the bridge (bridge/policy.ts DEFAULT_DENIED) and the TURN server
 * (src/server/peer-policy.ts DEFAULT_DENIED_PEERS): relaying to these turns the server into a tool against
 * its own host and network. Loopback is separate (LOOPBACK_CIDRS, lifted by `allowLoopback`), and so are
 * the host's own addresses (`setHostAddresses`, lifted by `allowHostAddresses`).
 */
export const DENIED_RANGES: readonly DeniedRange[] = Object.freeze([
  { cidr: '0.0.0.0/8', why: '"this network" (RFC 6890 §2.2.2, RFC 1122 §3.2.1.3); Linux delivers 0.0.0.0 to the host itself' },
  { cidr: '169.254.0.0/16', why: 'link-local (RFC 3927); holds the cloud metadata service 169.254.169.254' },
  { cidr: '192.0.0.0/24', why: 'IETF protocol assignments (RFC 6890 §2.2.2): DS-Lite (RFC 6333), NAT64 discovery (RFC 7050), not peers' },
  { cidr: '224.0.0.0/4', why: 'multicast (RFC 5771)' },
  { cidr: '240.0.0.0/4', why: 'reserved (RFC 1112 §4), with the limited broadcast 255.255.255.255 (RFC 919)' },
  { cidr: '100.100.100.200/32', why: 'Alibaba Cloud metadata service' },
  { cidr: '::/128', why: 'unspecified (RFC 4291 §2.5.2)' },
  { cidr: 'fe80::/10', why: 'link-local (RFC 4291 §2.5.6)' },
  { cidr: 'ff00::/8', why: 'multicast (RFC 4291 §2.7)' },
  { cidr: 'fd00:ec2::254/128', why: 'AWS metadata service over IPv6' },
]);

/**
 * 'host': one of the host's own addresses (see `setHostAddresses`) and refused for that reason alone —
 * nothing else denies it — so a caller may let through what it owns there (the bridge: `allowHostPorts`;
 * the TURN server: the relayed transport addresses of its allocations).
 */
export type AddressVerdict = 'allowed' | 'denied' | 'host' | 'invalid';

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
  /**
   * Let the host's own addresses (`setHostAddresses`) through, on every port. Default false: they are
   * 'host', whatever `allow` says. Loopback ones are governed by `allowLoopback` alone.
   */
  allowHostAddresses?: boolean;
}

// Verdicts of one reading of an address, ordered by severity: the worst of several is the largest.
const ALLOWED = 0;
const HOST = 1;
const DENIED = 2;
type Reading = typeof ALLOWED | typeof HOST | typeof DENIED;
const VERDICTS: readonly AddressVerdict[] = ['allowed', 'host', 'denied'];

const LOOPBACK = LOOPBACK_CIDRS.map(parseCidr);

export class AddressPolicy {
  private readonly defaults: Cidr[];
  private readonly allow: Cidr[];
  private readonly deny: Cidr[];
  private readonly allowFirst: boolean;
  private readonly allowHost: boolean;
  private host: Cidr[] = [];
  private hostTexts: ReadonlySet<string> = new Set();
  private readonly scratch = new Uint8Array(16);
  /** An embedded IPv4 address that is not 4 contiguous bytes of the IPv6 one (Teredo, local-use NAT64). */
  private readonly v4 = new Uint8Array(4);

  /** Throws a TypeError for a malformed CIDR block, so bad configuration fails at start. */
  constructor(options: AddressPolicyOptions) {
    const defaults = [...options.defaults, ...(options.allowLoopback ? [] : LOOPBACK_CIDRS)];
    this.defaults = defaults.map(parseCidr);
    this.allow = (options.allow ?? []).map(parseCidr);
    this.deny = (options.deny ?? []).map(parseCidr);
    this.allowFirst = options.precedence === 'allow';
    this.allowHost = options.allowHostAddresses === true;
  }

  /**
   * Tells the policy the host's own addresses (all interfaces, a NAT's public address…). Text that is not an
   * address is skipped, a `%zone` is dropped, IPv4-mapped ones count as IPv4, and loopback ones are left
   * to `allowLoopback`. Returns whether the set changed (always false with `allowHostAddresses`).
   */
  setHostAddresses(addresses: readonly string[]): boolean {
    if (this.allowHost) return false;
    const a = this.scratch;
    const texts = new Set<string>();
    for (const address of addresses) {
      if (typeof address !== 'string') continue;
      const zone = address.indexOf('%');
      const length = writeIp(zone < 0 ? address : address.slice(0, zone), a, 0);
      if (length === 0) continue;
      const [offset, size] = length === 16 && isIpv4Mapped(a) ? [12, 4] : [0, length];
      if (matchesAny(LOOPBACK, a, offset, size)) continue;
      texts.add(formatIpAt(a, offset, size));
    }
    if (texts.size === this.hostTexts.size && [...texts].every((t) => this.hostTexts.has(t))) return false;
    this.hostTexts = texts;
    this.host = [...texts].map(parseCidr);
    return true;
  }

  /** The host addresses in force, canonical (IPv6 per RFC 5952), loopback left out. */
  get hostAddresses(): readonly string[] {
    return [...this.hostTexts];
  }

  /** Whether `canonical` (IPv4 dotted quad, or IPv6 as RFC 5952 prints it) is one of the host addresses in force. */
  isHostAddress(canonical: string): boolean {
    return this.hostTexts.has(canonical);
  }

  /**
   * Decides for one address, without allocating. An IPv6 address that embeds an IPv4 one is judged as
   * both, the worst verdict winning (see `judgeIpv6`).
   */
  check(address: string): AddressVerdict {
    const a = this.scratch;
    const length = writeIp(address, a, 0);
    if (length === 0) return 'invalid';
    return VERDICTS[length === 4 ? this.judge(a, 0, 4) : this.judgeIpv6(a)];
  }

  /** One reading: the explicit lists and defaults first, then the host rule (a denial is never softened to 'host'). */
  private judge(a: Uint8Array, offset: number, length: number): Reading {
    const allowed = matchesAny(this.allow, a, offset, length);
    let denied: boolean;
    if (allowed && this.allowFirst) denied = false;
    else if (matchesAny(this.deny, a, offset, length)) denied = true;
    else denied = !allowed && matchesAny(this.defaults, a, offset, length);
    if (denied) return DENIED;
    return matchesAny(this.host, a, offset, length) ? HOST : ALLOWED;
  }

  /** Judges bytes b0..b3 as an IPv4 address (copied to the scratch `v4`). */
  private judgeBytes(b0: number, b1: number, b2: number, b3: number): Reading {
    const v = this.v4;
    v[0] = b0;
    v[1] = b1;
    v[2] = b2;
    v[3] = b3;
    return this.judge(v, 0, 4);
  }

  /**
   * The IPv6 address itself, then every IPv4 address a translator, tunnel or dual-stack socket may turn it
   * into. A page that could send to `64:ff9b::a9fe:a9fe` would reach 169.254.169.254 through the host's
   * NAT64, so each embedded address gets the verdict it would get written as IPv4.
   */
  private judgeIpv6(a: Uint8Array): Reading {
    // IPv4-mapped ::ffff:a.b.c.d (RFC 4291 §2.5.5.2): how a dual-stack socket writes an IPv4 destination, so
    // it is that IPv4 address and nothing else.
    if (isIpv4Mapped(a)) return this.judge(a, 12, 4);
    let worst = this.judge(a, 0, 16);
    if (worst === DENIED) return DENIED;
    if (isZero(a, 0, 12)) {
      // IPv4-compatible ::a.b.c.d (RFC 4291 §2.5.5.1, deprecated): ::/96 but for :: and ::1, which stay the
      // unspecified and loopback addresses they are.
      if (!(isZero(a, 12, 3) && a[15] <= 1)) worst = max(worst, this.judge(a, 12, 4));
    } else if (isZero(a, 0, 8) && a[8] === 0xff && a[9] === 0xff && a[10] === 0 && a[11] === 0) {
      // IPv4-translated ::ffff:0:a.b.c.d (SIIT, RFC 2765 §2.1; RFC 6145 dropped the form, translators may not).
      worst = max(worst, this.judge(a, 12, 4));
    } else if (a[0] === 0x00 && a[1] === 0x64 && a[2] === 0xff && a[3] === 0x9b) {
      if (isZero(a, 4, 8)) {
        // NAT64 Well-Known Prefix 64:ff9b::/96 (RFC 6052 §2.1): the IPv4 address is the last 32 bits.
        worst = max(worst, this.judge(a, 12, 4));
      } else if (a[4] === 0x00 && a[5] === 0x01) {
        worst = max(worst, this.judgeLocalUseNat64(a));
      }
    } else if (a[0] === 0x20 && a[1] === 0x02) {
      // 6to4 2002:V4ADDR::/48 (RFC 3056 §2): the host's 6to4 interface tunnels straight to bytes 2..5.
      worst = max(worst, this.judge(a, 2, 4));
    } else if (a[0] === 0x20 && a[1] === 0x01 && a[2] === 0x00 && a[3] === 0x00) {
      // Teredo 2001:0::/32 (RFC 4380 §4): the server's IPv4 address in bytes 4..7, the client's mapped IPv4
      // address in the last 32 bits with every bit inverted; a Teredo client sends UDP to either.
      worst = max(worst, this.judge(a, 4, 4), this.judgeBytes(a[12] ^ 0xff, a[13] ^ 0xff, a[14] ^ 0xff, a[15] ^ 0xff));
    }
    // ISATAP (RFC 5214 §6.1): interface identifier 0000:5efe:a.b.c.d or 0200:5efe:a.b.c.d under any /64; a
    // host with an ISATAP interface on that prefix tunnels to the embedded address.
    if ((a[8] & 0xfd) === 0 && a[9] === 0 && a[10] === 0x5e && a[11] === 0xfe) worst = max(worst, this.judge(a, 12, 4));
    return worst;
  }

  /**
   * NAT64 local-use prefix 64:ff9b:1::/48 (RFC 8215 §3): a network-specific prefix of /48, /56, /64 or /96
   * inside it, whose length only the network's translator knows; RFC 6052 §2.2 puts the IPv4 address at a
   * different place for each length (skipping bits 64..71, the "u" octet). Every place is read and the worst
   * verdict wins.
   *
   * Deliberately short of "any reading denied": when some reading lies outside 0.0.0.0/8, the readings in it
   * are taken as the zero padding they are (RFC 6052 §2.2 zero-fills the prefix's unused bits and the
   * suffix, so every real local-use address reads 0.x.x.x somewhere) rather than destinations: a translator,
   * like any router, forwards nothing to 0.0.0.0/8 (RFC 1812 §5.3.7; RFC 6890 §2.2.2 "Destination: False").
   * Otherwise the whole prefix would be refused, and with it every IPv4 peer of an IPv6-only bridge behind
   * such a NAT64. An address whose every reading is in 0.0.0.0/8 is judged on all of them.
   */
  private judgeLocalUseNat64(a: Uint8Array): Reading {
    // /48: bytes 6, 7 | u | 9, 10.  /56: byte 7 | u | 9, 10, 11.  /64: u | 9..12.  /96: 12..15.
    const all = a[6] === 0 && a[7] === 0 && a[9] === 0 && a[12] === 0;
    let worst: Reading = ALLOWED;
    if (all || a[6] !== 0) worst = max(worst, this.judgeBytes(a[6], a[7], a[9], a[10]));
    if (all || a[7] !== 0) worst = max(worst, this.judgeBytes(a[7], a[9], a[10], a[11]));
    if (all || a[9] !== 0) worst = max(worst, this.judge(a, 9, 4));
    if (all || a[12] !== 0) worst = max(worst, this.judge(a, 12, 4));
    return worst;
  }
}

function max(a: Reading, b: Reading, c: Reading = ALLOWED): Reading {
  return a > b ? (a > c ? a : c) : b > c ? b : c;
}

function matchesAny(list: readonly Cidr[], a: Uint8Array, offset: number, length: number): boolean {
  for (const c of list) if (cidrContains(c, a, offset, length)) return true;
  return false;
}

function isZero(a: Uint8Array, from: number, count: number): boolean {
  for (let i = from; i < from + count; i++) if (a[i] !== 0) return false;
  return true;
}

function isIpv4Mapped(a: Uint8Array): boolean {
  return isZero(a, 0, 10) && a[10] === 0xff && a[11] === 0xff;
}
