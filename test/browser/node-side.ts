// A @web/test-runner plugin that gives browser tests a Node side: reference results computed by the same
// sources in Node (so a test can check the page gives the same bytes), and the servers the page talks to,
// all on 127.0.0.1 — icebridge's STUN/TURN server, coturn, a UDP echo peer and a bridge — started with the
// test server and stopped with it. The browser reaches it at /__node/<name>; /__node/env says where
// everything is, with a freshly minted bridge token. A second bridge (`named`) resolves a test zone of names
// (*.icebridge.test), trusts the self-signed certificate coturn serves TLS with, and announces 127.0.0.2 for
// its sockets, so a gathered srflx (127.0.0.1, as the STUN server sees it) differs from its base.
import { createSocket, type Socket } from 'node:dgram';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestRunnerPlugin } from '@web/test-runner';
import { build } from 'esbuild';
import { startBridge, type RunningBridge } from '../../bridge/index.js';
import { mintRestCredential } from '../../src/net/rest-credentials.js';
import { startTurnServer, type RunningTurnServer } from '../../src/node/turn-server.js';
import { startCoturn, type RunningCoturn } from '../interop/support/coturn.js';
import { selfSignedCertificate, zoneResolver } from '../support/test-certificate.js';

const HOST = '127.0.0.1';
/** Signs bridge tokens, and TURN REST credentials for icebridge's TURN server: one secret for both. */
const SECRET = 'browser-test-secret';
const TURN_USER = { username: 'u', credential: 'p' };
/** The name coturn's TLS certificate is for. */
const COTURN_NAME = 'coturn.icebridge.test';
/** What the named bridge announces for its sockets (bound to the wildcard, reachable on all of 127/8). */
const NAMED_BRIDGE_ANNOUNCED = '127.0.0.2';
/** The named bridge's test zone. metadata.… is the cloud metadata address: every answer is refused. */
const TEST_ZONE: Record<string, string> = {
  'stun.icebridge.test': HOST,
  'turn.icebridge.test': HOST,
  [COTURN_NAME]: HOST,
  'metadata.icebridge.test': '169.254.169.254',
};

interface Servers {
  turn: RunningTurnServer;
  coturn: RunningCoturn;
  echo: Socket;
  bridge: RunningBridge;
  namedBridge: RunningBridge;
  /** A UDP port that was bound and closed: nothing answers QUIC there. */
  closedUdpPort: number;
  /** Holds coturn's certificate and key; removed at stop. */
  certDir: string;
}

/** What /__node/env answers. */
export interface BrowserTestEnv {
  bridge: {
    /** The bridge's URL without a token. */
    url: string;
    /** The URL with a fresh token in its query. */
    tokenUrl: string;
    username: string;
    credential: string;
    /** A token signed with the wrong secret: the bridge closes with 4001. */
    badTokenUrl: string;
    /** The bridge's WebTransport endpoint (no token), when the bridge serves one (Deno installed). */
    webTransportUrl?: string;
    /** SHA-256 of its self-signed certificate, base64 (W3C serverCertificateHashes). */
    certificateHashes?: CertificateHashJson[];
  };
  /** WebTransport endpoints that fail: a UDP port nothing listens on, and the bridge's with a hash of another certificate. */
  webTransportFailures: {
    closedPortUrl: string;
    wrongCertificateHashes: CertificateHashJson[];
  };
  /** `host:port` of the STUN servers (icebridge's is its TURN server, which answers Binding too). */
  stun: { icebridge: string; coturn: string };
  /** RTCIceServer-shaped TURN servers; `icebridgeRest` uses REST credentials minted with the bridge's secret. */
  turn: {
    icebridge: { urls: string; username: string; credential: string };
    coturn: { urls: string; username: string; credential: string };
    icebridgeRest: { urls: string; username: string; credential: string };
    /** icebridge's TURN server over TCP (`turn:…?transport=tcp`), which makes RFC 6062 TCP allocations too. */
    icebridgeTcp: { urls: string; username: string; credential: string };
  };
  /** A UDP peer that sends every datagram back to where it came from. */
  echo: { address: string; port: number };
  /** The second bridge, and ICE servers named in its test zone (see TEST_ZONE). */
  named: {
    bridge: { url: string; tokenUrl: string; webTransportUrl?: string; certificateHashes?: CertificateHashJson[] };
    /** The address the named bridge announces for its sockets: the host candidates' address. */
    hostAddress: string;
    /** icebridge's STUN/TURN server by name: `stun:stun.icebridge.test:PORT`, `turn:turn.icebridge.test:PORT`. */
    stun: { urls: string };
    turn: { urls: string; username: string; credential: string };
    /** coturn by name over TCP (`turn:…?transport=tcp`) and TLS (`turns:…`, its certificate for the name). */
    coturnTcp: { urls: string; username: string; credential: string };
    coturnTls: { urls: string; username: string; credential: string };
    /** coturn over TLS by address: its certificate names coturn.icebridge.test only, so the bridge refuses it. */
    coturnTlsByAddress: { urls: string; username: string; credential: string };
    /** A STUN server named in the zone whose only address (169.254.169.254) the bridge refuses. */
    deniedName: { urls: string };
    /** The same, by address: the bridge refuses the datagram. */
    deniedAddress: { urls: string };
  };
}

