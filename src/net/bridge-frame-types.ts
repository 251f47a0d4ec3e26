// The bridge's frames as values: what the codec (bridge-frame-encode.ts, bridge-frame-decode.ts) writes and
// reads. The wire layout of each is in bridge-frame.ts.
import type { AddressFamily, TransportAddress } from './transport-address.js';

/** The newest protocol this code speaks. A session runs the version the bridge's hello names. */
export const BRIDGE_PROTOCOL_VERSION = 2;
/** Every version this code speaks, oldest first. */
export const BRIDGE_PROTOCOL_VERSIONS: readonly number[] = [1, 2];
/**
 * The WebSocket subprotocol a version 2 client offers. A bridge that speaks v2 accepts it and says hello
 * with version 2; a v1 bridge ignores what it offers and says hello with version 1, which the client refuses
 * with a clear error. A client that offers nothing (v1) gets a v1 session.
 */
export const BRIDGE_SUBPROTOCOL_V2 = 'icebridge.v2';

export const BridgeFrameType = {
  data: 0x00,
  hello: 0x01,
  bind: 0x02,
  bound: 0x03,
  close: 0x04,
  error: 0x05,
  resolve: 0x06,
  resolved: 0x07,
  connect: 0x08,
  connected: 0x09,
  stream: 0x0a,
  end: 0x0b,
  window: 0x0c,
  mdnsRegister: 0x0d,
  mdnsRegistered: 0x0e,
  mdnsUnregister: 0x0f,
  listen: 0x10,
  listening: 0x11,
  accepted: 0x12,
  hostAddresses: 0x13,
} as const;

/** Largest data frame header: type, socket, family, IPv6 address, port. */
export const DATA_HEADER_MAX = 1 + 2 + 1 + 16 + 2;
/** A stream frame's header: type, stream id. */
export const STREAM_HEADER = 1 + 2;
/** The largest UDP payload over IPv4 (65 535 − 20 IP − 8 UDP); no datagram carries more. */
export const MAX_UDP_PAYLOAD = 65_507;
export const MAX_ERROR_CODE = 64;
/** Longer reasons are cut on encode: an error frame explains, it does not carry data. */
export const MAX_ERROR_REASON_BYTES = 1024;
/** A DNS name is at most 253 characters in text form (RFC 1035 §2.3.4: 255 octets on the wire). */
export const MAX_HOST_NAME = 253;
/** At most this many addresses in one resolved frame. */
export const MAX_RESOLVED_ADDRESSES = 32;

