/**
 * ICE candidates: priority (RFC 8445 §5.1.2), foundation (§5.1.1.3), the SDP "candidate" attribute
 * (RFC 8839 §5.1, with RFC 6544 tcptype) and the W3C RTCIceCandidateInit view of it.
 */
import { sha1, utf8Encode } from '../crypto/index.js';
import { formatIp, isIp, parseIp } from '../net/ip.js';
import { formatTransportAddress } from '../net/transport-address.js';
import { isIceCharString, isValidUfrag } from './credentials.js';

export type IceCandidateType = 'host' | 'srflx' | 'prflx' | 'relay';
export type IceProtocol = 'udp' | 'tcp';
export type IceTcpType = 'active' | 'passive' | 'so';

export interface IceCandidate {
  foundation: string; // 1*32 ice-char
  component: number; // 1..256 (1 = RTP)
  protocol: IceProtocol; // lower-case; SDP "UDP"/"TCP" case-insensitive
  priority: number; // uint32
  address: string; // IP literal (IPv6 without brackets) or an FQDN such as an mDNS "<uuid>.local" name
  port: number; // 0..65535 (0 allowed only for tcp active)
  type: IceCandidateType;
  relatedAddress?: string;
  relatedPort?: number;
  tcpType?: IceTcpType;
  /** Extension attributes kept in order, e.g. [['generation','0'],['ufrag','abcd'],['network-id','1']]. */
  extensions: [string, string][];
  /** A peer's mDNS candidate, resolved: the `<uuid>.local` name `address` was resolved from (never sent). */
  mdnsName?: string;
}

/** RFC 8445 §5.1.2.2: the RECOMMENDED type preferences. */
export const TYPE_PREFERENCE: Record<IceCandidateType, number> = { host: 126, prflx: 110, srflx: 100, relay: 0 };

/**
 * Stable codes for why a candidate is refused:
 * `SYNTAX` (not "candidate:", too few fields, no "typ"), `FOUNDATION`, `COMPONENT`, `TRANSPORT`, `PRIORITY`,
 * `ADDRESS`, `PORT`, `TYPE`, `RELATED` (raddr/rport), `TCPTYPE`, `EXTENSION` (bad or dangling name/value),
 * `UFRAG` (RTCIceCandidateInit.usernameFragment invalid or contradicting the candidate's ufrag).
 */
export type IceCandidateErrorCode =
  | 'SYNTAX'
  | 'FOUNDATION'
  | 'COMPONENT'
  | 'TRANSPORT'
  | 'PRIORITY'
  | 'ADDRESS'
  | 'PORT'
  | 'TYPE'
  | 'RELATED'
  | 'TCPTYPE'
  | 'EXTENSION'
  | 'UFRAG';

/** A candidate that cannot be parsed or written. A TypeError, as RTCPeerConnection.addIceCandidate would throw. */
export class IceCandidateError extends TypeError {
  override readonly name = 'IceCandidateError';

  constructor(
    readonly code: IceCandidateErrorCode,
    readonly reason: string,
  ) {
    super(`${code}: ${reason}`);
  }
}

/** RFC 8445 §5.1.2.1: priority = 2^24·type preference + 2^8·local preference + (256 − component ID). */
export function computePriority(type: IceCandidateType, localPreference: number, component: number): number {
  if (!Object.hasOwn(TYPE_PREFERENCE, type)) throw new RangeError(`unknown candidate type ${String(type)}`);
  if (!Number.isInteger(localPreference) || localPreference < 0 || localPreference > 0xffff) {
    throw new RangeError(`local preference must be an integer in 0..65535, got ${localPreference}`);
  }
  if (!Number.isInteger(component) || component < 1 || component > 256) {
    throw new RangeError(`component ID must be an integer in 1..256, got ${component}`);
  }
  return TYPE_PREFERENCE[type] * 0x1000000 + localPreference * 0x100 + (256 - component);
}

/**
 * Type preferences of TCP candidates (RFC 6544 §4.2): every UDP type but relay above every TCP type, so a
 * TCP pair never wins while a direct UDP pair works; relayed candidates stay lowest (0).
 */
export const TCP_TYPE_PREFERENCE: Record<IceCandidateType, number> = { host: 90, prflx: 80, srflx: 70, relay: 0 };

/**
 * RFC 6544 §4.2 priority of a TCP candidate: local preference = 2^13 × direction-pref + other-pref, the
 * direction preferred by type (host and relayed: active 6, passive 4, S-O 2; server-reflexive and
 * peer-reflexive: S-O 6, active 4, passive 2); `otherPreference` 0..8191 tells a host's addresses apart.
 */
