// NAT behaviour discovery on the STUN server (RFC 5780 §6): the engine is told its four sockets — two
// addresses A1, A2 × two ports P1, P2 — so a Binding response can leave through the one CHANGE-REQUEST asks
// for, carrying RESPONSE-ORIGIN and OTHER-ADDRESS. Everything per socket is prepared at construction: a plain
// Binding request costs a Map lookup more than without RFC 5780, and allocates nothing more.
import type { DatagramSource, SocketId } from '../net/engine.js';
import { isIp } from '../net/ip.js';
import { familyOf, formatTransportAddress, type TransportAddress } from '../net/transport-address.js';
import { HEADER_LENGTH, StunAttributeType as T } from '../stun/constants.js';
import { encodeStunMessage } from '../stun/encode.js';
import { createStunMessage, type StunMessage } from '../stun/message.js';
import type { StunAttributeEntry } from '../stun/attribute-values.js';
import { encodeBindingSuccess, type BindingSuccessExtras } from './binding-response.js';

/** One of the server's sockets: its id in the engine and the transport address clients reach it at. */
export interface Rfc5780Socket {
  readonly socket: SocketId;
  readonly address: TransportAddress;
}

export interface Rfc5780Options {
  /**
   * The four sockets A1:P1, A1:P2, A2:P1, A2:P2, in any order: two addresses of one family × two ports, every
   * combination once (RFC 5780 §6). Requests arriving on other socket ids are answered as by a plain STUN
   * server: no OTHER-ADDRESS, and 420 to CHANGE-REQUEST. Required.
   */
  sockets: readonly Rfc5780Socket[];
  /** Honour RESPONSE-PORT (§7.5; optional for a server, 420 when off). Default true. */
  responsePort?: boolean;
  /**
   * Longest PADDING value answered (§7.6); 0 refuses PADDING with 420. Deliberately not per spec: §6.1
   * says SHOULD pad to the MTU, but the response is padded to the request's own PADDING length, so it is
   * never bigger than the request by more than the usual attributes (no amplification). Default 1500.
   */
  maxPaddingBytes?: number;
}

export interface Rfc5780Counters {
  /** Responses sent from another socket than the request arrived on (CHANGE-REQUEST with a flag set). */
  changed: number;
  /** Responses sent to the port in RESPONSE-PORT. */
  responsePort: number;
  /** Responses with PADDING. */
  padded: number;
}

/** Where a response to a request received on one socket goes out, by CHANGE-REQUEST flags (Table 1). */
interface Route {
  readonly socket: SocketId;
  readonly origin: TransportAddress;
  readonly extras: BindingSuccessExtras;
}

/** Routes of one receiving socket, indexed by (changeIp ? 2 : 0) | (changePort ? 1 : 0). */
type Routes = readonly [Route, Route, Route, Route];

/** The request attributes of this usage (§6.1): their presence leaves the hot path. */
export function hasBehaviorAttributes(request: StunMessage): boolean {
  const attributes = request.attributes;
  for (let i = 0; i < attributes.length; i++) {
    const type = attributes[i].type;
    if (type === T.CHANGE_REQUEST || type === T.RESPONSE_PORT || type === T.PADDING) return true;
  }
  return false;
}

/**
 * RFC 5780 §6: 420 Unknown Attribute for the usage's attributes a server cannot honour — every one of them
 * when it has no alternate address and port. Returns the types to list, or an empty array.
 */
export function unsupportedBehaviorAttributes(request: StunMessage, changeRequest: boolean, responsePort: boolean, padding: boolean): number[] {
  const unsupported: number[] = [];
  for (const a of request.attributes) {
    const refused =
      (a.type === T.CHANGE_REQUEST && !changeRequest) || (a.type === T.RESPONSE_PORT && !responsePort) || (a.type === T.PADDING && !padding);
    if (refused && !unsupported.includes(a.type)) unsupported.push(a.type);
  }
  return unsupported;
}