/** Letters, digits, '-', '_' in dot-separated labels of 1..63, an optional final dot (RFC 1123 §2.1, plus '_'). */
const HOST_NAME_PATTERN = /^(?=.{1,253}$)([A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)(\.[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)*\.?$/;
export const ERROR_CODE_PATTERN = /^[a-z0-9][a-z0-9-]*$/;

/** Whether `name` may be carried as a host name (a resolve name, a TLS server name). */
export function isHostName(name: string): boolean {
  return HOST_NAME_PATTERN.test(name);
}

/** The limits a bridge session runs under, announced in its hello. The v2 fields are absent in a v1 hello. */
export interface BridgeLimits {
  maxSockets: number;
  maxPayload: number;
  packetsPerSecond: number;
  bytesPerSecond: number;
  idleTimeoutMs: number;
  /** v2: TCP/TLS streams open at once (0: the bridge opens none). */
  maxStreams?: number;
  /** v2: bytes the bridge lets a client send on a new stream before it grants more with `window`. */
  streamWindow?: number;
  /** v2: name lookups in flight at once. */
  maxConcurrentLookups?: number;
  /** v2: names a session may resolve per second. */
  lookupsPerSecond?: number;
  /** v2: what this bridge offers (BridgeFeature bits). */
  features?: number;
}

/** v2 hello feature bits. */
export const BridgeFeature = {
  /** The bridge resolves names (`resolve` frames). */
  resolve: 1,
  /** The bridge opens TCP streams (`connect` frames). */
  tcp: 2,
  /** The bridge opens TLS streams (`connect` with the TLS flag). */
  tls: 4,
  /**
   * The bridge resolves `<uuid>.local` names by multicast DNS on its own LAN (`resolve` with the mDNS flag):
   * its operator enabled it (`mdns`), since the answer is about the bridge's network, not the page's.
   */
  mdns: 8,
  /**
   * The operator wants a page's host candidates hidden behind `<uuid>.local` names (bridge option
   * `mdnsHostCandidates: 'on'`): the page agent's default for its `mdnsHostCandidates`. Only with `mdns`,
   * and only where the bridge answers for such names (`mdns-register`).
   */
  mdnsHostCandidates: 16,
  /**
   * The bridge listens for TCP connections for a client (`listen` frames): its operator enabled it
   * (`allowListen`), since it opens ports on the bridge host to anyone who can reach them.
   */
  listen: 32,
  /**
   * The bridge binds a socket connected to one peer (`bind` with `connect`) and reports that peer's ICMP port
   * unreachable as an error frame naming it: a server that is not there refuses at once, as to a connected
   * socket in Node. Its unconnected sockets cannot hear ICMP errors at all.
   */
  connect: 64,
} as const;

export interface DataFrame {
  type: 'data';
  socketId: number;
  /** The destination (client → bridge) or the source (bridge → client) of the datagram. */
  peer: TransportAddress;
  payload: Uint8Array;
}
export interface HelloFrame {
  type: 'hello';
  version: number;
  limits: BridgeLimits;
}
export interface BindFrame {
  type: 'bind';
  requestId: number;
  family: AddressFamily;
  /** 0 lets the bridge pick a free port. */
  port: number;
  /** v2, to a bridge with BridgeFeature.connect: the one peer this socket sends to and hears from. */
  connect?: TransportAddress;
}
export interface BoundFrame {
  type: 'bound';
  requestId: number;
  socketId: number;
  local: TransportAddress;
  hostAddresses: string[];
}
/** Closes a socket or a stream (v2: the two share one id space per session). */
export interface CloseFrame {
  type: 'close';
  socketId: number;
}
export interface ErrorFrame {
  type: 'error';
  /** A stable lowercase code such as `destination-denied`. */
  code: string;
  reason: string;
  requestId?: number;
  /** The socket or stream the error is about. */
  socketId?: number;
  /** v2: the destination a datagram was refused for. */
  destination?: TransportAddress;
}
/** v2: resolve a host name to addresses of the families asked for. */
export interface ResolveFrame {
  type: 'resolve';
  requestId: number;
  name: string;
  families: AddressFamily[];
  /**
   * Resolve by multicast DNS (RFC 6762) on the bridge's LAN, not by the DNS: for a `.local` name, which the
   * DNS must never be asked about (RFC 6762 §3). Only to a bridge whose hello has BridgeFeature.mdns. Absent: false.
   */
  mdns?: boolean;
}
export interface ResolvedAddress {
  address: string;
  /** Seconds the answer may be cached. */
  ttl: number;
}
export interface ResolvedFrame {
  type: 'resolved';
  requestId: number;
  addresses: ResolvedAddress[];
}
/** v2: open a TCP (or TLS) stream to `remote`, an IP address the client resolved first. */
export interface ConnectFrame {
  type: 'connect';
  requestId: number;
  remote: TransportAddress;
  tls: boolean;
  /** The TLS server name (SNI and the certificate check); '' checks the certificate against the address. */
  serverName: string;
  /** Bytes the client lets the bridge send it before it grants more with `window`. */
  window: number;
}
export interface ConnectedFrame {
  type: 'connected';
  requestId: number;
  streamId: number;
  local: TransportAddress;
  remote: TransportAddress;
  /** Bytes the bridge lets the client send before it grants more. */
  window: number;
}
/** v2: bytes of a stream, either way. */
export interface StreamFrame {
  type: 'stream';
  streamId: number;
  payload: Uint8Array;
}
/** v2: the sender sends no more bytes on this stream (TCP FIN); the other direction goes on. */
export interface EndFrame {
  type: 'end';
  streamId: number;
}
/** v2: the receiver of a stream's bytes lets the other side send `increment` more. */
export interface WindowFrame {
  type: 'window';
  streamId: number;
  increment: number;
}

/**
 * v2: the bridge answers mDNS queries for `name` (a `<uuid>.local` name the client made, draft-ietf-mmusic-
 * mdns-ice-candidates §3.1.1) with `address`, one of the addresses announced for this session's own UDP
 * sockets, until `mdns-unregister` or the session ends. Answered with `mdns-registered` or an error.
 */
export interface MdnsRegisterFrame {
  type: 'mdns-register';
  requestId: number;
  address: string;
  name: string;
}
export interface MdnsRegisteredFrame {
  type: 'mdns-registered';
  requestId: number;
}
/** v2: withdraw a registered name (the bridge sends the goodbye, RFC 6762 §10.1). No answer. */
export interface MdnsUnregisterFrame {
  type: 'mdns-unregister';
  name: string;
}

/**
 * v2: listen for TCP connections on the bridge host (a passive ICE-TCP candidate, RFC 6544 §4.1). Answered
 * with `listening` or an error; each connection that comes in is an `accepted` stream. `close` on the
 * listener's id stops it (the streams it accepted go on).
 */
export interface ListenFrame {
  type: 'listen';
  requestId: number;
  family: AddressFamily;
  /** 0 lets the bridge pick a free port. */
  port: number;
  /** Bytes the client lets the bridge send it on each accepted stream before it grants more. */
  window: number;
}
export interface ListeningFrame {
  type: 'listening';
  requestId: number;
  listenerId: number;
  local: TransportAddress;
  /** As in `bound`: the addresses the listener is reachable at when `local` is a wildcard. */
  hostAddresses: string[];
}
/** v2: a connection came in on a listener: a new stream, open both ways, as a `connected` one is. */
export interface AcceptedFrame {
  type: 'accepted';
  listenerId: number;
  streamId: number;
  local: TransportAddress;
  remote: TransportAddress;
  /** Bytes the bridge lets the client send before it grants more. */
  window: number;
}

/**
 * v2: the host addresses announced for a socket or listener changed (an interface came or went, or the
 * operator set others): what its `bound` or `listening` would say now. A page's host candidates follow it.
 */
export interface HostAddressesFrame {
  type: 'host-addresses';
  /** The socket or listener. */
  socketId: number;
  hostAddresses: string[];
}

export type BridgeFrame =
  | DataFrame
  | HelloFrame
  | BindFrame
  | BoundFrame
  | CloseFrame
  | ErrorFrame
  | ResolveFrame
  | ResolvedFrame
  | ConnectFrame
  | ConnectedFrame
  | StreamFrame
  | EndFrame
  | WindowFrame
  | MdnsRegisterFrame
  | MdnsRegisteredFrame
  | MdnsUnregisterFrame
  | ListenFrame
  | ListeningFrame
  | AcceptedFrame
  | HostAddressesFrame;

/** Frames that only a version 2 session carries. */
export const V2_FRAME_TYPES: ReadonlySet<BridgeFrame['type']> = new Set(['resolve', 'resolved', 'connect', 'connected', 'stream', 'end', 'window', 'mdns-register', 'mdns-registered', 'mdns-unregister', 'listen', 'listening', 'accepted', 'host-addresses']);

/**
 * Why bytes are not a bridge frame:
 * - `EMPTY`         a zero-length message
 * - `UNKNOWN_TYPE`  the first byte names no frame type
 * - `TRUNCATED`     the frame ends inside a field
 * - `LENGTH`        bytes follow the last field of a fixed-length frame
 * - `FAMILY`        an address family byte other than 4 or 6
 * - `VERSION`       a hello of a protocol version this code does not speak
 * - `VALUE`         a field of the right size with a value the protocol forbids (error code text, flags, names)
 */
export type BridgeFrameErrorCode = 'EMPTY' | 'UNKNOWN_TYPE' | 'TRUNCATED' | 'LENGTH' | 'FAMILY' | 'VERSION' | 'VALUE';

/** Malformed frame bytes: the only thing `decodeBridgeFrame` throws. */
export class BridgeFrameError extends Error {
  override readonly name = 'BridgeFrameError';
  constructor(
    readonly code: BridgeFrameErrorCode,
    readonly offset: number,
    readonly reason: string,
  ) {
    super(`${code} at ${offset}: ${reason}`);
  }
}

/**
 * The WebTransport carrier's in-band close (bridge/webtransport/PROTOCOL.md "The close code in band"): before
 * the bridge ends a session it sends an error frame of this code whose reason is `"<close code> <text>"`.
 */
export const SESSION_CLOSE_ERROR = 'session-close';

/** The reason of a session-close error frame. */
export function sessionCloseReason(closeCode: number, text: string): string {
  return `${closeCode} ${text}`;
}

/** The close code and text of a session-close error frame's reason; a reason without a code is 1005 (no status). */
export function parseSessionCloseReason(reason: string): { code: number; reason: string } {
  const m = /^(\d{1,5})(?: (.*))?$/s.exec(reason);
  return m ? { code: Number(m[1]), reason: m[2] ?? '' } : { code: 1005, reason };
}
