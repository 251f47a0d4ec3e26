// The WebSocket-to-UDP bridge: (a) round-trip time of a small datagram to a UDP echo server, directly vs
// through the bridge; (b) datagrams per second one session pushes through the bridge to a UDP sink with
// zero loss, vs the same client sending directly; (c) heap per idle session with 1 000 sessions open.
// Every party is a process of its own: the bridge, the Node client (connectBridge), the echo server, the
// sink — so the bridge never shares an event loop with its client. Contenders alternate over rounds.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mintRestCredential } from '../src/net/rest-credentials.js';
import { BRIDGE_DEFAULTS } from '../bridge/options.js';
import { CommandChild } from './lib/command-child.js';
import { cpuWindow, udpDrops } from './lib/proc.js';
import { median, ratio } from './lib/stats.js';
import type { BenchContext, BenchFigure, BenchRatio, BenchResult, Benchmark } from './lib/types.js';
import type { RateResult, RttResult } from './load/bridge-client.js';
import { searchZeroLoss, type RateSearch as ZeroLossSearch } from './lib/zero-loss-search.js';

const HOST = '127.0.0.1';
const DIRECT = 'direct UDP (UdpSocket)';
const BRIDGE = 'through the bridge (connectBridge)';
type Mode = 'direct' | 'bridge';
const label = (mode: Mode) => (mode === 'direct' ? DIRECT : BRIDGE);

/** Targets of the brief; reported, never enforced. */
const TARGET_ADDED_P50_US = 100;
const TARGET_ZERO_LOSS_RATE = 50_000;
const TARGET_BYTES_PER_SESSION = 20 * 1024;

/** The per-session caps, raised for (a) and (b): ping-pong alone runs at ~10 000 datagrams/s, above the default 2 000. */
const UNCAPPED = { packetsPerSecond: 10_000_000, bytesPerSecond: 4_000_000_000 };

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function tokenUrl(base: string, secret: string): string {
  const { username, credential } = mintRestCredential({ secret, user: 'bench', ttlSeconds: 3600, nowSeconds: Date.now() / 1000 });
  return `${base}?username=${encodeURIComponent(username)}&credential=${encodeURIComponent(credential)}`;
}

function openFilesLimit(): string {
  try {
    const line = /^Max open files\s+(\S+)\s+(\S+)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    return line ? `${line[1]} (hard ${line[2]})` : '?';
  } catch {
    return '?';
  }
}

function sumDrops(stats: Record<string, unknown>): number {
  return Object.values((stats.drops ?? {}) as Record<string, number>).reduce((a, b) => a + b, 0);
}

interface StepResult {
  rate: number;
  sent: number;
  received: number;
  droppedByClient: number;
  bridgeDrops: number;
  sinkKernelDrops: number | null;
  lossPct: number;
  offeredPerSecond: number;
  deliveredPerSecond: number;
  bridgeCpuMs: number | null;
  clientCpuMs: number;
  /** Nothing lost anywhere. */
  noLoss: boolean;
  /** The client offered >= 97% of the rate (a client that fell behind proves nothing about the rate). */
  offered: boolean;
}

type RateSearch = ZeroLossSearch<StepResult>;

function rateSteps(quick: boolean): number[] {
  if (quick) return [10_000, 25_000, 50_000];
  const steps: number[] = [];
  for (let r = 10_000; r <= 250_000; r = Math.round((r * 1.25) / 1000) * 1000) steps.push(r);
  return steps;
}

