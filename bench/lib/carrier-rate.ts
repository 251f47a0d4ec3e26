// The zero-loss rate search of bench/bridge-carriers.ts: one session (bench Worker in headless Chromium,
// one carrier) sends 100-byte datagrams to a UDP sink at fixed-rate steps; a step passes when the sink
// counted every datagram sent and nobody dropped one; the search ends at the first step that fails twice in
// a row (like bench/bridge.ts). Loss is attributed to the client (its carrier queue over 1 MiB), the bridge
// (its drop counters for that carrier), the sink's receive buffer (/proc/net/udp), or in flight.
import type { CommandChild } from './command-child.js';
import type { CarrierPage } from './carrier-page.js';
import { udpDrops } from './proc.js';
import type { WorkerRateResult } from '../pages/carrier-worker.js';
import { searchZeroLoss as searchRates, type RateSearch as ZeroLossSearch } from './zero-loss-search.js';

export interface StepResult {
  rate: number;
  sent: number;
  received: number;
  droppedByClient: number;
  bridgeDrops: number;
  sinkKernelDrops: number | null;
  lossPct: number;
  offeredPerSecond: number;
  deliveredPerSecond: number;
  maxBurst: number;
  noLoss: boolean;
  /** The Worker offered >= 97% of the rate. */
  offered: boolean;
}

export type RateSearch = ZeroLossSearch<StepResult>;

export function rateSteps(quick: boolean): number[] {
  if (quick) return [5_000, 10_000, 20_000];
  const steps: number[] = [];
  for (let r = 5_000; r <= 200_000; r = Math.round((r * 1.3) / 1000) * 1000) steps.push(r);
  return steps;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const dropsOf = (stats: Record<string, unknown>, carrier: string) => Number((stats.dropsByCarrier as Record<string, number> | undefined)?.[carrier] ?? 0);

export interface RateSetup {
  page: CarrierPage;
  bridge: CommandChild;
  sink: CommandChild;
  sinkPort: number;
  host: string;
  payloadBytes: number;
  durationMs: number;
}

async function measureStep(s: RateSetup, carrier: string, rate: number): Promise<StepResult> {
  const sink0 = await s.sink.call('stats');
  const bridge0 = await s.bridge.call('stats');
  const kernel0 = udpDrops(s.sinkPort);
  const r = await s.page.call<WorkerRateResult>('workerCall', 'rate', { host: s.host, port: s.sinkPort, rate, payloadBytes: s.payloadBytes, durationMs: s.durationMs });
  // Drain: until the sink has everything or its count stops moving (bounded).
  let received = 0;
  let last = -1;
  for (let i = 0; i < 30; i++) {
    received = Number((await s.sink.call('stats')).received) - Number(sink0.received);
    if (received >= r.sent || received === last) break;
    last = received;
    await sleep(100);
  }
  const bridge1 = await s.bridge.call('stats');
  const kernel1 = udpDrops(s.sinkPort);
  const expected = Math.ceil((rate * s.durationMs) / 1000);
  const lost = r.sent - received;
  return {
    rate,
    sent: r.sent,
    received,
    droppedByClient: r.droppedByClient,
    bridgeDrops: dropsOf(bridge1, carrier) - dropsOf(bridge0, carrier),
    sinkKernelDrops: kernel0 === null || kernel1 === null ? null : kernel1 - kernel0,
    lossPct: (100 * lost) / Math.max(1, r.sent),
    offeredPerSecond: r.sent / (r.elapsedMs / 1000),
    deliveredPerSecond: received / (r.elapsedMs / 1000),
    maxBurst: r.maxBurst,
    noLoss: lost === 0 && r.droppedByClient === 0,
    offered: r.sent >= 0.97 * expected && r.elapsedMs <= 1.1 * s.durationMs + 50,
  };
}

/** One search over the session the Worker holds (workerCall 'open' first). */
export function searchZeroLoss(s: RateSetup, carrier: string, steps: readonly number[]): Promise<RateSearch> {
  return searchRates(steps, (rate) => measureStep(s, carrier, rate));
}

export function describeStop(search: RateSearch): string {
  const f = search.stoppedAt;
  if (!f) return 'no loss at any step';
  return (
    `stopped by ${search.stoppedBy} at the ${f.rate.toLocaleString('en-US')}/s step: offered ${Math.round(f.offeredPerSecond).toLocaleString('en-US')}/s, ` +
    `delivered ${Math.round(f.deliveredPerSecond).toLocaleString('en-US')}/s, loss ${f.lossPct.toFixed(2)}% (client dropped ${f.droppedByClient}, ` +
    `bridge dropped ${f.bridgeDrops}, sink buffer dropped ${f.sinkKernelDrops ?? '?'}), largest burst ${f.maxBurst}`
  );
}
