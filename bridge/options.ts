// The bridge's options: every limit with its default, validated once at start (a bad value throws there,
// never later), unchangeable afterwards.
import type { Server } from 'node:http';
import { DATA_HEADER_MAX, MAX_UDP_PAYLOAD } from '../src/net/bridge-frame.js';
import { isIp } from '../src/net/ip.js';
import { DestinationPolicy } from './policy.js';
import type { BridgeResolveFunction } from './resolver.js';
import type { BridgeMdnsResolver } from './mdns-resolver.js';
import type { ResolvedWebTransportOptions } from './webtransport-supervisor.js';
import { checkHostAddresses, integer, listenPortRange, loggerOption, originList, textList } from './option-checks.js';
import type { ResolvedBridgeOptions } from './resolved-options.js';

export { checkHostAddresses, normalizeOrigin } from './option-checks.js';
export type { ResolvedBridgeOptions } from './resolved-options.js';

/** The WebTransport carrier (HTTP/3 datagrams, run by Deno: bridge/webtransport/PROTOCOL.md). */
export interface WebTransportOptions {
  /** UDP port of its QUIC endpoint; 0 picks a free one (kept across restarts). Required. */
  port: number;
  /** Address it listens on. Default: the bridge's `host`. */
  host?: string;
  /** URL path sessions ask for. Default '/bridge'. */
  path?: string;
  /**
   * PEM files of a CA-signed certificate and its key (both or neither). Default: a development certificate
   * made at start (self-signed ECDSA P-256, 13 days, rotated a day early) whose SHA-256 the page passes as
   * `serverCertificateHashes` (RunningBridge.certificateHashes).
   */
  cert?: string;
  key?: string;
  /** The Deno binary. Default: the `deno` npm package's, else `deno` on PATH; without one, WebSocket only. */
  denoPath?: string;
  /** QUIC idle timeout: a page gone without a word is noticed after this long. Default 10 000 ms. */
  quicIdleTimeoutMs?: number;
  /** QUIC keep-alive period (under both sides' idle timeouts). Default 4 000 ms. */
  quicKeepAliveMs?: number;
  /** A session that opens no control stream within this long is closed. Default 5 000 ms. */
  controlStreamTimeoutMs?: number;
}

export interface BridgeOptions {
  /** Address to listen on. Default '127.0.0.1' (local only); '0.0.0.0' or '::' to serve other machines. */
  host?: string;
  /** TCP port; 0 picks a free one. Default 8787. */
  port?: number;
  /**
   * An existing http.Server to attach to (an app server): the bridge handles its WebSocket upgrades on
   * `path` and leaves every other request alone; `host`/`port` are then ignored and `/metrics` is not
   * served (call `metrics.text()` from the app's own route).
   */
  server?: Server;
  /** URL path of the WebSocket endpoint. Default '/'. */
  path?: string;
  /** URL path of the Prometheus metrics on the bridge's own server, or false for none. Default '/metrics'. */
  metricsPath?: string | false;
  /**
   * What `GET metricsPath` serves instead of this bridge's own counters: the multi-process runner
   * (bridge/cluster.ts) answers with every worker's, merged by the primary. Default: this bridge's.
   */
  metricsSource?: () => Promise<string>;

  /** The TURN REST API secret(s) tokens are checked against; several allow key rotation. Required unless `allowAnonymous`. */
  secret?: string | string[];
  /** Accept sessions without a token. Default false: must be said explicitly. */
  allowAnonymous?: boolean;
  /** Origins (`https://app.example`) allowed to connect. Default: any Origin (the token is the authentication). */
  allowOrigins?: string[];
  /** Allow requests without an Origin header (non-browser clients). Default true. */
  allowMissingOrigin?: boolean;

  /** Allow destinations on loopback (127.0.0.0/8, ::1), for local use and tests. Default false. */
  allowLoopback?: boolean;
  /** CIDR blocks allowed even though a default refuses them (link-local, multicast, …). Default none. */
  allow?: string[];
  /** CIDR blocks refused; an explicit deny wins over `allow`. Default none. */
  deny?: string[];
  /**
   * Let sessions reach the bridge host's own addresses (every interface, read again every 5 s, and
   * `hostAddresses`) on any port. Default false: a page must never reach the host's own services.
   * Loopback is governed by `allowLoopback` alone.
   */
  allowHostAddresses?: boolean;
  /**
   * Ports of the host's own addresses sessions may reach even so — a STUN/TURN server beside the bridge
   * (`icebridge serve` passes its own). Default none.
   */
  allowHostPorts?: number[];

