// `icebridge bridge --workers 2` (bridge/cluster.ts), run as a user runs it: sessions land on both workers,
// /metrics merges them, a worker killed with SIGKILL is replaced, only its own sessions close (their clients
// get a BridgeError with the close code, not a hang), and the counters it had pushed stay in /metrics.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import type { BridgeConnection, BridgeSocket } from '../../src/net/bridge-client.js';
import { BridgeError } from '../../src/net/bridge-error.js';
import { mintRestCredential } from '../../src/net/rest-credentials.js';
import { connectBridge } from '../../src/node/bridge-client.js';
import { watch } from '../support/cli-process.js';
import { fetchBridgeMetrics, startEchoServer, within } from './helpers.js';

const SECRET = 'workers-secret';
const SESSIONS = 8;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function tokenUrl(url: string): string {
  const { username, credential } = mintRestCredential({ secret: SECRET, user: 'w', ttlSeconds: 600, nowSeconds: Date.now() / 1000 });
  return `${url}?username=${encodeURIComponent(username)}&credential=${encodeURIComponent(credential)}`;
}

interface Session {
  conn: BridgeConnection;
  socket: BridgeSocket;
  echoes: number;
  closedWith: BridgeError | undefined;
}

describe('bridge --workers 2', () => {
  let child: ChildProcess;
  let url: string;
  let echo: Awaited<ReturnType<typeof startEchoServer>>;
  const sessions: Session[] = [];

  before(async () => {
    echo = await startEchoServer();
    child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'bridge', '--port', '0', '--secret', SECRET, '--allow-loopback', '--workers', '2'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const w = watch(child, 30_000);
    url = (await w.line(/listening on (ws:\/\/\S+) .*2 workers/))[1]!;
  });

  after(async () => {
    for (const s of sessions) s.conn.close();
    child?.kill('SIGINT');
    if (child && child.exitCode === null) await within(new Promise((resolve) => child.once('close', resolve)), 10_000, 'the bridge to stop').catch(() => child.kill('SIGKILL'));
    await echo?.close();
  });

  async function echoRound(live: Session[]): Promise<void> {
    const want = live.map((s) => s.echoes + 1);
    for (const s of live) s.socket.send(new Uint8Array([1, 2, 3]), echo.address);
    const deadline = Date.now() + 5000;
    while (live.some((s, i) => s.echoes < want[i]!) && Date.now() < deadline) await sleep(20);
    assert.deepEqual(
      live.map((s) => s.echoes),
      want,
      'every live session got its echo',
    );
  }

  it('spreads sessions over both workers and merges /metrics', { timeout: 30_000 }, async () => {
    for (let i = 0; i < SESSIONS; i++) {
      const conn = await connectBridge(tokenUrl(url));
      const socket = await conn.bind({ family: 'IPv4' });
      const s: Session = { conn, socket, echoes: 0, closedWith: undefined };
      socket.ondatagram = () => s.echoes++;
      conn.onclose = (err) => (s.closedWith = err);
      sessions.push(s);
    }
    await echoRound(sessions);
    const m = await fetchBridgeMetrics(`http://${new URL(url).host}/metrics`);
    const workers = m.workers();
    assert.equal(workers.size, 2, m.text);
    const pids = [...workers.values()].map(([pid]) => pid);
    assert.notEqual(pids[0], pids[1]);
    for (const [slot, [, open]] of workers) assert.ok(open > 0, `worker ${slot} has sessions: ${[...workers.values()].join(' ')}`);
    assert.equal(m.value('icebridge_bridge_sessions_open'), SESSIONS);
    assert.equal(m.value('icebridge_bridge_workers'), 2);
    assert.equal(m.value('icebridge_bridge_datagrams_total', '{direction="out"}'), SESSIONS);
    assert.equal(m.value('icebridge_bridge_datagrams_total', '{direction="in"}'), SESSIONS);
  });

  it('replaces a killed worker; only its sessions close, with a close code; the counters it pushed stay', { timeout: 45_000 }, async () => {
    assert.equal(sessions.length, SESSIONS, 'the first test opened the sessions');
    await echoRound(sessions);
    // Workers push their counters every second: wait for one push after the last datagram.
    await sleep(1500);
    const before = await fetchBridgeMetrics(`http://${new URL(url).host}/metrics`);
    const [victimPid, victimSessions] = before.workers().get('1')!;
    const outBefore = before.value('icebridge_bridge_datagrams_total', '{direction="out"}')!;
    assert.equal(outBefore, 2 * SESSIONS);

    process.kill(victimPid, 'SIGKILL');
    // Its clients lose their TCP connection: each reports a BridgeError (1006: nobody sent a close frame).
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
      assert.equal(s.closedWith.code, 'closed');
      assert.equal(s.closedWith.closeCode, 1006);
    }

    // The other worker's sessions go on.
    const live = sessions.filter((s) => !s.closedWith);
    await echoRound(live);

    // A replacement listens in slot 1 under a new pid; the counters of the dead one are kept.
    let after = await fetchBridgeMetrics(`http://${new URL(url).host}/metrics`);
    // Generous: a new worker process compiles and starts the bridge, seconds on a loaded machine.
    const deadline = Date.now() + 20_000;
    while ((after.workers().get('1')?.[0] ?? victimPid) === victimPid && Date.now() < deadline) {
      await sleep(100);
      after = await fetchBridgeMetrics(`http://${new URL(url).host}/metrics`);
    }
    const replacement = after.workers().get('1');
    assert.ok(replacement && replacement[0] !== victimPid, `slot 1 has a new worker: ${after.text}`);
    assert.equal(after.value('icebridge_bridge_worker_restarts_total'), 1);
    assert.equal(after.value('icebridge_bridge_datagrams_total', '{direction="out"}'), outBefore + live.length, 'counters kept across the restart');
    assert.equal(after.value('icebridge_bridge_sessions_total'), SESSIONS);
    assert.equal(after.value('icebridge_bridge_sessions_open'), live.length);

    // New sessions are served again by both workers.
    const fresh: BridgeConnection[] = [];
    for (let i = 0; i < 4; i++) fresh.push(await connectBridge(tokenUrl(url)));
    const spread = (await fetchBridgeMetrics(`http://${new URL(url).host}/metrics`)).workers();
    for (const c of fresh) c.close();
    assert.ok(spread.get('1')![1] > 0, 'the replacement takes sessions');
  });
});
