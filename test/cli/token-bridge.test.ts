// `icebridge token`, `icebridge bridge` and `icebridge stun --bridge` as a user runs them: separate processes,
// their output and exit codes. Everything listens on and sends to 127.0.0.1 only.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { finish as finishProcess, type CliResult } from '../support/cli-process.js';
import type { RunningBridge } from '../../bridge/server.js';
import { mintRestCredential, verifyRestCredential } from '../../src/net/rest-credentials.js';
import { connectBridge } from '../../src/node/bridge-client.js';
import { startStunServer, type RunningStunServer } from '../../src/node/stun-server.js';
import { startTestBridge, tokenUrl } from '../bridge/helpers.js';

type Result = CliResult;

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** Generous: several CLI processes start at once, each compiling TypeScript on a possibly busy machine. */
const RUN_TIMEOUT_MS = 45_000;

function start(args: string[], env: Record<string, string> = {}): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ICEBRIDGE_SECRET: '', ...env },
  });
}

function finish(child: ChildProcess, ms = RUN_TIMEOUT_MS): Promise<Result> {
  return finishProcess(child, ms);
}

const icebridge = (args: string[], env?: Record<string, string>) => finish(start(args, env));

/** The first stdout match of `pattern`, within `ms`. */
function waitForLine(child: ChildProcess, pattern: RegExp, ms = RUN_TIMEOUT_MS): Promise<RegExpExecArray> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const cleanup = () => {
      clearTimeout(timer);
      child.stdout!.off('data', onData);
      child.off('exit', onExit);
    };
    const onData = (chunk: Buffer | string) => {
      seen += chunk.toString();
      const m = pattern.exec(seen);
      if (m) {
        cleanup();
        resolve(m);
      }
    };
    const onExit = (code: number | null) => {
      cleanup();
      reject(new Error(`exited (${code}) before printing ${pattern}; printed: ${seen}`));
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`no line matching ${pattern} within ${ms} ms; printed: ${seen}`));
    }, ms);
    child.stdout!.on('data', onData);
    child.once('exit', onExit);
  });
}

describe('icebridge token, bridge and stun --bridge', { concurrency: true, timeout: 120_000 }, () => {
  let bridge: RunningBridge;
  let stun: RunningStunServer;

  before(async () => {
    bridge = await startTestBridge({ secret: 'cli-secret' });
    stun = await startStunServer({ port: 0, hosts: ['127.0.0.1'] });
  });

  after(async () => {
    await bridge?.close();
    await stun?.close();
  });

  it('token prints a credential that verifyRestCredential accepts, and the ready URL with --bridge', async () => {
    const before = Math.floor(Date.now() / 1000);
    const r = await icebridge(['token', '--secret', 's3cret', '--user', 'alice', '--ttl', '3600', '--bridge', 'ws://127.0.0.1:8787/']);
    assert.equal(r.code, 0, r.stderr);
    const json = JSON.parse(r.stdout) as { username: string; credential: string; ttl: number; url: string };
    const check = verifyRestCredential('s3cret', json.username, json.credential, Date.now() / 1000);
    assert.ok(check.ok, JSON.stringify(check));
    assert.equal(check.user, 'alice');
    assert.ok(check.expiresAt >= before + 3600 && check.expiresAt <= Math.ceil(Date.now() / 1000) + 3600);
    assert.equal(json.ttl, 3600);
    const url = new URL(json.url);
    assert.equal(`${url.protocol}//${url.host}${url.pathname}`, 'ws://127.0.0.1:8787/');
    assert.equal(url.searchParams.get('username'), json.username);
    assert.equal(url.searchParams.get('credential'), json.credential);
    assert.deepEqual(verifyRestCredential('other', json.username, json.credential, Date.now() / 1000), { ok: false, reason: 'bad-signature' });
  });

  it('token reads the secret from ICEBRIDGE_SECRET, and refuses to run without one (exit 2)', async () => {
    const r = await icebridge(['token', '--user', 'bob'], { ICEBRIDGE_SECRET: 'from-env' });
    assert.equal(r.code, 0, r.stderr);
    const json = JSON.parse(r.stdout) as { username: string; credential: string };
    assert.ok(verifyRestCredential('from-env', json.username, json.credential, Date.now() / 1000).ok);
    const missing = await icebridge(['token', '--user', 'bob']);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /^icebridge token: missing --secret \(or set ICEBRIDGE_SECRET\)$/m);
  });

  it('bridge starts, serves a session, and stops on SIGINT with exit 0', async () => {
    const child = start(['bridge', '--port', '0', '--host', '127.0.0.1', '--secret', 'cli-bridge', '--allow-loopback']);
    const done = finish(child);
    done.catch(() => undefined); // awaited below; a timeout must not surface as an unhandled rejection first
    try {
      const [, url] = await waitForLine(child, /bridge listening on (ws:\/\/127\.0\.0\.1:\d+\/)/);
      const { username, credential } = mintRestCredential({ secret: 'cli-bridge', user: 'carol', ttlSeconds: 60, nowSeconds: Date.now() / 1000 });
      const connection = await connectBridge(`${url}?username=${encodeURIComponent(username)}&credential=${encodeURIComponent(credential)}`);
      const socket = await connection.bind();
      assert.equal(socket.localAddress.address, '0.0.0.0');
      connection.close();
      assert.equal(child.kill('SIGINT'), true);
      const r = await done;
      assert.equal(r.code, 0, `exit ${r.code} ${r.signal}\n${r.stderr}`);
      assert.equal(r.signal, null);
      assert.match(r.stdout, /stopped; 1 sessions/);
      assert.match(r.stderr, /"event":"session-open".*"user":"carol"/);
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await done.catch(() => undefined);
    }
  });

  it('bridge without a secret exits 2 and says why', async () => {
    const r = await icebridge(['bridge', '--port', '0']);
    assert.equal(r.code, 2);
    // The flags a user types, not the API option (allowAnonymous).
    assert.match(r.stderr, /^icebridge bridge: missing --secret .*--allow-anonymous/m);
    assert.doesNotMatch(r.stderr, /allowAnonymous/);
  });

  it('stun --bridge runs the Binding through the bridge: the mapped address is the bridge socket', async () => {
    const server = `127.0.0.1:${stun.addresses[0].port}`;
    const socketsBefore = bridge.metrics.socketsTotal;
    const r = await icebridge(['stun', server, '--bridge', tokenUrl(bridge, { secret: 'cli-secret' }), '--json', '--timeout-ms', '5000', '--rto-ms', '100']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const json = JSON.parse(r.stdout) as { mapped: string; local: string; server: string };
    assert.match(json.mapped, /^127\.0\.0\.1:\d+$/);
    assert.equal(json.local, json.mapped, 'the bridge socket is on loopback: no NAT between it and the server');
    assert.equal(json.server, server);
    assert.equal(bridge.metrics.socketsTotal, socketsBefore + 1);
    const refused = await icebridge(['stun', server, '--bridge', bridge.url, '--timeout-ms', '2000']);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /4001/);
  });
});
