// In-process throughput of small functions: contenders take turns in time slices, round after round, and
// each contender's figure is the median of its slices. Deliberately no forced gc() between slices: a forced
// full collection flushes V8's compiled code and feedback, and measured the npm `stun` package 3x slower.

export interface MicroContender {
  name: string;
  /** One operation; return something derived from the output so the work cannot be optimised away. */
  op: () => number;
}

export interface MicroOptions {
  rounds: number;
  sliceMs: number;
  warmupMs: number;
  log?: (line: string) => void;
}

/** Keeps results observable to the optimiser. */
let sink = 0;

export interface MicroSamples {
  /** Operations per second of this process's CPU time (user + system): what the work costs, even when
   * other processes on a shared machine take the core away for part of the slice. */
  perCpuSecond: number[];
  /** Operations per second of wall-clock time: what it delivered, which load on the machine distorts. */
  perWallSecond: number[];
}

/** Each contender's samples, one per round, keyed by name. */
export function runMicro(contenders: readonly MicroContender[], options: MicroOptions): Map<string, MicroSamples> {
  const batches = new Map<string, number>();
  for (const c of contenders) batches.set(c.name, calibrate(c.op, options.warmupMs));
  const samples = new Map<string, MicroSamples>(contenders.map((c) => [c.name, { perCpuSecond: [], perWallSecond: [] }]));
  for (let round = 0; round < options.rounds; round++) {
    // Rotate who goes first, so no contender always runs right after the same neighbour.
    for (let k = 0; k < contenders.length; k++) {
      const c = contenders[(round + k) % contenders.length];
      const { ops, wallMs, cpuMs } = slice(c.op, batches.get(c.name)!, options.sliceMs);
      const s = samples.get(c.name)!;
      s.perCpuSecond.push(ops / (cpuMs / 1000));
      s.perWallSecond.push(ops / (wallMs / 1000));
    }
    options.log?.(
      `  round ${round + 1}/${options.rounds}: ${contenders.map((c) => `${c.name} ${fmt(samples.get(c.name)!.perCpuSecond.at(-1)!)}`).join(', ')} (per CPU-second)`,
    );
  }
  if (sink === 0.5) console.log(sink);
  return samples;
}

/** CPU time (user + system) this process has used, in ms. */
function cpuNow(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/**
 * Runs `op` for `warmupMs` of CPU time (JIT tiers settle; wall time would be cut short on a loaded machine),
 * at most 4x that in wall time, and returns a batch size that takes about 0.5 ms.
 */
function calibrate(op: () => number, warmupMs: number): number {
  let batch = 1;
  const cpuEnd = cpuNow() + warmupMs;
  const wallEnd = performance.now() + 4 * warmupMs;
  let s = 0;
  for (;;) {
    const t0 = performance.now();
    for (let i = 0; i < batch; i++) s ^= op();
    const t1 = performance.now();
    if (t1 - t0 < 0.5 && batch < 1 << 20) batch *= 2;
    if (t1 >= wallEnd || cpuNow() >= cpuEnd) break;
  }
  sink ^= s;
  return batch;
}

/** Runs whole batches until `ms` of CPU time (or 4x that of wall time) has passed. */
function slice(op: () => number, batch: number, ms: number): { ops: number; wallMs: number; cpuMs: number } {
  let s = 0;
  let n = 0;
  const cpuStart = cpuNow();
  const start = performance.now();
  const wallEnd = start + 4 * ms;
  let now: number;
  let cpu: number;
  do {
    for (let i = 0; i < batch; i++) s ^= op();
    n += batch;
    now = performance.now();
    cpu = cpuNow() - cpuStart;
  } while (cpu < ms && now < wallEnd);
  sink ^= s;
  // getrusage ticks are coarse on some kernels; never divide by less than a microsecond.
  return { ops: n, wallMs: now - start, cpuMs: Math.max(0.001, cpu) };
}

function fmt(opsPerSecond: number): string {
  return `${Math.round(opsPerSecond).toLocaleString('en-US')}/s`;
}
