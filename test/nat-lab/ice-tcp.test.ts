// ICE-TCP where UDP is blocked end to end (issue 15): two `icebridge peer --candidate-protocols udp,tcp` in
// network namespaces this test creates, on one segment, with iptables in one of them dropping every UDP
// datagram both ways. The UDP pairs fail, the TCP pairs (RFC 6544 active → passive) connect and carry the
// echo. Then the same without the block: the UDP pair wins. Root only, like the rest of the lab (run by
// `npm run test:nat-lab`); run alone without root, it fails with why.
import assert from 'node:assert/strict';
import { execFileSync, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { buildLabCli } from './lab-processes.js';
import { MdnsSegment, segmentUnavailable } from './mdns-segment.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CLI = fileURLToPath(new URL('../../test-artifacts/nat-lab-build/cli.js', import.meta.url));

interface Run {
  stdout: string[];
  events: Record<string, unknown>[];
  exited: Promise<number | null>;
}

function watch(child: ChildProcess): Run {
  const run: Run = { stdout: [], events: [], exited: new Promise((resolve) => child.once('close', (code) => resolve(code))) };
  createInterface({ input: child.stdout! }).on('line', (l) => run.stdout.push(l));
  createInterface({ input: child.stderr! }).on('line', (l) => {
    try {
      run.events.push(JSON.parse(l) as Record<string, unknown>);
    } catch {
      run.events.push({ event: 'raw', line: l });
    }
  });
  return run;
}

function iptables(ns: string, ...args: string[]): void {
  execFileSync('ip', ['netns', 'exec', ns, 'iptables', ...args], { stdio: 'pipe', timeout: 15_000 });
}

describe('ICE-TCP in network namespaces', () => {
  let segment: MdnsSegment;
  before(async () => {
    const why = segmentUnavailable();
    assert.equal(why, undefined, why);
    await buildLabCli();
    segment = new MdnsSegment(2, `it${process.pid % 100_000}`);
  });
  after(() => segment?.destroy());

  async function runPair(): Promise<{ a: Run; b: Run; selectedA: { local: { protocol: string; tcpType: string | null } } }> {
    const [pa, pb] = segment.peers;
    const peer = (p: { ns: string; address: string }, extra: string[]) =>
      segment.spawnIn(p.ns, [process.execPath, CLI, 'peer', '--address', p.address, '--candidate-protocols', 'udp,tcp', '--mdns-host-candidates', 'off', '--timeout-ms', '20000', ...extra], ROOT);
    const a = peer(pa, ['--role', 'controlling', '--send', 'through tcp']);
    const b = peer(pb, ['--role', 'controlled', '--echo']);
    for (const c of [a, b]) c.stdin!.on('error', () => {});
    a.stdout!.pipe(b.stdin!);
    b.stdout!.pipe(a.stdin!);
    const ra = watch(a);
    const rb = watch(b);
    const codeA = await ra.exited;
    await rb.exited;
    const dump = JSON.stringify({ a: ra.events, b: rb.events }).slice(0, 4000);
    assert.equal(codeA, 0, dump);
    assert.ok(ra.events.some((e) => e.event === 'echoed' && e.text === 'through tcp'), dump);
    const selectedA = [...ra.events].reverse().find((e) => e.event === 'selected') as { local: { protocol: string; tcpType: string | null } };
    return { a: ra, b: rb, selectedA };
  }

  it('with UDP dropped both ways in one namespace, the peers connect over a TCP pair and echo', { timeout: 60_000 }, async () => {
    const ns = segment.peers[1].ns;
    iptables(ns, '-A', 'INPUT', '-p', 'udp', '-j', 'DROP');
    iptables(ns, '-A', 'OUTPUT', '-p', 'udp', '-j', 'DROP');
    try {
      const { selectedA, a } = await runPair();
      assert.equal(selectedA.local.protocol, 'tcp', JSON.stringify(a.events).slice(0, 3000));
      assert.ok(a.stdout.some((l) => / tcp \d+ 10\.77\.0\.\d+ \d+ typ host tcptype passive/.test(l)), a.stdout.join(' | '));
    } finally {
      iptables(ns, '-F', 'INPUT');
      iptables(ns, '-F', 'OUTPUT');
    }
  });

  it('without the block the UDP pair wins', { timeout: 60_000 }, async () => {
    const { selectedA } = await runPair();
    assert.equal(selectedA.local.protocol, 'udp');
  });
});
