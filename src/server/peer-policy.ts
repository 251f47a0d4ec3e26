// Which peer addresses a TURN server relays to (RFC 8656 §9, §10.2, §12.2: "The server MAY impose
// restrictions on the IP address allowed in the XOR-PEER-ADDRESS attribute" → 403 Forbidden). Modelled on
// coturn's denied-peer-ip / allowed-peer-ip: a deny list of CIDR ranges, an allow list that overrides it.
import { writeIp } from '../net/ip.js';

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
export const LOOPBACK_PEERS: readonly string[] = Object.freeze(['127.0.0.0/8', '::1/128']);

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

/** One parsed CIDR range: 4 or 16 network-order bytes and a prefix length. */
export interface CidrRange {
  readonly bytes: Uint8Array;
  readonly prefix: number;
}

/** Parses `10.0.0.0/8`, `fe80::/10` or a bare address (a /32 or /128). Throws on bad configuration. */
export function parseCidr(text: string): CidrRange {
  const slash = text.indexOf('/');
  const address = slash < 0 ? text : text.slice(0, slash);
  const scratch = new Uint8Array(16);
  const length = writeIp(address.trim(), scratch, 0);
  if (length === 0) throw new TypeError(`not a CIDR range: ${JSON.stringify(text)} (bad address)`);
  const bits = length * 8;
  const prefixText = slash < 0 ? String(bits) : text.slice(slash + 1).trim();
  const prefix = /^[0-9]{1,3}$/.test(prefixText) ? Number(prefixText) : NaN;
  if (!(prefix >= 0 && prefix <= bits)) throw new TypeError(`not a CIDR range: ${JSON.stringify(text)} (prefix must be 0..${bits})`);
  return { bytes: scratch.slice(0, length), prefix };
}

/** Whether the `length`-byte address in `bytes` lies in `range` (families must agree). */
function inRange(bytes: Uint8Array, length: number, range: CidrRange): boolean {
  if (range.bytes.length !== length) return false;
  let bits = range.prefix;
  for (let i = 0; bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if ((bytes[i] & mask) !== (range.bytes[i] & mask)) return false;
  }
  return true;
}

function isIpv4Mapped(bytes: Uint8Array): boolean {
  for (let i = 0; i < 10; i++) if (bytes[i] !== 0) return false;
  return bytes[10] === 0xff && bytes[11] === 0xff;
}

export class PeerPolicy {
  private readonly denied: CidrRange[];
  private readonly allowed: CidrRange[];
  private readonly scratch = new Uint8Array(16);

  constructor(options: PeerPolicyOptions = {}) {
    const deny = [...(options.denyDefaults === false ? [] : DEFAULT_DENIED_PEERS), ...(options.deny ?? [])];
    if (options.allowLoopback !== true) deny.push(...LOOPBACK_PEERS);
    this.denied = deny.map(parseCidr);
    this.allowed = (options.allow ?? []).map(parseCidr);
  }

  /**
   * Whether relaying to `address` is permitted. Text that is not an IP address is never permitted. An
   * IPv4-mapped IPv6 address (::ffff:a.b.c.d) is judged as the IPv4 address it reaches.
   */
  permits(address: string): boolean {
    const bytes = this.scratch;
    let length: number = writeIp(address, bytes, 0);
    if (length === 0) return false;
    if (length === 16 && isIpv4Mapped(bytes)) {
      bytes.copyWithin(0, 12, 16);
      length = 4;
    }
    for (const range of this.allowed) if (inRange(bytes, length, range)) return true;
    for (const range of this.denied) if (inRange(bytes, length, range)) return false;
    return true;
  }
}
