// `icebridge serve --workers 2` (src/node/serve-bridge-workers.ts), run as a user runs it: the primary keeps
// the HTTP port, /metrics, /healthz and the STUN/TURN server, and hands every /bridge connection to one of two
// worker processes with its socket. Sessions land on both workers and reach the primary's STUN server; a
// worker killed with SIGKILL is replaced, only its sessions close (with a close code, not a hang), and the
// counters it pushed stay. What runs in one process only is refused with the flag named.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import type { BridgeConnection, BridgeSocket } from '../../src/net/bridge-client.js';
import { BridgeError } from '../../src/net/bridge-error.js';
import { mintRestCredential } from '../../src/net/rest-credentials.js';
import { connectBridge } from '../../src/node/bridge-client.js';
import { startIcebridgeServer } from '../../src/node/serve.js';
import { StunMethod, createStunMessage, decodeStunMessage, encodeStunMessage } from '../../src/stun/index.js';
import { finish, watch } from '../support/cli-process.js';
import { fetchBridgeMetrics, startEchoServer, within } from '../bridge/helpers.js';

const SECRET = 'serve-workers-secret';
const SESSIONS = 8;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function tokenUrl(url: string): string {
  const { username, credential } = mintRestCredential({ secret: SECRET, user: 'w', ttlSeconds: 600 });
  return `${url}?username=${encodeURIComponent(username)}&credential=${encodeURIComponent(credential)}`;
}

function serve(args: string[]): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'serve', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
}

interface Session {
  conn: BridgeConnection;
  socket: BridgeSocket;
  echoes: number;
  closedWith: BridgeError | undefined;
}

describe('serve --workers 2', () => {
  let child: ChildProcess;
  let httpUrl: string;
  let bridgeUrl: string;
  let stunPort: number;
  let pids: number[];
  let echo: Awaited<ReturnType<typeof startEchoServer>>;
  const sessions: Session[] = [];

  before(async () => {
    echo = await startEchoServer();
    child = serve(['--port', '0', '--stun-port', '0', '--secret', SECRET, '--no-pages', '--workers', '2']);
    const w = watch(child, 30_000);
    stunPort = Number((await w.line(/STUN server listening on udp 127\.0\.0\.1:(\d+)/))[1]);
    bridgeUrl = (await w.line(/bridge at (ws:\/\/\S+) /))[1]!;
    pids = (await w.line(/bridge sessions in 2 worker processes \(pids (\d+) (\d+)\)/)).slice(1, 3).map(Number);
    await w.line(/WebTransport is off: it runs in one process/);
    httpUrl = (await w.line(/listening on (http:\/\/\S+)/))[1]!;
  });

  after(async () => {
    for (const s of sessions) s.conn.close();
    child?.kill('SIGINT');
    if (child && child.exitCode === null) await within(new Promise((resolve) => child.once('close', resolve)), 10_000, 'serve to stop').catch(() => child.kill('SIGKILL'));
    await echo?.close();
  });

  async function echoRound(live: Session[]): Promise<void> {
    const want = live.map((s) => s.echoes + 1);
    for (const s of live) s.socket.send(new Uint8Array([1, 2, 3]), echo.address);
    const deadline = Date.now() + 5000;
    while (live.some((s, i) => s.echoes < want[i]!) && Date.now() < deadline) await sleep(20);
    assert.deepEqual(live.map((s) => s.echoes), want, 'every live session got its echo');
  }

  it('spreads sessions over both workers; /metrics merges them beside the primary’s TURN counters; /healthz counts them', { timeout: 30_000 }, async () => {
    assert.notEqual(pids[0], pids[1]);
    assert.ok(!pids.includes(child.pid!), 'the workers are other processes than serve');
    for (let i = 0; i < SESSIONS; i++) {
      const conn = await connectBridge(tokenUrl(bridgeUrl));
      const socket = await conn.bind({ family: 'IPv4' });
      const s: Session = { conn, socket, echoes: 0, closedWith: undefined };
      socket.ondatagram = () => s.echoes++;
      conn.onclose = (err) => (s.closedWith = err);
      sessions.push(s);
    }
    await echoRound(sessions);
    const m = await fetchBridgeMetrics(`${httpUrl}metrics`);
    const workers = m.workers();
    assert.equal(workers.size, 2, m.text);
    assert.deepEqual([...workers.values()].map(([pid]) => pid).sort(), [...pids].sort());
    for (const [slot, [, open]] of workers) assert.ok(open > 0, `worker ${slot} has sessions: ${[...workers.values()].join(' ')}`);
    assert.equal(m.value('icebridge_bridge_sessions_open'), SESSIONS);
    assert.equal(m.value('icebridge_bridge_datagrams_total', '{direction="out"}'), SESSIONS);
    assert.match(m.text, /^icebridge_turn_/m, 'the TURN server’s metrics, from the primary, are there too');
    // Sessions are counted by each worker's push (every second).
    await sleep(1200);
    const health = (await (await fetch(`${httpUrl}healthz`)).json()) as { bridge: { sessions: number; workers: number } };
    assert.deepEqual(health.bridge, { sessions: SESSIONS, workers: 2 });
  });

  it('a worker’s session reaches the STUN server serve runs (its allowed host port crossed to the worker)', { timeout: 15_000 }, async () => {
    const s = sessions[0]!;
    const request = createStunMessage({ method: StunMethod.Binding, class: 'request' });
    const answer = new Promise<Uint8Array>((resolve) => {
      s.socket.ondatagram = (data) => resolve(data);
    });
    s.socket.send(encodeStunMessage(request), { address: '127.0.0.1', port: stunPort });
    const response = decodeStunMessage(await within(answer, 5000, 'the Binding response'));
    s.socket.ondatagram = () => s.echoes++;
    assert.equal(response.class, 'success');
    assert.deepEqual(response.transactionId, request.transactionId);
  });

  it('replaces a killed worker; only its sessions close, with a close code; the counters it pushed stay', { timeout: 30_000 }, async () => {
    assert.equal(sessions.length, SESSIONS, 'the first test opened the sessions');
    await echoRound(sessions);
    await sleep(1500);
    const before = await fetchBridgeMetrics(`${httpUrl}metrics`);
    const [victimPid, victimSessions] = before.workers().get('1')!;
    const outBefore = before.value('icebridge_bridge_datagrams_total', '{direction="out"}')!;

    process.kill(victimPid, 'SIGKILL');
    await within(
      (async () => {
        while (sessions.filter((s) => s.closedWith).length < victimSessions) await sleep(20);
      })(),
      5000,
      "the killed worker's clients to see their connection close",
    );
    const closed = sessions.filter((s) => s.closedWith);
    assert.equal(closed.length, victimSessions, 'only the killed worker’s sessions closed');
    for (const s of closed) {
      assert.ok(s.closedWith instanceof BridgeError);
      assert.equal(s.closedWith.closeCode, 1006);
    }
    const live = sessions.filter((s) => !s.closedWith);
    await echoRound(live);

    let after = await fetchBridgeMetrics(`${httpUrl}metrics`);
    const deadline = Date.now() + 10_000;
    while ((after.workers().get('1')?.[0] ?? victimPid) === victimPid && Date.now() < deadline) {
      await sleep(100);
      after = await fetchBridgeMetrics(`${httpUrl}metrics`);
    }
    const replacement = after.workers().get('1');
    assert.ok(replacement && replacement[0] !== victimPid, `slot 1 has a new worker: ${after.text}`);
    assert.equal(after.value('icebridge_bridge_worker_restarts_total'), 1);
    assert.equal(after.value('icebridge_bridge_datagrams_total', '{direction="out"}'), outBefore + live.length, 'counters kept across the restart');
    // Both workers take new sessions again, the HTTP port never having moved.
    const fresh: BridgeConnection[] = [];
    for (let i = 0; i < 4; i++) fresh.push(await connectBridge(tokenUrl(bridgeUrl)));
    const spread = (await fetchBridgeMetrics(`${httpUrl}metrics`)).workers();
    for (const c of fresh) c.close();
    assert.ok(spread.get('1')![1] > 0, 'the replacement takes sessions');
  });
});

