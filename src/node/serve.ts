// startIcebridgeServer(): everything `icebridge serve` (and so `npm start`) runs, in one process, on one HTTP
// port and one UDP port: the STUN/TURN server (UDP; TCP and TLS too with `turn.tcpPort`/`turn.tlsPort`), and on the HTTP server the bridge (WebSocket /bridge),
// the signalling relay (WebSocket /signal), the example pages, /config.json, /metrics and /healthz.
// Defaults are for a developer's machine: localhost only, a generated secret, loopback destinations allowed
// (the pages, bridge and servers are all on this host), and a free port where a default one is taken.
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { startBridge, type RunningBridge } from '../../bridge/server.js';
import type { RunningBridgeCluster } from '../../bridge/cluster.js';
import type { BridgeOptions, WebTransportOptions } from '../../bridge/options.js';
import { mintRestCredential } from '../net/rest-credentials.js';
import { PageFiles, type PageFilesOptions } from './page-files.js';
import { startServeBridgeWorkers, workersOption } from './serve-bridge-workers.js';
import { createRequestHandler, hostnameOf, refuseOtherUpgrades } from './serve-http.js';
import { attachSignalingRelay, type RunningSignalingRelay, type SignalingRelayOptions } from './signaling-relay.js';
import { startTurnServer, type NodeTurnServerOptions, type RunningTurnServer } from './turn-server.js';
import { turnServerMetricsText } from './turn-server-metrics.js';
import { portOption } from './listen-options.js';
import { checkOptionsObject } from '../net/option-checks.js';

/**
 * Bridge options for `startIcebridgeServer`: every {@link BridgeOptions} but those it sets itself (it attaches
 * to the HTTP server at /bridge with the shared secret).
 */
export type ServeBridgeOptions = Omit<BridgeOptions, 'server' | 'host' | 'port' | 'path' | 'metricsPath' | 'secret' | 'allowLoopback'>;
/**
 * TURN options for `startIcebridgeServer`: every {@link NodeTurnServerOptions} but those it sets itself from
 * `host`, `stunPort`, `secret` and `allowLoopback`.
 */
export type ServeTurnOptions = Omit<NodeTurnServerOptions, 'hosts' | 'port' | 'secret' | 'allowLoopback'>;

export interface IcebridgeServerOptions {
  /** Addresses to listen on: the HTTP server takes the first, the STUN/TURN server all. Default ['127.0.0.1']. */
  host?: string | string[];
  /** HTTP port of the pages, bridge and relay. Default 8787; 0 picks a free one. */
  port?: number;
  /** UDP port of the STUN/TURN server. Default 3478; 0 picks a free one. */
  stunPort?: number;
  /**
   * When a port is taken: false (default) takes a free one instead and says so in `notices`; true fails.
   * `icebridge serve` sets it for ports given on the command line.
   */
  strictPorts?: boolean | { http?: boolean; stun?: boolean };
  /**
   * The TURN REST API secret the bridge and the TURN server check credentials against and /config.json
   * mints with. Default: a random one, made at start (`secretGenerated`), when the bridge or pages run.
   */
  secret?: string;
  /** Let the bridge's sessions and the TURN server's peers reach 127.0.0.0/8 and ::1. Default true (all local). */
  allowLoopback?: boolean;
  /** Lifetime of the credentials /config.json mints, in seconds. Default 3600. */
  credentialTtlSeconds?: number;
  /** The WebSocket-to-UDP bridge at /bridge, or false for none. Default on, with the bridge's defaults. */
  bridge?: boolean | ServeBridgeOptions;
  /**
   * The bridge's WebTransport carrier (HTTP/3 on UDP, run by Deno) at https://HOST:PORT/bridge, or false for
   * none. Default on where Deno is installed (`npm i deno`), on the UDP port of the same number as `port`
   * (so `port: 0` gives a free one); a default port that is not free is replaced by a free one, and a carrier
   * that cannot start leaves the bridge on WebSocket only (both said in `notices`). /config.json hands out
   * its URL and its development certificate's hash. Without Deno: one log line, WebSocket only.
   */
  webTransport?: boolean | (Omit<WebTransportOptions, 'host' | 'path' | 'port'> & { port?: number });
  /**
   * Worker processes for the bridge's sessions (`icebridge serve --workers`): this process keeps the HTTP
   * port, pages, /config.json, the relay and TURN, and hands each /bridge upgrade to a worker (round robin);
   * /metrics merges the workers'; a worker that dies is replaced (its clients see their connection close).
   * Workers re-run this process's script (process.argv[1]) with its arguments: `icebridge serve` turns into
   * a worker there; a script of your own must start with `if (isBridgeWorker()) return serveAsClusterWorker()`.
   * WebTransport and mDNS stay in one process: off (said in `notices`) or, asked for, a TypeError.
   * `bridge.maxSessions` is divided among the workers. Default 1: the bridge runs in this process.
   */
  workers?: number;
  /** The STUN/TURN server, or false for none. Default on (TURN needs `secret` or `users`). */
  turn?: boolean | ServeTurnOptions;
  /** The signalling relay at /signal, or false for none. Default on. */
  signal?: boolean | Omit<SignalingRelayOptions, 'path'>;
  /** The example pages and the page client, or false for none. Default on. */
  pages?: boolean | PageFilesOptions;
  /** Host names the HTTP server answers besides IP literals and localhost (a DNS rebinding guard). Default none. */
  allowHosts?: string[];
}

