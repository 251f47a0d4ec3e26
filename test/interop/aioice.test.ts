// Interop with aioice (Debian python3-aioice), an ICE agent nobody here wrote: `icebridge peer` and
// support/aioice_peer.py speak the same line protocol (RFC 8839 attribute lines on stdout/stdin), so their
// pipes are joined and they must connect and carry data, in both roles. Both gather on loopback only.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { startTurnServer, type RunningTurnServer } from '../../src/node/turn-server.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const PYTHON = '/usr/bin/python3';
const AIOICE_PEER = fileURLToPath(new URL('./support/aioice_peer.py', import.meta.url));
const INSTALL_HINT = 'aioice is required for the interop tests: install it with `apt-get install -y python3-aioice`';
/** Each peer's own bound (--timeout-ms); the harness kills a process that outlives it by far. */
const PEER_TIMEOUT_MS = 20_000;
const KILL_AFTER_MS = PEER_TIMEOUT_MS + 15_000;

interface PeerResult {
  name: string;
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  events: Record<string, unknown>[];
}

const children = new Set<ChildProcessWithoutNullStreams>();

function start(name: string, command: string, args: string[]): { child: ChildProcessWithoutNullStreams; result: Promise<PeerResult> } {
  const child = spawn(command, args, { cwd: ROOT });
  children.add(child);
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (t: string) => (stdout += t));
  child.stderr.setEncoding('utf8').on('data', (t: string) => (stderr += t));
  child.stdin.on('error', () => {}); // the peer may exit before reading everything
  const result = new Promise<PeerResult>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${name} still running after ${KILL_AFTER_MS} ms\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, KILL_AFTER_MS);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      children.delete(child);
      const events = stderr
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      resolve({ name, code, signal, stdout, stderr, events });
    });
  });
  return { child, result };
}

function icebridgePeer(args: string[]) {
  return start('icebridge peer', process.execPath, ['--import', 'tsx', 'src/cli.ts', 'peer', '--timeout-ms', String(PEER_TIMEOUT_MS), ...args]);
}

function aioicePeer(args: string[]) {
  return start('aioice peer', PYTHON, [AIOICE_PEER, '--timeout-ms', String(PEER_TIMEOUT_MS), ...args]);
}

async function join(a: ReturnType<typeof start>, b: ReturnType<typeof start>): Promise<[PeerResult, PeerResult]> {
  a.child.stdout.pipe(b.child.stdin);
  b.child.stdout.pipe(a.child.stdin);
  return Promise.all([a.result, b.result]);
}

function show(r: PeerResult): string {
  return `${r.name}: exit ${r.code} ${r.signal ?? ''}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`;
}

function both(a: PeerResult, b: PeerResult): string {
  return `${show(a)}\n${show(b)}`;
}

type Selected = { local: { type: string; address: string; port: number }; remote: { type: string; address: string; port: number } };

function selected(r: PeerResult, context: string): Selected {
  const s = r.events.filter((e) => e.event === 'selected').at(-1);
  assert.ok(s, `${r.name} selected no pair\n${context}`);
  return s as unknown as Selected;
}

/** Connected, the same pair seen from both ends, and `text` went from `sender` to the echoer and back. */
function checkExchange(ib: PeerResult, py: PeerResult, sender: PeerResult, text: string): void {
  const context = both(ib, py);
  assert.equal(ib.code, 0, context);
  assert.equal(py.code, 0, context);
  const a = selected(ib, context);
  const b = selected(py, context);
  assert.deepEqual([a.local.address, a.local.port], [b.remote.address, b.remote.port], context);
  assert.deepEqual([a.remote.address, a.remote.port], [b.local.address, b.local.port], context);
  const echoer = sender === ib ? py : ib;
  assert.ok(echoer.events.some((e) => e.event === 'data' && e.text === text), `the echoer never got the data\n${context}`);
  assert.ok(sender.events.some((e) => e.event === 'echoed' && e.text === text), `the echo never came back\n${context}`);
}

before(() => {
  const probe = spawnSync(PYTHON, ['-c', 'import aioice; print(aioice.__version__)'], { encoding: 'utf8', timeout: 15_000 });
  if (probe.error || probe.status !== 0) {
    throw new Error(`cannot import aioice with ${PYTHON}: ${probe.error?.message ?? probe.stderr.trim()}. ${INSTALL_HINT}`);
  }
});