  /** Local addresses UDP sockets bind to, per family. Default 0.0.0.0 and ::. */
  udpBindAddress?: { IPv4?: string; IPv6?: string };
  /**
   * Host addresses announced in `bound` frames. Default: the bind address if specific, else the host's
   * interfaces (re-read every `hostAddressIntervalMs`; sessions hear of changes). RunningBridge.setHostAddresses
   * changes them later.
   */
  hostAddresses?: string[];
  /** How often the host's interfaces are re-read (the destination policy, and what sessions' sockets are announced at). Default 5 000 ms. */
  hostAddressIntervalMs?: number;
  /** Ports a client may ask for by number (0 = any free port is always allowed). Default [1024, 65535]. */
  bindPortRange?: [number, number];

  /** Open sessions at once, over all clients. Default 1000. */
  maxSessions?: number;
  /** UDP sockets per session. Default 8. */
  maxSockets?: number;
  /** Largest datagram payload in a data frame, in bytes. Default and maximum 65 507. */
  maxPayload?: number;
  /** Largest WebSocket message ws will buffer; larger ones are cut off with close code 1009. Default 131 072. */
  maxMessageBytes?: number;
  /** Datagrams per second a session may send (token bucket, burst of one second). Default 2000. */
  packetsPerSecond?: number;
  /** Payload bytes per second a session may send (token bucket, burst of one second or one datagram). Default 2 000 000. */
  bytesPerSecond?: number;
  /** A session with no frame from the client and no datagram for it for this long is closed. Default 60 000 ms. */
  idleTimeoutMs?: number;
  /** Above this many bytes queued on a session's WebSocket, datagrams for it are dropped. Default 1 MiB. */
  maxBufferedBytes?: number;
  /** Malformed frames a session may send before it is closed with 4010. Default 10. */
  maxMalformedFrames?: number;
  /** Error frames per second sent to a session (burst of as many); the rest are counted, not sent. Default 10. */
  errorFramesPerSecond?: number;
  /**
   * A datagram that waited in the bridge longer than this (a client's data frame before it is sent, a UDP
   * datagram before it is handed to the client's WebSocket) is dropped and counted (`queue-delay`), not
   * delivered late. Default 200 ms.
   */
  maxQueueDelayMs?: number;
  /**
   * SO_RCVBUF of each session's UDP socket: what the kernel holds while the bridge is busy; beyond it the
   * kernel drops (counted as `receive-buffer` on Linux). The kernel caps it at net.core.rmem_max and doubles
   * it for its bookkeeping. Default 262 144.
   */
  receiveBufferBytes?: number;
  /** SO_SNDBUF of each session's UDP socket (capped at net.core.wmem_max). Default 262 144. */
  sendBufferBytes?: number;

  /**
   * Before authentication (the token is checked at the upgrade), on the bridge's own server only (an app's
   * server keeps its own settings): TCP connections not yet upgraded to a session, at once. Beyond it a new
   * connection is destroyed as it is accepted (refusals `too-many-pending`). Default 256.
   */
  maxPendingConnections?: number;
  /** The same from one IP address (`too-many-pending-per-ip`). Default 32. */
  maxPendingConnectionsPerIp?: number;
  /** A connection must have sent its request headers within this long (Node's server.headersTimeout; 408). Default 5 000 ms. */
  headersTimeoutMs?: number;
  /** … and its whole request (server.requestTimeout). Default 10 000 ms. */
  requestTimeoutMs?: number;