/** The encoded attributes (no header) of a message holding `entries`, via the codec. */
function encodeAttributes(entries: StunAttributeEntry[]): Uint8Array {
  const bytes = encodeStunMessage(createStunMessage({ method: 1, class: 'success', transactionId: new Uint8Array(12), attributes: entries }));
  return bytes.slice(HEADER_LENGTH);
}

function validate(options: Rfc5780Options): { addresses: [string, string]; ports: [number, number] } {
  const sockets = options?.sockets;
  if (!Array.isArray(sockets) || sockets.length !== 4) throw new RangeError('rfc5780.sockets must list exactly four sockets (2 addresses × 2 ports)');
  const addresses: string[] = [];
  const ports: number[] = [];
  const ids = new Set<SocketId>();
  for (const s of sockets) {
    const a = s?.address;
    if (!a || typeof a.address !== 'string' || !isIp(a.address)) throw new RangeError(`rfc5780.sockets: ${JSON.stringify(a)} is not an IP transport address`);
    if (a.address === '0.0.0.0' || a.address === '::') throw new RangeError(`rfc5780.sockets: ${a.address} is unspecified; RFC 5780 needs the address clients reach`);
    if (!Number.isInteger(a.port) || a.port < 1 || a.port > 65535) throw new RangeError(`rfc5780.sockets: port ${String(a.port)} is not 1..65535`);
    if (ids.has(s.socket)) throw new RangeError(`rfc5780.sockets: socket id ${s.socket} is listed twice`);
    ids.add(s.socket);
    if (!addresses.includes(a.address)) addresses.push(a.address);
    if (!ports.includes(a.port)) ports.push(a.port);
  }
  if (addresses.length !== 2 || ports.length !== 2) {
    throw new RangeError(`rfc5780.sockets must use exactly 2 addresses and 2 ports, got ${addresses.length} and ${ports.length}`);
  }
  if (familyOf(addresses[0]) !== familyOf(addresses[1])) throw new RangeError('rfc5780.sockets: both addresses must be of one family');
  for (const address of addresses) {
    for (const port of ports) {
      if (!sockets.some((s) => s.address.address === address && s.address.port === port)) {
        throw new RangeError(`rfc5780.sockets: no socket for ${formatTransportAddress({ address, port })}`);
      }
    }
  }
  return { addresses: [addresses[0], addresses[1]], ports: [ports[0], ports[1]] };
}

export class Rfc5780Responder {
  readonly counters: Rfc5780Counters = { changed: 0, responsePort: 0, padded: 0 };
  readonly responsePort: boolean;
  readonly maxPaddingBytes: number;
  private readonly routes = new Map<SocketId, Routes>();

  constructor(options: Rfc5780Options) {
    const { addresses, ports } = validate(options);
    this.responsePort = options.responsePort ?? true;
    const maxPadding = options.maxPaddingBytes ?? 1500;
    if (!(Number.isInteger(maxPadding) && maxPadding >= 0 && maxPadding <= 65_000)) throw new RangeError('rfc5780.maxPaddingBytes must be an integer 0..65000');
    this.maxPaddingBytes = maxPadding;
    const socketAt = (address: string, port: number): Rfc5780Socket => options.sockets.find((s) => s.address.address === address && s.address.port === port)!;
    for (const received of options.sockets) {
      const da = received.address.address;
      const dp = received.address.port;
      const ca = addresses[0] === da ? addresses[1] : addresses[0];
      const cp = ports[0] === dp ? ports[1] : ports[0];
      const other = { address: ca, port: cp };
      const route = (changeIp: boolean, changePort: boolean): Route => {
        const from = socketAt(changeIp ? ca : da, changePort ? cp : dp);
        const origin = { address: from.address.address, port: from.address.port };
        // §6.1: RESPONSE-ORIGIN is where the response leaves from; OTHER-ADDRESS is Ca:Cp whatever the flags.
        const attributes = encodeAttributes([
          ['RESPONSE-ORIGIN', origin],
          ['OTHER-ADDRESS', other],
        ]);
        return { socket: from.socket, origin, extras: { mappedAddress: true, attributes, paddingLength: 0 } };
      };
      this.routes.set(received.socket, [route(false, false), route(false, true), route(true, false), route(true, true)]);
    }
  }

