// `icebridge serve` (and `npm start`): a thin flag parser over startIcebridgeServer (src/node/serve.ts), which
// runs the STUN/TURN server, the bridge, the signalling relay and the example pages in one process.
import { readFileSync } from 'node:fs';
import { formatTransportAddress } from '../net/transport-address.js';
import { isWildcardHost, startIcebridgeServer, SERVE_DEFAULTS, type IcebridgeServerOptions, type RunningIcebridgeServer } from '../node/serve.js';
import { BRIDGE_DEFAULTS } from '../../bridge/options.js';
import { isBridgeWorker, serveAsClusterWorker } from '../../bridge/cluster-worker.js';
import {
  cidrOption,
  hostLookupError,
  ipOption,
  originOption,
  parseCommandArgs,
  portNumber,
  portRangeOption,
  positiveInteger,
  UsageChecks,
  UsageError,
} from './args.js';
import type { CliIO } from './main.js';
import { untilStopped } from './stop-signal.js';

export const serveUsage = `icebridge serve [options]

Runs icebridge for a developer's machine until Ctrl-C (SIGINT) or SIGTERM, in one process:
  - a STUN and TURN server on one UDP port (${SERVE_DEFAULTS.stunPort}), and on TCP and TLS ports if asked;
  - on one HTTP port (${SERVE_DEFAULTS.port}): the WebSocket-to-UDP bridge (/bridge), a signalling relay for
    two-peer rooms (/signal?room=NAME), the example pages (/inspector/, /chat/), /config.json (bridge URL,
    ICE servers, fresh credentials), /metrics (Prometheus) and /healthz.
It prints the URL to open. Everything listens on 127.0.0.1 unless --host says otherwise. Without --secret a
dev secret is generated and printed; the bridge, TURN and /config.json share it. A default port that is
taken is replaced by a free one (and said so); a port given here that is taken is an error.

Options:
  --port N              HTTP port of the pages, bridge and relay (default ${SERVE_DEFAULTS.port}; 0 picks a free port)
  --stun-port N         UDP port of the STUN/TURN server (default ${SERVE_DEFAULTS.stunPort}; 0 picks a free port)
  --turn-port N         the same port, by its other name (STUN and TURN share it)
  --tcp-port N          also serve TURN over TCP on this port (RFC 8656 §3.1; 0 picks a free one);
                        /config.json then offers turn:HOST:N?transport=tcp (default: no TCP listener)
  --tls-port N          also serve TURN over TLS on this port (turns:, 0 picks a free one); needs --cert
                        and --key; /config.json then offers turns:HOST:N (default: no TLS listener)
  --cert FILE           the TLS certificate chain (PEM file) for --tls-port
  --key FILE            the TLS private key (PEM file) for --tls-port
  --host ADDR           address to listen on, repeatable: HTTP takes the first, STUN/TURN all
                        (default ${SERVE_DEFAULTS.host}; 0.0.0.0 serves other machines too)
  --alt-address A       RFC 5780 NAT behaviour discovery: the second address. STUN/TURN then listens on
                        --host (exactly one, specific) and A, each at the STUN port and --alt-port, and
                        answers CHANGE-REQUEST / RESPONSE-PORT with OTHER-ADDRESS and RESPONSE-ORIGIN
  --alt-port P          RFC 5780: the second port (default: the STUN port + 1; a free one with port 0)
  --secret S            TURN REST API shared secret (or set ICEBRIDGE_SECRET): the bridge and TURN accept
                        credentials minted with it (\`icebridge token\`); default: generated at start
  --no-bridge           do not run the bridge
  --webtransport-port N UDP port of the bridge's WebTransport carrier (default: the HTTP port's number;
                        0 picks a free one); it runs where Deno is installed (npm i deno)
  --no-webtransport     WebSocket only
  --no-turn             do not run the STUN/TURN server
  --no-signal           do not run the signalling relay
  --no-pages            do not serve the example pages, the page client or /config.json
  --no-loopback         refuse bridge and TURN traffic to 127.0.0.0/8 and ::1 (allowed by default here,
                        since pages, bridge and servers are all on this machine)
  --allow-loopback      allow it (the default; kept for scripts written for earlier versions)
  --allow-host-addresses
                        let bridge and TURN traffic reach this host's own addresses on any port (refused
                        by default but for the STUN/TURN ports, and TURN's own relayed addresses)
  --credential-ttl N    lifetime of the credentials /config.json mints, in seconds (default ${SERVE_DEFAULTS.credentialTtlSeconds})
  --allow-origin O      a page origin (https://app.example:5173) that may use this server from elsewhere,
                        repeatable: /config.json answers it with CORS headers (preflight too), and the
                        bridge then accepts WebSocket sessions from the listed origins only — list this
                        server's own origin too to keep using its pages (default: /config.json
                        same-origin only, the bridge any Origin)
  --allow-host NAME     answer HTTP requests for this host name too, repeatable (IP literals and
                        localhost always; other names are refused against DNS rebinding)
  --allow-listen        the bridge listens for TCP connections for pages (their passive ICE-TCP candidates);
                        each listener is a port on this host others may connect to (default off)
  --max-sessions N      bridge sessions at once (default ${BRIDGE_DEFAULTS.maxSessions}; divided among --workers)
  --workers N           run the bridge's sessions in N worker processes (all cores: \`nproc\`); this process
                        keeps the HTTP port, pages, relay and TURN and hands each /bridge connection to a
                        worker; /metrics merges them; a worker that dies is replaced. WebTransport and
                        --mdns stay in one process: WebTransport is then off (default 1: one process)
  --mdns                the bridge resolves the <uuid>.local names of mDNS ICE candidates by multicast
                        DNS on this host's LAN (default off: such lookups are refused at once)
  --mdns-host-candidates  with --mdns: pages hide their host candidates behind <uuid>.local names the
                        bridge answers for (the pages' default; default off)
  --software TEXT       SOFTWARE attribute in STUN/TURN responses (default "icebridge"; "" for none)
  --realm R             TURN realm (default "icebridge")
  --user NAME:PASSWORD  a TURN long-term credential, repeatable
  --relay-address A     address relay sockets bind on and clients are told, one per family
                        (default: the --host if specific, else the first non-loopback interface)
  --external-address A  public address announced instead of the relay address, one per family
                        (a server behind a 1:1 NAT, like coturn's --external-ip)
  --relay-ports MIN-MAX relay port range (default 49152-65535)
  --deny CIDR           also refuse bridge and TURN traffic to this range, repeatable (0.0.0.0/8,
                        link-local and multicast are refused by default)
  --allow CIDR          allow bridge and TURN traffic to a range the defaults refuse, repeatable
  --max-allocations N   TURN allocations in total (default 1000; then 508)
  --user-quota N        TURN allocations per user (default 10; then 486)
  --max-bps N           relayed bytes per second per allocation (default 2500000; excess dropped)`;