  /** v2: TCP/TLS streams a session may have open at once; 0 turns streams off. Default 4. */
  maxStreams?: number;
  /** v2: bytes a client may send on a stream before the bridge has written them to TCP (its credit). Default 262 144. */
  streamWindow?: number;
  /** v2: a TCP connect or TLS handshake that takes longer fails with `connect-timeout`. Default 10 000 ms. */
  connectTimeoutMs?: number;
  /**
   * v2: listen for TCP connections for sessions (`listen` frames: a page's passive ICE-TCP candidates, RFC
   * 6544). Each listener opens a port on this host that anyone who can reach the host may connect to, so it is
   * off unless enabled. Listeners bind to `udpBindAddress`; accepted connections count against maxStreams.
   * Default false.
   */
  allowListen?: boolean;
  /** v2: listeners a session may hold at once. Default 2. */
  maxListeners?: number;
  /**
   * v2: the ports listeners may take (a firewall can then open just these); a listen for port 0 takes a free
   * one of them. Default: any free port, and by number only ports ≥ 1024.
   */
  listenPortRange?: [number, number];
  /** v2: extra CAs (PEM) trusted for TLS streams, added to Node's. Default none. */
  tlsCa?: string | string[];
  /** v2: accept any TLS certificate on streams — for tests only; logged at start. Default false. */
  tlsInsecure?: boolean;
  /** v2: resolve names for sessions (`resolve` frames). Default true. */
  allowResolve?: boolean;
  /**
   * v2: how names resolve. Default: the DNS (c-ares: A/AAAA with TTLs; /etc/hosts is not read). A function
   * `(name, family) => addresses` replaces it, e.g. to map test names to loopback addresses.
   */
  resolve?: BridgeResolveFunction;
  /** v2: lookups a session may have in flight at once. Default 4. */
  maxConcurrentLookups?: number;
  /** v2: names a session may resolve per second (token bucket, burst of as many). Default 10. */
  lookupsPerSecond?: number;
  /** v2: a lookup with no answer after this long fails with `resolve-timeout`. Default 5 000 ms. */
  resolveTimeoutMs?: number;
  /** v2: names kept in the bridge's answer cache (by TTL, at most 300 s). Default 1000. */
  resolveCacheSize?: number;
  /**
   * v2: resolve the `<uuid>.local` names of mDNS ICE candidates (draft-ietf-mmusic-mdns-ice-candidates) by
   * multicast DNS on the bridge's LAN, for pages whose peers hide their host addresses (browsers do by
   * default). `true`: multicast sockets on 224.0.0.251/ff02::fb:5353 on the interfaces the UDP sockets use,
   * opened at the first such lookup; an object: the operator's own resolver (tests). Announced in the hello
   * (BridgeFeature.mdns); without it such lookups are refused at once with `not-supported`. Needs
   * `allowResolve`; the destination policy judges the answers. Default false: the answers are about the
   * bridge's network, so the operator must say so.
   */
  mdns?: boolean | BridgeMdnsResolver;
  /**
   * v2: 'on' asks pages to hide their host candidates (the bridge's UDP socket addresses) behind
   * `<uuid>.local` names, which the bridge then answers for on its LAN (`mdns-register`): the hello's
   * BridgeFeature.mdnsHostCandidates bit, the page agent's default for its `mdnsHostCandidates`. Needs `mdns`
   * (with a resolver object, one that has register/unregister). WebSocket carrier only. Default 'off'.
   */
  mdnsHostCandidates?: 'on' | 'off';
  /** v2: `<uuid>.local` names one session may have the bridge answer for (`mdns-register`; 0: none). Default 8. */
  maxMdnsNames?: number;

  /**
   * The WebTransport carrier beside the WebSocket one, or undefined/false for none. Default none. It runs
   * only where Deno does, and not with an Origin rule (allowOrigins, allowMissingOrigin false): Deno does not
   * expose a WebTransport request's Origin. Either case is one log line, and the bridge serves WebSocket only.
   */
  webTransport?: WebTransportOptions | false;

  /** Receives one JSON line per session open, close and refusal. Default: stderr. */
  logger?: (line: string) => void;
}

