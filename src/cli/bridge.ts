// `icebridge bridge`: the bridge (UDP, names, TCP/TLS streams for pages) until Ctrl-C (SIGINT) or SIGTERM.
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { startBridge } from '../../bridge/server.js';
import { BRIDGE_DEFAULTS, type BridgeOptions } from '../../bridge/options.js';
import { startBridgeCluster, type ClusterBridgeOptions } from '../../bridge/cluster.js';
import { isBridgeWorker, serveAsClusterWorker } from '../../bridge/cluster-worker.js';
import {
  cidrOption,
  EXIT_RUNTIME,
  EXIT_USAGE,
  hostLookupError,
  nonNegativeInteger,
  originOption,
  parseCommandArgs,
  portNumber,
  portRangeOption,
  positiveInteger,
  UsageChecks,
} from './args.js';
import type { CliIO } from './main.js';
import { untilStopped } from './stop-signal.js';

export const bridgeUsage = `icebridge bridge --secret S [options]

Runs the bridge: each WebSocket session may bind UDP sockets on this host and send and receive datagrams
through them, resolve names and open TCP/TLS streams (TURN over TCP and TLS). Clients connect to ws://HOST:PORT/?username=…&credential=… (mint one with \`icebridge token\`).
One JSON line per session goes to stderr; Prometheus counters are at http://HOST:PORT/metrics.

Options:
  --workers N           processes sharing the port, each with its own sessions (default: the number of CPUs,
                        here ${availableParallelism()}; 1 with --mdns or --webtransport-port, which need 1); 1 runs
                        the bridge in this process. /metrics merges them all; a worker that dies is replaced
                        (its clients see their connection close). --max-sessions and --max-pending-connections
                        are divided among the workers, other limits apply to each
  --port N              TCP port (default ${BRIDGE_DEFAULTS.port}; 0 picks a free one)
  --host ADDR           address to listen on (default ${BRIDGE_DEFAULTS.host}; 0.0.0.0 to serve other machines)
  --secret S            the token secret, repeatable for key rotation (or set ICEBRIDGE_SECRET)
  --allow-anonymous     accept clients without a token (only where the network already restricts access)
  --allow-origin O      allow this page Origin, repeatable (default: any Origin)
  --allow-loopback      let sessions send to 127.0.0.0/8 and ::1 (local use)
  --allow-host-addresses
                        let sessions send to this host's own addresses, any port (refused by default)
  --allow-host-port N   let sessions reach this host's own addresses on port N all the same (a STUN/TURN
                        server beside the bridge), repeatable
  --allow CIDR          let sessions send to a block the defaults refuse, repeatable
  --deny CIDR           refuse a block, repeatable; wins over --allow
  --max-sessions N      sessions at once (default ${BRIDGE_DEFAULTS.maxSessions})
  --max-sockets N       UDP sockets per session (default ${BRIDGE_DEFAULTS.maxSockets})
  --idle-timeout-ms N   close sessions idle this long (default ${BRIDGE_DEFAULTS.idleTimeoutMs})
  --max-streams N       TCP/TLS streams per session, 0 for none (default ${BRIDGE_DEFAULTS.maxStreams})
  --allow-listen        let sessions listen for TCP connections on this host (pages' passive ICE-TCP
                        candidates, RFC 6544): each listener is a port anyone who reaches this host may
                        connect to (default off: refused at once); accepted connections count as streams
  --max-listeners N     with --allow-listen: listeners per session (default ${BRIDGE_DEFAULTS.maxListeners})
  --listen-port-range MIN-MAX
                        with --allow-listen: the ports listeners take (default: any free port)
  --max-queue-delay-ms N
                        drop (and count) a datagram that waited in the bridge longer (default ${BRIDGE_DEFAULTS.maxQueueDelayMs})
  --receive-buffer-bytes N, --send-buffer-bytes N
                        SO_RCVBUF/SO_SNDBUF of the sessions' UDP sockets (default ${BRIDGE_DEFAULTS.receiveBufferBytes} each)
  --max-pending-connections N, --max-pending-connections-per-ip N
                        TCP connections not yet upgraded to a session, in all and per IP (default
                        ${BRIDGE_DEFAULTS.maxPendingConnections}, ${BRIDGE_DEFAULTS.maxPendingConnectionsPerIp}; raise the second behind a proxy)
  --headers-timeout-ms N
                        close a connection whose request headers took longer (default ${BRIDGE_DEFAULTS.headersTimeoutMs})
  --tls-ca FILE         trust this CA (PEM) for TLS streams, besides the system's, repeatable
  --tls-insecure        accept any certificate on TLS streams (test servers only; logged)
  --no-resolve          do not resolve names for sessions
  --mdns                resolve the <uuid>.local names of mDNS ICE candidates (browsers hide their host
                        addresses so) by multicast DNS on this host's LAN (default off: refused at once)
  --mdns-host-candidates  with --mdns: pages hide their host candidates behind <uuid>.local names this
                        bridge answers for on its LAN (the hello's default for pages; default off)
  --webtransport-port N also serve WebTransport (HTTP/3 datagrams) on UDP port N (0 picks a free one); runs
                        Deno (npm i deno); without it, or with --allow-origin, WebSocket only (one log line)
  --webtransport-path P URL path of the WebTransport endpoint (default ${BRIDGE_DEFAULTS.webTransportPath})
  --webtransport-cert F, --webtransport-key F
                        a CA-signed certificate and its key (PEM); default: a 13-day development
                        certificate whose SHA-256 is printed (the page passes it as serverCertificateHashes)`;