type Values = Record<string, string | boolean | string[] | undefined>;

/** Turns the flags into server options, or a message naming every usage error (one line). */
export function serveOptions(values: Values, env: NodeJS.ProcessEnv = process.env): IcebridgeServerOptions | string {
  const str = (name: string) => values[name] as string | undefined;
  const list = (name: string) => values[name] as string[] | undefined;
  const given = (name: string) => values[name] !== undefined;
  const checks = new UsageChecks();
  const port = (name: string) => checks.take(() => portNumber(name, str(name)));
  const count = (name: string) => checks.take(() => positiveInteger(name, str(name)));
  const stunText = str('stun-port');
  const turnText = str('turn-port');
  checks.fail(stunText !== undefined && turnText !== undefined && stunText !== turnText, '--stun-port and --turn-port name the same port; give one');
  const stunPort = checks.take(() => portNumber(stunText === undefined ? 'turn-port' : 'stun-port', stunText ?? turnText));
  const httpPort = port('port');
  const wtPort = port('webtransport-port');
  checks.fail(given('webtransport-port') && values['no-webtransport'] === true, '--webtransport-port and --no-webtransport contradict each other');
  const users: Record<string, string> = {};
  for (const entry of list('user') ?? []) {
    const colon = entry.indexOf(':');
    checks.fail(colon <= 0, `--user takes NAME:PASSWORD, got ${JSON.stringify(entry)}`);
    if (colon > 0) users[entry.slice(0, colon)] = entry.slice(colon + 1);
  }
  const range = checks.take(() => portRangeOption('relay-ports', str('relay-ports')));
  const relayPortRange = range && { min: range[0], max: range[1] };
  const tcpPort = port('tcp-port');
  const tlsPort = port('tls-port');
  const certFile = str('cert');
  const keyFile = str('key');
  checks.fail(given('tls-port') && (certFile === undefined || keyFile === undefined), '--tls-port needs --cert and --key (PEM files)');
  checks.fail(!given('tls-port') && (certFile !== undefined || keyFile !== undefined), '--cert and --key are for --tls-port');
  checks.fail(tlsPort !== undefined && tcpPort !== undefined && tlsPort === tcpPort && tlsPort !== 0, '--tcp-port and --tls-port must differ');
  const altPort = port('alt-port');
  checks.fail(given('alt-port') && !given('alt-address'), '--alt-port needs --alt-address');
  const maxAllocations = count('max-allocations');
  const maxAllocationsPerUser = count('user-quota');
  const bytesPerSecond = count('max-bps');
  const ttl = count('credential-ttl');
  const maxSessions = count('max-sessions');
  const workers = count('workers');
  if (workers !== undefined && workers > 1) {
    checks.fail(values.mdns === true, '--mdns runs in one process: use --workers 1');
    checks.fail(given('webtransport-port'), '--webtransport-port runs in one process: use --workers 1');
  }
  checks.fail(values['no-loopback'] === true && values['allow-loopback'] === true, '--no-loopback and --allow-loopback contradict each other');
  const secret = str('secret') ?? (env.ICEBRIDGE_SECRET || undefined);
  const allowOrigins = checks.take(() => list('allow-origin')?.map(originOption));
  for (const name of ['allow', 'deny']) for (const text of list(name) ?? []) checks.take(() => cidrOption(name, text));
  for (const name of ['relay-address', 'external-address', 'alt-address']) for (const text of [values[name] ?? []].flat()) checks.take(() => ipOption(name, String(text)));
  checks.fail(given('allow-origin') && values['no-bridge'] === true, '--allow-origin is the bridge\'s Origin list (and /config.json\'s CORS); it does not go with --no-bridge');
  // The files are read once the flags are right: a usage error is named before a missing file.
  if (checks.message !== undefined) return checks.message;
  let cert: string | undefined;
  let key: string | undefined;
  try {
    cert = certFile === undefined ? undefined : readFileSync(certFile, 'utf8');
    key = keyFile === undefined ? undefined : readFileSync(keyFile, 'utf8');
  } catch (err) {
    return `cannot read the TLS certificate or key: ${err instanceof Error ? err.message : String(err)}`;
  }
  return {
    host: list('host'),
    port: httpPort,
    stunPort,
    // A port asked for by number is a requirement; only the defaults may move.
    strictPorts: { http: httpPort !== undefined, stun: stunPort !== undefined },
    secret,
    allowLoopback: values['no-loopback'] !== true,
    credentialTtlSeconds: ttl,
    allowHosts: list('allow-host'),
    bridge:
      values['no-bridge'] === true
        ? false
        : {
            allow: list('allow'),
            deny: list('deny'),
            maxSessions,
            allowHostAddresses: values['allow-host-addresses'] === true,
            allowListen: values['allow-listen'] === true,
            mdns: values.mdns === true,
            mdnsHostCandidates: values['mdns-host-candidates'] === true ? 'on' : 'off',
            ...(allowOrigins ? { allowOrigins } : {}),
          },
    turn:
      values['no-turn'] === true
        ? false
        : {
            software: str('software'),
            realm: str('realm'),
            users,
            relayAddress: list('relay-address'),
            altAddress: str('alt-address'),
            altPort,
            externalAddress: list('external-address'),
            relayPortRange,
            deny: list('deny'),
            allow: list('allow'),
            allowHostAddresses: values['allow-host-addresses'] === true,
            maxAllocations,
            maxAllocationsPerUser,
            bytesPerSecond,
            tcpPort,
            tlsPort,
            cert,
            key,
          },
    signal: values['no-signal'] !== true,
    pages: values['no-pages'] !== true,
    workers,
    webTransport: values['no-webtransport'] === true ? false : wtPort === undefined ? true : { port: wtPort },
  };
}

