// startBridge(): the WebSocket-to-UDP bridge on its own HTTP server, or attached to an app's http.Server.
// Admission (Origin, token, session cap: websocket-admission.ts) happens here; everything after is the session's.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { BridgeCloseCode } from './close-codes.js';
import { BridgeMetrics, bridgeMetricsText, type BridgeMetricsSnapshot } from './metrics.js';
import { checkHostAddresses, resolveBridgeOptions, type BridgeOptions, type ResolvedBridgeOptions } from './options.js';
import { BridgeSession, closeWebSocket, type BridgeDriverContext } from './session.js';
import { BRIDGE_SUBPROTOCOL_V2 } from '../src/net/bridge-frame.js';
import { ResolveCache } from '../src/bridge/resolve-cache.js';
import type { SessionLimits } from '../src/bridge/session-types.js';
import { makeLookup } from './resolver.js';
import { makeMdnsLookup, nodeBridgeMdns, type BridgeMdnsResolver } from './mdns-resolver.js';
import { hostAddressesFor, watchOwnAddresses } from './host-addresses.js';
import { WebTransportSupervisor } from './webtransport-supervisor.js';
import { UdpDropCounter } from './udp-drops.js';
import { DataFrameScheduler } from './frame-scheduler.js';
import { PendingConnections } from './pending-connections.js';
import type { CertificateHash } from './webtransport-certificate.js';
import { admit, headerOf, type Admission } from './websocket-admission.js';
import { checkOptionsObject } from '../src/net/option-checks.js';

/** What each carrier of a running bridge is doing. */
export interface BridgeCarriers {
  websocket: { readonly url: string; readonly sessions: number };
  /** Undefined when the WebTransport carrier is not configured, or cannot run here (no Deno, an Origin rule). */
  webtransport:
    | {
        readonly url: string;
        readonly port: number;
        /** The Deno process's id while it runs; undefined while it restarts. */
        readonly pid: number | undefined;
        readonly ready: boolean;
        readonly sessions: number;
        /** Resolves at the child's next session-count report (sent on every open and close, and each second). */
        nextReport(): Promise<void>;
      }
    | undefined;
}

export interface RunningBridge {
  /** `ws://host:port/path` of the bridge, without a token. */
  readonly url: string;
  readonly port: number;
  readonly metrics: BridgeMetrics;
  /** Sessions open now, over both carriers. */
  readonly sessionCount: number;
  /** `https://host:port/path` of the WebTransport carrier, without a token; undefined when it does not run. */
  readonly webTransportUrl: string | undefined;
  /** The development certificate's hash for the page's `serverCertificateHashes`; empty with cert/key files or no WebTransport. */
  readonly certificateHashes: CertificateHash[];
  readonly carriers: BridgeCarriers;
  /**
   * Announces other host addresses for the sessions' sockets and listeners (the `hostAddresses` option:
   * e.g. a 1:1 NAT's public address that changed), or with undefined the host's interfaces again. Sessions
   * hear of each socket announced otherwise now (a `host-addresses` frame) and a page's host candidates
   * follow. A TypeError for what is not a list of IP addresses (at most 255).
   */
  setHostAddresses(addresses: string[] | undefined): void;
  /** Prometheus text of every carrier (`carrier` label when WebTransport runs), as `GET /metrics` serves it. */
  metricsText(): string;
  /** The WebSocket carrier's counters, with the kernel's receive-buffer drops read just now (`metrics` has them as of the last read). */
  snapshot(): BridgeMetricsSnapshot;
  /**
   * Closes every session (with `code`, default 1001 going away; a failing worker of bridge/cluster.ts says
   * 1011) and, if the bridge owns it, its HTTP server.
   */
  close(code?: number, reason?: string): Promise<void>;
}

/** How long close() waits for clients to answer the close handshake before cutting them off. */
const SHUTDOWN_GRACE_MS = 1000;

