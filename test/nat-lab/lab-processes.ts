// The programs the lab runs inside its namespaces — `icebridge serve` in RFC 5780 mode, `icebridge nat-type`,
// pairs of `icebridge peer` with their signalling piped crosswise — and what they report. Every child is
// tracked and killed by killLabChildren() (also on exit): a process keeps a deleted namespace alive.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { build } from 'esbuild';
import type { NatBehaviorResult } from '../../src/nat/index.js';
import { SERVER_A1, SERVER_A2, type LabNat } from './topology.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const STUN_PORT = 3478;
export const ALT_PORT = 3479;
export const TURN_USER = 'lab';
export const TURN_PASSWORD = 'lab-password';

/**
 * The lab's own bundle of the CLI (what scripts/build.mjs makes of src/cli.ts), kept apart from dist/ so a
 * lab run never rewrites files others use; inside the repository so its packages resolve from node_modules.
 * tsx would compile the CLI afresh in every process: seconds each.
 */
const CLI = fileURLToPath(new URL('../../test-artifacts/nat-lab-build/cli.js', import.meta.url));
let built: Promise<void> | undefined;

export function buildLabCli(): Promise<void> {
  built ??= build({
    entryPoints: [fileURLToPath(new URL('../../src/cli.ts', import.meta.url))],
    outfile: CLI,
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'es2022',
    packages: 'external',
    logLevel: 'warning',
  }).then(() => undefined);
  return built;
}

const children = new Set<ChildProcess>();
process.once('exit', () => killLabChildren());

export function killLabChildren(): void {
  for (const child of children) child.kill('SIGKILL');
  children.clear();
}