/** What a user reads at start: the STUN line first (scripts parse it), the URL to open last. */
function describe(server: RunningIcebridgeServer, options: IcebridgeServerOptions): string[] {
  const lines: string[] = [];
  const turn = server.turn;
  if (turn) {
    const listening = turn.addresses.map(formatTransportAddress).join(', ');
    lines.push(`STUN server listening on udp ${listening}`);
    if (typeof options.turn === 'object' && options.turn.altAddress !== undefined) lines.push('RFC 5780 NAT behaviour discovery on these 2 addresses × 2 ports');
    if (turn.engine.turnEnabled) {
      const turnOptions = typeof options.turn === 'object' ? options.turn : {};
      const users = Object.keys(turnOptions.users ?? {}).length;
      const external = [turnOptions.externalAddress ?? []].flat();
      const announced = external.length > 0 ? ` (announced as ${external.join(', ')})` : '';
      const given = [users > 0 ? `${users} user${users === 1 ? '' : 's'}` : '', options.secret ? 'REST API secret' : ''].filter(Boolean);
      const sources = given.length > 0 ? given.join(' and ') : 'the dev secret';
      lines.push(`TURN server listening on udp ${listening}, realm "${turn.engine.realm}", ${sources}, relaying from ${turn.relayAddresses.join(', ')}${announced}`);
      if (turn.tcpAddresses.length > 0) lines.push(`TURN over TCP listening on ${turn.tcpAddresses.map(formatTransportAddress).join(', ')}`);
      if (turn.tlsAddresses.length > 0) lines.push(`TURN over TLS listening on ${turn.tlsAddresses.map(formatTransportAddress).join(', ')}`);
    } else {
      lines.push('TURN disabled: no --user or --secret given (TURN requests are answered 401); STUN works');
    }
  }
  const loopback = options.allowLoopback === false ? 'loopback destinations refused' : 'loopback destinations allowed';
  if (server.bridgeUrl) lines.push(`bridge at ${server.bridgeUrl} (${loopback}; tokens from /config.json or \`icebridge token\`)`);
  const workers = server.bridgeWorkers?.workers;
  if (workers) lines.push(`bridge sessions in ${workers.length} worker processes (pids ${workers.map((w) => w.pid).join(' ')})`);
  if (server.webTransportUrl) lines.push(`bridge over WebTransport at ${server.webTransportUrl} (certificate hash in /config.json)`);
  if (server.signalUrl) lines.push(`signalling relay at ${server.signalUrl}?room=NAME`);
  const hosts = options.host === undefined ? [] : typeof options.host === 'string' ? [options.host] : options.host;
  if (hosts.some(isWildcardHost)) lines.push('listening on every interface: other machines can reach the pages, the relay and the bridge (which still needs a token)');
  if (server.secretGenerated) lines.push(`dev secret (generated; set one with --secret or ICEBRIDGE_SECRET): ${server.secret}`);
  lines.push(...server.notices);
  lines.push(`metrics at ${server.httpUrl}metrics`);
  if (server.pages) lines.push(`open ${server.httpUrl}`);
  else lines.push(`listening on ${server.httpUrl}`);
  return lines;
}