export const BRIDGE_DEFAULTS = {
  host: '127.0.0.1',
  port: 8787,
  path: '/',
  metricsPath: '/metrics',
  maxSessions: 1000,
  maxSockets: 8,
  maxPayload: MAX_UDP_PAYLOAD,
  maxMessageBytes: 131_072,
  packetsPerSecond: 2000,
  bytesPerSecond: 2_000_000,
  idleTimeoutMs: 60_000,
  maxBufferedBytes: 1_048_576,
  maxMalformedFrames: 10,
  errorFramesPerSecond: 10,
  maxQueueDelayMs: 200,
  receiveBufferBytes: 262_144,
  sendBufferBytes: 262_144,
  maxPendingConnections: 256,
  maxPendingConnectionsPerIp: 32,
  headersTimeoutMs: 5_000,
  requestTimeoutMs: 10_000,
  maxStreams: 4,
  streamWindow: 262_144,
  connectTimeoutMs: 10_000,
  maxListeners: 2,
  hostAddressIntervalMs: 5_000,
  maxConcurrentLookups: 4,
  lookupsPerSecond: 10,
  resolveTimeoutMs: 5_000,
  resolveCacheSize: 1000,
  maxMdnsNames: 8,
  webTransportPath: '/bridge',
  quicIdleTimeoutMs: 10_000,
  quicKeepAliveMs: 4_000,
  controlStreamTimeoutMs: 5_000,
} as const;

