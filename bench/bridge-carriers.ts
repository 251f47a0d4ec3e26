// The bridge's two carriers, WebSocket and WebTransport (issue 12), from a module Worker in headless
// Chromium, in the same run: (a) round-trip time of a 32-byte datagram to a UDP echo on 127.0.0.1, direct
// from Node vs through the bridge over each carrier — timed in a bench Worker that drives the bridge client
// (src/net/bridge-client.ts) itself, and through icebridge's page API (IcebridgeWorker → its Worker); (b) the
// zero-loss datagram rate of one session over each carrier, to a UDP sink; (c) memory per idle session over
// each carrier (the bridge's RSS and heap, and the WebTransport Deno child's RSS). The bridge (with its Deno
// child), the echo, the sink and the direct Node client are processes of their own; contenders alternate.
import { randomBytes } from 'node:crypto';
import { mintRestCredential } from '../src/net/rest-credentials.js';
import { startCarrierPage, type CarrierPage } from './lib/carrier-page.js';
import { idleRound, type IdleRound } from './lib/carrier-idle.js';
import { describeStop, rateSteps, searchZeroLoss, type RateSearch } from './lib/carrier-rate.js';
import { CommandChild } from './lib/command-child.js';
import { cpuWindow } from './lib/proc.js';
import { median, ratio } from './lib/stats.js';
import type { BenchContext, BenchFigure, BenchRatio, BenchResult, Benchmark } from './lib/types.js';
import type { RttResult } from './load/bridge-client.js';
import type { CarrierBridge, WorkerRttResult } from './pages/carrier-worker.js';

const HOST = '127.0.0.1';
type Carrier = 'websocket' | 'webtransport';
type Rtt = 'direct' | 'ws-worker' | 'wt-worker' | 'ws-app' | 'wt-app';
const RTT_LABEL: Record<Rtt, string> = {
  direct: 'direct from Node (UdpSocket, no bridge)',
  'ws-worker': 'bridge over WebSocket, timed in a Worker (BridgeConnection)',
  'wt-worker': 'bridge over WebTransport, timed in a Worker (BridgeConnection)',
  'ws-app': 'bridge over WebSocket, timed in the page (IcebridgeWorker API)',
  'wt-app': 'bridge over WebTransport, timed in the page (IcebridgeWorker API)',
};
const CARRIER_OF: Partial<Record<Rtt, Carrier>> = { 'ws-worker': 'websocket', 'wt-worker': 'webtransport', 'ws-app': 'websocket', 'wt-app': 'webtransport' };
const CARRIER_NAME: Record<Carrier, string> = { websocket: 'WebSocket', webtransport: 'WebTransport' };
/** Ping-pong and the rate steps run above the bridge's default per-session caps (2 000 packets/s). */
const UNCAPPED = { packetsPerSecond: 10_000_000, bytesPerSecond: 4_000_000_000 };
const TARGET_RATE_RATIO = 0.8;

function tokenUrl(base: string, secret: string): string {
  const { username, credential } = mintRestCredential({ secret, user: 'bench', ttlSeconds: 3600, nowSeconds: Date.now() / 1000 });
  return `${base}?username=${encodeURIComponent(username)}&credential=${encodeURIComponent(credential)}`;
}

/** The same rotation every round, shifted by one and reversed on odd rounds: each contender takes every slot. */
function order<T>(list: readonly T[], round: number): T[] {
  const shifted = list.map((_, i) => list[(i + round) % list.length]);
  return round % 2 === 1 ? shifted.reverse() : shifted;
}

