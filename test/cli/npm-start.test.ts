// The `npm start` smoke test: the built CLI (`node dist/cli.js serve`, exactly what the start script runs)
// with its defaults, as a new user runs it — it must find free ports itself when 8787 or 3478 are taken.
// Everything it is asked is on 127.0.0.1; then SIGINT must stop it with exit 0, leaving no process and no
// port behind.
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { watch } from '../support/cli-process.js';
import { ensureBuilt, ROOT } from '../support/dist-build.js';

const WAIT_MS = 20_000;
const children: ChildProcess[] = [];

after(() => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([promise, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} within ${ms} ms`)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

function processGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/** The pids whose parent is `pid` (Linux /proc; every thread's children). */
function childPids(pid: number): number[] {
  const tasks = `/proc/${pid}/task`;
  if (!existsSync(tasks)) return [];
  const pids: number[] = [];
  for (const tid of readdirSync(tasks)) {
    try {
      pids.push(...readFileSync(`${tasks}/${tid}/children`, 'utf8').split(/\s+/).filter(Boolean).map(Number));
    } catch {
      // The thread ended while we looked.
    }
  }
  return pids;
}

function icebridge(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['dist/cli.js', ...args], { cwd: ROOT, timeout: WAIT_MS }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: unknown }).code as number) : 0, stdout, stderr });
    });
  });
}

describe('npm start', { timeout: 180_000 }, () => {
  before(() => ensureBuilt());

  it('serves the inspector, /metrics, /config.json and STUN on localhost, and stops on SIGINT with exit 0 leaving nothing behind', async () => {
    const start = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: { start: string } }).scripts.start;
    assert.equal(start, 'node dist/cli.js serve', 'npm start is the CLI with its defaults');
    const child = spawn(process.execPath, ['dist/cli.js', 'serve'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ICEBRIDGE_SECRET: '' } });
    children.push(child);
    const { exited, line, output } = watch(child, WAIT_MS);
    const stdout = () => output().stdout;

    const [, httpPortText] = await line(/^open http:\/\/127\.0\.0\.1:(\d+)\/$/m);
    const base = `http://127.0.0.1:${httpPortText}`;
    assert.match(stdout().split('\n')[0], /^STUN server listening on udp 127\.0\.0\.1:\d+$/, 'the STUN line comes first (scripts parse it)');
    const [, stunPortText] = await line(/^STUN server listening on udp 127\.0\.0\.1:(\d+)$/m);
    assert.match(stdout(), /^dev secret \(generated; .*\): \S{24,}$/m);
    assert.match(stdout(), /^TURN server listening on udp 127\.0\.0\.1:\d+, realm "icebridge", the dev secret, relaying from 127\.0\.0\.1$/m);
    assert.match(stdout(), new RegExp(`^bridge at ws://127\\.0\\.0\\.1:${httpPortText}/bridge `, 'm'));
    if (httpPortText !== '8787') assert.match(stdout(), /TCP port 8787 is taken; the HTTP server took \d+ instead/);
    if (stunPortText !== '3478') assert.match(stdout(), /UDP port 3478 is taken; the STUN\/TURN server took \d+ instead/);

    const home = await fetch(`${base}/`, { redirect: 'manual' });
    assert.equal(home.status, 302);
    assert.equal(home.headers.get('location'), '/inspector/');
    if (existsSync(join(ROOT, 'examples/inspector/index.html'))) {
      const inspector = await fetch(`${base}/inspector/`);
      assert.equal(inspector.status, 200);
      assert.match(inspector.headers.get('content-type') ?? '', /^text\/html/);
      assert.match(await inspector.text(), /<html/i);
    }
    if (existsSync(join(ROOT, 'examples/inspector/main.ts'))) {
      const main = await fetch(`${base}/inspector/main.js`);
      assert.equal(main.status, 200, await main.clone().text());
      assert.match(main.headers.get('content-type') ?? '', /^text\/javascript/);
      await main.arrayBuffer();
    }
    const client = await fetch(`${base}/icebridge/worker-client.js`);
    assert.equal(client.status, 200);
    assert.match(await client.text(), /new URL\("\.\/worker\.js",\s*import\.meta\.url\)/, 'the page client finds its Worker beside it');

    const config = (await (await fetch(`${base}/config.json`)).json()) as {
      bridge: { url: string; username: string; credential: string; webTransportUrl?: string; certificateHashes?: { algorithm: string; value: string }[] };
      iceServers: { urls: string; username?: string; credential?: string }[];
    };
    assert.equal(config.bridge.url, `ws://127.0.0.1:${httpPortText}/bridge`);
    assert.match(config.bridge.webTransportUrl ?? '', /^https:\/\/127\.0\.0\.1:\d+\//, 'npm start offers WebTransport too');
    assert.equal(config.bridge.certificateHashes?.[0]?.algorithm, 'sha-256', 'with the hash of its development certificate');
    assert.deepEqual(config.iceServers.map((s) => s.urls), [`stun:127.0.0.1:${stunPortText}`, `turn:127.0.0.1:${stunPortText}`]);

    // The CLI's own STUN client against it, directly and through the bridge with the page's token.
    const direct = await icebridge(['stun', `127.0.0.1:${stunPortText}`, '--json', '--timeout-ms', '5000', '--rto-ms', '100']);
    assert.equal(direct.code, 0, direct.stderr);
    assert.equal((JSON.parse(direct.stdout) as { mapped: string }).mapped.split(':')[0], '127.0.0.1');
    const bridgeUrl = new URL(config.bridge.url);
    bridgeUrl.searchParams.set('username', config.bridge.username);
    bridgeUrl.searchParams.set('credential', config.bridge.credential);
    const bridged = await icebridge(['stun', `127.0.0.1:${stunPortText}`, '--json', '--timeout-ms', '5000', '--rto-ms', '100', '--bridge', bridgeUrl.toString()]);
    assert.equal(bridged.code, 0, bridged.stderr);

    const metrics = await fetch(`${base}/metrics`);
    assert.equal(metrics.status, 200);
    const text = await metrics.text();
    assert.match(text, /^icebridge_stun_binding_responses_total [2-9]\d*$/m, 'both Binding requests counted');
    assert.match(text, /^icebridge_bridge_sessions_total\{carrier="websocket"\} 1$/m);
    assert.match(text, /^icebridge_bridge_sessions_total\{carrier="webtransport"\} 0$/m, 'npm start serves both carriers');
    assert.match(text, /^# TYPE icebridge_signaling_rooms_open gauge$/m);

    const pid = child.pid!;
    const spawned = childPids(pid);
    assert.equal(child.kill('SIGINT'), true);
    const done = await within(exited, WAIT_MS, 'npm start to stop on SIGINT');
    assert.equal(done.code, 0, `exit ${done.code} ${done.signal}\n${output().stderr}`);
    // Two requests, each answered once per copy: with --rto-ms 100 a loaded machine may retransmit.
    assert.match(stdout(), /^stopped; answered [2-9]\d* Binding requests, created 0 TURN allocations, 1 bridge sessions, 0 signalling messages relayed$/m);
    assert.equal(processGone(pid), true, 'the server process is gone');
    for (const p of spawned) assert.equal(processGone(p), true, `its child process ${p} (esbuild's service) is gone too`);

    // Every port it held binds again.
    const http = createServer();
    await new Promise<void>((resolve, reject) => http.once('error', reject).listen(Number(httpPortText), '127.0.0.1', resolve));
    await new Promise<void>((resolve) => http.close(() => resolve()));
    const udp = createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
      udp.once('error', reject);
      udp.bind(Number(stunPortText), '127.0.0.1', resolve);
    });
    await new Promise<void>((resolve) => udp.close(() => resolve()));
  });
});
