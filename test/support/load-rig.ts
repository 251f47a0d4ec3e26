// The bridge load rig of test/bridge/load.test.ts and bench/bridge-load.ts: `icebridge bridge --workers N`
// in its own processes, a UDP echo in another (test/support/load-echo.ts) and the sessions spread over
// several generator processes (test/support/load-client.ts), so neither the generator nor the echo shares
// an event loop with the bridge or with each other. Every wait is bounded.
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { EchoStats } from './load-echo.js';
import type { LoadCommand, LoadStats, NewcomerOutcome } from './load-client.js';

const ROOT = new URL('../../', import.meta.url);
const TSX = ['--import', 'tsx'];

class Rpc {
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  readonly first: Promise<unknown>;

  constructor(readonly child: ChildProcess) {
    let firstResolve: (v: unknown) => void = () => {};
    this.first = new Promise((resolve) => (firstResolve = resolve));
    child.on('message', (m: { id: number; result?: unknown; error?: string }) => {
      if (m.id === 0) return firstResolve(m.result);
      const w = this.waiting.get(m.id);
      this.waiting.delete(m.id);
      if (m.error !== undefined) w?.reject(new Error(m.error));
      else w?.resolve(m.result);
    });
    child.once('exit', (code, signal) => {
      for (const w of this.waiting.values()) w.reject(new Error(`load process exited (${signal ?? code})`));
      this.waiting.clear();
    });
  }