export async function runBridge(args: string[], io: CliIO, signal?: AbortSignal): Promise<number> {
  // A worker forked by --workers: its options come from the primary, which parsed these arguments.
  if (isBridgeWorker()) return serveAsClusterWorker();
  const { values } = parseCommandArgs(
    args,
    {
      workers: { type: 'string' },
      port: { type: 'string', default: String(BRIDGE_DEFAULTS.port) },
      host: { type: 'string', default: BRIDGE_DEFAULTS.host },
      secret: { type: 'string', multiple: true },
      'allow-anonymous': { type: 'boolean', default: false },
      'allow-origin': { type: 'string', multiple: true },
      'allow-loopback': { type: 'boolean', default: false },
      'allow-host-addresses': { type: 'boolean', default: false },
      'allow-host-port': { type: 'string', multiple: true },
      allow: { type: 'string', multiple: true },
      deny: { type: 'string', multiple: true },
      'max-sessions': { type: 'string' },
      'max-sockets': { type: 'string' },
      'idle-timeout-ms': { type: 'string' },
      'max-streams': { type: 'string' },
      'allow-listen': { type: 'boolean', default: false },
      'max-listeners': { type: 'string' },
      'listen-port-range': { type: 'string' },
      'max-queue-delay-ms': { type: 'string' },
      'receive-buffer-bytes': { type: 'string' },
      'send-buffer-bytes': { type: 'string' },
      'max-pending-connections': { type: 'string' },
      'max-pending-connections-per-ip': { type: 'string' },
      'headers-timeout-ms': { type: 'string' },
      'tls-ca': { type: 'string', multiple: true },
      'tls-insecure': { type: 'boolean', default: false },
      'no-resolve': { type: 'boolean', default: false },
      mdns: { type: 'boolean', default: false },
      'mdns-host-candidates': { type: 'boolean', default: false },
      'webtransport-port': { type: 'string' },
      'webtransport-path': { type: 'string' },
      'webtransport-cert': { type: 'string' },
      'webtransport-key': { type: 'string' },
    },
    false,
  );
  const secrets = values.secret ?? (process.env.ICEBRIDGE_SECRET ? [process.env.ICEBRIDGE_SECRET] : undefined);
  const checks = new UsageChecks();
  checks.fail(
    (secrets === undefined || secrets.length === 0) && !values['allow-anonymous'],
    'missing --secret (or set ICEBRIDGE_SECRET); --allow-anonymous accepts clients without a token',
  );
  const allowOrigins = checks.take(() => values['allow-origin']?.map(originOption));
  const wtPort = checks.take(() => portNumber('webtransport-port', values['webtransport-port']));
  checks.fail(
    values['webtransport-port'] === undefined && !!(values['webtransport-cert'] || values['webtransport-key'] || values['webtransport-path']),
    '--webtransport-cert/--webtransport-key/--webtransport-path need --webtransport-port',
  );
  const number = (check: typeof positiveInteger, name: keyof typeof values & string) => checks.take(() => check(name, values[name] as string | undefined));
  const listenPort = checks.take(() => portNumber('port', values.port));
  const allowHostPorts = checks.take(() => values['allow-host-port']?.map((p) => portNumber('allow-host-port', p, false)!));
  const maxSessions = number(positiveInteger, 'max-sessions');
  const maxSockets = number(positiveInteger, 'max-sockets');
  const idleTimeoutMs = number(positiveInteger, 'idle-timeout-ms');
  const maxStreams = number(nonNegativeInteger, 'max-streams');
  const listenPortRange = checks.take(() => portRangeOption('listen-port-range', values['listen-port-range']));
  const maxListeners = number(nonNegativeInteger, 'max-listeners');
  checks.fail(
    !values['allow-listen'] && (values['listen-port-range'] !== undefined || values['max-listeners'] !== undefined),
    '--max-listeners and --listen-port-range need --allow-listen',
  );
  for (const name of ['allow', 'deny'] as const) for (const text of values[name] ?? []) checks.take(() => cidrOption(name, text));
  const singleOnly = values.mdns || values['webtransport-port'] !== undefined;
  const workers = number(positiveInteger, 'workers') ?? (singleOnly ? 1 : availableParallelism());
  checks.fail(workers > 1 && singleOnly, '--mdns and --webtransport-port run in one process: use --workers 1');
  const maxQueueDelayMs = number(positiveInteger, 'max-queue-delay-ms');
  const receiveBufferBytes = number(positiveInteger, 'receive-buffer-bytes');
  const sendBufferBytes = number(positiveInteger, 'send-buffer-bytes');
  const maxPendingConnections = number(positiveInteger, 'max-pending-connections');
  const maxPendingConnectionsPerIp = number(positiveInteger, 'max-pending-connections-per-ip');
  const headersTimeoutMs = number(positiveInteger, 'headers-timeout-ms');
  checks.done();
  let tlsCa: string[] | undefined;
  try {
    tlsCa = values['tls-ca']?.map((file) => readFileSync(file, 'utf8'));
  } catch (err) {
    io.stderr(`icebridge bridge: cannot read --tls-ca: ${err instanceof Error ? err.message : String(err)}`);
    return EXIT_RUNTIME;
  }
  const options: BridgeOptions = {
      port: listenPort,
      host: values.host,
      secret: secrets,
      allowAnonymous: values['allow-anonymous'],
      allowOrigins,
      allowLoopback: values['allow-loopback'],
      allowHostAddresses: values['allow-host-addresses'],
      allowHostPorts,
      allow: values.allow,
      deny: values.deny,
      maxSessions,
      maxSockets,
      idleTimeoutMs,
      maxStreams,
      allowListen: values['allow-listen'],
      maxListeners,
      listenPortRange,
      maxQueueDelayMs,
      receiveBufferBytes,
      sendBufferBytes,
      maxPendingConnections,
      maxPendingConnectionsPerIp,
      headersTimeoutMs,
      requestTimeoutMs: headersTimeoutMs === undefined ? undefined : Math.max(headersTimeoutMs, BRIDGE_DEFAULTS.requestTimeoutMs),
      tlsCa,
      tlsInsecure: values['tls-insecure'],
      allowResolve: !values['no-resolve'],
      mdns: values.mdns,
      mdnsHostCandidates: values['mdns-host-candidates'] ? 'on' : 'off',
      webTransport:
        wtPort === undefined
          ? undefined
          : { port: wtPort, path: values['webtransport-path'], cert: values['webtransport-cert'], key: values['webtransport-key'] },
    };
  if (workers > 1) {
    const { mdns: _mdns, webTransport: _webTransport, ...crossing } = options;
    return runCluster(workers, crossing, values.host, io, signal);
  }
  let bridge;
  try {
    bridge = await startBridge(options);
  } catch (err) {
    const host = hostLookupError(err, [values.host]);
    if (host) throw host;
    const message = err instanceof Error ? err.message : String(err);
    io.stderr(`icebridge bridge: ${message}`);
    // Bad options are a usage error; a port in use, an unreadable CA file or similar is a runtime failure.
    return err instanceof TypeError || err instanceof RangeError ? EXIT_USAGE : EXIT_RUNTIME;
  }
  io.stdout(`bridge listening on ${bridge.url} (metrics at http://${new URL(bridge.url).host}/metrics)`);
  if (bridge.webTransportUrl !== undefined) {
    const hashes = bridge.certificateHashes.map((h) => `${h.algorithm}:${h.value}`).join(', ');
    io.stdout(`WebTransport on ${bridge.webTransportUrl}${hashes ? ` (development certificate; serverCertificateHashes ${hashes})` : ''}`);
  }
  await untilStopped(signal);
  await bridge.close();
  const m = bridge.metrics;
  io.stdout(`stopped; ${m.sessionsTotal} sessions, ${m.datagramsOut} datagrams out, ${m.datagramsIn} in`);
  return 0;
}

/** --workers N > 1: the primary forks the workers, prints where they listen, and stops them on a signal. */
async function runCluster(workers: number, options: ClusterBridgeOptions, host: string, io: CliIO, signal: AbortSignal | undefined): Promise<number> {
  let cluster;
  try {
    cluster = await startBridgeCluster({ workers, bridge: options });
  } catch (err) {
    const found = hostLookupError(err, [host]);
    if (found) throw found;
    io.stderr(`icebridge bridge: ${err instanceof Error ? err.message : String(err)}`);
    return err instanceof TypeError || err instanceof RangeError ? EXIT_USAGE : EXIT_RUNTIME;
  }
  io.stdout(`bridge listening on ${cluster.url} (metrics at http://${new URL(cluster.url).host}/metrics; ${workers} workers, pids ${cluster.workers.map((w) => w.pid).join(' ')})`);
  await untilStopped(signal);
  await cluster.close();
  const m = await cluster.snapshot();
  io.stdout(`stopped; ${m.sessionsTotal} sessions, ${m.datagramsOut} datagrams out, ${m.datagramsIn} in`);
  return 0;
}