/** A certificate hash as /config.json gives it. */
export interface CertificateHashJson {
  algorithm: 'sha-256';
  value: string;
}

/** Both test bridges' WebTransport carrier: any free UDP port, a silent page noticed within 2.5 s. */
const WEBTRANSPORT = { port: 0, quicIdleTimeoutMs: 2000, quicKeepAliveMs: 500 };

let servers: Servers | undefined;

async function startServers(): Promise<Servers> {
  const started: Partial<Servers> = {};
  try {
    // A TCP listener too: RFC 6062 allocations for the page's relayed TCP candidates.
    started.turn = await startTurnServer({ hosts: [HOST], port: 0, tcpPort: 0, relayAddress: HOST, realm: 'r', users: { u: 'p' }, secret: SECRET, allowLoopback: true });
    started.certDir = mkdtempSync(join(tmpdir(), 'icebridge-browser-cert-'));
    const tls = selfSignedCertificate(started.certDir, COTURN_NAME);
    // TURN over UDP and TCP on its port, over TLS on its tlsPort.
    started.coturn = await startCoturn({
      args: ['--lt-cred-mech', '--realm=r', '--user=u:p', '--allow-loopback-peers', `--relay-ip=${HOST}`, '--no-tcp-relay'],
      tls,
    });
    started.echo = await startEcho();
    started.bridge = await startBridge({
      host: HOST,
      port: 0,
      secret: SECRET,
      allowLoopback: true,
      // The bridge's UDP sockets on loopback too: their address is the page's host candidate and mapped address.
      udpBindAddress: { IPv4: HOST, IPv6: '::1' },
      // No name leaves this machine: the bridge's DNS would ask the system's resolver.
      resolve: zoneResolver({}),
      logger: () => {},
      // Pages' passive ICE-TCP candidates: listeners on this bridge's host (127.0.0.1).
      allowListen: true,
      // The same bridge over WebTransport too (a Deno child process); its URL and certificate hash go to the page.
      // A page that goes without a word (a terminated Worker: Chromium sends nothing Deno sees) is noticed at
      // the QUIC idle timeout after the last keep-alive: 2.5 s here, within the suites' 5 s wait for every
      // session to close (the default is 10 s after a keep-alive of 4 s).
      webTransport: WEBTRANSPORT,
    });
    started.namedBridge = await startBridge({
      host: HOST,
      port: 0,
      secret: SECRET,
      allowLoopback: true,
      // As behind a 1:1 NAT on loopback (like examples-plugin.ts): sockets bound to the wildcard announce
      // 127.0.0.2 while servers on 127.0.0.1 see them from 127.0.0.1, so srflx ≠ base (RFC 8445 §5.1.3).
      hostAddresses: [NAMED_BRIDGE_ANNOUNCED],
      resolve: zoneResolver(TEST_ZONE), // the bridge keeps the answers of the family asked for
      tlsCa: readFileSync(tls.cert, 'utf8'),
      logger: () => {},
      webTransport: WEBTRANSPORT,
    });
    started.closedUdpPort = await closedUdpPort();
    return started as Servers;
  } catch (err) {
    await stopServers(started);
    throw err;
  }
}

