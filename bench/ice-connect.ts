// ICE connect time on loopback: from both agents holding each other's parameters and candidates (t0) to both
// being connected, for icebridge ↔ icebridge (two IceAgents in one Node process, bench/servers/
// icebridge-ice-pair.ts) and aioice ↔ aioice (two aioice Connections in one asyncio loop, bench/servers/
// aioice-pair.py), host ↔ host and relay-only through the same TURN server (coturn; also icebridge's own TURN
// server), contenders alternating round after round. Also: heap per idle connected icebridge agent.
//
// Everything is on 127.0.0.1: both sides gather on 127.0.0.1 only, the TURN servers listen and relay there.
import { startTurnServer, type RunningTurnServer } from '../src/node/turn-server.js';
import { startCoturn, type RunningCoturn } from '../test/interop/support/coturn.js';
import { JsonLines, spawnNodeScript, spawnTracked, stopChild } from './lib/processes.js';
import { median, ratio } from './lib/stats.js';
import type { BenchContext, BenchFigure, BenchRatio, BenchResult, Benchmark } from './lib/types.js';
import type { ChildProcess } from 'node:child_process';

const HOST = '127.0.0.1';
const PYTHON = '/usr/bin/python3';
const USER = { username: 'u', password: 'p' };

const ICEBRIDGE = 'icebridge';
const AIOICE = 'aioice';
/** Diagnostic contender: icebridge with Ta = 5 ms instead of the default 50 ms. */
const ICEBRIDGE_TA5 = 'icebridge, Ta 5 ms (diagnostic)';

/** Targets of the brief; reported, never enforced. */
const TARGET_SPEEDUP = 2; // icebridge ≤ 0.5× aioice's time
const TARGET_BYTES_PER_AGENT = 50 * 1024;

const COTURN_ARGS = ['--lt-cred-mech', '--realm', 'r', '--user', 'u:p', '--allow-loopback-peers', '--relay-ip=127.0.0.1', '--no-tcp'];

/** One connection as both pair processes report it (aioice leaves out what it cannot say). */
interface ConnectSample {
  totalMs: number;
  controllingMs: number;
  controlledMs: number;
  gatherMs: number;
  cpuMs: number;
  selected: string;
  checksControlling?: number;
  checksControlled?: number;
  rttMs?: number | null;
  checklistControllingMs?: number | null;
  checklistControlledMs?: number | null;
}

interface PairProcess {
  name: string;
  child: ChildProcess;
  io: JsonLines;
  ready: Record<string, unknown>;
}

interface Scenario {
  key: string;
  group: string;
  /** Per contender: the connect command's arguments; contenders missing here are not run in this scenario. */
  runs: Map<string, { process: PairProcess; args: Record<string, unknown> }>;
}

async function startPairProcess(name: string, command: string, args: string[], node: boolean): Promise<PairProcess> {
  const child = node ? spawnNodeScript(args[0], args.slice(1)) : spawnTracked(command, args);
  const io = new JsonLines(child, name);
  try {
    const ready = await io.next((m) => m.type === 'ready', 30_000);
    return { name, child, io, ready };
  } catch (err) {
    await stopChild(child);
    throw err;
  }
}

async function call(p: PairProcess, cmd: string, args: Record<string, unknown>, timeoutMs: number): Promise<Record<string, unknown>> {
  p.io.send({ ...args, cmd });
  const reply = await p.io.next((m) => m.type === cmd || m.type === 'error', timeoutMs);
  if (reply.type === 'error') throw new Error(`${p.name}: ${String(reply.message)}`);
  return reply;
}

function rotate<T>(items: readonly T[], by: number): T[] {
  const k = items.length === 0 ? 0 : by % items.length;
  return [...items.slice(k), ...items.slice(0, k)];
}

const ms = (v: number | undefined | null) => (v === undefined || v === null || !Number.isFinite(v) ? '' : Math.round(v * 10) / 10);

