// What the bridge session engine (session-engine.ts) and its driver exchange. The engine decides; the driver
// owns the carrier (WebSocket, WebTransport), the UDP sockets, the TCP/TLS streams and the name lookups, and
// reports back what they did. Nothing here does I/O.
import type { AddressFamily, TransportAddress } from '../net/transport-address.js';
import type { BridgeMetrics } from './metrics.js';
import type { ResolveCache } from './resolve-cache.js';

export type DestinationVerdict = 'allowed' | 'invalid-destination' | 'destination-denied';

/** The destination policy as the engine sees it (bridge/policy.ts implements it). */
export interface SessionPolicy {
  /** Whether a datagram (udp) or a stream (tcp) may go to `address`:`port`. Runs once per datagram: must not allocate. */
  check(address: string, port: number, transport?: 'udp' | 'tcp'): DestinationVerdict;
  /** Whether a DNS answer may be handed to the client (a host address is denied unless some port of it is allowed). */
  checkAnswer(address: string): DestinationVerdict;
}

/** The limits of one session (bridge/options.ts documents each and its default). */
export interface SessionLimits {
  maxSockets: number;
  maxPayload: number;
  packetsPerSecond: number;
  bytesPerSecond: number;
  idleTimeoutMs: number;
  maxBufferedBytes: number;
  maxMalformedFrames: number;
  errorFramesPerSecond: number;
  /** A data frame from the client that waited in the driver's queue longer than this is dropped (`queue-delay`). */
  maxQueueDelayMs: number;
  bindPortRange: readonly [number, number];
  /** v2: TCP/TLS streams open at once; 0 turns streams off. */
  maxStreams: number;
  /** v2: bytes a client may send on a stream before the bridge has written them to TCP (its credit). */
  streamWindow: number;
  /** v2: give up on a TCP connect or TLS handshake after this long. */
  connectTimeoutMs: number;
  /** v2: TLS streams are offered (the driver can make them). */
  tls: boolean;
  /** v2: name lookups are offered. */
  resolve: boolean;
  /** v2: `<uuid>.local` names are resolved by mDNS on the bridge's LAN (the operator enabled it). */
  mdns: boolean;
  /** v2: `<uuid>.local` names a session may have the bridge answer for (`mdns-register`); 0: none (refused, `not-supported`). */
  maxMdnsNames: number;
  /** v2: the operator wants page host candidates hidden (hello bit BridgeFeature.mdnsHostCandidates). */
  mdnsHostCandidates: boolean;
  /** v2: the driver binds sockets connected to one peer (`bind` with `connect`; BridgeFeature.connect). Default false. */
  connect?: boolean;
  maxConcurrentLookups: number;
  lookupsPerSecond: number;
  resolveTimeoutMs: number;
  /** v2: TCP listeners are offered (the operator enabled `allowListen`, and streams are on). */
  listen: boolean;
  /** v2: listeners a session may hold at once. */
  maxListeners: number;
  /** v2: the ports a listener may take; a listen for port 0 takes a free one of them. Undefined: any free port, or one ≥ 1024 asked by number. */
  listenPortRange: readonly [number, number] | undefined;
}

export interface SessionContext {
  readonly limits: SessionLimits;
  readonly metrics: BridgeMetrics;
  readonly policy: SessionPolicy;
  /** Shared by the sessions of a bridge: answers are about the bridge's network, not the client's. */
  readonly resolveCache: ResolveCache;
  /** Addresses announced in `bound` for a socket of this family bound to this local address. */
  hostAddresses(family: AddressFamily, bound: TransportAddress): string[];
  /** Bytes queued on the carrier toward the client now (the WebSocket's bufferedAmount). */
  carrierBacklog(): number;
}

/** What the engine asks its driver to do. Ids are the engine's: sockets and streams share one space. */
export type SessionAction =
  | { type: 'send'; socketId: number; to: TransportAddress; payload: Uint8Array }
  /** `connect`: a socket connected to that peer, whose ICMP port unreachable the driver reports (handleUnreachable). */
  | { type: 'bind'; socketId: number; family: AddressFamily; port: number; connect: TransportAddress | undefined }
  | { type: 'close-socket'; socketId: number }
  /** `mdns`: by multicast DNS on the bridge's LAN (a `<uuid>.local` name), else by the DNS. */
  | { type: 'resolve'; lookupId: number; name: string; families: AddressFamily[]; mdns: boolean }
  /** Answer mDNS queries for `name` with `address`; then the driver calls handleMdnsRegistered or …Failed. */
  | { type: 'mdns-register'; requestId: number; name: string; address: string }
  /** Withdraw `name` (goodbye). */
  | { type: 'mdns-unregister'; name: string }
  | { type: 'connect'; streamId: number; remote: TransportAddress; tls: boolean; serverName: string }
  /**
   * Listen for TCP connections at `port` (0: a free one, from `portRange` when given); then the driver calls
   * handleListening or handleListenFailed, and handleAccepted for each connection that comes in.
   */
  | { type: 'listen'; listenerId: number; family: AddressFamily; port: number; portRange: readonly [number, number] | undefined }
  | { type: 'close-listener'; listenerId: number }
  | { type: 'write'; streamId: number; bytes: Uint8Array }
  | { type: 'end-stream'; streamId: number }
  | { type: 'close-stream'; streamId: number }
  | { type: 'pause-stream'; streamId: number }
  | { type: 'resume-stream'; streamId: number }
  /** Close the carrier with this code; the driver then calls handleCarrierClosed. */
  | { type: 'close-carrier'; code: number; reason: string };

/** A line for the operator's log. */
export interface SessionLogEvent {
  event: string;
  fields: Record<string, unknown>;
}

/** One answer of a lookup: an address and how long it may be cached. */
export interface LookupAnswer {
  address: string;
  ttl: number;
}

/** How a driver looks names up: by the DNS, or with `mdns` by multicast DNS on the bridge's LAN. Rejects with a `failure`. */
export type LookupFunction = (name: string, families: AddressFamily[], mdns: boolean) => Promise<LookupAnswer[]>;

/** Why a lookup failed, as the driver saw it. */
export type LookupFailure = 'name-not-found' | 'resolve-timeout' | 'resolve-failed';

/** Why a connect failed, as the driver saw it. */
export type ConnectFailure = 'connect-failed' | 'tls-failed';
