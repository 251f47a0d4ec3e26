// Scale-out behind nginx (issue 17), with the configuration docs/deploy.md shows: Debian's nginx terminates
// TLS (a certificate of the test's own, trusted by the client as its CA) and balances wss sessions over two
// `icebridge bridge` processes that share one secret and nothing else. Sessions land on both instances, a
// token works on either, and killing one instance closes only its sessions. The nginx configuration is the
// first ```nginx block of docs/deploy.md, with only the machine-specific parts replaced (ports, certificate
// paths, log and temp paths under a temporary directory, the bridge upstreams), so the page and the test
// cannot drift apart. Skipped when /usr/sbin/nginx is not installed (scripts/prereqs.sh installs it).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocket } from 'ws';
import { BridgeConnection, type WebSocketConstructor } from '../../src/net/bridge-client.js';
import { BridgeError } from '../../src/net/bridge-error.js';
import { mintRestCredential } from '../../src/net/rest-credentials.js';
import { watch } from '../support/cli-process.js';
import { selfSignedCertificate } from '../support/test-certificate.js';
import { startEchoServer, within } from './helpers.js';

const NGINX = '/usr/sbin/nginx';
const SECRET = 'scale-out-secret';
const NAME = 'app.example';
const SESSIONS = 8;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** docs/deploy.md's nginx block, made runnable here: the substitutions are the only differences. */
export function nginxConfigFromDocs(dir: string, listenPort: number, bridgePorts: number[], cert: string, key: string): string {
  const doc = readFileSync(new URL('../../docs/deploy.md', import.meta.url), 'utf8');
  const blocks = [...doc.matchAll(/```nginx\n([\s\S]*?)```/g)].map((m) => m[1]!);
  const site = blocks[0];
  const logFormat = blocks.find((b) => b.includes('log_format bridge_no_query'));
  assert.ok(site && logFormat, 'docs/deploy.md has the nginx site block and its log_format');
  const replace = (text: string, from: RegExp, to: string) => {
    assert.match(text, from, `docs/deploy.md's nginx block has ${from}`);
    return text.replace(from, to);
  };
  let conf = site;
  conf = replace(conf, /\n {4}server 127\.0\.0\.1:8787;[^\n]*\n(?: {4}#[^\n]*\n)*/, `\n${bridgePorts.map((p) => `    server 127.0.0.1:${p};\n`).join('')}`);
  conf = replace(conf, / {4}listen 443 ssl;\n {4}listen \[::\]:443 ssl;/, `    listen 127.0.0.1:${listenPort} ssl;`);
  conf = replace(conf, /ssl_certificate {5}\S+;/, `ssl_certificate ${cert};`);
  conf = replace(conf, /ssl_certificate_key \S+;/, `ssl_certificate_key ${key};`);
  conf = replace(conf, /access_log \/var\/log\/nginx\/icebridge\.log/, `access_log ${join(dir, 'icebridge.log')}`);
  // The port-80 redirect needs root's port 80 and serves nothing the test uses.
  conf = replace(conf, /\nserver \{\n {4}listen 80;[\s\S]*$/, '\n');
  const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `    ${t}_temp_path ${join(dir, t)};`).join('\n');
  return `daemon off;
master_process on;
worker_processes 1;
pid ${join(dir, 'nginx.pid')};
error_log ${join(dir, 'error.log')} warn;
events { worker_connections 256; }
http {
    access_log off;
${temp}
    ${logFormat.trim()}
${conf}
}
`;
}

interface Session {
  conn: BridgeConnection;
  closedWith: BridgeError | undefined;
  echoes: number;
}

describe('scale-out: nginx (TLS) in front of two bridges', { skip: !existsSync(NGINX) && `${NGINX} not installed` }, () => {
  let dir: string;
  let nginx: ChildProcess | undefined;
  const bridges: { child: ChildProcess; port: number }[] = [];
  let ca: string;
  let listenPort: number;
  let echo: Awaited<ReturnType<typeof startEchoServer>>;
  const sessions: Session[] = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'icebridge-nginx-'));
    const { cert, key } = selfSignedCertificate(dir, NAME);
    ca = readFileSync(cert, 'utf8');
    echo = await startEchoServer();
    for (let i = 0; i < 2; i++) {
      const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'bridge', '--port', '0', '--workers', '1', '--allow-loopback', '--max-pending-connections-per-ip', '1000'], {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, ICEBRIDGE_SECRET: SECRET },
      });
      const url = (await watch(child, 20_000).line(/listening on (ws:\/\/\S+)/))[1]!;
      bridges.push({ child, port: Number(new URL(url).port) });
    }
    listenPort = await freePort();
    const conf = join(dir, 'nginx.conf');
    writeFileSync(conf, nginxConfigFromDocs(dir, listenPort, bridges.map((b) => b.port), cert, key));
    nginx = spawn(NGINX, ['-p', dir, '-c', conf], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    nginx.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    // Listening when a TCP connect succeeds (bounded).
    const deadline = Date.now() + 10_000;
    for (;;) {
      const ok = await fetch(`http://127.0.0.1:${listenPort}/`).then(
        () => true,
        (err: { cause?: { code?: string } }) => err.cause?.code !== 'ECONNREFUSED',
      );
      if (ok) break;
      if (nginx.exitCode !== null || Date.now() > deadline) throw new Error(`nginx did not start: ${stderr} ${existsSync(join(dir, 'error.log')) ? readFileSync(join(dir, 'error.log'), 'utf8') : ''}`);
      await sleep(50);
    }
  });

  after(async () => {
    for (const s of sessions) s.conn.close();
    nginx?.kill('SIGQUIT');
    for (const b of bridges) b.child.kill('SIGKILL');
    await echo?.close();
    if (nginx && nginx.exitCode === null) await within(new Promise((resolve) => nginx!.once('exit', resolve)), 5000, 'nginx to stop').catch(() => nginx!.kill('SIGKILL'));
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  function connect(): Promise<BridgeConnection> {
    const { username, credential } = mintRestCredential({ secret: SECRET, user: 'scale', ttlSeconds: 600, nowSeconds: Date.now() / 1000 });
    const tls = { ca, servername: NAME, perMessageDeflate: false };
    const TlsWebSocket = class extends WebSocket {
      constructor(address: string, protocols?: string | string[]) {
        super(address, protocols, tls);
      }
    };
    const url = `wss://127.0.0.1:${listenPort}/bridge?username=${encodeURIComponent(username)}&credential=${encodeURIComponent(credential)}`;
    return BridgeConnection.connect(url, { binaryType: 'nodebuffer', WebSocket: TlsWebSocket as WebSocketConstructor, connectTimeoutMs: 5000 });
  }

  async function sessionsOpen(port: number): Promise<number> {
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    return Number(/^icebridge_bridge_sessions_open (\d+)$/m.exec(text)![1]);
  }

  it('spreads wss sessions over both bridges; one token shape works on either', { timeout: 30_000 }, async () => {
    for (let i = 0; i < SESSIONS; i++) {
      const conn = await connect();
      const s: Session = { conn, closedWith: undefined, echoes: 0 };
      conn.onclose = (err) => (s.closedWith = err);
      const socket = await conn.bind({ family: 'IPv4' });
      socket.ondatagram = () => s.echoes++;
      socket.send(new Uint8Array([7]), echo.address);
      sessions.push(s);
    }
    const deadline = Date.now() + 5000;
    while (sessions.some((s) => s.echoes === 0) && Date.now() < deadline) await sleep(20);
    assert.deepEqual(sessions.map((s) => s.echoes), sessions.map(() => 1), 'every session echoes through nginx');
    const counts = await Promise.all(bridges.map((b) => sessionsOpen(b.port)));
    assert.equal(counts[0]! + counts[1]!, SESSIONS);
    assert.ok(counts[0]! > 0 && counts[1]! > 0, `both bridges serve sessions: ${counts.join(' + ')}`);
  });

  it('losing one bridge closes only its sessions; new sessions go to the other', { timeout: 30_000 }, async () => {
    assert.equal(sessions.length, SESSIONS, 'the first test opened the sessions');
    const onFirst = await sessionsOpen(bridges[0]!.port);
    bridges[0]!.child.kill('SIGKILL');
    await within(
      (async () => {
        while (sessions.filter((s) => s.closedWith).length < onFirst) await sleep(20);
      })(),
      5000,
      "the lost bridge's sessions to close",
    );
    await sleep(300);
    const closed = sessions.filter((s) => s.closedWith);
    assert.equal(closed.length, onFirst, 'only the lost bridge’s sessions closed');
    for (const s of closed) assert.equal(s.closedWith!.code, 'closed');
    const live = sessions.filter((s) => !s.closedWith);
    assert.equal(await sessionsOpen(bridges[1]!.port), live.length);
    // nginx marks the dead upstream failed and sends new sessions to the living one.
    for (let i = 0; i < 3; i++) {
      const conn = await connect();
      conn.close();
    }
    assert.ok((await (await fetch(`http://127.0.0.1:${bridges[1]!.port}/metrics`)).text()).includes('icebridge_bridge_sessions_total'));
  });
});