export async function startBridge(options: BridgeOptions): Promise<RunningBridge> {
  checkOptionsObject('startBridge', options, '{ secret | allowAnonymous, port?, … }');
  const o = resolveBridgeOptions(options);
  const metrics = new BridgeMetrics();
  const udpDrops = new UdpDropCounter((count) => metrics.drop('receive-buffer', count));
  const owned = o.server === undefined;
  // Node checks headersTimeout/requestTimeout every connectionsCheckingInterval (30 s by default): check
  // often enough that the timeouts mean what they say.
  const server =
    o.server ??
    createServer({
      headersTimeout: o.headersTimeoutMs,
      requestTimeout: o.requestTimeoutMs,
      connectionsCheckingInterval: Math.max(100, Math.min(1000, Math.floor(o.headersTimeoutMs / 4))),
    });
  const pending = owned
    ? new PendingConnections(o, (cap) => metrics.refuse(cap === 'total' ? 'too-many-pending' : 'too-many-pending-per-ip'))
    : undefined;
  // clientTracking off: the bridge tracks its own sockets, refused ones included.
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: o.maxMessageBytes,
    clientTracking: false,
    perMessageDeflate: false,
    // A v2 client offers the v2 subprotocol; one that offers nothing (v1) gets a v1 session.
    handleProtocols: (protocols) => (protocols.has(BRIDGE_SUBPROTOCOL_V2) ? BRIDGE_SUBPROTOCOL_V2 : false),
  });
  const sockets = new Set<WebSocket>();
  const sessions = new Set<BridgeSession>();
  let nextSessionId = 1;
  let closing = false;

  const dnsLookup = makeLookup(o.resolve, o.resolveTimeoutMs);
  // The engine asks for mDNS only when the limits say so; the sockets open at the first such lookup.
  const mdns = o.mdns === false || !o.allowResolve ? undefined : o.mdns === true ? nodeBridgeMdns(o.udpBindAddress, o.resolveTimeoutMs) : o.mdns;
  const mdnsLookup = mdns ? makeMdnsLookup(mdns) : undefined;
  if (o.tlsInsecure) log(o, { event: 'tls-insecure', warning: 'tlsInsecure: TLS streams accept any certificate (tests only)' });
  const context: BridgeDriverContext = {
    options: o,
    metrics,
    session: {
      limits: sessionLimits(o),
      metrics,
      policy: o.policy,
      resolveCache: new ResolveCache({ maxEntries: o.resolveCacheSize }),
      hostAddresses: (family, bound) => hostAddressesFor(o, family, bound),
    },
    ...mdnsResponder(mdns),
    udpDrops,
    scheduler: new DataFrameScheduler(),
    lookup: (name, families, viaMdns) => (viaMdns && mdnsLookup ? mdnsLookup(name, families) : dnsLookup(name, families)),
    onClosed: (session) => sessions.delete(session),
  };

  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    pending?.release(req.socket);
    if (pathOf(req) !== o.path) {
      // On an app's server, other paths may be someone else's WebSocket endpoint.
      if (owned) refuseHttp(socket, 404, 'Not Found');
      return;
    }
    if (closing) {
      refuseHttp(socket, 503, 'Service Unavailable');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      sockets.add(ws);
      ws.once('close', () => sockets.delete(ws));
      let admission: Admission;
      try {
        admission = admit(o, req, sessions.size);
      } catch {
        // A request line no URL parser accepts: refuse it like a missing token, never throw.
        admission = { ok: false, code: BridgeCloseCode.unauthorized, refusal: 'unauthorized', reason: 'unauthorized: unreadable request' };
      }
      const info = { remote: req.socket.remoteAddress, origin: headerOf(req, 'origin') };
      if (!admission.ok) {
        ws.on('error', () => {});
        metrics.refuse(admission.refusal);
        log(o, { event: 'session-refused', code: admission.code, reason: admission.reason, ...info });
        closeWebSocket(ws, admission.code, admission.reason);
        return;
      }
      const version = ws.protocol === BRIDGE_SUBPROTOCOL_V2 ? 2 : 1;
      sessions.add(new BridgeSession(nextSessionId++, ws, context, { user: admission.user, ...info }, version));
    });
  };

  let webTransport: WebTransportSupervisor | undefined;
  const metricsText = () => {
    udpDrops.refresh();
    return webTransport
      ? bridgeMetricsText([
          { carrier: 'websocket', snapshot: metrics.snapshot() },
          { carrier: 'webtransport', snapshot: webTransport.snapshot() },
        ])
      : metrics.text();
  };

  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    if (o.metricsPath !== false && req.method === 'GET' && pathOf(req) === o.metricsPath) {
      const serve = (text: string) => res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' }).end(text);
      if (o.metricsSource === undefined) serve(metricsText());
      else o.metricsSource().then(serve, () => res.writeHead(503, { 'content-type': 'text/plain' }).end('metrics unavailable\n'));
    } else if (pathOf(req) === o.path) {
      res.writeHead(426, { 'content-type': 'text/plain', upgrade: 'websocket' }).end('icebridge bridge: connect with a WebSocket\n');
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
    }
  };

  server.on('upgrade', onUpgrade);
  if (owned) {
    server.on('connection', pending!.admit);
    server.on('request', onRequest);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(o.port, o.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  }

  // The host's own addresses for the policy (host-addresses.ts). Started once listening (nothing to stop if
  // that fails); the first read is synchronous, so no session runs before the policy knows them. Stopped in
  // close(). The same reading tells the sessions when what their sockets are announced at changes.
  const ownAddresses = watchOwnAddresses(o, () => {
    for (const s of sessions) s.hostAddressesChanged();
  });

  // The WebTransport carrier: a supervised Deno process sharing this bridge's options, lookups and logger.
  if (o.webTransport) {
    try {
      // The Deno carrier has no mDNS responder: its sessions are refused registration (`not-supported`); and
      // Deno's UDP sockets cannot connect, so they offer no connected sockets.
      webTransport = await WebTransportSupervisor.start(o, o.webTransport, { ...context.session.limits, maxMdnsNames: 0, mdnsHostCandidates: false, connect: false }, context.lookup);
    } catch (err) {
      ownAddresses.stop();
      server.off('upgrade', onUpgrade);
      if (owned) await new Promise<void>((resolve) => server.close(() => resolve()));
      throw err;
    }
  }

  const address = () => {
    const a = server.address();
    if (a === null || typeof a === 'string') throw new Error('the bridge server is not listening on a TCP port');
    return a;
  };

  const url = () => {
    const a = address();
    const host = a.address === '0.0.0.0' ? '127.0.0.1' : a.address === '::' ? '::1' : a.address;
    return `ws://${host.includes(':') ? `[${host}]` : host}:${a.port}${o.path}`;
  };

  return {
    get url() {
      return url();
    },
    get port() {
      return address().port;
    },
    metrics,
    get sessionCount() {
      return sessions.size + (webTransport?.sessionCount ?? 0);
    },
    get webTransportUrl() {
      return webTransport?.url;
    },
    get certificateHashes() {
      return webTransport?.certificateHashes ?? [];
    },
    get carriers(): BridgeCarriers {
      const wt = webTransport;
      return {
        websocket: { url: url(), sessions: sessions.size },
        webtransport: wt && {
          url: wt.url,
          port: wt.listeningPort,
          pid: wt.pid,
          ready: wt.isReady,
          sessions: wt.sessionCount,
          nextReport: () => wt.nextSessionReport(),
        },
      };
    },
    metricsText,
    setHostAddresses(addresses) {
      checkHostAddresses(addresses);
      o.hostAddresses = addresses === undefined ? undefined : [...addresses];
      ownAddresses.update();
      for (const s of sessions) s.hostAddressesChanged();
      webTransport?.hostAddressesChanged();
    },
    snapshot() {
      udpDrops.refresh();
      return metrics.snapshot();
    },
    async close(code: number = BridgeCloseCode.goingAway, reason = 'bridge shutting down') {
      if (closing) return;
      closing = true;
      ownAddresses.stop();
      mdns?.close?.();
      const stoppingWebTransport = webTransport?.stop();
      server.off('upgrade', onUpgrade);
      for (const session of [...sessions]) session.close(code, reason);
      udpDrops.flush();
      await Promise.all(
        [...sockets].map(
          (ws) =>
            new Promise<void>((resolve) => {
              if (ws.readyState === ws.CLOSED) return resolve();
              const timer = setTimeout(() => ws.terminate(), SHUTDOWN_GRACE_MS);
              ws.once('close', () => {
                clearTimeout(timer);
                resolve();
              });
              closeWebSocket(ws, code, reason);
            }),
        ),
      );
      wss.close();
      await stoppingWebTransport;
      if (owned) {
        server.off('request', onRequest);
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        });
      }
    },
  };
}