export function computeTcpPriority(type: IceCandidateType, tcpType: IceTcpType, otherPreference: number, component: number): number {
  if (!Number.isInteger(otherPreference) || otherPreference < 0 || otherPreference > 8191) {
    throw new RangeError(`other-pref must be an integer in 0..8191, got ${otherPreference}`);
  }
  const natAssisted = type === 'srflx' || type === 'prflx';
  const direction = tcpType === 'so' ? (natAssisted ? 6 : 2) : tcpType === 'active' ? (natAssisted ? 4 : 6) : natAssisted ? 2 : 4;
  return TCP_TYPE_PREFERENCE[type] * 0x1000000 + (direction * 0x2000 + otherPreference) * 0x100 + (256 - component);
}

/** The PRIORITY a check from `local` carries (RFC 8445 §7.1.1): a peer-reflexive candidate's with the same local preference. */
export function peerReflexivePriority(local: IceCandidate): number {
  const localPreference = (local.priority >>> 8) & 0xffff;
  if (local.protocol !== 'tcp') return computePriority('prflx', localPreference, local.component);
  return TCP_TYPE_PREFERENCE.prflx * 0x1000000 + localPreference * 0x100 + (256 - local.component);
}

/** IP literals in RFC 5952 form (a `%zone` kept), names lower-cased: equal text for equal addresses. */
function addressIdentity(address: string): string {
  if (!isIp(address)) return address.toLowerCase();
  const zone = address.indexOf('%');
  return formatIp(parseIp(address)) + (zone < 0 ? '' : address.slice(zone));
}

const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';

/**
 * RFC 8445 §5.1.1.3: equal for the same type, base IP, server IP (reflexive and relayed only) and transport.
 * 12 base-32 characters of a SHA-1 over those fields: 60 bits, so distinct inputs collide with odds of
 * about 2^-60. `baseAddress` and `serverAddress` are IP addresses (ports do not matter).
 */
export function computeFoundation(
  type: IceCandidateType,
  baseAddress: string,
  protocol: IceProtocol,
  serverAddress?: string,
): string {
  const server = (type === 'srflx' || type === 'relay') && serverAddress !== undefined ? addressIdentity(serverAddress) : '';
  const digest = sha1(utf8Encode(`${type}\n${addressIdentity(baseAddress)}\n${protocol}\n${server}`));
  let text = '';
  for (let bit = 0; bit < 60; bit += 5) {
    const byte = bit >> 3;
    const pair = (digest[byte] << 8) | digest[byte + 1];
    text += BASE32[(pair >> (11 - (bit & 7))) & 31];
  }
  return text;
}

const CANDIDATE_TYPES: readonly string[] = ['host', 'srflx', 'prflx', 'relay'];
const TCP_TYPES: readonly string[] = ['active', 'passive', 'so'];
/** Names the parser turns into fields; as extensions they would be written twice. */
const RESERVED_EXTENSIONS: readonly string[] = ['raddr', 'rport', 'tcptype'];