  /** The additions for a plain request on `socket` (no usage attributes), or undefined off the grid. */
  plainExtras(socket: SocketId): BindingSuccessExtras | undefined {
    return this.routes.get(socket)?.[0].extras;
  }

  /** Whether `socket` is one of the four: only there can CHANGE-REQUEST be honoured. */
  covers(socket: SocketId): boolean {
    return this.routes.has(socket);
  }

  /**
   * Answers a Binding request that carries CHANGE-REQUEST, RESPONSE-PORT or PADDING (§6.1), or returns the
   * error to send instead (the caller sends errors back the way the request came).
   */
  answer(
    request: StunMessage,
    source: DatagramSource,
    software: Uint8Array,
    softwareText: string,
    send: (socket: SocketId, to: TransportAddress, bytes: Uint8Array) => void,
  ): { code: 400 | 420; reason: string; unknown?: number[] } | undefined {
    const routes = this.routes.get(source.socket);
    const padding = request.get('PADDING');
    const responsePort = request.get('RESPONSE-PORT');
    const unknown = unsupportedBehaviorAttributes(request, routes !== undefined, this.responsePort, this.maxPaddingBytes > 0);
    if (unknown.length > 0) return { code: 420, reason: 'Unknown Attribute', unknown };
    // §6.1 and §7.5: PADDING with RESPONSE-PORT MUST NOT be processed.
    if (padding !== undefined && responsePort !== undefined) return { code: 400, reason: 'Bad Request: PADDING together with RESPONSE-PORT' };
    if (responsePort === 0) return { code: 400, reason: 'Bad Request: RESPONSE-PORT 0' };
    const change = request.get('CHANGE-REQUEST');
    const index = (change?.changeIp ? 2 : 0) | (change?.changePort ? 1 : 0);
    const route: Route | undefined = routes?.[index];
    const socket = route?.socket ?? source.socket;
    const to = responsePort === undefined ? source.from : { address: source.from.address, port: responsePort };
    const paddingLength = padding === undefined ? 0 : Math.min((padding.length + 3) & ~3, this.maxPaddingBytes & ~3);
    const fingerprint = request.fingerprintOffset >= 0;
    let bytes: Uint8Array;
    if (request.hasMagicCookie) {
      const base = route?.extras;
      const extras: BindingSuccessExtras = {
        mappedAddress: true,
        attributes: base?.attributes ?? new Uint8Array(0),
        paddingLength,
      };
      bytes = encodeBindingSuccess(request, source.from, software, fingerprint, extras);
    } else {
      // RFC 3489 client (RFC 8489 §12): MAPPED-ADDRESS only, no XOR attributes; the 5780 ones it may ignore.
      const attributes: StunAttributeEntry[] = [['MAPPED-ADDRESS', source.from]];
      if (route !== undefined) attributes.push(['RESPONSE-ORIGIN', route.origin], ['OTHER-ADDRESS', this.routes.get(source.socket)![3].origin]);
      if (paddingLength > 0) attributes.push(['PADDING', new Uint8Array(paddingLength)]);
      if (softwareText) attributes.push(['SOFTWARE', softwareText]);
      const response = createStunMessage({ method: request.method, class: 'success', transactionId: request.transactionId, cookie: request.cookie, attributes });
      bytes = encodeStunMessage(response, { fingerprint });
    }
    if (socket !== source.socket) this.counters.changed++;
    if (responsePort !== undefined) this.counters.responsePort++;
    if (paddingLength > 0) this.counters.padded++;
    send(socket, to, bytes);
    return undefined;
  }
}