async function run(ctx: BenchContext): Promise<BenchResult> {
  const quick = ctx.quick;
  const rounds = quick ? 1 : 3;
  // Round trips are cheap: more rounds, for a steadier median on a noisy machine.
  const rttRounds = quick ? 1 : 5;
  const secret = randomBytes(16).toString('hex');
  const notes: string[] = [];
  const figures: BenchFigure[] = [];
  const ratios: BenchRatio[] = [];
  const children: CommandChild[] = [];
  const start = async (name: string, script: string, args: string[] = [], profile = false) => {
    const child = await CommandChild.start(name, script, { args, profile });
    children.push(child);
    return child;
  };
  try {
    const echo = await start('UDP echo server', 'bench/servers/bare-dgram.ts');
    const sink = await start('UDP sink', 'bench/servers/udp-sink.ts');
    const bridge = await start('bridge', 'bench/servers/bridge.ts', [JSON.stringify({ secret, ...UNCAPPED })], true);
    const client = await start('bridge client', 'bench/load/bridge-client.ts');
    const url = tokenUrl(String(bridge.ready.url), secret);
    const echoPort = Number(echo.ready.port);
    const sinkPort = Number(sink.ready.port);
    ctx.log(`  echo :${echoPort} pid ${echo.pid}, sink :${sinkPort} pid ${sink.pid} (SO_RCVBUF ${String(sink.ready.recvBufferSize)}), bridge ${String(bridge.ready.url)} pid ${bridge.pid}, client pid ${client.pid}`);

    // ---- (a) round-trip time ------------------------------------------------------------------------
    const rttCfg = { payloadBytes: 32, warmup: quick ? 200 : 1000, samples: quick ? 500 : 3000, timeoutMs: 500, maxMs: 30_000 };
    const rtt: Record<Mode, RttResult[]> = { direct: [], bridge: [] };
    const perRt = (ms: number | null | undefined, r: RttResult) => (ms == null ? Number.NaN : (1000 * ms) / Math.max(1, r.count + r.lost));
    for (let round = 0; round < rttRounds; round++) {
      const order: Mode[] = round % 2 === 0 ? ['direct', 'bridge'] : ['bridge', 'direct'];
      for (const mode of order) {
        const r = await client.call<RttResult>('rtt', { mode, url, host: HOST, port: echoPort, observePids: [bridge.pid, echo.pid], ...rttCfg }, rttCfg.maxMs + 15_000);
        rtt[mode].push(r);
        ctx.log(
          `  rtt round ${round + 1}/${rttRounds} ${mode}: p50 ${r.p50.toFixed(1)} µs, p99 ${r.p99.toFixed(1)} µs, ${r.count} samples, ${r.lost} lost` +
            `, CPU µs/rt: client ${perRt(r.cpuMs, r).toFixed(1)}, echo ${perRt(r.observedCpuMs[1], r).toFixed(1)}` +
            (mode === 'bridge' ? `, bridge ${perRt(r.observedCpuMs[0], r).toFixed(1)}` : ''),
        );
      }
    }
    for (const mode of ['direct', 'bridge'] as const) {
      const rs = rtt[mode];
      figures.push({
        group: `round-trip time of a ${rttCfg.payloadBytes}-byte datagram to a UDP echo server, ${label(mode)}`,
        contender: mode === 'direct' ? 'node:dgram, no bridge' : 'icebridge bridge',
        unit: 'µs p50',
        median: median(rs.map((r) => r.p50)),
        samples: rs.map((r) => r.p50),
        extra: {
          'p90 µs': median(rs.map((r) => r.p90)),
          'p99 µs': median(rs.map((r) => r.p99)),
          'min µs': median(rs.map((r) => r.min)),
          'samples/round': rs[0]?.count ?? 0,
          lost: rs.reduce((a, r) => a + r.lost, 0),
          'client CPU µs/rt': median(rs.map((r) => perRt(r.cpuMs, r))),
          'echo CPU µs/rt': median(rs.map((r) => perRt(r.observedCpuMs[1], r))),
          ...(mode === 'bridge' ? { 'bridge CPU µs/rt': median(rs.map((r) => perRt(r.observedCpuMs[0], r))) } : {}),
        },
      });
    }
    const addedP50 = rtt.bridge.map((b, i) => b.p50 - rtt.direct[i].p50);
    const addedP99 = rtt.bridge.map((b, i) => b.p99 - rtt.direct[i].p99);
    // The fastest round trips are the ones no other process got in the way of: what the bridge adds on a quiet machine.
    const addedMin = rtt.bridge.map((b, i) => b.min - rtt.direct[i].min);
    figures.push({
      group: 'latency the bridge adds (per round: bridge p50 − direct p50)',
      contender: 'icebridge bridge',
      unit: 'µs',
      median: median(addedP50),
      samples: addedP50,
      extra: { 'p99 added µs': median(addedP99), 'min added µs': median(addedMin), target: `<= +${TARGET_ADDED_P50_US} µs ${median(addedP50) <= TARGET_ADDED_P50_US ? '(met)' : '(MISSED)'}` },
    });
    ratios.push(ratio('RTT p50: bridge / direct', rtt.bridge.map((r) => r.p50), rtt.direct.map((r) => r.p50)));

    // ---- (b) zero-loss rate of one session -----------------------------------------------------------
    const rateCfg = { payloadBytes: 100, durationMs: quick ? 400 : 1000 };
    const steps = rateSteps(quick);
    const measureStep = async (mode: Mode, rate: number): Promise<StepResult> => {
      const sink0 = await sink.call('stats');
      const bridge0 = await bridge.call('stats');
      const kernel0 = udpDrops(sinkPort);
      const stop = cpuWindow([bridge.pid]);
      const r = await client.call<RateResult>('rate', { mode, host: HOST, port: sinkPort, rate, ...rateCfg }, rateCfg.durationMs + 15_000);
      // Drain: wait until the sink has everything or its count stops moving (bounded).
      let received = 0;
      let last = -1;
      for (let i = 0; i < 30; i++) {
        received = Number((await sink.call('stats')).received) - Number(sink0.received);
        if (received >= r.sent || received === last) break;
        last = received;
        await sleep(100);
      }
      const [bridgeCpuMs] = stop();
      const bridge1 = await bridge.call('stats');
      const kernel1 = udpDrops(sinkPort);
      const expected = Math.ceil((rate * rateCfg.durationMs) / 1000);
      const lost = r.sent - received;
      return {
        rate,
        sent: r.sent,
        received,
        droppedByClient: r.droppedByClient,
        bridgeDrops: sumDrops(bridge1) - sumDrops(bridge0),
        sinkKernelDrops: kernel0 === null || kernel1 === null ? null : kernel1 - kernel0,
        lossPct: (100 * lost) / Math.max(1, r.sent),
        offeredPerSecond: r.sent / (r.elapsedMs / 1000),
        deliveredPerSecond: received / (r.elapsedMs / 1000),
        bridgeCpuMs: mode === 'bridge' ? bridgeCpuMs : null,
        clientCpuMs: r.cpuMs,
        noLoss: lost === 0 && r.droppedByClient === 0,
        offered: r.sent >= 0.97 * expected,
      };
    };
    const searches: Record<Mode, RateSearch[]> = { direct: [], bridge: [] };
    const perDatagram = (ms: number | null | undefined, s: StepResult | undefined) => (ms == null || s === undefined ? Number.NaN : (1000 * ms) / Math.max(1, s.sent));
    for (let round = 0; round < rounds; round++) {
      const order: Mode[] = round % 2 === 0 ? ['bridge', 'direct'] : ['direct', 'bridge'];
      for (const mode of order) {
        if (mode === 'bridge') await client.call('open', { url });
        let search: RateSearch;
        try {
          search = await searchZeroLoss(steps, (rate) => measureStep(mode, rate));
        } finally {
          if (mode === 'bridge') await client.call('close');
        }
        searches[mode].push(search);
        const f = search.stoppedAt;
        ctx.log(
          `  rate round ${round + 1}/${rounds} ${mode}: zero loss up to ${search.zeroLossRate.toLocaleString('en-US')}/s` +
            (mode === 'bridge' ? ` (bridge CPU ${perDatagram(search.atZeroLoss?.bridgeCpuMs, search.atZeroLoss).toFixed(2)} µs/datagram)` : '') +
            (f
              ? `; stopped by ${search.stoppedBy} at the ${f.rate.toLocaleString('en-US')}/s step: offered ${Math.round(f.offeredPerSecond).toLocaleString('en-US')}/s, delivered ${Math.round(f.deliveredPerSecond).toLocaleString('en-US')}/s, loss ${f.lossPct.toFixed(2)}% (client dropped ${f.droppedByClient}, bridge dropped ${f.bridgeDrops}, sink buffer dropped ${f.sinkKernelDrops ?? '?'}), client CPU ${Math.round((100 * f.clientCpuMs) / rateCfg.durationMs)}%`
              : '; no loss at any step'),
        );
      }
    }
    const stopCounts = (ss: RateSearch[]) =>
      (['loss', 'client', 'top'] as const)
        .map((k) => [k, ss.filter((s) => s.stoppedBy === k).length] as const)
        .filter(([, n]) => n > 0)
        .map(([k, n]) => `${k} ${n}`)
        .join(', ');
    for (const mode of ['bridge', 'direct'] as const) {
      const ss = searches[mode];
      const z = ss.map((s) => s.zeroLossRate);
      const lossy = ss.map((s) => s.stoppedAt).filter((s): s is StepResult => s !== undefined && !s.noLoss);
      const cpuPer = ss.map((s) => perDatagram(s.atZeroLoss?.bridgeCpuMs, s.atZeroLoss));
      const clientPer = ss.map((s) => perDatagram(s.atZeroLoss?.clientCpuMs, s.atZeroLoss));
      figures.push({
        group: `datagrams/s one session sends to a UDP sink with zero loss (${rateCfg.payloadBytes}-byte payloads, fixed-rate steps of ${rateCfg.durationMs} ms)`,
        contender: label(mode),
        unit: 'datagrams/s',
        median: median(z),
        samples: z,
        extra: {
          'stopped by': stopCounts(ss),
          ...(mode === 'bridge' ? { 'bridge CPU µs/datagram': median(cpuPer), 'one bridge core, projected/s': Math.round(1e6 / median(cpuPer)) } : {}),
          'client CPU µs/datagram': median(clientPer),
          'lossy step delivered/s': lossy.length > 0 ? median(lossy.map((s) => s.deliveredPerSecond)) : '-',
          'lossy step loss %': lossy.length > 0 ? median(lossy.map((s) => s.lossPct)) : '-',
          ...(mode === 'bridge' ? { target: `>= ${TARGET_ZERO_LOSS_RATE.toLocaleString('en-US')}/s ${median(z) >= TARGET_ZERO_LOSS_RATE ? '(met)' : '(MISSED)'}` } : {}),
        },
      });
    }
    const perCpuSecond = searches.bridge.map((s) => 1e6 / perDatagram(s.atZeroLoss?.bridgeCpuMs, s.atZeroLoss));
    figures.push({
      group: 'datagrams the bridge forwards (client -> UDP) per second of its CPU time, at the zero-loss step (all its threads, from /proc)',
      contender: 'icebridge bridge',
      unit: 'datagrams/CPU-s',
      median: median(perCpuSecond),
      samples: perCpuSecond,
      extra: { 'µs CPU/datagram': Math.round(100 * median(searches.bridge.map((s) => perDatagram(s.atZeroLoss?.bridgeCpuMs, s.atZeroLoss)))) / 100 },
    });
    ratios.push(ratio('zero-loss datagrams/s: bridge / direct UDP', searches.bridge.map((s) => s.zeroLossRate), searches.direct.map((s) => s.zeroLossRate)));
    if (searches.direct.some((s) => s.stoppedBy === 'top')) {
      notes.push(`direct UDP passed every step up to ${steps.at(-1)!.toLocaleString('en-US')}/s in some round: its figure is the top of the step list, not its ceiling`);
    }
    if ([...searches.bridge, ...searches.direct].some((s) => s.stoppedBy === 'client')) {
      notes.push(
        '(b) some searches stopped because the client process could not offer the next rate (no loss, but < 97% of the rate sent): there the figure is what the client did send, a floor of the bridge\'s capacity; "one bridge core, projected" (1 s / bridge CPU per datagram) is the figure that does not depend on the client',
      );
    }
    notes.push(
      `(b) steps ${steps.map((s) => `${s / 1000}k`).join(', ')}/s, each ${rateCfg.durationMs} ms paced in 1 ms ticks, a failed step retried once; a step passes when the sink counted every datagram sent, the client dropped none and it offered >= 97% of the rate. Loss is attributed to the client (its WebSocket queue over 1 MiB), the bridge (its drop counters) or the sink's receive buffer (/proc/net/udp drops); the rest was lost in flight`,
    );

    // ---- (c) heap per idle session -------------------------------------------------------------------
    const sessions = quick ? 100 : 1000;
    const heapRounds = quick ? 1 : 2;
    const heapBridge = await start('bridge (heap)', 'bench/servers/bridge.ts', [JSON.stringify({ secret, maxSessions: sessions + 100 })]);
    const heapUrl = tokenUrl(String(heapBridge.ready.url), secret);
    // Warm-up: first-use costs (compiled code, lazily made tables) must not be counted per session.
    await client.call('sessions', { url: heapUrl, count: 20, concurrency: 10 }, 60_000);
    await client.call('release');
    const perSession: number[] = [];
    const heapPart: number[] = [];
    const externalPart: number[] = [];
    const leftover: number[] = [];
    for (let round = 0; round < heapRounds; round++) {
      await waitForSessions(heapBridge, 0);
      const h0 = await heapBridge.call<HeapReply>('heap');
      const opened = await client.call<{ opened: number; failed: number; firstFailure?: string; ms: number }>(
        'sessions',
        { url: heapUrl, count: sessions, concurrency: 20, maxMs: 90_000 },
        120_000,
      );
      if (opened.opened < sessions) throw new Error(`opened ${opened.opened} of ${sessions} sessions; first failure: ${opened.firstFailure}`);
      const h1 = await heapBridge.call<HeapReply>('heap');
      if (h1.sessionCount !== sessions || h1.socketsOpen !== sessions) throw new Error(`the bridge has ${h1.sessionCount} sessions, ${h1.socketsOpen} sockets; expected ${sessions}`);
      await client.call('release');
      await waitForSessions(heapBridge, 0);
      await sleep(500);
      const h2 = await heapBridge.call<HeapReply>('heap');
      perSession.push((h1.total - h0.total) / sessions);
      heapPart.push((h1.heapUsed - h0.heapUsed) / sessions);
      externalPart.push((h1.external - h0.external) / sessions);
      leftover.push((h2.total - h0.total) / sessions);
      ctx.log(
        `  heap round ${round + 1}/${heapRounds}: ${sessions} sessions opened in ${Math.round(opened.ms)} ms; ` +
          `${Math.round(perSession.at(-1)!)} bytes/session (heap ${Math.round(heapPart.at(-1)!)}, external ${Math.round(externalPart.at(-1)!)}), ` +
          `rss +${Math.round((h1.rss - h0.rss) / 1024 / 1024)} MiB; after closing them ${Math.round(leftover.at(-1)!)} bytes/session remain`,
      );
    }
    figures.push({
      group: `heap per idle bridge session (${sessions.toLocaleString('en-US')} sessions, each authenticated with one bound UDP socket; heapUsed + external after gc, inside the bridge)`,
      contender: 'icebridge bridge',
      unit: 'bytes',
      median: median(perSession),
      samples: perSession,
      extra: {
        'V8 heap': median(heapPart),
        external: median(externalPart),
        'left after close': median(leftover),
        target: `<= ${TARGET_BYTES_PER_SESSION.toLocaleString('en-US')} ${median(perSession) <= TARGET_BYTES_PER_SESSION ? '(met)' : '(MISSED)'}`,
      },
    });

    notes.push(
      `(a) and (b): the bridge runs with packetsPerSecond ${UNCAPPED.packetsPerSecond.toLocaleString('en-US')} and bytesPerSecond ${UNCAPPED.bytesPerSecond.toLocaleString('en-US')} per session (defaults ${BRIDGE_DEFAULTS.packetsPerSecond.toLocaleString('en-US')} and ${BRIDGE_DEFAULTS.bytesPerSecond.toLocaleString('en-US')}): at the default cap a session cannot exceed 2 000 datagrams/s, and even sequential ping-pong goes faster than that`,
      `(a) ${rttCfg.samples.toLocaleString('en-US')} samples per contender per round after ${rttCfg.warmup} warm-up round trips; ${rttRounds} rounds, order alternating; the client is one Node process (ws WebSocket, no permessage-deflate), the bridge and the echo server (bench/servers/bare-dgram.ts) each another`,
      `(c) the bridge runs with maxSessions ${sessions + 100} (default ${BRIDGE_DEFAULTS.maxSessions}); each session holds a TCP socket and a UDP socket in the bridge, so 2 fds per session; open-files limit ${openFilesLimit()}; 20 sessions were opened and closed before the first baseline`,
      'the bridge binds its UDP sockets to 127.0.0.1; every party is on loopback',
    );
    return { figures, ratios, notes, meta: { rtt, searches, rttCfg, rateCfg, heap: { perSession, heapPart, externalPart, leftover } } };
  } finally {
    await Promise.all(children.map((c) => c.stop()));
  }
}

interface HeapReply {
  heapUsed: number;
  external: number;
  total: number;
  rss: number;
  sessionCount: number;
  socketsOpen: number;
}

async function waitForSessions(bridge: CommandChild, count: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const stats = await bridge.call('stats');
    if (Number(stats.sessionCount) === count) return;
    if (Date.now() > deadline) throw new Error(`the bridge still has ${String(stats.sessionCount)} sessions, expected ${count}`);
    await sleep(100);
  }
}

const benchmark: Benchmark = { name: 'bridge', title: 'Bridge: WebSocket-to-UDP latency, zero-loss rate and heap per session', run };
export default benchmark;