async function stopServers(s: Partial<Servers>): Promise<void> {
  await Promise.allSettled([
    s.bridge?.close(),
    s.namedBridge?.close(),
    s.turn?.close(),
    s.coturn?.stop(),
    s.echo && new Promise<void>((resolve) => s.echo!.close(() => resolve())),
  ]);
  if (s.certDir) rmSync(s.certDir, { recursive: true, force: true });
}


function closedUdpPort(): Promise<number> {
  const socket = createSocket('udp4');
  return new Promise((resolve, reject) => {
    socket.once('error', reject);
    socket.bind({ address: HOST, port: 0 }, () => {
      const { port } = socket.address();
      socket.close(() => resolve(port));
    });
  });
}

/** The bridge's WebTransport URL and certificate hashes (base64), if it serves WebTransport. */
function webTransportOf(bridge: RunningBridge): { webTransportUrl?: string; certificateHashes?: CertificateHashJson[] } {
  if (!bridge.webTransportUrl) return {};
  return { webTransportUrl: bridge.webTransportUrl, certificateHashes: bridge.certificateHashes.map((h) => ({ ...h })) };
}

function startEcho(): Promise<Socket> {
  const socket = createSocket('udp4');
  socket.on('message', (message, from) => socket.send(message, from.port, from.address));
  return new Promise((resolve, reject) => {
    socket.once('error', reject);
    socket.bind({ address: HOST, port: 0 }, () => resolve(socket));
  });
}

function token(secret: string): { username: string; credential: string } {
  return mintRestCredential({ secret, user: 'browser', ttlSeconds: 600, nowSeconds: Date.now() / 1000 });
}

function withToken(url: string, t: { username: string; credential: string }): string {
  return `${url}?username=${encodeURIComponent(t.username)}&credential=${encodeURIComponent(t.credential)}`;
}

function env(s: Servers): BrowserTestEnv {
  const t = token(SECRET);
  const turnPort = s.turn.addresses[0].port;
  return {
    bridge: { url: s.bridge.url, tokenUrl: withToken(s.bridge.url, t), ...t, badTokenUrl: withToken(s.bridge.url, token('not-the-secret')), ...webTransportOf(s.bridge) },
    webTransportFailures: {
      closedPortUrl: `https://${HOST}:${s.closedUdpPort}/bridge`,
      // The SHA-256 of no certificate the bridge has (32 bytes of 0x11): Chromium's handshake refuses it.
      wrongCertificateHashes: [{ algorithm: 'sha-256', value: Buffer.alloc(32, 0x11).toString('base64') }],
    },
    stun: { icebridge: `${HOST}:${turnPort}`, coturn: `${HOST}:${s.coturn.port}` },
    turn: {
      icebridge: { urls: `turn:${HOST}:${turnPort}`, ...TURN_USER },
      coturn: { urls: `turn:${HOST}:${s.coturn.port}`, ...TURN_USER },
      icebridgeRest: { urls: `turn:${HOST}:${turnPort}`, ...token(SECRET) },
      icebridgeTcp: { urls: `turn:${HOST}:${s.turn.tcpAddresses[0].port}?transport=tcp`, ...TURN_USER },
    },
    echo: { address: HOST, port: s.echo.address().port },
    named: {
      bridge: { url: s.namedBridge.url, tokenUrl: withToken(s.namedBridge.url, t), ...webTransportOf(s.namedBridge) },
      hostAddress: NAMED_BRIDGE_ANNOUNCED,
      stun: { urls: `stun:stun.icebridge.test:${turnPort}` },
      turn: { urls: `turn:turn.icebridge.test:${turnPort}`, ...TURN_USER },
      coturnTcp: { urls: `turn:${COTURN_NAME}:${s.coturn.port}?transport=tcp`, ...TURN_USER },
      coturnTls: { urls: `turns:${COTURN_NAME}:${s.coturn.tlsPort}`, ...TURN_USER },
      coturnTlsByAddress: { urls: `turns:${HOST}:${s.coturn.tlsPort}`, ...TURN_USER },
      deniedName: { urls: 'stun:metadata.icebridge.test:3478' },
      deniedAddress: { urls: 'stun:169.254.169.254:3478' },
    },
  };
}

