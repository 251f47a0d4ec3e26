// Interop over TCP candidates (RFC 6544) with libnice (Debian gir1.2-nice-0.1: GNOME's ICE library, through
// GObject introspection in support/nice_peer.py), an ICE-TCP implementation nobody here wrote: `icebridge
// peer --candidate-protocols tcp` and libnice with only TCP candidates join their pipes on 127.0.0.1, in both
// roles: both must get ready, icebridge on a TCP pair, and libnice's RFC 4571-framed data must arrive at
// icebridge (what libnice receives cannot be read through introspection; see nice_peer.py). NICE_TRACE=1
// shows libnice's own debug log in a failure's output.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const PYTHON = '/usr/bin/python3';
const NICE_PEER = fileURLToPath(new URL('./support/nice_peer.py', import.meta.url));
const INSTALL_HINT = 'libnice is required for the ICE-TCP interop test: apt-get install -y gir1.2-nice-0.1 python3-gi';
const PEER_TIMEOUT_MS = 20_000;
const KILL_AFTER_MS = PEER_TIMEOUT_MS + 15_000;

interface PeerResult {
  name: string;
  code: number | null;
  stdout: string;
  stderr: string;
  events: Record<string, unknown>[];
}

const children = new Set<ChildProcessWithoutNullStreams>();

function start(name: string, command: string, args: string[]): { child: ChildProcessWithoutNullStreams; result: Promise<PeerResult> } {
  const child = spawn(command, args, {
    cwd: ROOT,
    env: { ...process.env, ...(process.env.NICE_TRACE ? { G_MESSAGES_DEBUG: 'libnice', NICE_DEBUG: 'all' } : {}) },
  });
  children.add(child);
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (t: string) => (stdout += t));
  child.stderr.setEncoding('utf8').on('data', (t: string) => (stderr += t));
  child.stdin.on('error', () => {});
  const result = new Promise<PeerResult>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${name} still running after ${KILL_AFTER_MS} ms\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, KILL_AFTER_MS);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      children.delete(child);
      const events = stderr.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
      resolve({ name, code, stdout, stderr, events });
    });
  });
  return { child, result };
}

const icebridge = (args: string[]) =>
  start('icebridge peer', process.execPath, ['--import', 'tsx', 'src/cli.ts', 'peer', '--address', '127.0.0.1', '--candidate-protocols', 'tcp', '--timeout-ms', String(PEER_TIMEOUT_MS), ...args]);
const libnice = (args: string[]) => start('libnice peer', PYTHON, [NICE_PEER, '--address', '127.0.0.1', '--protocols', 'tcp', '--timeout-ms', String(PEER_TIMEOUT_MS), ...args]);

async function join(a: ReturnType<typeof start>, b: ReturnType<typeof start>): Promise<[PeerResult, PeerResult]> {
  a.child.stdout.pipe(b.child.stdin);
  b.child.stdout.pipe(a.child.stdin);
  return Promise.all([a.result, b.result]);
}

const show = (r: PeerResult) => `${r.name}: exit ${r.code}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr.slice(0, 3000)}`;

before(() => {
  const probe = spawnSync(PYTHON, ['-c', 'import gi; gi.require_version("Nice", "0.1"); from gi.repository import Nice'], { encoding: 'utf8', timeout: 15_000 });
  if (probe.error || probe.status !== 0) throw new Error(`cannot load libnice with ${PYTHON}: ${probe.error?.message ?? probe.stderr.trim()}. ${INSTALL_HINT}`);
});

after(() => {
  for (const child of children) child.kill('SIGKILL');
});

describe('ICE-TCP interop with libnice', () => {
  for (const icebridgeRole of ['controlling', 'controlled'] as const) {
    const niceRole = icebridgeRole === 'controlling' ? 'controlled' : 'controlling';
    it(`icebridge ${icebridgeRole}, libnice ${niceRole} (TCP candidates only): both ready, icebridge on a TCP pair, libnice's data arrives`, { timeout: 45_000 }, async () => {
      const ib = icebridge(['--role', icebridgeRole, '--echo']);
      const ni = libnice(['--role', niceRole, '--send', 'hello from libnice', '--linger-ms', '2000']);
      const [a, b] = await join(ib, ni);
      const context = `${show(a)}\n${show(b)}`;
      assert.equal(b.code, 0, context);
      assert.equal(a.code, 0, context);
      // libnice's candidates in its own spelling (TCP upper case), passive with a port, active with 9.
      assert.ok(b.stdout.split('\n').some((l) => /^a=candidate:\S+ 1 TCP \d+ 127\.0\.0\.1 \d+ typ host tcptype passive/.test(l)), context);
      const selected = a.events.filter((e) => e.event === 'selected').at(-1) as { local: { protocol: string; tcpType: string } } | undefined;
      assert.equal(selected?.local.protocol, 'tcp', context);
      assert.ok(b.events.some((e) => e.event === 'state' && e.state === 'ready'), context);
      // RFC 4571-framed data from libnice, read by icebridge.
      assert.ok(a.events.some((e) => e.event === 'data' && e.text === 'hello from libnice'), `icebridge never got libnice's data\n${context}`);
    });
  }
});
