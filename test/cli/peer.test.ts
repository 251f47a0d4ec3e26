// `icebridge peer` as a user runs it: two processes whose stdout and stdin are piped to each other connect
// over 127.0.0.1 — directly, or both through icebridge's own TURN server — and a malformed line from the
// peer is a JSON error and exit 1, not a crash. Every gathering is restricted to loopback (--address).
import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { IceAgent, IceAgentEventObject } from '../../src/ice/ice-agent.js';
import { createIceAgent, listHostAddresses, selectHostAddresses } from '../../src/node/ice-agent.js';
import { startTurnServer, type RunningTurnServer } from '../../src/node/turn-server.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const HOST = '127.0.0.1';
/** Each run's own bound, passed as --timeout-ms; the harness kills a process that outlives it by far. */
const PEER_TIMEOUT_MS = 20_000;
/** Generous: the CLI compiles TypeScript at start on a possibly busy machine. */
const KILL_AFTER_MS = PEER_TIMEOUT_MS + 15_000;

interface PeerResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** stderr's JSON lines. */
  events: Record<string, unknown>[];
}

const children = new Set<ChildProcessWithoutNullStreams>();

function startPeer(args: string[]): { child: ChildProcessWithoutNullStreams; result: Promise<PeerResult> } {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'peer', '--timeout-ms', String(PEER_TIMEOUT_MS), ...args], { cwd: ROOT });
  children.add(child);
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (t: string) => (stdout += t));
  child.stderr.setEncoding('utf8').on('data', (t: string) => (stderr += t));
  // The peer may exit before everything written to it is read.
  child.stdin.on('error', () => {});
  const result = new Promise<PeerResult>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`icebridge peer ${args.join(' ')} still running after ${KILL_AFTER_MS} ms\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, KILL_AFTER_MS);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      children.delete(child);
      resolve({ code, signal, stdout, stderr, events: jsonLines(stderr) });
    });
  });
  return { child, result };
}

function jsonLines(text: string): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith('{')) continue;
    out.push(JSON.parse(line) as Record<string, unknown>);
  }
  return out;
}

/** Two peers, each one's stdout piped to the other's stdin. */
async function runPair(a: string[], b: string[]): Promise<[PeerResult, PeerResult]> {
  const pa = startPeer(a);
  const pb = startPeer(b);
  pa.child.stdout.pipe(pb.child.stdin);
  pb.child.stdout.pipe(pa.child.stdin);
  return Promise.all([pa.result, pb.result]);
}

function describeRun(r: PeerResult): string {
  return `exit ${r.code} ${r.signal ?? ''}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`;
}

function selected(r: PeerResult): { local: { type: string; address: string }; remote: { type: string; address: string }; rttMs: number | null } {
  const events = r.events.filter((e) => e.event === 'selected');
  assert.ok(events.length > 0, `no selected event\n${describeRun(r)}`);
  return events[events.length - 1] as unknown as ReturnType<typeof selected>;
}

/** The local description a peer wrote: RFC 8839 lines in order, candidates only on 127.0.0.1. */
function checkDescription(r: PeerResult, candidateType: string): void {
  const lines = r.stdout.split('\n').filter((l) => l !== '');
  assert.match(lines[0], /^a=ice-ufrag:\S{4,256}$/);
  assert.match(lines[1], /^a=ice-pwd:\S{22,256}$/);
  assert.equal(lines[2], 'a=ice-options:trickle renomination');
  const candidates = lines.filter((l) => l.startsWith('a=candidate:'));
  assert.ok(candidates.length > 0, describeRun(r));
  for (const c of candidates) {
    assert.match(c, new RegExp(` udp \\d+ ${HOST.replace(/\./g, '\\.')} \\d+ typ ${candidateType}`), c);
  }
  assert.equal(lines.indexOf('a=end-of-candidates'), lines.length - 1, describeRun(r));
}

after(() => {
  for (const child of children) child.kill('SIGKILL');
});

describe('icebridge peer: two processes piped together', () => {
  it('--candidate-protocols tcp: RFC 6544 active and passive candidates only; connects over TCP and echoes', async () => {
    const [a, b] = await runPair(
      ['--role', 'controlling', '--send', 'over tcp', '--address', HOST, '--candidate-protocols', 'tcp'],
      ['--role', 'controlled', '--echo', '--address', HOST, '--candidate-protocols', 'tcp'],
    );
    assert.equal(a.code, 0, describeRun(a));
    // When `a` is done it closes its connections, and b sees its TCP pairs fail (unlike UDP, TCP says so):
    // b may report that before its stdin ends, after it has echoed.
    const echoedAt = b.events.findIndex((e) => e.event === 'data' && e.text === 'over tcp');
    assert.ok(echoedAt >= 0, describeRun(b));
    assert.ok(b.code === 0 || b.events.findIndex((e) => e.event === 'error') > echoedAt, describeRun(b));
    for (const r of [a, b]) {
      const candidates = r.stdout.split('\n').filter((l) => l.startsWith('a=candidate:'));
      assert.deepEqual(candidates.map((c) => / tcptype (\w+)/.exec(c)?.[1]).sort(), ['active', 'passive'], describeRun(r));
      assert.ok(candidates.every((c) => / tcp \d+ /.test(c)), describeRun(r));
      assert.equal((selected(r).local as { protocol?: string }).protocol, 'tcp', describeRun(r));
    }
    assert.ok(a.events.some((e) => e.event === 'echoed' && e.text === 'over tcp'), describeRun(a));
  });

  it('--gather-policy continual: candidates trickled with no end-of-candidates; connects and echoes', async () => {
    const [a, b] = await runPair(
      ['--role', 'controlling', '--send', 'continual', '--address', HOST, '--gather-policy', 'continual', '--network-poll-interval-ms', '100'],
      ['--role', 'controlled', '--echo', '--address', HOST, '--gather-policy', 'continual'],
    );
    assert.equal(a.code, 0, describeRun(a));
    assert.equal(b.code, 0, describeRun(b));
    for (const r of [a, b]) {
      const lines = r.stdout.split('\n');
      assert.ok(lines.some((l) => l.startsWith('a=candidate:') && l.includes(` ${HOST} `)), describeRun(r));
      assert.ok(!lines.includes('a=end-of-candidates'), `continual gathering never ends: ${describeRun(r)}`);
      assert.ok(!r.events.some((e) => e.event === 'gathering' && e.state === 'complete'), describeRun(r));
    }
    assert.ok(a.events.some((e) => e.event === 'echoed' && e.text === 'continual'), describeRun(a));
  });

  it('--candidate-protocols names udp and/or tcp (exit 2 otherwise)', async () => {
    const { result } = startPeer(['--role', 'controlling', '--candidate-protocols', 'sctp']);
    const r = await result;
    assert.equal(r.code, 2, describeRun(r));
    assert.match(r.stderr, /--candidate-protocols must be udp, tcp or udp,tcp, got "sctp"/);
  });

  it('connects on loopback; the controlling side sends, the controlled side echoes', async () => {
    const [a, b] = await runPair(
      ['--role', 'controlling', '--send', 'hello', '--address', HOST],
      ['--role', 'controlled', '--echo', '--address', HOST],
    );
    assert.equal(a.code, 0, describeRun(a));
    assert.equal(b.code, 0, describeRun(b));
    for (const r of [a, b]) {
      checkDescription(r, 'host');
      const s = selected(r);
      assert.equal(s.local.type, 'host');
      assert.equal(s.local.address, HOST);
      assert.equal(s.remote.address, HOST);
      assert.ok(r.events.some((e) => e.event === 'gathering' && e.state === 'complete'), describeRun(r));
      assert.ok(r.events.some((e) => e.event === 'state' && (e.state === 'connected' || e.state === 'completed')), describeRun(r));
      assert.ok(!r.events.some((e) => e.event === 'error'), describeRun(r));
    }
    assert.ok(a.events.some((e) => e.event === 'echoed' && e.text === 'hello'), describeRun(a));
    assert.ok(b.events.some((e) => e.event === 'data' && e.text === 'hello'), describeRun(b));
    // Each side's selected pair is the other's, mirrored.
    assert.equal(selected(a).local.address, selected(b).remote.address);
  });

  it('roles the other way round: the controlled side sends, the controlling side echoes', async () => {
    const [a, b] = await runPair(
      ['--role', 'controlling', '--echo', '--address', HOST],
      ['--role', 'controlled', '--send', 'hi there', '--address', HOST],
    );
    assert.equal(a.code, 0, describeRun(a));
    assert.equal(b.code, 0, describeRun(b));
    assert.ok(b.events.some((e) => e.event === 'echoed' && e.text === 'hi there'), describeRun(b));
  });

  it('both --lite (RFC 8445 §8.2): over real UDP each takes the only pair, and the text is echoed', async () => {
    const [a, b] = await runPair(['--lite', '--role', 'controlled', '--send', 'lite to lite', '--address', HOST], ['--lite', '--role', 'controlled', '--echo', '--address', HOST]);
    assert.equal(a.code, 0, describeRun(a));
    assert.equal(b.code, 0, describeRun(b));
    assert.ok(a.events.some((e) => e.event === 'echoed' && e.text === 'lite to lite'), describeRun(a));
    for (const r of [a, b]) assert.ok(r.stdout.includes('a=ice-lite'), `each says it is lite\n${describeRun(r)}`);
    assert.deepEqual([selected(a).local.address, selected(a).remote.address], [HOST, HOST]);
  });

  describe('through icebridge TURN server', () => {
    let turn: RunningTurnServer;

    before(async () => {
      turn = await startTurnServer({ port: 0, hosts: [HOST], relayAddress: HOST, users: { u: 'p' }, realm: 'r', allowLoopback: true });
    });

    after(async () => {
      await turn?.close();
    });

    it('--policy relay: both sides select a relay-to-relay pair and data flows through the relay', async () => {
      const port = turn.addresses[0].port;
      const relay = ['--policy', 'relay', '--ice-server', `turn:${HOST}:${port}`, '--username', 'u', '--credential', 'p', '--address', HOST];
      const [a, b] = await runPair(['--role', 'controlling', '--send', 'via relay', ...relay], ['--role', 'controlled', '--echo', ...relay]);
      assert.equal(a.code, 0, describeRun(a));
      assert.equal(b.code, 0, describeRun(b));
      for (const r of [a, b]) {
        checkDescription(r, 'relay');
        const s = selected(r);
        assert.equal(s.local.type, 'relay', describeRun(r));
        assert.equal(s.remote.type, 'relay', describeRun(r));
      }
      assert.ok(a.events.some((e) => e.event === 'echoed' && e.text === 'via relay'), describeRun(a));
    });
  });
});

describe('icebridge peer: bad input', () => {
  /** One peer fed `lines` (then stdin held open, so only the error can end it early). */
  async function feed(lines: string[]): Promise<PeerResult> {
    const p = startPeer(['--role', 'controlled', '--address', HOST]);
    p.child.stdin.write(lines.map((l) => `${l}\n`).join(''));
    const r = await p.result;
    p.child.stdin.destroy();
    return r;
  }

  const params = ['a=ice-ufrag:abcd', 'a=ice-pwd:0123456789abcdefghijkl'];

  it('a malformed candidate line: an error JSON line naming it, exit 1', async () => {
    const r = await feed([...params, 'a=candidate:1 1 udp notanumber 127.0.0.1 9 typ host']);
    assert.equal(r.code, 1, describeRun(r));
    const error = r.events.find((e) => e.event === 'error');
    assert.ok(error, describeRun(r));
    assert.equal(error.code, 'SDP_CANDIDATE');
    assert.match(String(error.message), /line 3/);
    assert.match(String(error.message), /PRIORITY/);
    assert.doesNotMatch(r.stderr, /at .*\.ts:\d+/, 'no stack trace');
  });

  it('a line that is not an attribute, a bad ice-pwd, a candidate before the credentials: exit 1 each', async () => {
    for (const [lines, code] of [
      [['this is not SDP'], 'SIGNALLING'],
      [['a=ice-ufrag:abcd', 'a=ice-pwd:short'], 'SDP_PWD'],
      [['a=candidate:1 1 udp 1 127.0.0.1 9 typ host'], 'SIGNALLING'],
    ] as const) {
      const r = await feed([...lines, 'a=end-of-candidates']);
      assert.equal(r.code, 1, describeRun(r));
      assert.equal(r.events.find((e) => e.event === 'error')?.code, code, describeRun(r));
    }
  });

  it('stdin ending without a description: exit 1 with an error', async () => {
    const p = startPeer(['--role', 'controlling', '--address', HOST]);
    p.child.stdin.end();
    const r = await p.result;
    assert.equal(r.code, 1, describeRun(r));
    assert.equal(r.events.find((e) => e.event === 'error')?.code, 'SIGNALLING', describeRun(r));
  });

  it('a peer that never answers: exit 1 at --timeout-ms with a TIMEOUT error', async () => {
    // Port 9 (discard) on loopback: the checks go nowhere.
    const p = startPeer(['--role', 'controlling', '--address', HOST, '--timeout-ms', '2000']);
    p.child.stdin.write([...params, `a=candidate:1 1 udp 2130706431 ${HOST} 9 typ host`, ''].join('\n'));
    const r = await p.result;
    p.child.stdin.destroy();
    assert.equal(r.code, 1, describeRun(r));
    assert.equal(r.events.find((e) => e.event === 'error')?.code, 'TIMEOUT', describeRun(r));
  });

  it('the peer stops reading (EPIPE on stdout): exit 1 with an error, no crash', async () => {
    const p = startPeer(['--role', 'controlling', '--address', HOST]);
    p.child.stdout.destroy();
    const r = await p.result;
    p.child.stdin.destroy();
    assert.equal(r.code, 1, describeRun(r));
    assert.equal(r.events.find((e) => e.event === 'error')?.code, 'SIGNALLING', describeRun(r));
    assert.doesNotMatch(r.stderr, /Unhandled|at .*\.ts:\d+/, describeRun(r));
  });

  it('usage errors exit 2', async () => {
    for (const args of [
      ['--role', 'sideways'],
      ['--policy', 'relay', '--role', 'controlled'],
      ['--role', 'controlling', '--address', '192.0.2.250'],
      ['--role', 'controlling', '--nonsense'],
      ['--role', 'controlling', '--gather-policy', 'sometimes'],
      ['--role', 'controlling', '--network-poll-interval-ms', '100'],
    ]) {
      const p = startPeer(args);
      p.child.stdin.end();
      const r = await p.result;
      assert.equal(r.code, 2, `${args.join(' ')}: ${describeRun(r)}`);
      // One line naming the option (not the whole usage text), and where to read the rest.
      assert.match(r.stderr, /^icebridge peer: .*(--role|--policy|--address|--nonsense|--gather-policy|--network-poll-interval-ms)/m, describeRun(r));
      assert.match(r.stderr, /Run `icebridge help peer`/);
    }
  });
});

describe('createIceAgent (in process, loopback only)', () => {
  const udpHandles = (): number => process.getActiveResourcesInfo().filter((r) => r === 'UDPWrap').length;

  /**
   * node:dgram releases a closed socket's handle a few event-loop turns later, and IceAgent does not expose
   * its sockets to wait on: so look at the handle count until it is back to `count`, at most `ms`.
   */
  async function udpHandlesSettleAt(count: number, ms = 2_000): Promise<number> {
    const deadline = performance.now() + ms;
    while (udpHandles() !== count && performance.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    return udpHandles();
  }

  /** Resolves when `agent` reaches one of `states`; rejects after `ms`. */
  function until(agent: IceAgent, states: string[], ms: number): Promise<void> {
    return new Promise((resolve, reject) => {
      if (states.includes(agent.state)) return resolve();
      const timer = setTimeout(() => reject(new Error(`state ${agent.state} after ${ms} ms, wanted ${states.join('/')}`)), ms);
      agent.addEventListener('statechange', () => {
        if (!states.includes(agent.state)) return;
        clearTimeout(timer);
        resolve();
      });
    });
  }

  it('lists interface addresses without IPv6 link-local ones unless asked; loopback only when a filter takes it', () => {
    const all = listHostAddresses();
    assert.ok(all.some((a) => a.address === HOST && a.loopback));
    assert.ok(!all.some((a) => a.address.startsWith('fe80')));
    assert.ok(!selectHostAddresses().some((a) => a.loopback));
    assert.deepEqual(selectHostAddresses({ addressFilter: (a) => a === HOST }).map((a) => a.address), [HOST]);
    assert.deepEqual(selectHostAddresses({ addresses: ['::1'] }).map((a) => a.address), ['::1']);
    assert.throws(() => selectHostAddresses({ addresses: ['not-an-ip'] }), TypeError);
  });

  it('two agents filtered to 127.0.0.1 connect and exchange data; close() leaves no UDP socket open', async () => {
    // Sockets of earlier tests in this process may still be closing; nothing else here holds UDP sockets.
    const before = await udpHandlesSettleAt(0);
    const a = createIceAgent({ role: 'controlling', addressFilter: (x) => x === HOST, nominationDelayMs: 0 });
    const b = createIceAgent({ role: 'controlled', addressFilter: (x) => x === HOST });
    try {
      for (const [from, to] of [[a, b], [b, a]] as const) {
        from.addEventListener('icecandidate', (e) => to.addRemoteCandidate((e as IceAgentEventObject).candidate ?? null));
      }
      a.setRemoteParameters(b.localParameters);
      b.setRemoteParameters(a.localParameters);
      const got = new Promise<string>((resolve) => b.addEventListener('data', (e) => resolve(new TextDecoder().decode((e as IceAgentEventObject).data))));
      await Promise.all([a.gather(), b.gather()]);
      for (const agent of [a, b]) {
        assert.deepEqual(agent.localCandidates.map((c) => `${c.type} ${c.address}`), [`host ${HOST}`]);
      }
      await Promise.all([until(a, ['connected', 'completed'], 10_000), until(b, ['connected', 'completed'], 10_000)]);
      assert.equal(udpHandles(), before + 2);
      a.send('over real UDP');
      assert.equal(await got, 'over real UDP');
    } finally {
      a.close();
      b.close();
    }
    assert.equal(await udpHandlesSettleAt(before), before);
  });

  it('close() while the host sockets are still being bound closes them when they arrive', async () => {
    // Sockets of earlier tests in this process may still be closing; nothing else here holds UDP sockets.
    const before = await udpHandlesSettleAt(0);
    const agent = createIceAgent({ addresses: [HOST] });
    const gathering = agent.gather();
    agent.close();
    await gathering;
    assert.equal(await udpHandlesSettleAt(before), before);
  });
});