/**
 * Page names for the sessions (`mdns-register`), one registry for the whole bridge: a name another session
 * holds is refused, so one session can never withdraw or take over another's.
 */
function mdnsResponder(mdns: BridgeMdnsResolver | undefined): Pick<BridgeDriverContext, 'mdnsRegister' | 'mdnsUnregister'> {
  if (!mdns?.register) return {};
  const held = new Set<string>();
  return {
    mdnsRegister: (name, address) => {
      const key = name.toLowerCase();
      if (held.has(key)) return `${name} is registered by another session`;
      mdns.register!(name, address);
      held.add(key);
      return undefined;
    },
    mdnsUnregister: (name) => {
      if (held.delete(name.toLowerCase())) mdns.unregister?.(name);
    },
  };
}

function sessionLimits(o: ResolvedBridgeOptions): SessionLimits {
  return {
    maxSockets: o.maxSockets,
    maxPayload: o.maxPayload,
    packetsPerSecond: o.packetsPerSecond,
    bytesPerSecond: o.bytesPerSecond,
    idleTimeoutMs: o.idleTimeoutMs,
    maxBufferedBytes: o.maxBufferedBytes,
    maxMalformedFrames: o.maxMalformedFrames,
    errorFramesPerSecond: o.errorFramesPerSecond,
    maxQueueDelayMs: o.maxQueueDelayMs,
    bindPortRange: o.bindPortRange,
    maxStreams: o.maxStreams,
    streamWindow: o.streamWindow,
    connectTimeoutMs: o.connectTimeoutMs,
    tls: true,
    resolve: o.allowResolve,
    mdns: o.allowResolve && o.mdns !== false,
    maxMdnsNames: o.allowResolve && (o.mdns === true || (typeof o.mdns === 'object' && typeof o.mdns.register === 'function')) ? o.maxMdnsNames : 0,
    mdnsHostCandidates: o.mdnsHostCandidates === 'on',
    connect: true,
    maxConcurrentLookups: o.maxConcurrentLookups,
    lookupsPerSecond: o.lookupsPerSecond,
    resolveTimeoutMs: o.resolveTimeoutMs,
    listen: o.allowListen,
    maxListeners: o.maxListeners,
    listenPortRange: o.listenPortRange,
  };
}

function pathOf(req: IncomingMessage): string {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  return q < 0 ? url : url.slice(0, q);
}

function refuseHttp(socket: Duplex, status: number, text: string): void {
  socket.on('error', () => {});
  socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}

function log(o: ResolvedBridgeOptions, fields: Record<string, unknown>): void {
  try {
    o.logger(JSON.stringify({ time: new Date().toISOString(), ...fields }));
  } catch {
    // A failing logger must not refuse or crash anything.
  }
}