after(() => {
  for (const child of children) child.kill('SIGKILL');
});

describe('interop with aioice', () => {
  it('icebridge controlling sends, aioice controlled echoes (127.0.0.1)', async () => {
    const ib = icebridgePeer(['--role', 'controlling', '--send', 'hello aioice', '--address', '127.0.0.1']);
    const py = aioicePeer(['--role', 'controlled', '--echo']);
    const [a, b] = await join(ib, py);
    checkExchange(a, b, a, 'hello aioice');
    assert.equal(selected(a, both(a, b)).local.address, '127.0.0.1');
  });

  it('aioice controlling sends, icebridge controlled echoes (127.0.0.1)', async () => {
    const ib = icebridgePeer(['--role', 'controlled', '--echo', '--address', '127.0.0.1']);
    const py = aioicePeer(['--role', 'controlling', '--send', 'hello icebridge']);
    const [a, b] = await join(ib, py);
    checkExchange(a, b, b, 'hello icebridge');
  });

  it('icebridge controlled sends, aioice controlling echoes (127.0.0.1)', async () => {
    const ib = icebridgePeer(['--role', 'controlled', '--send', 'from the controlled side', '--address', '127.0.0.1']);
    const py = aioicePeer(['--role', 'controlling', '--echo']);
    const [a, b] = await join(ib, py);
    checkExchange(a, b, a, 'from the controlled side');
  });

  it('aioice controlled sends, icebridge controlling echoes (127.0.0.1)', async () => {
    const ib = icebridgePeer(['--role', 'controlling', '--echo', '--address', '127.0.0.1']);
    const py = aioicePeer(['--role', 'controlled', '--send', 'from aioice, controlled']);
    const [a, b] = await join(ib, py);
    checkExchange(a, b, b, 'from aioice, controlled');
  });

  it('over IPv6 loopback (::1)', async () => {
    const ib = icebridgePeer(['--role', 'controlling', '--send', 'v6', '--address', '::1']);
    const py = aioicePeer(['--role', 'controlled', '--echo', '--address', '::1']);
    const [a, b] = await join(ib, py);
    checkExchange(a, b, a, 'v6');
    assert.equal(selected(a, both(a, b)).local.address, '::1');
  });

  it('icebridge as an ICE-lite agent (a=ice-lite) with aioice controlling', async () => {
    const ib = icebridgePeer(['--lite', '--echo', '--address', '127.0.0.1']);
    const py = aioicePeer(['--role', 'controlling', '--send', 'to a lite agent']);
    const [a, b] = await join(ib, py);
    checkExchange(a, b, b, 'to a lite agent');
    assert.ok(a.stdout.split('\n').includes('a=ice-lite'), show(a));
  });

  it('both claim the same role: the conflict is resolved (RFC 8445 §7.3.1.1) and data flows', async () => {
    for (const role of ['controlling', 'controlled']) {
      const ib = icebridgePeer(['--role', role, '--echo', '--address', '127.0.0.1']);
      const py = aioicePeer(['--role', role, '--send', `both ${role}`]);
      const [a, b] = await join(ib, py);
      checkExchange(a, b, b, `both ${role}`);
    }
  });

  describe('icebridge relayed through its own TURN server', () => {
    let turn: RunningTurnServer;

    before(async () => {
      turn = await startTurnServer({ port: 0, hosts: ['127.0.0.1'], relayAddress: '127.0.0.1', users: { u: 'p' }, realm: 'r', allowLoopback: true });
    });

    after(async () => {
      await turn?.close();
    });

    it('icebridge --policy relay controlling ↔ aioice host candidate: a relay-to-host pair carries the data', async () => {
      const port = turn.addresses[0].port;
      const ib = icebridgePeer([
        '--role', 'controlling', '--send', 'relayed', '--policy', 'relay',
        '--ice-server', `turn:127.0.0.1:${port}`, '--username', 'u', '--credential', 'p', '--address', '127.0.0.1',
      ]);
      const py = aioicePeer(['--role', 'controlled', '--echo']);
      const [a, b] = await join(ib, py);
      checkExchange(a, b, a, 'relayed');
      const s = selected(a, both(a, b));
      assert.equal(s.local.type, 'relay', both(a, b));
      assert.equal(s.remote.type, 'host', both(a, b));
    });
  });
});