/** RFC 3261 §25.1 token: alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~". */
const TOKEN = /^[A-Za-z0-9\-.!%*_+`'~]+$/;
/** RFC 5234 VCHAR, at least one (the value ends at the next space, so it cannot be empty here). */
const VCHARS = /^[\x21-\x7e]+$/;
const DIGITS = /^[0-9]+$/;
/** RFC 1123 host name label. */
const LABEL = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

/** RFC 8839 §5.1 connection-address: an IP literal without zone, or an FQDN (mDNS "<uuid>.local"). */
function isConnectionAddress(text: string): boolean {
  if (text.includes('%')) return false;
  if (isIp(text)) return true;
  if (text.length > 253 || text.includes(':')) return false;
  const labels = text.split('.');
  // A name whose last label is all digits would be a malformed IPv4 literal such as 010.0.0.1.
  return labels.every((l) => LABEL.test(l)) && !DIGITS.test(labels[labels.length - 1]);
}

function canonicalAddress(text: string): string {
  return isIp(text) ? formatIp(parseIp(text)) : text;
}

function parseUnsigned(text: string, maxDigits: number, max: number): number | undefined {
  if (text.length > maxDigits || !DIGITS.test(text)) return undefined;
  const value = Number(text);
  return value <= max ? value : undefined;
}

/** Drops leading blanks and trailing blanks and CR/LF — by hand: `/[\r\n]+$/` is quadratic on long runs. */
function trimLine(text: string): string {
  const blank = (c: number): boolean => c === 0x20 || c === 0x09;
  let end = text.length;
  while (end > 0 && (blank(text.charCodeAt(end - 1)) || text.charCodeAt(end - 1) === 0x0d || text.charCodeAt(end - 1) === 0x0a)) end--;
  let start = 0;
  while (start < end && blank(text.charCodeAt(start))) start++;
  return text.slice(start, end);
}

function fail(code: IceCandidateErrorCode, reason: string): never {
  throw new IceCandidateError(code, reason);
}

const quote = (s: string): string => JSON.stringify(s.length > 64 ? `${s.slice(0, 64)}…` : s);

/**
 * Parses an RFC 8839 §5.1 candidate attribute: "candidate:…" or "a=candidate:…", a trailing CRLF allowed.
 * Fields are separated by runs of spaces or tabs. IP addresses come back in RFC 5952 form; raddr, rport and
 * tcptype are recognised anywhere after "typ", and other name/value pairs are kept in order (§5.1: an agent
 * MUST ignore pairs it does not understand). Anything malformed throws IceCandidateError, nothing else.
 */
export function parseCandidate(text: string): IceCandidate {
  if (typeof text !== 'string') fail('SYNTAX', 'not a string');
  let body = trimLine(text);
  if (body.startsWith('a=')) body = body.slice(2);
  if (body.slice(0, 10).toLowerCase() !== 'candidate:') fail('SYNTAX', `does not start with "candidate:": ${quote(text)}`);
  const f = body.slice(10).split(/[ \t]+/);
  if (f.length < 8) fail('SYNTAX', `${f.length} fields, need at least 8`);

  const [foundation, componentText, transportText, priorityText, addressText, portText, typ, typeText] = f;
  if (!isIceCharString(foundation, 1, 32)) fail('FOUNDATION', `foundation ${quote(foundation)} is not 1 to 32 ice-chars`);
  const component = parseUnsigned(componentText, 3, 256);
  if (component === undefined || component < 1) fail('COMPONENT', `component ID ${quote(componentText)} is not 1..256`);
  const protocol = transportText.toLowerCase();
  if (protocol !== 'udp' && protocol !== 'tcp') fail('TRANSPORT', `unsupported transport ${quote(transportText)}`);
  const priority = parseUnsigned(priorityText, 10, 0xffffffff);
  if (priority === undefined) fail('PRIORITY', `priority ${quote(priorityText)} is not a 32-bit unsigned integer`);
  if (!isConnectionAddress(addressText)) fail('ADDRESS', `${quote(addressText)} is not an IP address or host name`);
  const port = parseUnsigned(portText, 5, 0xffff);
  if (port === undefined) fail('PORT', `port ${quote(portText)} is not 0..65535`);
  if (typ !== 'typ') fail('SYNTAX', `expected "typ", found ${quote(typ)}`);
  if (!CANDIDATE_TYPES.includes(typeText)) fail('TYPE', `unknown candidate type ${quote(typeText)}`);

  const candidate: IceCandidate = {
    foundation,
    component,
    protocol,
    priority,
    address: canonicalAddress(addressText),
    port,
    type: typeText as IceCandidateType,
    extensions: [],
  };
  for (let i = 8; i < f.length; i += 2) {
    const name = f[i];
    if (i + 1 >= f.length) fail('EXTENSION', `${quote(name)} has no value`);
    const value = f[i + 1];
    if (name === 'raddr') {
      if (candidate.relatedAddress !== undefined) fail('RELATED', 'raddr appears twice');
      if (!isConnectionAddress(value)) fail('RELATED', `raddr ${quote(value)} is not an IP address or host name`);
      candidate.relatedAddress = canonicalAddress(value);
    } else if (name === 'rport') {
      if (candidate.relatedPort !== undefined) fail('RELATED', 'rport appears twice');
      const relatedPort = parseUnsigned(value, 5, 0xffff);
      if (relatedPort === undefined) fail('RELATED', `rport ${quote(value)} is not 0..65535`);
      candidate.relatedPort = relatedPort;
    } else if (name === 'tcptype') {
      if (candidate.tcpType !== undefined) fail('TCPTYPE', 'tcptype appears twice');
      if (!TCP_TYPES.includes(value)) fail('TCPTYPE', `unknown tcptype ${quote(value)}`);
      candidate.tcpType = value as IceTcpType;
    } else {
      if (!TOKEN.test(name)) fail('EXTENSION', `extension name ${quote(name)} is not a token`);
      if (!VCHARS.test(value)) fail('EXTENSION', `extension ${name} value ${quote(value)} is not visible ASCII`);
      candidate.extensions.push([name, value]);
    }
  }
  checkTcp(candidate);
  return candidate;
}

/** RFC 6544 §4.5: tcptype only on TCP candidates; port 0 only where nothing listens (tcptype active). */
function checkTcp(c: IceCandidate): void {
  if (c.tcpType !== undefined && c.protocol !== 'tcp') fail('TCPTYPE', `tcptype on a ${c.protocol} candidate`);
  if (c.port === 0 && !(c.protocol === 'tcp' && c.tcpType === 'active')) {
    fail('PORT', 'port 0 is only allowed for a tcptype active candidate');
  }
}

const isUint = (n: unknown, max: number): n is number => Number.isInteger(n) && (n as number) >= 0 && (n as number) <= max;

/** Checks every field the way parseCandidate would, so formatCandidate never writes a line it would refuse. */
function checkCandidate(c: IceCandidate): void {
  if (!isIceCharString(c.foundation, 1, 32)) fail('FOUNDATION', `foundation ${quote(String(c.foundation))} is not 1 to 32 ice-chars`);
  if (!isUint(c.component, 256) || c.component < 1) fail('COMPONENT', `component ID ${c.component} is not 1..256`);
  if (c.protocol !== 'udp' && c.protocol !== 'tcp') fail('TRANSPORT', `unsupported transport ${String(c.protocol)}`);
  if (!isUint(c.priority, 0xffffffff)) fail('PRIORITY', `priority ${c.priority} is not a 32-bit unsigned integer`);
  if (typeof c.address !== 'string' || !isConnectionAddress(c.address)) fail('ADDRESS', `${quote(String(c.address))} is not an IP address or host name`);
  if (!isUint(c.port, 0xffff)) fail('PORT', `port ${c.port} is not 0..65535`);
  if (!CANDIDATE_TYPES.includes(c.type)) fail('TYPE', `unknown candidate type ${String(c.type)}`);
  if (c.relatedAddress !== undefined && (typeof c.relatedAddress !== 'string' || !isConnectionAddress(c.relatedAddress))) {
    fail('RELATED', `raddr ${quote(String(c.relatedAddress))} is not an IP address or host name`);
  }
  if (c.relatedPort !== undefined && !isUint(c.relatedPort, 0xffff)) fail('RELATED', `rport ${c.relatedPort} is not 0..65535`);
  if (c.tcpType !== undefined && !TCP_TYPES.includes(c.tcpType)) fail('TCPTYPE', `unknown tcptype ${String(c.tcpType)}`);
  checkTcp(c);
  if (!Array.isArray(c.extensions)) fail('EXTENSION', 'extensions is not an array');
  for (const [name, value] of c.extensions) {
    if (typeof name !== 'string' || !TOKEN.test(name) || RESERVED_EXTENSIONS.includes(name)) {
      fail('EXTENSION', `extension name ${quote(String(name))} is not a token or is a candidate field`);
    }
    if (typeof value !== 'string' || !VCHARS.test(value)) fail('EXTENSION', `extension ${name} value ${quote(String(value))} is not 1*VCHAR`);
  }
}

/** "candidate:…" (no "a=", no CRLF): RFC 8839 §5.1 field order, then tcptype (RFC 6544), then extensions. */
export function formatCandidate(c: IceCandidate): string {
  checkCandidate(c);
  let line = `candidate:${c.foundation} ${c.component} ${c.protocol} ${c.priority} ${c.address} ${c.port} typ ${c.type}`;
  if (c.relatedAddress !== undefined) line += ` raddr ${c.relatedAddress}`;
  if (c.relatedPort !== undefined) line += ` rport ${c.relatedPort}`;
  if (c.tcpType !== undefined) line += ` tcptype ${c.tcpType}`;
  for (const [name, value] of c.extensions) line += ` ${name} ${value}`;
  return line;
}

/** Same text for candidates on the same component, transport and transport address (RFC 5952 / lower-case). */
export function candidateKey(c: Pick<IceCandidate, 'protocol' | 'address' | 'port' | 'component'>): string {
  return `${c.component} ${c.protocol} ${formatTransportAddress({ address: addressIdentity(c.address), port: c.port })}`;
}

/** W3C RTCIceCandidateInit, as icebridge hands it out (the candidate line always set). */
export interface IceCandidateInit {
  candidate: string;
  sdpMid?: string | null;
  sdpMLineIndex?: number | null;
  usernameFragment?: string | null;
}

/**
 * What addRemoteCandidate takes as a candidate record: lib.dom's RTCIceCandidateInit (where `candidate` is
 * optional: absent or '' is end-of-candidates) or an RTCIceCandidate, written structurally so the core
 * needs no DOM types.
 */
export interface IceCandidateInitLike {
  candidate?: string;
  sdpMid?: string | null;
  sdpMLineIndex?: number | null;
  usernameFragment?: string | null;
}

function ufragExtension(c: IceCandidate): string | undefined {
  return c.extensions.find(([name]) => name === 'ufrag')?.[1];
}

/**
 * The RTCIceCandidateInit to signal, shaped like RTCIceCandidate.toJSON(): unset fields are null, and
 * usernameFragment defaults to the candidate's "ufrag" extension. A browser's addIceCandidate() needs
 * sdpMid or sdpMLineIndex, so pass one when the peer is an RTCPeerConnection.
 */
export function candidateToInit(
  c: IceCandidate,
  opts: { sdpMid?: string; sdpMLineIndex?: number; usernameFragment?: string } = {},
): IceCandidateInit {
  return {
    candidate: formatCandidate(c),
    sdpMid: opts.sdpMid ?? null,
    sdpMLineIndex: opts.sdpMLineIndex ?? null,
    usernameFragment: opts.usernameFragment ?? ufragExtension(c) ?? null,
  };
}

/**
 * What addRemoteCandidate takes, as a candidate: an RTCIceCandidateInit (or an RTCIceCandidate), an
 * `a=candidate` line, or one parsed already; null for end-of-candidates (null, '', an init without one).
 */
export function remoteCandidateOf(input: IceCandidateInitLike | IceCandidate | string | null | undefined): IceCandidate | null {
  if (input === null || input === undefined) return null;
  if (typeof input === 'string') return input.trim() === '' ? null : parseCandidate(input);
  // Parsed, not an init record: an RTCIceCandidate has `address` too, but no `extensions`.
  const parsed = Array.isArray((input as { extensions?: unknown }).extensions) && typeof (input as { candidate?: unknown }).candidate !== 'string';
  return parsed ? (input as IceCandidate) : candidateFromInit(input as IceCandidateInitLike);
}

/**
 * The candidate in an RTCIceCandidateInit, or null for an empty candidate string (end of candidates,
 * RFC 8838 §4 / W3C). A usernameFragment the line lacks is added as its "ufrag" extension, so the
 * candidate keeps its ICE generation; one that contradicts the line's ufrag is an error.
 */
export function candidateFromInit(init: IceCandidateInitLike): IceCandidate | null {
  if (init === null || typeof init !== 'object') fail('SYNTAX', 'not an RTCIceCandidateInit');
  // W3C RTCIceCandidateInit: `candidate` defaults to '', the end-of-candidates indication.
  if (init.candidate === undefined) return null;
  if (typeof init.candidate !== 'string') fail('SYNTAX', 'not an RTCIceCandidateInit: candidate is not a string');
  if (init.candidate.trim() === '') return null;
  const c = parseCandidate(init.candidate);
  const ufrag = init.usernameFragment;
  if (ufrag !== undefined && ufrag !== null) {
    if (!isValidUfrag(ufrag)) fail('UFRAG', `usernameFragment ${quote(String(ufrag))} is not 4 to 256 ice-chars`);
    const own = ufragExtension(c);
    if (own === undefined) c.extensions.push(['ufrag', ufrag]);
    else if (own !== ufrag) fail('UFRAG', `usernameFragment ${ufrag} contradicts the candidate's ufrag ${own}`);
  }
  return c;
}

/**
 * An RTCIceCandidate-like view for stats and the inspector. component is 'rtp' (1) or 'rtcp' (2) as
 * RTCIceComponent has it, or the number for components RTCIceComponent cannot name.
 */
export function candidateToJSON(c: IceCandidate, usernameFragment?: string): Record<string, unknown> {
  return {
    candidate: formatCandidate(c),
    foundation: c.foundation,
    component: c.component === 1 ? 'rtp' : c.component === 2 ? 'rtcp' : c.component,
    priority: c.priority,
    address: c.address,
    protocol: c.protocol,
    port: c.port,
    type: c.type,
    tcpType: c.tcpType ?? null,
    relatedAddress: c.relatedAddress ?? null,
    relatedPort: c.relatedPort ?? null,
    usernameFragment: usernameFragment ?? ufragExtension(c) ?? null,
  };
}
