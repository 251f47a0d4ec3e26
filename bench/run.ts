// npm run bench [-- [--json] [--quick] [name-filter ...]]
//
// Runs every benchmark module in bench/ (one file each, default export a Benchmark) whose name contains one
// of the filters (all when none is given). Each compares icebridge against a peer measured in the same run,
// alternating contenders over several rounds, and reports medians and ratios. With --json, one JSON document
// goes to stdout and all human-readable text to stderr (npm prints its own "> icebridge bench" banner on
// stdout unless run as `npm run -s bench -- --json`). --quick runs one short round, to check the wiring.
import { readdirSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { pathToFileURL } from 'node:url';
import { killAll } from './lib/processes.js';
import { formatResult } from './lib/report.js';
import type { BenchContext, BenchResult, Benchmark } from './lib/types.js';

// A hard bound on the whole run: whatever hangs, children are killed and the run ends.
const WATCHDOG_MS = 8 * 60_000;

interface BenchOutcome {
  name: string;
  title: string;
  ok: boolean;
  durationMs: number;
  /** 1-minute load average before and after: above the CPU count, wall-clock figures mean little. */
  loadavg: [number, number];
  result?: BenchResult;
  error?: string;
}

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  const json = args.includes('--json');
  const quick = args.includes('--quick');
  const unknownFlags = args.filter((a) => a.startsWith('--') && a !== '--json' && a !== '--quick');
  const filters = args.filter((a) => !a.startsWith('--')).map((a) => a.toLowerCase());
  const human = json ? process.stderr : process.stdout;
  const log = (line: string) => void human.write(`${line}\n`);
  if (unknownFlags.length > 0) {
    log(`unknown option ${unknownFlags.join(' ')}; usage: npm run bench -- [--json] [--quick] [name-filter ...]`);
    return 2;
  }

  const dir = new URL('./', import.meta.url);
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.ts') && f !== 'run.ts')
    .sort();
  const benchmarks: Benchmark[] = [];
  for (const file of files) {
    const mod = (await import(pathToFileURL(new URL(file, dir).pathname).href)) as { default?: Benchmark };
    if (mod.default && typeof mod.default.run === 'function') benchmarks.push(mod.default);
  }
  const selected = benchmarks.filter((b) => filters.length === 0 || filters.some((f) => b.name.toLowerCase().includes(f)));
  if (selected.length === 0) {
    log(`no benchmark matches ${filters.join(', ')}; available: ${benchmarks.map((b) => b.name).join(', ')}`);
    return 2;
  }

  const startedAt = new Date();
  log(`icebridge bench: ${selected.map((b) => b.name).join(', ')} — node ${process.version}, ${cpus().length} CPUs, load ${loadavg().map((l) => l.toFixed(2)).join(' ')}${quick ? ' (quick: not a measurement)' : ''}`);
  const ctx: BenchContext = { log, quick };
  const outcomes: BenchOutcome[] = [];
  for (const b of selected) {
    log(`\n-- ${b.name}: ${b.title}`);
    const t0 = performance.now();
    const loadBefore = loadavg()[0];
    try {
      const result = await b.run(ctx);
      const durationMs = Math.round(performance.now() - t0);
      const load: [number, number] = [loadBefore, loadavg()[0]];
      if (Math.max(...load) > cpus().length) {
        result.notes.push(
          `the machine was busy (1-min load ${load.map((l) => l.toFixed(1)).join(' -> ')} on ${cpus().length} CPUs): wall-clock figures are unreliable; CPU-time figures and per-round ratios hold up better`,
        );
      }
      outcomes.push({ name: b.name, title: b.title, ok: true, durationMs, loadavg: load, result });
      log(formatResult(`${b.title} (${(durationMs / 1000).toFixed(1)} s)`, result));
    } catch (err) {
      const durationMs = Math.round(performance.now() - t0);
      const message = err instanceof Error ? (err.stack ?? err.message) : String(err);
      outcomes.push({ name: b.name, title: b.title, ok: false, durationMs, loadavg: [loadBefore, loadavg()[0]], error: message });
      log(`\n== ${b.title}: FAILED\n${message}`);
    } finally {
      killAll('SIGKILL');
    }
  }

  if (json) {
    const document = {
      schema: 'icebridge-bench/1',
      startedAt: startedAt.toISOString(),
      durationMs: Date.now() - startedAt.getTime(),
      quick,
      filters,
      environment: {
        node: process.version,
        platform: process.platform,
        arch: process.arch,
        cpus: cpus().length,
        cpuModel: cpus()[0]?.model,
        loadavg: loadavg(),
      },
      benchmarks: outcomes,
    };
    process.stdout.write(`${JSON.stringify(document, null, 2)}\n`);
  }
  return outcomes.every((o) => o.ok) ? 0 : 1;
}

const watchdog = setTimeout(() => {
  process.stderr.write(`bench: still running after ${WATCHDOG_MS / 60_000} min, giving up\n`);
  killAll('SIGKILL');
  process.exit(1);
}, WATCHDOG_MS);
watchdog.unref();

main().then(
  (code) => {
    killAll('SIGKILL');
    process.exitCode = code;
  },
  (err: unknown) => {
    killAll('SIGKILL');
    process.stderr.write(`bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  },
);