  call<T>(message: object, timeoutMs: number): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        reject(new Error(`load process did not answer ${JSON.stringify(message).slice(0, 80)} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiting.set(id, {
        resolve: (v) => {
          clearTimeout(timer);
          resolve(v as T);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      this.child.send({ ...message, id });
    });
  }
}

export interface RigOptions {
  sessions: number;
  workers: number;
  /** Generator processes the sessions are spread over. */
  generators: number;
  secret?: string;
  /** Further `icebridge bridge` arguments. */
  bridgeArgs?: string[];
  /** Node flags of the bridge (e.g. --cpu-prof). */
  bridgeNodeFlags?: string[];
}

export interface Rig {
  url: string;
  metricsUrl: string;
  echoPort: number;
  /** The bridge's processes: the primary first (--workers 1: the only one). */
  bridgePids(): Promise<number[]>;
  /** The echo's and the generators' processes (what shares the machine with the bridge). */
  readonly echoPid: number;
  readonly generatorPids: readonly number[];
  open(timeoutMs?: number): Promise<{ opened: number; failures: number; errors: string[] }>;
  /** Every session sends `rate`/s for `seconds`, all generators together; `during` runs halfway. */
  offer(rate: number, seconds: number, during?: () => void): Promise<LoadStats>;
  stats(reset?: boolean): Promise<LoadStats>;
  echo(): Promise<EchoStats>;
  newcomers(count: number, timeoutMs: number): Promise<NewcomerOutcome[]>;
  metrics(): Promise<string>;
  stop(): Promise<void>;
}

/** Sums the generators' stats. */
export function sumStats(all: readonly LoadStats[]): LoadStats {
  const out: LoadStats = { sessions: 0, closed: {}, sent: 0, received: 0, histogram: [], maxAgeMs: 0, lateTicks: 0 };
  for (const s of all) {
    out.sessions += s.sessions;
    out.sent += s.sent;
    out.received += s.received;
    out.maxAgeMs = Math.max(out.maxAgeMs, s.maxAgeMs);
    out.lateTicks += s.lateTicks;
    for (const [k, v] of Object.entries(s.closed)) out.closed[k] = (out.closed[k] ?? 0) + v;
    s.histogram.forEach((n, i) => (out.histogram[i] = (out.histogram[i] ?? 0) + n));
  }
  return out;
}

/** The q-quantile (0…1) of a 0.5 ms histogram, in ms. */
export function quantileMs(histogram: readonly number[], q: number): number {
  const total = histogram.reduce((a, b) => a + b, 0);
  if (total === 0) return NaN;
  let seen = 0;
  for (let i = 0; i < histogram.length; i++) {
    seen += histogram[i]!;
    if (seen >= q * total) return (i + 1) * 0.5;
  }
  return histogram.length * 0.5;
}

/** `icebridge_bridge_drops_total` by reason. */
export function dropsOf(metricsText: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of metricsText.matchAll(/^icebridge_bridge_drops_total\{reason="([^"]+)"\} (\d+)$/gm)) out[m[1]!] = Number(m[2]);
  return out;
}

export function metricValue(metricsText: string, name: string): number | undefined {
  const m = new RegExp(`^${name} (\\d+)$`, 'm').exec(metricsText);
  return m ? Number(m[1]) : undefined;
}

/** CPU time (user + system) of a process so far, ms; undefined once it is gone. */
export function cpuMs(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // USER_HZ is 100 on Linux
  } catch {
    return undefined;
  }
}

export async function startRig(o: RigOptions): Promise<Rig> {
  const secret = o.secret ?? 'load-secret';
  const children: ChildProcess[] = [];
  const stop = async () => {
    await Promise.all(
      children.map(
        (c) =>
          new Promise<void>((resolve) => {
            if (c.exitCode !== null || c.signalCode !== null) return resolve();
            const timer = setTimeout(() => c.kill('SIGKILL'), 5000);
            c.once('exit', () => {
              clearTimeout(timer);
              resolve();
            });
            c.kill(c === bridge ? 'SIGINT' : 'SIGTERM');
          }),
      ),
    );
  };
  const bridge = spawn(
    process.execPath,
    [...TSX, ...(o.bridgeNodeFlags ?? []), 'src/cli.ts', 'bridge', '--port', '0', '--secret', secret, '--allow-loopback', '--workers', String(o.workers), '--max-sessions', String(o.sessions + 200), ...(o.bridgeArgs ?? [])],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  children.push(bridge);
  let bridgeErr = '';
  bridge.stderr!.on('data', (d: Buffer) => {
    if (bridgeErr.length < 100_000) bridgeErr += d.toString().split('\n').filter((l) => !l.includes('"event":"session-')).join('\n');
  });
  try {
    const url = await new Promise<string>((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new Error(`the bridge did not listen within 30 s: ${out} ${bridgeErr}`)), 30_000);
      bridge.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /listening on (ws:\/\/\S+)/.exec(out);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]!);
        }
      });
      bridge.once('exit', (code) => reject(new Error(`the bridge exited (${code}): ${bridgeErr}`)));
    });
    const echoChild = fork(new URL('test/support/load-echo.ts', ROOT), [], { execArgv: TSX, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    children.push(echoChild);
    const echo = new Rpc(echoChild);
    const echoPort = ((await echo.first) as EchoStats).port;
    const generatorPids: number[] = [];
    const generators = Array.from({ length: o.generators }, () => {
      const child = fork(new URL('test/support/load-client.ts', ROOT), [], { execArgv: TSX, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
      children.push(child);
      generatorPids.push(child.pid!);
      return new Rpc(child);
    });
    const share = (i: number) => Math.floor(o.sessions / o.generators) + (i < o.sessions % o.generators ? 1 : 0);
    const metricsUrl = `http://${new URL(url).host}/metrics`;
    const metrics = async () => (await fetch(metricsUrl)).text();
    const all = <T>(message: LoadCommand, timeoutMs: number) => Promise.all(generators.map((g) => g.call<T>(message, timeoutMs)));
    return {
      url,
      metricsUrl,
      echoPort,
      echoPid: echoChild.pid!,
      generatorPids,
      async bridgePids() {
        if (o.workers === 1) return [bridge.pid!];
        const text = await metrics();
        return [bridge.pid!, ...[...text.matchAll(/^icebridge_bridge_worker_sessions_open\{worker="\d+",pid="(\d+)"\}/gm)].map((m) => Number(m[1]))];
      },
      async open(timeoutMs = 60_000) {
        const results = await Promise.all(
          generators.map((g, i) => g.call<{ opened: number; failures: number; errors: string[] }>({ cmd: 'open', url, secret, count: share(i), echoPort, batch: 16, timeoutMs: 10_000 }, timeoutMs)),
        );
        return { opened: results.reduce((a, r) => a + r.opened, 0), failures: results.reduce((a, r) => a + r.failures, 0), errors: results.flatMap((r) => r.errors) };
      },
      async offer(rate, seconds, during) {
        const startAt = Date.now() + 200;
        const timer = during ? setTimeout(during, 200 + (seconds * 1000) / 2) : undefined;
        try {
          return sumStats(await all<LoadStats>({ cmd: 'offer', rate, seconds, startAt }, seconds * 1000 + 30_000));
        } finally {
          clearTimeout(timer);
        }
      },
      async stats(reset = false) {
        return sumStats(await all<LoadStats>({ cmd: 'stats', reset }, 10_000));
      },
      echo: () => echo.call<EchoStats>({ cmd: 'stats' }, 10_000),
      newcomers: (count, timeoutMs) => generators[0]!.call<NewcomerOutcome[]>({ cmd: 'newcomers', url, secret, count, echoPort, timeoutMs }, timeoutMs + 10_000),
      metrics,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