export async function runServe(args: string[], io: CliIO, signal?: AbortSignal): Promise<number> {
  // A bridge worker forked by --workers: its options come from the primary, which parsed these arguments.
  if (isBridgeWorker()) return serveAsClusterWorker();
  const { values } = parseCommandArgs(
    args,
    {
      port: { type: 'string' },
      'stun-port': { type: 'string' },
      'turn-port': { type: 'string' },
      'tcp-port': { type: 'string' },
      'tls-port': { type: 'string' },
      cert: { type: 'string' },
      key: { type: 'string' },
      host: { type: 'string', multiple: true },
      'alt-address': { type: 'string' },
      'alt-port': { type: 'string' },
      secret: { type: 'string' },
      'no-bridge': { type: 'boolean' },
      'no-webtransport': { type: 'boolean' },
      'webtransport-port': { type: 'string' },
      'no-turn': { type: 'boolean' },
      'no-signal': { type: 'boolean' },
      'no-pages': { type: 'boolean' },
      'no-loopback': { type: 'boolean' },
      'allow-loopback': { type: 'boolean' },
      'allow-host-addresses': { type: 'boolean' },
      'allow-listen': { type: 'boolean' },
      'credential-ttl': { type: 'string' },
      'allow-host': { type: 'string', multiple: true },
      'max-sessions': { type: 'string' },
      workers: { type: 'string' },
      mdns: { type: 'boolean' },
      'mdns-host-candidates': { type: 'boolean' },
      software: { type: 'string' },
      realm: { type: 'string' },
      user: { type: 'string', multiple: true },
      'relay-address': { type: 'string', multiple: true },
      'relay-ports': { type: 'string' },
      'external-address': { type: 'string', multiple: true },
      deny: { type: 'string', multiple: true },
      allow: { type: 'string', multiple: true },
      'max-allocations': { type: 'string' },
      'user-quota': { type: 'string' },
      'max-bps': { type: 'string' },
      'allow-origin': { type: 'string', multiple: true },
    },
    false,
  );
  const options = serveOptions(values);
  if (typeof options === 'string') throw new UsageError(options);
  let server: RunningIcebridgeServer;
  try {
    server = await startIcebridgeServer(options);
  } catch (err) {
    const host = hostLookupError(err, options.host === undefined ? [] : [options.host].flat());
    if (host) throw host;
    // Bad CIDRs, realms and the like are configuration errors found at construction.
    const usage = err instanceof RangeError || err instanceof TypeError;
    io.stderr(`icebridge serve: cannot start: ${err instanceof Error ? err.message : String(err)}`);
    return usage ? 2 : 1;
  }
  for (const line of describe(server, options)) io.stdout(line);
  await untilStopped(signal);
  await server.close();
  const parts: string[] = [];
  if (server.turn) {
    const stun = server.turn.engine.stun.counters;
    parts.push(`answered ${stun.answered} Binding requests, created ${server.turn.engine.counters.allocations.created} TURN allocations`);
  }
  if (server.bridge) parts.push(`${server.bridge.metrics.sessionsTotal} bridge sessions`);
  // The workers' last counts stay with this process once they have stopped.
  else if (server.bridgeWorkers) parts.push(`${(await server.bridgeWorkers.snapshot()).sessionsTotal} bridge sessions`);
  if (server.signal) parts.push(`${server.signal.counters.messagesRelayed} signalling messages relayed`);
  io.stdout(`stopped; ${parts.join(', ')}`);
  return 0;
}
