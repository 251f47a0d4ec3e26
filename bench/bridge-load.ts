// The bridge at scale (issue 17): with 1 000 sessions each echoing 32-byte datagrams off a UDP echo, the
// highest per-session rate with zero loss and p99 RTT under 50 ms, for `icebridge bridge --workers 1` and
// `--workers 2`, and the bridge's CPU time per datagram and direction (user + system of all its processes,
// so the kernel's loopback TCP/UDP work on its behalf is in it); and the cores each part of the rig used,
// which tell whether a rate is bounded by the bridge or by the machine. The rig is the load test's
// (test/support/load-rig.ts): the bridge, the echo and two generator processes, each its own event loop —
// on a 2-core machine they all share the two cores, which is the point of the figure.
import { availableParallelism } from 'node:os';
import { cpuMs, dropsOf, quantileMs, startRig } from '../test/support/load-rig.js';
import { searchZeroLoss, type MeasuredStep } from './lib/zero-loss-search.js';
import type { BenchContext, BenchFigure, Benchmark } from './lib/types.js';

const SESSIONS = 1000;
/** Per-session rates tried in order (datagrams/s each). */
const RATES = [2, 5, 10, 15, 20, 25, 30, 40, 50];
const STEP_S = 5;
const P99_LIMIT_MS = 50;

interface Step extends MeasuredStep {
  rate: number;
  sent: number;
  lost: number;
  drops: Record<string, number>;
  p50Ms: number;
  p99Ms: number;
  cpuUsPerDatagram: number;
  /** Cores each part of the rig used during the step (user + system over the step's wall time). */
  cores: { bridge: number; generators: number; echo: number };
}

async function measureWorkers(ctx: BenchContext, workers: number): Promise<{ search: Awaited<ReturnType<typeof searchZeroLoss<Step>>> }> {
  const sessions = ctx.quick ? 100 : SESSIONS;
  const seconds = ctx.quick ? 2 : STEP_S;
  const rig = await startRig({ sessions, workers, generators: 2 });
  try {
    const opened = await rig.open(60_000);
    if (opened.opened !== sessions) throw new Error(`only ${opened.opened} of ${sessions} sessions bound: ${opened.errors.join('; ')}`);
    const pids = await rig.bridgePids();
    const search = await searchZeroLoss<Step>(ctx.quick ? [5, 10] : RATES, async (rate) => {
      await rig.stats(true);
      const before = dropsOf(await rig.metrics());
      const echoBefore = await rig.echo();
      const cpu0 = pids.map((p) => cpuMs(p) ?? 0);
      const others = (list: readonly number[]) => list.reduce((a, p) => a + (cpuMs(p) ?? 0), 0);
      const gen0 = others(rig.generatorPids);
      const echo0 = others([rig.echoPid]);
      const wall0 = performance.now();
      await rig.offer(rate, seconds);
      const wallMs = performance.now() - wall0;
      const bridgeCpu = () => pids.reduce((a, p, i) => a + ((cpuMs(p) ?? 0) - cpu0[i]!), 0);
      const cores = { bridge: bridgeCpu() / wallMs, generators: (others(rig.generatorPids) - gen0) / wallMs, echo: (others([rig.echoPid]) - echo0) / wallMs };
      // What is in flight lands (bounded): the bridge drops anything over 200 ms old anyway.
      await new Promise((resolve) => setTimeout(resolve, 1000));
      const cpu = bridgeCpu();
      const s = await rig.stats(true);
      const after = dropsOf(await rig.metrics());
      const echo = await rig.echo();
      const drops: Record<string, number> = {};
      for (const [k, v] of Object.entries(after)) if (v > (before[k] ?? 0)) drops[k] = v - (before[k] ?? 0);
      const echoLost = echo.kernelDrops - echoBefore.kernelDrops;
      if (echoLost > 0) drops['echo-kernel'] = echoLost;
      const lost = s.sent - s.received;
      const step: Step = {
        rate,
        sent: s.sent,
        lost,
        drops,
        p50Ms: quantileMs(s.histogram, 0.5),
        p99Ms: quantileMs(s.histogram, 0.99),
        cpuUsPerDatagram: (cpu * 1000) / Math.max(1, s.sent + s.received),
        cores,
        noLoss: lost === 0 && quantileMs(s.histogram, 0.99) < P99_LIMIT_MS,
        offered: s.lateTicks === 0 && s.sent >= sessions * rate * seconds * 0.98,
        offeredPerSecond: s.sent / seconds / sessions,
      };
      ctx.log(
        `  --workers ${workers}: ${sessions} × ${rate}/s: lost ${lost} of ${s.sent} ${JSON.stringify(drops)}, RTT p50 ${step.p50Ms} / p99 ${step.p99Ms} ms, ` +
          `bridge ${step.cpuUsPerDatagram.toFixed(1)} µs CPU per datagram and direction; cores used: bridge ${cores.bridge.toFixed(2)}, ` +
          `generators ${cores.generators.toFixed(2)}, echo ${cores.echo.toFixed(2)}${s.lateTicks ? `, generator late ${s.lateTicks}×` : ''}`,
      );
      return step;
    });
    return { search };
  } finally {
    await rig.stop();
  }
}

const bench: Benchmark = {
  name: 'bridge-load',
  title: `bridge at scale: ${SESSIONS} sessions × rate, zero loss and p99 RTT < ${P99_LIMIT_MS} ms, --workers 1 vs 2`,
  async run(ctx) {
    const figures: BenchFigure[] = [];
    const notes: string[] = [];
    for (const workers of [1, 2]) {
      const { search } = await measureWorkers(ctx, workers);
      const at = search.atZeroLoss;
      const contender = `--workers ${workers}`;
      figures.push({
        group: `largest per-session rate, ${ctx.quick ? 100 : SESSIONS} sessions, 0 loss and p99 < ${P99_LIMIT_MS} ms`,
        contender,
        unit: 'datagrams/s per session',
        median: search.zeroLossRate,
        samples: [search.zeroLossRate],
        extra: { 'echoes/s': search.zeroLossRate * (ctx.quick ? 100 : SESSIONS), 'p99 ms': at?.p99Ms ?? NaN, 'stopped by': search.stoppedBy === 'loss' && search.stoppedAt?.lost === 0 ? `p99 ≥ ${P99_LIMIT_MS} ms` : search.stoppedBy },
      });
      const cpuSteps = search.steps.filter((s) => s.sent > 0);
      figures.push({
        group: 'bridge CPU per datagram and direction (user + system, all bridge processes)',
        contender,
        unit: 'µs',
        median: cpuSteps.length ? cpuSteps.map((s) => s.cpuUsPerDatagram).sort((a, b) => a - b)[Math.floor(cpuSteps.length / 2)]! : NaN,
        samples: cpuSteps.map((s) => Number(s.cpuUsPerDatagram.toFixed(1))),
      });
      if (search.stoppedAt) {
        const s = search.stoppedAt;
        const c = s.cores;
        notes.push(
          `${contender}: stopped at ${s.rate}/s: lost ${s.lost} of ${s.sent} ${JSON.stringify(s.drops)}, p99 ${s.p99Ms} ms; ` +
            `cores used then: bridge ${c.bridge.toFixed(2)} + generators ${c.generators.toFixed(2)} + echo ${c.echo.toFixed(2)} = ${(c.bridge + c.generators + c.echo).toFixed(2)} of ${availableParallelism()}`,
        );
      }
    }
    notes.push('target (issue 17): 1 000 × 30/s lossless on 2 cores, the load generator and echo sharing them');
    return { figures, ratios: [], notes };
  },
};

export default bench;