/**
 * The origins that may read /config.json cross-origin: the bridge's own Origin allow-list (`bridge.allowOrigins`),
 * reused so that one list says which pages may use this server. Default none: same-origin pages only.
 */
function corsOriginsOf(options: IcebridgeServerOptions): string[] {
  const listed = typeof options.bridge === 'object' ? (options.bridge.allowOrigins ?? []) : [];
  return listed.map((o) => {
    try {
      return new URL(o).origin.toLowerCase();
    } catch {
      throw new TypeError(`bridge.allowOrigins: ${JSON.stringify(o)} is not an origin (scheme://host[:port])`);
    }
  });
}

export interface RunningIcebridgeServer {
  /** `http://127.0.0.1:<port>/`: the URL to open. */
  readonly httpUrl: string;
  /** `ws://127.0.0.1:<port>/bridge`, without a token; undefined when the bridge is off. */
  readonly bridgeUrl: string | undefined;
  /** `https://127.0.0.1:<udp port>/bridge`, without a token; undefined when WebTransport does not run. */
  readonly webTransportUrl: string | undefined;
  /** `ws://127.0.0.1:<port>/signal`; undefined when the relay is off. */
  readonly signalUrl: string | undefined;
  /** `stun:127.0.0.1:<port>`; undefined when the STUN/TURN server is off. */
  readonly stunUri: string | undefined;
  /** `turn:127.0.0.1:<port>`; undefined when the server is off or has no credentials to check. */
  readonly turnUri: string | undefined;
  /** `turn:127.0.0.1:<port>?transport=tcp` when the TURN server has a TCP listener (`turn.tcpPort`) and credentials. */
  readonly turnTcpUri: string | undefined;
  /** `turns:127.0.0.1:<port>` when the TURN server has a TLS listener (`turn.tlsPort`) and credentials. */
  readonly turnsUri: string | undefined;
  /** The secret in use (given or generated), or undefined when nothing needs one. */
  readonly secret: string | undefined;
  readonly secretGenerated: boolean;
  /** Things said at start a user should read (a default port that was taken). */
  readonly notices: string[];
  readonly http: Server;
  /** The bridge in this process; undefined when it is off or runs in `workers` (then see `bridgeWorkers`). */
  readonly bridge: RunningBridge | undefined;
  /** The bridge's worker processes, with `workers` > 1. */
  readonly bridgeWorkers: RunningBridgeCluster | undefined;
  readonly turn: RunningTurnServer | undefined;
  readonly signal: RunningSignalingRelay | undefined;
  readonly pages: PageFiles | undefined;
  /** Fresh credentials, as /config.json hands out. */
  mintCredential(): { username: string; credential: string };
  /** Stops every part; resolves when every port is released. */
  close(): Promise<void>;
}