/** `icebridge <args>` inside namespace `ns`, from the lab's bundle (buildLabCli first). */
function icebridgeIn(ns: string, args: string[]): ChildProcess {
  const child = spawn('ip', ['netns', 'exec', ns, process.execPath, CLI, ...args], { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

function collect(child: ChildProcess): { stdout: () => string; stderr: () => string; exited: Promise<number | null> } {
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (t: string) => (stdout += t));
  child.stderr!.setEncoding('utf8').on('data', (t: string) => (stderr += t));
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  return { stdout: () => stdout, stderr: () => stderr, exited };
}

export interface LabServer {
  stop(): Promise<void>;
  output(): string;
}

/** icebridge's STUN/TURN server on both public addresses × both ports. */
export async function startLabServer(publicNs: string, timeoutMs = 30_000): Promise<LabServer> {
  const child = icebridgeIn(publicNs, [
    'serve',
    '--host', SERVER_A1,
    '--alt-address', SERVER_A2,
    '--stun-port', String(STUN_PORT),
    '--alt-port', String(ALT_PORT),
    '--port', '0',
    '--user', `${TURN_USER}:${TURN_PASSWORD}`,
    '--no-bridge', '--no-pages', '--no-signal',
  ]);
  const out = collect(child);
  const deadline = Date.now() + timeoutMs;
  while (!/RFC 5780 NAT behaviour discovery/.test(out.stdout())) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`icebridge serve did not start in the lab:\n${out.stdout()}\n${out.stderr()}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    output: () => out.stdout() + out.stderr(),
    stop: async () => {
      child.kill('SIGINT');
      const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
      await out.exited;
      clearTimeout(timer);
    },
  };
}

/** `icebridge nat-type --json` from the host behind `nat`. */
export async function labNatType(nat: LabNat, timeoutMs = 1000): Promise<{ result?: NatBehaviorResult; error?: string; ms: number }> {
  const t0 = performance.now();
  const child = icebridgeIn(nat.hostNs, ['nat-type', '--server', `stun:${SERVER_A1}:${STUN_PORT}`, '--json', '--timeout-ms', String(timeoutMs)]);
  child.stdin!.end();
  const out = collect(child);
  const kill = setTimeout(() => child.kill('SIGKILL'), 30_000);
  const code = await out.exited;
  clearTimeout(kill);
  const ms = performance.now() - t0;
  try {
    const parsed = JSON.parse(out.stdout()) as NatBehaviorResult & { error?: { message: string } };
    if (code === 0 && !parsed.error) return { result: parsed, ms };
    return { error: parsed.error?.message ?? `exit ${code}: ${out.stderr()}`, ms };
  } catch {
    return { error: `exit ${code}: ${out.stdout()} ${out.stderr()}`, ms };
  }
}

export interface PairResult {
  connected: boolean;
  /** 'direct' when neither end of the selected pair is a relayed candidate. */
  path: 'direct' | 'relay' | '-';
  localType?: string;
  remoteType?: string;
  /** From both agents running (their first signalling line) to the controlling agent's 'connected'. */
  connectMs?: number;
  /** Round trip of the echoed text over the selected pair. */
  echoRttMs?: number;
  error?: string;
}

interface PeerEvent {
  event: string;
  state?: string;
  local?: { type?: string };
  remote?: { type?: string };
  rttMs?: number;
  code?: string;
  message?: string;
}

/** `icebridge peer` behind `left` (controlling, sends "ping") and behind `right` (controlled, echoes), signalling piped crosswise. */
export async function runPeerPair(left: LabNat, right: LabNat, timeoutMs = 20_000): Promise<PairResult> {
  const servers = ['--ice-server', `stun:${SERVER_A1}:${STUN_PORT}`, '--ice-server', `turn:${SERVER_A1}:${STUN_PORT}?transport=udp`, '--username', TURN_USER, '--credential', TURN_PASSWORD];
  const a = icebridgeIn(left.hostNs, ['peer', '--role', 'controlling', ...servers, '--send', 'ping', '--timeout-ms', String(timeoutMs)]);
  const b = icebridgeIn(right.hostNs, ['peer', '--role', 'controlled', ...servers, '--echo', '--timeout-ms', String(timeoutMs)]);
  // Signalling: each one's stdout is the other's stdin. A peer that exits closes the other's input.
  for (const child of [a, b]) child.stdin!.on('error', () => {});
  a.stdout!.pipe(b.stdin!);
  b.stdout!.pipe(a.stdin!);
  let started = { a: 0, b: 0 };
  a.stdout!.once('data', () => (started = { ...started, a: performance.now() }));
  b.stdout!.once('data', () => (started = { ...started, b: performance.now() }));
  const events: { a: PeerEvent[]; b: PeerEvent[] } = { a: [], b: [] };
  let connectedAt = 0;
  let stderrA = '';
  let stderrB = '';
  createInterface({ input: a.stderr! }).on('line', (line) => {
    stderrA += `${line}\n`;
    const e = parse(line);
    if (e) events.a.push(e);
    if (e?.event === 'state' && (e.state === 'connected' || e.state === 'completed') && connectedAt === 0) connectedAt = performance.now();
  });
  createInterface({ input: b.stderr! }).on('line', (line) => {
    stderrB += `${line}\n`;
    const e = parse(line);
    if (e) events.b.push(e);
  });
  const exit = (child: ChildProcess) => new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  const kill = setTimeout(() => {
    a.kill('SIGKILL');
    b.kill('SIGKILL');
  }, timeoutMs + 15_000);
  const [codeA, codeB] = await Promise.all([exit(a), exit(b)]);
  clearTimeout(kill);
  const selected = [...events.a].reverse().find((e) => e.event === 'selected');
  const echoed = events.a.find((e) => e.event === 'echoed');
  const connected = codeA === 0 && codeB === 0 && echoed !== undefined;
  const localType = selected?.local?.type;
  const remoteType = selected?.remote?.type;
  const result: PairResult = {
    connected,
    path: selected === undefined ? '-' : localType === 'relay' || remoteType === 'relay' ? 'relay' : 'direct',
    localType,
    remoteType,
    connectMs: connectedAt > 0 && started.a > 0 && started.b > 0 ? connectedAt - Math.max(started.a, started.b) : undefined,
    echoRttMs: echoed?.rttMs,
  };
  if (!connected) {
    const errors = [...events.a, ...events.b].filter((e) => e.event === 'error').map((e) => `${e.code}: ${e.message}`);
    result.error = `exit ${codeA}/${codeB}${errors.length ? `; ${errors.join('; ')}` : ''}\n--- controlling stderr:\n${stderrA.slice(-2000)}\n--- controlled stderr:\n${stderrB.slice(-2000)}`;
  }
  return result;
}

function parse(line: string): PeerEvent | undefined {
  try {
    const v = JSON.parse(line) as unknown;
    return typeof v === 'object' && v !== null && typeof (v as PeerEvent).event === 'string' ? (v as PeerEvent) : undefined;
  } catch {
    return undefined;
  }
}