describe('serve --workers: what runs in one process', () => {
  for (const [args, pattern] of [
    [['--workers', '2', '--mdns'], /--mdns runs in one process: use --workers 1/],
    [['--workers', '2', '--webtransport-port', '0'], /--webtransport-port runs in one process: use --workers 1/],
    [['--workers', '0'], /--workers must be a positive integer, got "0"/],
  ] as const) {
    it(`${args.join(' ')} is a usage error naming the flag (exit 2)`, { timeout: 20_000 }, async () => {
      const r = await finish(serve(['--port', '0', '--stun-port', '0', '--no-pages', ...args]), 15_000);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, pattern);
    });
  }
});

describe('startIcebridgeServer({ workers }): refused before any worker starts', () => {
  const base = { port: 0, stunPort: 0, pages: false, turn: false, signal: false } as const;
  it('workers that are not an integer from 1 to 1024 are a RangeError', async () => {
    for (const workers of [0, 1.5, 2000, Number.NaN]) {
      await assert.rejects(startIcebridgeServer({ ...base, workers }), (e) => e instanceof RangeError && /workers must be an integer from 1 to 1024/.test(e.message), String(workers));
    }
  });
  it('WebTransport asked for, an mDNS resolver or a logger function are a TypeError naming them', async () => {
    await assert.rejects(startIcebridgeServer({ ...base, workers: 2, webTransport: { port: 0 } }), (e) => e instanceof TypeError && /webTransport runs in one process/.test(e.message));
    await assert.rejects(startIcebridgeServer({ ...base, workers: 2, bridge: { mdns: true } }), (e) => e instanceof TypeError && /bridge\.mdns runs in one process/.test(e.message));
    await assert.rejects(startIcebridgeServer({ ...base, workers: 2, bridge: { logger: () => {} } }), (e) => e instanceof TypeError && /bridge\.logger cannot be given to worker processes/.test(e.message));
  });
});