/**
 * The Worker entry and the page entry bundled as scripts/build.mjs lays them out in dist/ (worker.js next
 * to worker-client.js), in memory, served under /__dist/: a test imports the page entry from there and
 * checks that it finds and starts its Worker with no path configured.
 */
async function bundleWorkerEntries(rootDir: string): Promise<Map<string, string>> {
  const result = await build({
    entryPoints: { worker: join(rootDir, 'src/worker/worker.ts'), 'worker-client': join(rootDir, 'src/worker.ts') },
    bundle: true,
    format: 'esm',
    target: 'es2022',
    platform: 'browser',
    outdir: '/__dist',
    write: false,
    logLevel: 'warning',
  });
  return new Map(result.outputFiles.map((f) => [f.path.slice(f.path.lastIndexOf('/') + 1), f.text]));
}

type Handler = () => Promise<unknown>;

function running(): Servers {
  if (!servers) throw new Error('the browser-test servers are not running');
  return servers;
}

const handlers: Record<string, Handler> = {
  'stun-codec': async () => (await import('./fixtures/stun-codec.js')).buildStunCodecFixture(),
  env: async () => env(running()),
  /** Sessions the bridge holds now: tests check that closing in the page closes them. */
  'bridge-sessions': async () => ({ open: running().bridge.sessionCount }),
  'named-bridge-sessions': async () => ({ open: running().namedBridge.sessionCount }),
};

export function nodeSidePlugin(): TestRunnerPlugin {
  let rootDir = process.cwd();
  let bundles = new Map<string, string>();
  return {
    name: 'icebridge-node-side',
    async serverStart({ config }) {
      rootDir = config.rootDir;
      bundles = await bundleWorkerEntries(rootDir);
      servers = await startServers();
    },
    async serverStop() {
      const s = servers;
      servers = undefined;
      if (s) await stopServers(s);
    },
    async serve(context) {
      const prefix = '/__node/';
      if (context.path.startsWith(prefix)) {
        const handler = handlers[context.path.slice(prefix.length)];
        if (!handler) return { body: JSON.stringify({ error: 'no such fixture' }), type: 'json' };
        return { body: JSON.stringify(await handler()), type: 'json' };
      }
      if (context.path.startsWith('/__dist/')) {
        const body = bundles.get(context.path.slice('/__dist/'.length));
        return body === undefined ? undefined : { body, type: 'js' };
      }
      // `new Worker(new URL('./worker.js', import.meta.url))` names the built file; in the sources it is
      // worker.ts. Imports get that rewrite from the esbuild plugin, a Worker URL does not: serve a module
      // that imports the .ts (then transformed like any other).
      if (context.path.endsWith('.js') && !context.path.includes('/node_modules/')) {
        const file = join(rootDir, context.path);
        const ts = `${file.slice(0, -3)}.ts`;
        if (file.startsWith(rootDir) && !existsSync(file) && existsSync(ts)) {
          const name = context.path.slice(context.path.lastIndexOf('/') + 1, -3);
          return { body: `import './${name}.ts';\n`, type: 'js' };
        }
      }
      return undefined;
    },
  };
}