export const SERVE_DEFAULTS = {
  host: '127.0.0.1',
  port: 8787,
  stunPort: 3478,
  credentialTtlSeconds: 3600,
  bridgePath: '/bridge',
  signalPath: '/signal',
} as const;

const UNSPECIFIED = new Set(['0.0.0.0', '::']);

function isAddressInUse(err: unknown): boolean {
  return (err as { code?: unknown }).code === 'EADDRINUSE';
}

/** `host` as it goes in a URL: IPv6 in brackets; a wildcard replaced by loopback of its family. */
function urlHost(host: string): string {
  const reachable = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : host;
  return reachable.includes(':') ? `[${reachable}]` : reachable;
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

function closeHttp(server: Server): Promise<void> {
  return new Promise<void>((resolve) => {
    if (!server.listening) return resolve();
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

export async function startIcebridgeServer(options: IcebridgeServerOptions = {}): Promise<RunningIcebridgeServer> {
  checkOptionsObject('startIcebridgeServer', options, '{ host?, port?, bridge?, turn?, … }');
  const hosts = options.host === undefined ? [SERVE_DEFAULTS.host] : typeof options.host === 'string' ? [options.host] : options.host;
  if (hosts.length === 0) throw new TypeError('host: give at least one address');
  const httpPort = portOption('port', options.port, SERVE_DEFAULTS.port);
  const stunPort = portOption('stunPort', options.stunPort, SERVE_DEFAULTS.stunPort);
  const strict = typeof options.strictPorts === 'object' ? options.strictPorts : { http: options.strictPorts, stun: options.strictPorts };
  const ttl = options.credentialTtlSeconds ?? SERVE_DEFAULTS.credentialTtlSeconds;
  if (!Number.isInteger(ttl) || ttl <= 0) throw new RangeError(`credentialTtlSeconds must be a positive integer, got ${ttl}`);
  if (options.secret !== undefined && options.secret.length === 0) throw new TypeError('secret must not be empty');
  const allowLoopback = options.allowLoopback ?? true;
  const wantBridge = options.bridge !== false;
  const wantTurn = options.turn !== false;
  const wantSignal = options.signal !== false;
  const wantPages = options.pages !== false;
  const secretGenerated = options.secret === undefined && (wantBridge || wantPages);
  const secret = options.secret ?? (secretGenerated ? randomBytes(24).toString('base64url') : undefined);
  const notices: string[] = [];
  // Validated before anything listens.
  const pages = wantPages ? new PageFiles(typeof options.pages === 'object' ? options.pages : {}) : undefined;
  const corsOrigins = corsOriginsOf(options);
  const workers = workersOption(options.workers);
  if (workers > 1 && wantBridge && typeof options.webTransport === 'object') throw new TypeError('webTransport runs in one process: it does not go with workers > 1');

  let turn: RunningTurnServer | undefined;
  let bridge: RunningBridge | undefined;
  let bridgeWorkers: RunningBridgeCluster | undefined;
  let signal: RunningSignalingRelay | undefined;
  const http = createServer();
  const port = (): number => {
    const a = http.address();
    if (a === null || typeof a === 'string') throw new Error('the HTTP server is not listening on a TCP port');
    return a.port;
  };
  const stopAll = async () => {
    await bridge?.close();
    await bridgeWorkers?.close();
    await signal?.close();
    await closeHttp(http);
    await turn?.close();
    await pages?.close();
  };

  try {
    if (wantTurn) {
      const turnOptions: NodeTurnServerOptions = { ...(typeof options.turn === 'object' ? options.turn : {}), hosts, port: stunPort, secret, allowLoopback };
      try {
        turn = await startTurnServer(turnOptions);
      } catch (err) {
        if (!isAddressInUse(err) || strict.stun || stunPort === 0) throw err;
        turn = await startTurnServer({ ...turnOptions, port: 0 });
        notices.push(`UDP port ${stunPort} is taken; the STUN/TURN server took ${turn.addresses[0].port} instead`);
      }
    }

    const webSocketPaths: string[] = [];
    if (wantBridge) {
      const bridgeOptions = typeof options.bridge === 'object' ? options.bridge : {};
      // Pages reach this process's STUN/TURN server through the bridge, on whichever host address it
      // listens (all its ports: the RFC 5780 alternate one too); the host's other ports stay refused.
      const turnPorts = turn ? [...turn.addresses, ...turn.tcpAddresses, ...turn.tlsAddresses].map((a) => a.port) : [];
      const allowHostPorts = [...new Set([...(bridgeOptions.allowHostPorts ?? []), ...turnPorts])];
      const wt = options.webTransport === false ? undefined : typeof options.webTransport === 'object' ? options.webTransport : {};
      const wtPort = wt?.port ?? httpPort;
      const start = (port: number | undefined) =>
        startBridge({
          ...bridgeOptions,
          server: http,
          path: SERVE_DEFAULTS.bridgePath,
          secret,
          allowLoopback,
          allowHostPorts,
          webTransport: wt && port !== undefined ? { ...wt, port, host: hosts[0], path: SERVE_DEFAULTS.bridgePath } : undefined,
        });
      if (workers > 1) {
        bridgeWorkers = await startServeBridgeWorkers(http, workers, SERVE_DEFAULTS.bridgePath, { ...bridgeOptions, secret, allowLoopback, allowHostPorts });
        if (wt !== undefined) notices.push(`WebTransport is off: it runs in one process, and the bridge runs in ${workers} workers`);
      } else try {
        bridge = await start(wtPort);
      } catch (err) {
        // The WebSocket side cannot fail here (it listens with the HTTP server): this is WebTransport's. A port
        // asked for is a requirement; otherwise a free port is tried, and then WebSocket only.
        if (wt === undefined || wt.port !== undefined) throw err;
        const why = err instanceof Error ? err.message : String(err);
        bridge = wtPort === 0 ? undefined : await start(0).catch(() => undefined);
        if (bridge) notices.push(`UDP port ${wtPort} is not free for WebTransport; it took ${new URL(bridge.webTransportUrl ?? 'https://x:0').port} instead`);
        else {
          bridge = await start(undefined);
          notices.push(`WebTransport is off (${why}); the bridge serves WebSocket only`);
        }
      }
      webSocketPaths.push(SERVE_DEFAULTS.bridgePath);
    }
    if (wantSignal) {
      signal = attachSignalingRelay(http, { ...(typeof options.signal === 'object' ? options.signal : {}), path: SERVE_DEFAULTS.signalPath });
      webSocketPaths.push(SERVE_DEFAULTS.signalPath);
    }
    http.on('upgrade', refuseOtherUpgrades(() => webSocketPaths));

    const turnAddress = turn?.addresses[0];
    const stunHost = turnAddress && urlHost(turnAddress.address);
    const stunUri = turnAddress && `stun:${stunHost}:${turnAddress.port}`;
    const turnUri = turnAddress && turn?.engine.turnEnabled ? `turn:${stunHost}:${turnAddress.port}` : undefined;
    const tcpAddress = turn?.engine.turnEnabled ? turn.tcpAddresses[0] : undefined;
    const tlsAddress = turn?.engine.turnEnabled ? turn.tlsAddresses[0] : undefined;
    const turnTcpUri = tcpAddress && `turn:${urlHost(tcpAddress.address)}:${tcpAddress.port}?transport=tcp`;
    const turnsUri = tlsAddress && `turns:${urlHost(tlsAddress.address)}:${tlsAddress.port}`;
    const mintCredential = () => {
      if (secret === undefined) throw new Error('no secret to mint credentials with');
      return mintRestCredential({ secret, user: `page-${randomBytes(4).toString('hex')}`, ttlSeconds: ttl });
    };

    http.on(
      'request',
      createRequestHandler({
        pages,
        home: pages ? [...pages.pages][0] : undefined,
        webSocketPaths,
        allowHosts: (options.allowHosts ?? []).map((h) => h.toLowerCase()),
        corsOrigins,
        config:
          secret === undefined
            ? undefined
            : (requestHost) => {
                // The bridge is dialled by the browser: the host it reached us by. STUN/TURN are dialled by
                // the bridge, on this machine: the address they listen on.
                const base = `ws://${hostnameOf(requestHost) === undefined ? `${urlHost(hosts[0])}:${port()}` : requestHost}`;
                const iceServers: { urls: string; username?: string; credential?: string }[] = [];
                if (stunUri) iceServers.push({ urls: stunUri });
                if (turnUri) iceServers.push({ urls: turnUri, ...mintCredential() });
                if (turnTcpUri) iceServers.push({ urls: turnTcpUri, ...mintCredential() });
                if (turnsUri) iceServers.push({ urls: turnsUri, ...mintCredential() });
                // WebTransport: the host the page reached us by, at the carrier's UDP port; its development
                // certificate's hash for serverCertificateHashes (none with a CA-signed one).
                const wtUrl = bridge?.webTransportUrl === undefined ? undefined : new URL(bridge.webTransportUrl);
                const asked = hostnameOf(requestHost);
                if (wtUrl && asked !== undefined) wtUrl.hostname = asked;
                const webTransport = wtUrl && bridge ? { webTransportUrl: wtUrl.toString(), certificateHashes: bridge.certificateHashes } : {};
                return {
                  ...(bridge || bridgeWorkers ? { bridge: { url: `${base}${SERVE_DEFAULTS.bridgePath}`, ...webTransport, ...mintCredential() } } : {}),
                  iceServers,
                  ...(signal ? { signal: { url: `${base}${SERVE_DEFAULTS.signalPath}` } } : {}),
                  credentialTtlSeconds: ttl,
                };
              },
        metrics: async () =>
          [bridge?.metricsText() ?? (await bridgeWorkers?.metricsText()), turn && turnServerMetricsText(turn.engine, turn.streams), signal?.metricsText()]
            .filter((t) => t !== undefined)
            .join(''),
        health: () => ({
          bridge: bridge ? { sessions: bridge.sessionCount } : bridgeWorkers ? { sessions: bridgeWorkers.sessionCount, workers: bridgeWorkers.workers.length } : false,
          turn: turn ? { allocations: turn.engine.allocationCount, turnEnabled: turn.engine.turnEnabled, connections: turn.streams?.openConnections() ?? 0 } : false,
          signal: signal ? { rooms: signal.roomCount, peers: signal.peerCount } : false,
          pages: pages !== undefined,
        }),
      }),
    );

    try {
      await listen(http, httpPort, hosts[0]);
    } catch (err) {
      if (!isAddressInUse(err) || strict.http || httpPort === 0) throw err;
      await listen(http, 0, hosts[0]);
      notices.push(`TCP port ${httpPort} is taken; the HTTP server took ${port()} instead`);
    }

    const origin = `${urlHost(hosts[0])}:${port()}`;
    let closing: Promise<void> | undefined;
    return {
      httpUrl: `http://${origin}/`,
      bridgeUrl: bridge || bridgeWorkers ? `ws://${origin}${SERVE_DEFAULTS.bridgePath}` : undefined,
      webTransportUrl: bridge?.webTransportUrl,
      signalUrl: signal ? `ws://${origin}${SERVE_DEFAULTS.signalPath}` : undefined,
      stunUri,
      turnUri,
      turnTcpUri,
      turnsUri,
      secret,
      secretGenerated,
      notices,
      http,
      bridge,
      bridgeWorkers,
      turn,
      signal,
      pages,
      mintCredential,
      close: () => (closing ??= stopAll()),
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}

/** Whether `host` listens on every interface (then the pages are reachable from other machines). */
export function isWildcardHost(host: string): boolean {
  return UNSPECIFIED.has(host);
}