export function resolveBridgeOptions(options: BridgeOptions): ResolvedBridgeOptions {
  const secrets = options.secret === undefined ? [] : Array.isArray(options.secret) ? options.secret : [options.secret];
  if (secrets.some((s) => typeof s !== 'string' || s.length === 0)) throw new TypeError('bridge option secret must be non-empty text');
  const allowAnonymous = options.allowAnonymous === true;
  if (secrets.length === 0 && !allowAnonymous) {
    throw new TypeError('the bridge needs a `secret` to check tokens against, or `allowAnonymous: true` said explicitly');
  }
  const path = options.path ?? BRIDGE_DEFAULTS.path;
  if (!path.startsWith('/')) throw new TypeError(`bridge option path must start with '/', got ${JSON.stringify(path)}`);
  const metricsPath = options.metricsPath ?? BRIDGE_DEFAULTS.metricsPath;
  if (metricsPath !== false && (!metricsPath.startsWith('/') || metricsPath === path)) {
    throw new TypeError('bridge option metricsPath must start with "/" and differ from path');
  }
  const udpBindAddress = { IPv4: options.udpBindAddress?.IPv4 ?? '0.0.0.0', IPv6: options.udpBindAddress?.IPv6 ?? '::' };
  if (!isIp(udpBindAddress.IPv4) || udpBindAddress.IPv4.includes(':')) throw new TypeError('udpBindAddress.IPv4 must be an IPv4 address');
  if (!isIp(udpBindAddress.IPv6) || !udpBindAddress.IPv6.includes(':')) throw new TypeError('udpBindAddress.IPv6 must be an IPv6 address');
  checkHostAddresses(options.hostAddresses);
  const range = options.bindPortRange ?? [1024, 65535];
  const portRange: [number, number] = [integer('bindPortRange[0]', range[0], 1024, 1, 65535), integer('bindPortRange[1]', range[1], 65535, 1, 65535)];
  if (portRange[0] > portRange[1]) throw new RangeError('bindPortRange must be [low, high] with low <= high');

  if (options.allowHostPorts !== undefined && !Array.isArray(options.allowHostPorts)) throw new TypeError('bridge option allowHostPorts must be an array of ports');
  const allowHostPorts = [...new Set((options.allowHostPorts ?? []).map((p, i) => integer(`allowHostPorts[${i}]`, p, 0, 1, 65535)))];
  const allowHostAddresses = options.allowHostAddresses === true;

  const maxPayload = integer('maxPayload', options.maxPayload, BRIDGE_DEFAULTS.maxPayload, 1, MAX_UDP_PAYLOAD);
  const resolved: ResolvedBridgeOptions = {
    host: options.host ?? BRIDGE_DEFAULTS.host,
    port: integer('port', options.port, BRIDGE_DEFAULTS.port, 0, 65535),
    server: options.server,
    path,
    metricsPath,
    metricsSource: options.metricsSource,
    secrets,
    allowAnonymous,
    allowOrigins: originList(options.allowOrigins),
    allowMissingOrigin: options.allowMissingOrigin ?? true,
    allowLoopback: options.allowLoopback === true,
    allow: [...(textList('allow', options.allow) ?? [])],
    deny: [...(textList('deny', options.deny) ?? [])],
    allowHostAddresses,
    allowHostPorts,
    policy: new DestinationPolicy({ allowLoopback: options.allowLoopback, allow: options.allow, deny: options.deny, allowHostAddresses, allowHostPorts }),
    udpBindAddress,
    hostAddresses: options.hostAddresses,
    hostAddressIntervalMs: integer('hostAddressIntervalMs', options.hostAddressIntervalMs, BRIDGE_DEFAULTS.hostAddressIntervalMs, 10, 3_600_000),
    bindPortRange: portRange,
    maxSessions: integer('maxSessions', options.maxSessions, BRIDGE_DEFAULTS.maxSessions, 1, 1_000_000),
    maxSockets: integer('maxSockets', options.maxSockets, BRIDGE_DEFAULTS.maxSockets, 1, 0xffff),
    maxPayload,
    maxMessageBytes: integer('maxMessageBytes', options.maxMessageBytes, BRIDGE_DEFAULTS.maxMessageBytes, 64, 64 * 1024 * 1024),
    packetsPerSecond: integer('packetsPerSecond', options.packetsPerSecond, BRIDGE_DEFAULTS.packetsPerSecond, 1, 0xffffffff),
    bytesPerSecond: integer('bytesPerSecond', options.bytesPerSecond, BRIDGE_DEFAULTS.bytesPerSecond, 1, 0xffffffff),
    idleTimeoutMs: integer('idleTimeoutMs', options.idleTimeoutMs, BRIDGE_DEFAULTS.idleTimeoutMs, 1, 0xffffffff),
    maxBufferedBytes: integer('maxBufferedBytes', options.maxBufferedBytes, BRIDGE_DEFAULTS.maxBufferedBytes, 0, 2 ** 40),
    maxMalformedFrames: integer('maxMalformedFrames', options.maxMalformedFrames, BRIDGE_DEFAULTS.maxMalformedFrames, 0, 1_000_000),
    errorFramesPerSecond: integer('errorFramesPerSecond', options.errorFramesPerSecond, BRIDGE_DEFAULTS.errorFramesPerSecond, 1, 1_000_000),
    maxQueueDelayMs: integer('maxQueueDelayMs', options.maxQueueDelayMs, BRIDGE_DEFAULTS.maxQueueDelayMs, 1, 600_000),
    receiveBufferBytes: integer('receiveBufferBytes', options.receiveBufferBytes, BRIDGE_DEFAULTS.receiveBufferBytes, 1024, 2 ** 30),
    sendBufferBytes: integer('sendBufferBytes', options.sendBufferBytes, BRIDGE_DEFAULTS.sendBufferBytes, 1024, 2 ** 30),
    maxPendingConnections: integer('maxPendingConnections', options.maxPendingConnections, BRIDGE_DEFAULTS.maxPendingConnections, 1, 1_000_000),
    maxPendingConnectionsPerIp: integer('maxPendingConnectionsPerIp', options.maxPendingConnectionsPerIp, BRIDGE_DEFAULTS.maxPendingConnectionsPerIp, 1, 1_000_000),
    headersTimeoutMs: integer('headersTimeoutMs', options.headersTimeoutMs, BRIDGE_DEFAULTS.headersTimeoutMs, 100, 600_000),
    requestTimeoutMs: integer('requestTimeoutMs', options.requestTimeoutMs, BRIDGE_DEFAULTS.requestTimeoutMs, 100, 600_000),
    maxStreams: integer('maxStreams', options.maxStreams, BRIDGE_DEFAULTS.maxStreams, 0, 0xffff),
    streamWindow: integer('streamWindow', options.streamWindow, BRIDGE_DEFAULTS.streamWindow, 1024, 0xffffffff),
    connectTimeoutMs: integer('connectTimeoutMs', options.connectTimeoutMs, BRIDGE_DEFAULTS.connectTimeoutMs, 1, 0xffffffff),
    allowListen: options.allowListen === true,
    maxListeners: integer('maxListeners', options.maxListeners, BRIDGE_DEFAULTS.maxListeners, 0, 0xffff),
    listenPortRange: listenPortRange(options.listenPortRange),
    tlsCa: options.tlsCa === undefined ? undefined : Array.isArray(options.tlsCa) ? options.tlsCa : [options.tlsCa],
    tlsInsecure: options.tlsInsecure === true,
    allowResolve: options.allowResolve ?? true,
    resolve: options.resolve,
    maxConcurrentLookups: integer('maxConcurrentLookups', options.maxConcurrentLookups, BRIDGE_DEFAULTS.maxConcurrentLookups, 1, 0xffff),
    lookupsPerSecond: integer('lookupsPerSecond', options.lookupsPerSecond, BRIDGE_DEFAULTS.lookupsPerSecond, 1, 1_000_000),
    resolveTimeoutMs: integer('resolveTimeoutMs', options.resolveTimeoutMs, BRIDGE_DEFAULTS.resolveTimeoutMs, 1, 600_000),
    resolveCacheSize: integer('resolveCacheSize', options.resolveCacheSize, BRIDGE_DEFAULTS.resolveCacheSize, 0, 1_000_000),
    mdns: options.mdns ?? false,
    mdnsHostCandidates: options.mdnsHostCandidates ?? 'off',
    maxMdnsNames: integer('maxMdnsNames', options.maxMdnsNames, BRIDGE_DEFAULTS.maxMdnsNames, 0, 255),
    webTransport: resolveWebTransport(options.webTransport, options.host ?? BRIDGE_DEFAULTS.host),
    logger: loggerOption(options.logger),
  };
  if (resolved.requestTimeoutMs < resolved.headersTimeoutMs) throw new RangeError('bridge option requestTimeoutMs must be at least headersTimeoutMs');
  if (resolved.tlsCa?.some((ca) => typeof ca !== 'string' || !ca.includes('-----BEGIN'))) throw new TypeError('bridge option tlsCa must be PEM text');
  if (options.resolve !== undefined && typeof options.resolve !== 'function') throw new TypeError('bridge option resolve must be a function');
  const mdns = resolved.mdns;
  if (typeof mdns !== 'boolean' && (typeof mdns !== 'object' || mdns === null || typeof mdns.resolve !== 'function')) {
    throw new TypeError('bridge option mdns must be true, false or an object with resolve(name)');
  }
  if (resolved.mdnsHostCandidates !== 'on' && resolved.mdnsHostCandidates !== 'off') throw new TypeError("bridge option mdnsHostCandidates must be 'on' or 'off'");
  if (resolved.maxMessageBytes < maxPayload + DATA_HEADER_MAX) {
    throw new RangeError(`maxMessageBytes (${resolved.maxMessageBytes}) must hold a full data frame (maxPayload + ${DATA_HEADER_MAX})`);
  }
  return resolved;
}