function medianOf(samples: readonly ConnectSample[], pick: (s: ConnectSample) => number | null | undefined): number | undefined {
  const values = samples.map(pick).filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
  return values.length === 0 ? undefined : median(values);
}

async function run(ctx: BenchContext): Promise<BenchResult> {
  const quick = ctx.quick;
  const rounds = quick ? 1 : 6;
  const perRound = quick ? 3 : 5;
  const timeoutMs = 10_000;
  const notes: string[] = [];
  const figures: BenchFigure[] = [];
  const ratios: BenchRatio[] = [];
  const processes: PairProcess[] = [];
  let coturn: RunningCoturn | undefined;
  let turnServer: RunningTurnServer | undefined;
  try {
    // ---- contenders and servers ---------------------------------------------------------------------
    let icebridge: PairProcess | undefined;
    let aioice: PairProcess | undefined;
    try {
      icebridge = await startPairProcess(ICEBRIDGE, process.execPath, ['bench/servers/icebridge-ice-pair.ts'], true);
      processes.push(icebridge);
      ctx.log(`  ${ICEBRIDGE}: pid ${icebridge.child.pid}, agents from ${String(icebridge.ready.factory)}`);
    } catch (err) {
      notes.push(`${ICEBRIDGE} could not be measured: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`);
      ctx.log(`  ${ICEBRIDGE}: NOT MEASURED: ${err instanceof Error ? err.message : String(err)}`);
    }
    try {
      aioice = await startPairProcess(AIOICE, PYTHON, ['bench/servers/aioice-pair.py'], false);
      processes.push(aioice);
      ctx.log(`  ${AIOICE}: pid ${aioice.child.pid}, aioice ${String(aioice.ready.aioice)} on Python ${String(aioice.ready.python)}`);
    } catch (err) {
      notes.push(`${AIOICE} could not be measured (needs ${PYTHON} with python3-aioice): ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`);
      ctx.log(`  ${AIOICE}: NOT MEASURED: ${err instanceof Error ? err.message : String(err)}`);
    }
    try {
      coturn = await startCoturn({ args: COTURN_ARGS });
      ctx.log(`  coturn: ${HOST}:${coturn.port}, pid ${coturn.pid}`);
    } catch (err) {
      notes.push(`coturn could not be started, no relay figures through it: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`);
      ctx.log(`  coturn: NOT STARTED: ${err instanceof Error ? err.message : String(err)}`);
    }
    try {
      // In this (the driver's) process: it idles while the pairs connect, so the server has a core of its own.
      turnServer = await startTurnServer({
        port: 0,
        hosts: [HOST],
        relayAddress: HOST,
        users: { [USER.username]: USER.password },
        realm: 'r',
        allowLoopback: true,
        maxAllocationsPerUser: 1000,
        maxAllocations: 1000,
      });
      ctx.log(`  icebridge TURN server: ${HOST}:${turnServer.addresses[0].port}, in the driver process`);
    } catch (err) {
      notes.push(`icebridge's TURN server could not be started: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`);
    }

    const scenarios: Scenario[] = [];
    const host: Scenario = { key: 'host', group: 'host ↔ host on 127.0.0.1: t0 → both connected (wall clock, per connection)', runs: new Map() };
    if (icebridge) {
      host.runs.set(ICEBRIDGE, { process: icebridge, args: {} });
      host.runs.set(ICEBRIDGE_TA5, { process: icebridge, args: { taMs: 5 } });
    }
    if (aioice) host.runs.set(AIOICE, { process: aioice, args: {} });
    scenarios.push(host);
    const relayVia = (key: string, label: string, port: number): Scenario => {
      const s: Scenario = { key, group: `relay ↔ relay through ${label} on 127.0.0.1 (both sides relay-only): t0 → both connected`, runs: new Map() };
      if (icebridge) {
        const iceServers = [{ urls: `turn:${HOST}:${port}?transport=udp`, username: USER.username, credential: USER.password }];
        s.runs.set(ICEBRIDGE, { process: icebridge, args: { iceServers, iceTransportPolicy: 'relay' } });
      }
      if (aioice) s.runs.set(AIOICE, { process: aioice, args: { turn: { host: HOST, port, ...USER } } });
      return s;
    };
    if (coturn) scenarios.push(relayVia('relay-coturn', 'coturn', coturn.port));
    if (turnServer) scenarios.push(relayVia('relay-icebridge-turn', "icebridge's TURN server", turnServer.addresses[0].port));

    // ---- connection rounds --------------------------------------------------------------------------
    // samples[scenario][contender][round] = that round's connections
    const samples = new Map<string, Map<string, ConnectSample[][]>>();
    const failures = new Map<string, Map<string, string[]>>();
    for (const s of scenarios) {
      samples.set(s.key, new Map([...s.runs.keys()].map((c) => [c, []])));
      failures.set(s.key, new Map([...s.runs.keys()].map((c) => [c, []])));
    }
    for (let round = 0; round < rounds; round++) {
      for (const s of scenarios) {
        for (const contender of rotate([...s.runs.keys()], round)) {
          const { process: p, args } = s.runs.get(contender)!;
          const reply = await call(p, 'connect', { ...args, count: perRound, timeoutMs }, perRound * (2 * timeoutMs + 1000) + 10_000);
          const got = reply.samples as ConnectSample[];
          samples.get(s.key)!.get(contender)!.push(got);
          failures.get(s.key)!.get(contender)!.push(...(reply.failures as string[]));
          ctx.log(
            `  round ${round + 1}/${rounds} ${s.key} ${contender}: ${got.map((x) => x.totalMs.toFixed(1)).join(', ')} ms` +
              `${(reply.failures as string[]).length > 0 ? `; FAILED ${(reply.failures as string[]).length}: ${(reply.failures as string[])[0]}` : ''}`,
          );
        }
      }
    }

    for (const s of scenarios) {
      const perContender = samples.get(s.key)!;
      for (const [contender, byRound] of perContender) {
        const all = byRound.flat();
        const failed = failures.get(s.key)!.get(contender)!;
        if (all.length === 0) {
          notes.push(`${s.key} ${contender}: no connection succeeded (${failed.length} failures; first: ${failed[0] ?? '?'})`);
          continue;
        }
        const selected = [...new Set(all.map((x) => x.selected))].join(' ');
        const extra: Record<string, number | string> = {
          n: String(all.length),
          'controlling ms': ms(medianOf(all, (x) => x.controllingMs)),
          'controlled ms': ms(medianOf(all, (x) => x.controlledMs)),
          'checklist done ms': ms(medianOf(all, (x) => Math.max(x.checklistControllingMs ?? NaN, x.checklistControlledMs ?? NaN))),
          // Connectivity checks (not consent) sent by t1, controlling + controlled (icebridge only: aioice does not count them).
          'checks sent': all[0].checksControlling === undefined ? '' : `${median(all.map((x) => x.checksControlling ?? 0))}+${median(all.map((x) => x.checksControlled ?? 0))}`,
          'check RTT ms': ms(medianOf(all, (x) => x.rttMs)),
          'CPU ms/conn': ms(medianOf(all, (x) => x.cpuMs)),
          'gather ms': ms(medianOf(all, (x) => x.gatherMs)),
          failed: String(failed.length),
          pair: selected,
        };
        const totals = all.map((x) => x.totalMs);
        figures.push({ group: s.group, contender, unit: 'ms', median: median(totals), samples: totals, extra });
        if (failed.length > 0) notes.push(`${s.key} ${contender}: ${failed.length} connection(s) failed; first: ${failed[0]}`);
        // A controlling icebridge agent that sent more than 2 checks lost (or replaced) its first one: the
        // replacement and then the nomination each wait for a Ta tick.
        const extraChecks = all.filter((x) => x.checksControlling !== undefined && x.checksControlling > 2);
        if (extraChecks.length > 0) {
          notes.push(
            `${s.key} ${contender}: ${extraChecks.length} of ${all.length} connections took more than 2 checks from the controlling agent (median ${median(extraChecks.map((x) => x.totalMs)).toFixed(1)} ms vs ${median(totals).toFixed(1)} ms overall): its first check got no answer, a check from the peer replaced it with a triggered check, and that check and then the USE-CANDIDATE check each waited for Ta`,
          );
        }
      }
      const roundMedians = (c: string) => perContender.get(c)?.map((r) => (r.length > 0 ? median(r.map((x) => x.totalMs)) : Number.NaN)) ?? [];
      if (perContender.has(ICEBRIDGE) && perContender.has(AIOICE)) {
        ratios.push(ratio(`${s.key}: speed-up, aioice time / icebridge time`, roundMedians(AIOICE), roundMedians(ICEBRIDGE), TARGET_SPEEDUP));
      }
      if (perContender.has(ICEBRIDGE_TA5) && perContender.has(AIOICE)) {
        ratios.push(ratio(`${s.key}: speed-up, aioice time / ${ICEBRIDGE_TA5} time`, roundMedians(AIOICE), roundMedians(ICEBRIDGE_TA5), TARGET_SPEEDUP));
      }
    }

    // ---- heap per idle connected agent, in a fresh process ------------------------------------------
    const heapPairs = quick ? 20 : 250;
    const heapRounds = quick ? 1 : 2;
    let heapProcess: PairProcess | undefined;
    try {
      heapProcess = await startPairProcess(`${ICEBRIDGE} (heap)`, process.execPath, ['bench/servers/icebridge-ice-pair.ts'], true);
      processes.push(heapProcess);
      const perAgent: number[] = [];
      const heapPart: number[] = [];
      const externalPart: number[] = [];
      const rssPart: number[] = [];
      const leftover: number[] = [];
      for (let round = 0; round < heapRounds; round++) {
        const r = await call(heapProcess, 'heap', { pairs: heapPairs, concurrency: 10, timeoutMs }, 180_000);
        type Sample = { heapUsed: number; external: number; rss: number };
        const [before, held, after] = [r.before, r.held, r.after] as Sample[];
        const agents = Number(r.agents);
        if (Number(r.up) !== agents) throw new Error(`only ${String(r.up)} of ${agents} agents were still connected when measured`);
        const total = (x: Sample) => x.heapUsed + x.external;
        perAgent.push((total(held) - total(before)) / agents);
        heapPart.push((held.heapUsed - before.heapUsed) / agents);
        externalPart.push((held.external - before.external) / agents);
        rssPart.push((held.rss - before.rss) / agents);
        leftover.push((total(after) - total(before)) / agents);
        ctx.log(
          `  heap round ${round + 1}/${heapRounds}: ${agents} agents connected in ${Math.round(Number(r.connectMs))} ms; ${Math.round(perAgent.at(-1)!)} bytes/agent ` +
            `(heap ${Math.round(heapPart.at(-1)!)}, external ${Math.round(externalPart.at(-1)!)}, rss ${Math.round(rssPart.at(-1)!)}); after closing ${Math.round(leftover.at(-1)!)} bytes/agent remain`,
        );
      }
      const m = median(perAgent);
      figures.push({
        group: `heap per idle connected agent (${heapPairs} host ↔ host pairs = ${2 * heapPairs} agents in one process; V8 heapUsed + external after gc)`,
        contender: ICEBRIDGE,
        unit: 'bytes',
        median: m,
        samples: perAgent,
        extra: {
          'V8 heap': median(heapPart),
          external: median(externalPart),
          'RSS delta': median(rssPart),
          'left after close': median(leftover),
          target: `<= ${TARGET_BYTES_PER_AGENT.toLocaleString('en-US')} ${m <= TARGET_BYTES_PER_AGENT ? '(met)' : '(MISSED)'}`,
        },
      });
      notes.push(
        `heap: a fresh ${ICEBRIDGE} pair process; 10 pairs connected and closed first (warm-up), then the baseline; ${heapPairs} pairs connected 10 at a time and left idle (consent checks running); per-agent bytes = (held - baseline) / ${2 * heapPairs}; ${heapRounds} rounds in the same process. The native part of each UDP socket (libuv handle, kernel buffers) is not in heapUsed/external; RSS delta is shown for it, and is noisy`,
      );
    } catch (err) {
      notes.push(`heap per agent could not be measured: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`);
      ctx.log(`  heap: NOT MEASURED: ${err instanceof Error ? err.message : String(err)}`);
    }

    // ---- notes --------------------------------------------------------------------------------------
    notes.push(
      `${rounds} rounds × ${perRound} connections per contender and scenario, contenders alternating (order rotated each round); every connection uses two new agents, gathered fully before t0; figures are medians over all connections, ratios the median of per-round ratios of round medians. In the time tables "vs best" divides by the slowest median: lower is better there`,
      `t0 = each side is handed the other's ufrag/pwd, every candidate and end-of-candidates (synchronously, in one go). icebridge: t1 = both IceAgents' state is 'connected' or 'completed' ('statechange'), which happens when a nominated, valid pair is selected — on the controlling side when the response to its USE-CANDIDATE check arrives, on the controlled side when that check arrives on a pair its own check has validated. aioice: t1 = both connect() calls have returned; connect() returns once the checklist has a nominated succeeded pair for the component, noticed at its next 20 ms poll (asyncio.sleep(0.02) in connect()'s loop) — "checklist done ms" is when that happened`,
      'nomination differs: aioice 0.8 controlling sends USE-CANDIDATE on every check (aggressive nomination, RFC 5245), so its first successful check is also the nomination; icebridge does regular nomination (RFC 8445 §8.1.1): a first check, then a second, USE-CANDIDATE check on the best valid pair, paced by Ta like any other check',
      `processes: icebridge pair = node ${process.version}, ${icebridge ? `agents from ${String(icebridge.ready.factory)}` : 'not started'} on ['127.0.0.1']; aioice pair = ${PYTHON} ${aioice ? `${String(aioice.ready.python)}, aioice ${String(aioice.ready.aioice)}` : '(not started)'}, get_host_addresses() patched to ['127.0.0.1'] (host) or [] (relay: the TURN allocation is the only socket), IPv6 off, no STUN/mDNS. CPU ms/conn = CPU time of the pair's process (both agents, all threads) from t0 to t1`,
      `relay: both sides relay-only (icebridge iceTransportPolicy 'relay', aioice TransportPolicy.RELAY) through the same TURN server, user u:p realm r. coturn: turnserver ${COTURN_ARGS.join(' ')} (plus -n --no-tls --no-dtls --no-cli, own pid file and userdb; test/interop/support/coturn.ts). icebridge's TURN server: startTurnServer on 127.0.0.1, relay address 127.0.0.1, allowLoopback, in the driver process (idle during the runs). aioice binds a TURN channel before its first check to a peer; icebridge sends its checks as Send indications after a CreatePermission`,
      `'${ICEBRIDGE_TA5}' is the same icebridge pair with the engine option taMs: 5, to show how much of icebridge's time is Ta pacing: with the default Ta of 50 ms the controlling agent's first check succeeds within a millisecond or two, but its USE-CANDIDATE check is a triggered check paced like any other, so it leaves one Ta after the first`,
    );

    return {
      figures,
      ratios,
      notes,
      meta: {
        rounds,
        perRound,
        coturnArgs: COTURN_ARGS,
        samples: Object.fromEntries([...samples].map(([k, v]) => [k, Object.fromEntries(v)])),
        failures: Object.fromEntries([...failures].map(([k, v]) => [k, Object.fromEntries(v)])),
      },
    };
  } finally {
    await Promise.all([
      ...processes.map((p) => stopChild(p.child)),
      coturn?.stop().catch(() => undefined),
      turnServer?.close().catch(() => undefined),
    ]);
  }
}

const benchmark: Benchmark = {
  name: 'ice-connect',
  title: 'ICE connect time on loopback, icebridge vs aioice (host and TURN relay), and heap per connected agent',
  run,
};
export default benchmark;
