// Memory per idle bridge session, per carrier, for bench/bridge-carriers.ts: `count` sessions (each with one
// bound UDP socket) opened from the bench Worker in one page, then the resident set (VmRSS from
// /proc/<pid>/status) of the bridge process and of its WebTransport Deno child, and the bridge's heap
// (heapUsed + external after gc), before, with the sessions open, and after they are closed.
import { readFileSync } from 'node:fs';
import type { CommandChild } from './command-child.js';
import type { CarrierPage } from './carrier-page.js';
import type { CarrierBridge } from '../pages/carrier-worker.js';

export function vmRssBytes(pid: number | undefined): number {
  if (pid === undefined) return Number.NaN;
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

interface CarriersReply {
  websocket: number;
  webtransport: number | undefined;
  denoPid: number | undefined;
  bridgePid: number;
}

interface Snapshot {
  bridgeRss: number;
  denoRss: number;
  bridgeHeap: number;
  sessions: number;
  denoPid: number | undefined;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function snapshot(bridge: CommandChild, carrier: 'websocket' | 'webtransport'): Promise<Snapshot> {
  // The WebTransport session count comes from the Deno child's reports: wait for a fresh one.
  const c = await bridge.call<CarriersReply>('carriers', { waitReport: true }, 10_000);
  const heap = await bridge.call<{ total: number }>('heap');
  return {
    bridgeRss: vmRssBytes(c.bridgePid),
    denoRss: vmRssBytes(c.denoPid),
    bridgeHeap: heap.total,
    sessions: (carrier === 'websocket' ? c.websocket : c.webtransport) ?? 0,
    denoPid: c.denoPid,
  };
}

async function waitForSessions(bridge: CommandChild, carrier: 'websocket' | 'webtransport', count: number): Promise<void> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const c = await bridge.call<CarriersReply>('carriers', { waitReport: carrier === 'webtransport' }, 10_000);
    const n = (carrier === 'websocket' ? c.websocket : c.webtransport) ?? 0;
    if (n === count) return;
    if (Date.now() > deadline) throw new Error(`the bridge has ${n} ${carrier} sessions, expected ${count}`);
    await sleep(200);
  }
}

export interface IdleRound {
  carrier: 'websocket' | 'webtransport';
  count: number;
  openMs: number;
  /** Per session, bytes: (with them open − before) / count. */
  bridgeRss: number;
  denoRss: number;
  bridgeHeap: number;
  /** Per session, bytes still held after closing them: (after − before) / count. */
  bridgeRssLeft: number;
  denoRssLeft: number;
  /** The Deno child's resident set before, bytes (its base cost). */
  denoRssBase: number;
}

export async function idleRound(page: CarrierPage, bridge: CommandChild, b: CarrierBridge, count: number): Promise<IdleRound> {
  await waitForSessions(bridge, b.carrier, 0);
  await sleep(300);
  const s0 = await snapshot(bridge, b.carrier);
  const opened = await page.call<{ opened: number; failed: number; firstFailure?: string; ms: number }>('workerCall', 'sessions', { bridge: b, count, concurrency: 10, maxMs: 60_000 });
  try {
    if (opened.opened < count) throw new Error(`opened ${opened.opened} of ${count} ${b.carrier} sessions; first failure: ${opened.firstFailure}`);
    await waitForSessions(bridge, b.carrier, count);
    await sleep(500);
    const s1 = await snapshot(bridge, b.carrier);
    if (s1.denoPid !== s0.denoPid) throw new Error(`the Deno child changed (pid ${s0.denoPid} → ${s1.denoPid}) during the round`);
    await page.call('workerCall', 'release', {});
    await waitForSessions(bridge, b.carrier, 0);
    await sleep(500);
    const s2 = await snapshot(bridge, b.carrier);
    return {
      carrier: b.carrier,
      count,
      openMs: opened.ms,
      bridgeRss: (s1.bridgeRss - s0.bridgeRss) / count,
      denoRss: (s1.denoRss - s0.denoRss) / count,
      bridgeHeap: (s1.bridgeHeap - s0.bridgeHeap) / count,
      bridgeRssLeft: (s2.bridgeRss - s0.bridgeRss) / count,
      denoRssLeft: (s2.denoRss - s0.denoRss) / count,
      denoRssBase: s0.denoRss,
    };
  } finally {
    await page.call('workerCall', 'release', {}).catch(() => undefined);
  }
}