function resolveWebTransport(wt: WebTransportOptions | false | undefined, bridgeHost: string): ResolvedWebTransportOptions | undefined {
  if (wt === undefined || wt === false) return undefined;
  if (typeof wt !== 'object') throw new TypeError('bridge option webTransport must be an object with a port, or false');
  const path = wt.path ?? BRIDGE_DEFAULTS.webTransportPath;
  if (!path.startsWith('/')) throw new TypeError(`webTransport.path must start with '/', got ${JSON.stringify(path)}`);
  if ((wt.cert === undefined) !== (wt.key === undefined)) throw new TypeError('webTransport.cert and webTransport.key go together');
  const idle = integer('webTransport.quicIdleTimeoutMs', wt.quicIdleTimeoutMs, BRIDGE_DEFAULTS.quicIdleTimeoutMs, 1000, 600_000);
  const keepAlive = integer('webTransport.quicKeepAliveMs', wt.quicKeepAliveMs, BRIDGE_DEFAULTS.quicKeepAliveMs, 100, 600_000);
  if (keepAlive >= idle) throw new RangeError('webTransport.quicKeepAliveMs must be under quicIdleTimeoutMs');
  return {
    port: integer('webTransport.port', wt.port, -1, 0, 65535),
    host: wt.host ?? bridgeHost,
    path,
    cert: wt.cert,
    key: wt.key,
    denoPath: wt.denoPath,
    quicIdleTimeoutMs: idle,
    quicKeepAliveMs: keepAlive,
    controlStreamTimeoutMs: integer('webTransport.controlStreamTimeoutMs', wt.controlStreamTimeoutMs, BRIDGE_DEFAULTS.controlStreamTimeoutMs, 100, 600_000),
  };
}
