// The names of mDNS ICE candidates (draft-ietf-mmusic-mdns-ice-candidates §3.1.1): a version 4 UUID
// followed by ".local", and the well-known multicast groups they are asked about on (RFC 6762 §3).
import type { AddressFamily, TransportAddress } from '../net/transport-address.js';
import type { RandomFill } from '../ice/credentials.js';

/** RFC 6762 §3 / §22: the mDNS port and groups. */
export const MDNS_PORT = 5353;
export const MDNS_IPV4_GROUP = '224.0.0.251';
export const MDNS_IPV6_GROUP = 'ff02::fb';

export function mdnsGroup(family: AddressFamily): TransportAddress {
  return { address: family === 'IPv4' ? MDNS_IPV4_GROUP : MDNS_IPV6_GROUP, port: MDNS_PORT };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\.local\.?$/i;

/**
 * §3.2.1 step 1: a candidate address is an mDNS name when it ends in ".local" and holds one dot only
 * (a trailing root dot aside); anything else is processed as RFC 8445 says.
 */
export function isMdnsCandidateAddress(address: string): boolean {
  const text = address.endsWith('.') ? address.slice(0, -1) : address;
  return /\.local$/i.test(text) && text.indexOf('.') === text.length - 6;
}

/**
 * §3.2.2: an agent SHOULD NOT resolve names not in the §3.1 form, since resolving lets a peer aim ICE
 * traffic at devices with well-known mDNS names. Any UUID version is taken: browsers' generators vary.
 */
export function isUuidLocalName(name: string): boolean {
  return UUID.test(name);
}

/** A name generateMdnsName could have made: a version 4 UUID (RFC 4122 §4.4) + `.local`. */
export function isUuid4LocalName(name: string): boolean {
  return /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}\.local$/i.test(name);
}

const webCryptoFill: RandomFill = (bytes) => crypto.getRandomValues(bytes);

/** §3.1.1 step 3: a fresh "<version 4 UUID>.local" (RFC 4122 §4.4), lower case. */
export function generateMdnsName(fill: RandomFill = webCryptoFill): string {
  const b = fill(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}.local`;
}