async function run(ctx: BenchContext): Promise<BenchResult> {
  const quick = ctx.quick;
  const secret = randomBytes(16).toString('hex');
  const notes: string[] = [];
  const figures: BenchFigure[] = [];
  const ratios: BenchRatio[] = [];
  const children: CommandChild[] = [];
  let page: CarrierPage | undefined;
  const start = async (name: string, script: string, args: string[] = []) => {
    const child = await CommandChild.start(name, script, { args, profile: name === 'bridge' });
    children.push(child);
    return child;
  };
  try {
    const echo = await start('UDP echo server', 'bench/servers/bare-dgram.ts');
    const sink = await start('UDP sink', 'bench/servers/udp-sink.ts');
    const bridge = await start('bridge', 'bench/servers/bridge.ts', [JSON.stringify({ secret, ...UNCAPPED, maxSessions: 1000, webTransport: { port: 0 } })]);
    const client = await start('direct Node client', 'bench/load/bridge-client.ts');
    page = await startCarrierPage();
    const url = tokenUrl(String(bridge.ready.url), secret);
    const bridgeOf = (carrier: Carrier): CarrierBridge => ({
      url,
      webTransportUrl: bridge.ready.webTransportUrl as string | undefined,
      certificateHashes: bridge.ready.certificateHashes as CarrierBridge['certificateHashes'],
      carrier,
    });
    const echoPort = Number(echo.ready.port);
    const sinkPort = Number(sink.ready.port);
    const isolation = await page.call<{ page: boolean; worker: boolean }>('isolation');
    ctx.log(
      `  echo :${echoPort} pid ${echo.pid}, sink :${sinkPort} pid ${sink.pid}, bridge ${String(bridge.ready.url)} + ${String(bridge.ready.webTransportUrl ?? 'no WebTransport')} ` +
        `pid ${bridge.pid} (Deno pid ${String(bridge.ready.denoPid ?? '-')}), page ${page.origin} ${page.version}, crossOriginIsolated page ${isolation.page} worker ${isolation.worker}`,
    );
    if (!isolation.page || !isolation.worker) notes.push('the page or its Worker is NOT cross-origin isolated: performance.now() ticks in 100 µs steps there, and the browser-side figures are coarse');

    // Which carriers open at all (WebTransport needs Deno, and a client that speaks it).
    const carriers: Carrier[] = ['websocket'];
    if (bridge.ready.webTransportUrl) {
      try {
        const opened = await page.call<{ carrier: string }>('workerCall', 'open', { bridge: bridgeOf('webtransport') });
        await page.call('workerCall', 'close', {});
        if (opened.carrier === 'webtransport') carriers.push('webtransport');
      } catch (err) {
        notes.push(`WebTransport sessions do not open: ${err instanceof Error ? err.message : String(err)}; WebSocket only`);
      }
    } else notes.push('the bridge serves no WebTransport (no Deno?): WebSocket only');
    const hasWt = carriers.includes('webtransport');

    // ---- (a) round-trip time -----------------------------------------------------------------------
    const rttRounds = quick ? 1 : 5;
    const rttCfg = { host: HOST, port: echoPort, payloadBytes: 32, warmup: quick ? 100 : 500, samples: quick ? 300 : 2000, timeoutMs: 500, maxMs: 30_000 };
    const contenders: Rtt[] = (['direct', 'ws-worker', 'wt-worker', 'ws-app', 'wt-app'] as const).filter((c) => CARRIER_OF[c] === undefined || carriers.includes(CARRIER_OF[c]));
    const rtt = Object.fromEntries(contenders.map((c) => [c, [] as RttResult[]])) as Record<Rtt, (RttResult | WorkerRttResult)[]>;
    const cpu = Object.fromEntries(contenders.map((c) => [c, { bridge: [] as number[], deno: [] as number[] }])) as Record<Rtt, { bridge: number[]; deno: number[] }>;
    const denoPid = Number(bridge.ready.denoPid);
    for (let round = 0; round < rttRounds; round++) {
      for (const c of order(contenders, round)) {
        const stop = cpuWindow([bridge.pid, denoPid]);
        const carrier = CARRIER_OF[c];
        let r: RttResult | WorkerRttResult;
        if (carrier === undefined) r = await client.call<RttResult>('rtt', { mode: 'direct', ...rttCfg }, rttCfg.maxMs + 15_000);
        else r = await page.call<WorkerRttResult>(c.endsWith('worker') ? 'workerCall' : 'appRtt', ...(c.endsWith('worker') ? ['rtt', { bridge: bridgeOf(carrier), ...rttCfg }] : [{ bridge: bridgeOf(carrier), ...rttCfg }]));
        const [bridgeMs, denoMs] = stop();
        // Per round trip, warm-up and session setup included (the window spans the whole call).
        const per = (ms: number | null) => (ms === null ? Number.NaN : (1000 * ms) / (rttCfg.warmup + rttCfg.samples));
        cpu[c].bridge.push(per(bridgeMs));
        cpu[c].deno.push(per(denoMs));
        rtt[c].push(r);
        ctx.log(`  rtt round ${round + 1}/${rttRounds} ${c}: p50 ${r.p50.toFixed(0)} µs, p99 ${r.p99.toFixed(0)} µs, min ${r.min.toFixed(0)} µs, ${r.count} samples, ${r.lost} lost`);
      }
    }
    for (const c of contenders) {
      const rs = rtt[c];
      figures.push({
        group: `round trip of a ${rttCfg.payloadBytes}-byte datagram to a UDP echo on ${HOST}`,
        contender: RTT_LABEL[c],
        unit: 'µs p50',
        median: median(rs.map((r) => r.p50)),
        samples: rs.map((r) => r.p50),
        extra: {
          'p90 µs': median(rs.map((r) => r.p90)),
          'p99 µs': median(rs.map((r) => r.p99)),
          'min µs': median(rs.map((r) => r.min)),
          'samples/round': rs[0]?.count ?? 0,
          lost: rs.reduce((a, r) => a + r.lost, 0),
          ...(CARRIER_OF[c] ? { 'bridge CPU µs/rt': median(cpu[c].bridge) } : {}),
          ...(CARRIER_OF[c] === 'webtransport' ? { 'Deno CPU µs/rt': median(cpu[c].deno) } : {}),
        },
      });
    }
    const added: Partial<Record<Rtt, number[]>> = {};
    for (const c of contenders) {
      if (c === 'direct') continue;
      added[c] = rtt[c].map((r, i) => r.p50 - rtt.direct[i].p50);
      const addedP99 = rtt[c].map((r, i) => r.p99 - rtt.direct[i].p99);
      figures.push({
        group: 'latency a carrier adds (per round: carrier p50 − direct p50)',
        contender: RTT_LABEL[c],
        unit: 'µs',
        median: median(added[c]!),
        samples: added[c]!,
        extra: { 'p99 added µs': median(addedP99) },
      });
    }
    for (const level of ['worker', 'app'] as const) {
      const ws = added[`ws-${level}`];
      const wt = added[`wt-${level}`];
      if (!ws || !wt) continue;
      const met = median(wt) <= median(ws);
      notes.push(
        `(a) target, timed in the ${level === 'worker' ? 'bench Worker' : 'page'}: WebTransport's added p50 ${median(wt).toFixed(0)} µs <= WebSocket's ${median(ws).toFixed(0)} µs ${met ? '(met)' : '(MISSED)'}`,
      );
      ratios.push(ratio(`RTT p50 (${level}): WebTransport / WebSocket`, rtt[`wt-${level}`].map((r) => r.p50), rtt[`ws-${level}`].map((r) => r.p50)));
    }
    notes.push(
      `(a) per contender per round: a fresh session with one bound UDP socket (bridge contenders), ${rttCfg.warmup} warm-up then ${rttCfg.samples} timed round trips one at a time, performance.now() from send() to the echo's datagram; ${rttRounds} round(s), the order rotated and reversed round by round. ` +
        "Worker contenders: bench/pages/carrier-worker.ts calls BridgeConnection.connect(url, { carrier }) — the code icebridge's Worker runs — and times in that Worker (no postMessage hop). App contenders: the page's IcebridgeWorker.connectBridge({ url, webTransportUrl, certificateHashes, carrier }) → bind() → send()/ondatagram, timed in the page, so each round trip also crosses page → Worker → page (comlink). " +
        'Direct: bench/load/bridge-client.ts (UdpSocket from src/node/udp-socket.ts) in a Node process of its own. The page is cross-origin isolated (COOP/COEP) so browser timers tick in 5 µs steps; bridge/Deno CPU per rt spans the whole call (setup and warm-up included)',
    );

    // ---- (b) zero-loss rate of one session ----------------------------------------------------------
    const rateCfg = { payloadBytes: 100, durationMs: quick ? 400 : 1000 };
    const steps = rateSteps(quick);
    const rateRounds = quick ? 1 : 3;
    const setup = { page, bridge, sink, sinkPort, host: HOST, ...rateCfg };
    const searches = Object.fromEntries(carriers.map((c) => [c, [] as RateSearch[]])) as Record<Carrier, RateSearch[]>;
    for (let round = 0; round < rateRounds; round++) {
      for (const carrier of order(carriers, round)) {
        await page.call('workerCall', 'open', { bridge: bridgeOf(carrier) });
        let search: RateSearch;
        try {
          search = await searchZeroLoss(setup, carrier, steps);
        } finally {
          await page.call('workerCall', 'close', {});
        }
        searches[carrier].push(search);
        ctx.log(`  rate round ${round + 1}/${rateRounds} ${carrier}: zero loss up to ${search.zeroLossRate.toLocaleString('en-US')}/s; ${describeStop(search)}`);
      }
    }
    for (const carrier of carriers) {
      const ss = searches[carrier];
      const z = ss.map((s) => s.zeroLossRate);
      const lossy = ss.map((s) => s.stoppedAt).filter((s) => s !== undefined && !s.noLoss);
      figures.push({
        group: `datagrams/s one session sends from a Worker to a UDP sink with zero loss (${rateCfg.payloadBytes}-byte payloads, fixed-rate steps of ${rateCfg.durationMs} ms)`,
        contender: `bridge over ${CARRIER_NAME[carrier]}`,
        unit: 'datagrams/s',
        median: median(z),
        samples: z,
        extra: {
          'stopped by': (['loss', 'client', 'top'] as const).map((k) => `${k} ${ss.filter((s) => s.stoppedBy === k).length}`).join(', '),
          'lossy step delivered/s': lossy.length > 0 ? median(lossy.map((s) => s!.deliveredPerSecond)) : '-',
          'lossy step loss %': lossy.length > 0 ? median(lossy.map((s) => s!.lossPct)) : '-',
        },
      });
    }
    if (hasWt) {
      const r = ratio('zero-loss datagrams/s: WebTransport / WebSocket', searches.webtransport.map((s) => s.zeroLossRate), searches.websocket.map((s) => s.zeroLossRate), TARGET_RATE_RATIO);
      ratios.push(r);
      notes.push(`(b) target: WebTransport's zero-loss rate >= ${TARGET_RATE_RATIO}× WebSocket's: ${r.value.toFixed(2)}× ${r.value >= TARGET_RATE_RATIO ? '(met)' : '(MISSED)'}`);
    }
    notes.push(
      `(b) steps ${steps.map((s) => `${s / 1000}k`).join(', ')}/s, ${rateRounds} round(s) per carrier, order alternating; the bench Worker sends on one open session, paced by setTimeout(1) ticks (browsers clamp nested timers to ~4 ms, so it sends in bursts of rate×tick), each tick sending what the clock says is due; a step passes when the sink counted every datagram sent, the client dropped none (its carrier queue under 1 MiB) and it offered >= 97% of the rate within 110% of the step; a failed step is retried once`,
    );

    // ---- (c) memory per idle session ---------------------------------------------------------------
    const sessions = quick ? 50 : 200;
    const idleRounds = quick ? 1 : 2;
    const idle = Object.fromEntries(carriers.map((c) => [c, [] as IdleRound[]])) as Record<Carrier, IdleRound[]>;
    // Warm-up per carrier: first-use costs (compiled code, lazily made tables) are not per session.
    for (const carrier of carriers) await idleRound(page, bridge, bridgeOf(carrier), 20);
    for (let round = 0; round < idleRounds; round++) {
      for (const carrier of order(carriers, round)) {
        const r = await idleRound(page, bridge, bridgeOf(carrier), sessions);
        idle[carrier].push(r);
        ctx.log(
          `  idle round ${round + 1}/${idleRounds} ${carrier}: ${sessions} sessions in ${Math.round(r.openMs)} ms; per session: bridge RSS ${Math.round(r.bridgeRss)} B, heap ${Math.round(r.bridgeHeap)} B` +
            (carrier === 'webtransport' ? `, Deno RSS ${Math.round(r.denoRss)} B (Deno base ${(r.denoRssBase / 2 ** 20).toFixed(1)} MiB)` : '') +
            `; left after close: bridge RSS ${Math.round(r.bridgeRssLeft)} B${carrier === 'webtransport' ? `, Deno RSS ${Math.round(r.denoRssLeft)} B` : ''}`,
        );
      }
    }
    for (const carrier of carriers) {
      const rs = idle[carrier];
      const total = rs.map((r) => r.bridgeRss + (carrier === 'webtransport' ? r.denoRss : 0));
      figures.push({
        group: `resident memory per idle session (${sessions} sessions from one page, each with one bound UDP socket; Δ VmRSS of the bridge${hasWt ? ' + its Deno child' : ''})`,
        contender: `bridge over ${CARRIER_NAME[carrier]}`,
        unit: 'bytes',
        median: median(total),
        samples: total,
        extra: {
          'bridge RSS': median(rs.map((r) => r.bridgeRss)),
          'bridge heap+external': median(rs.map((r) => r.bridgeHeap)),
          ...(carrier === 'webtransport' ? { 'Deno RSS': median(rs.map((r) => r.denoRss)), 'Deno RSS left after close': median(rs.map((r) => r.denoRssLeft)), 'Deno base MiB': median(rs.map((r) => r.denoRssBase)) / 2 ** 20 } : {}),
          'bridge RSS left after close': median(rs.map((r) => r.bridgeRssLeft)),
        },
      });
    }
    if (hasWt) ratios.push(ratio('RSS per idle session: WebTransport / WebSocket', idle.webtransport.map((r) => r.bridgeRss + r.denoRss), idle.websocket.map((r) => r.bridgeRss)));
    notes.push(
      `(c) per round: ${sessions} sessions opened from the bench Worker (10 at a time, each BridgeConnection.connect + bind), the bridge's and the Deno child's VmRSS (/proc/<pid>/status) and the bridge's heapUsed + external after gc read before, with them open (after the bridge counted them all, +500 ms) and after closing them; 20 sessions per carrier opened and closed first, not counted. RSS is what the kernel counts resident (allocator arenas, not freed back), so it is coarse; the Deno child's heap is not reachable from here`,
      `the bridge runs with packetsPerSecond ${UNCAPPED.packetsPerSecond.toLocaleString('en-US')} and bytesPerSecond ${UNCAPPED.bytesPerSecond.toLocaleString('en-US')} per session (both carriers), its UDP sockets on ${HOST}; Chromium runs without --disable-quic (page-agent.ts's flags otherwise)`,
    );
    return { figures, ratios, notes, meta: { carriers, rtt, cpu, rttCfg, rateCfg, searches, idle, isolation, chromium: page.version } };
  } catch (err) {
    const log = page?.log() ?? [];
    throw new Error(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}${log.length > 0 ? `\npage output:\n${log.join('\n')}` : ''}`);
  } finally {
    await Promise.all([page?.close().catch(() => undefined), ...children.map((c) => c.stop())]);
  }
}

const benchmark: Benchmark = {
  name: 'bridge-carriers',
  title: 'Bridge carriers: WebSocket vs WebTransport from a Worker in headless Chromium (RTT, zero-loss rate, memory per idle session)',
  run,
};
export default benchmark;
