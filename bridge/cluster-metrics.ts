// The counters of a multi-process bridge (bridge/cluster.ts): the primary merges its workers' snapshots.
// Counters sum over every worker that ever ran — a worker that exited leaves the counts of its last snapshot
// (pushed every snapshotIntervalMs, and once more on a clean stop) with the primary, so `_total` series never
// go backwards when a worker is replaced; what a crashed worker counted after its last push is lost. Gauges
// (sessions, sockets, streams, listeners open) sum over the live workers only: a dead worker's sessions are gone.
import { bridgeMetricsText, type BridgeMetricsSnapshot } from '../src/bridge/metrics.js';

/** The gauges of a snapshot: they describe now, so a dead worker's are dropped, never kept. */
const GAUGES = ['sessionsOpen', 'socketsOpen', 'streamsOpen', 'listenersOpen'] as const;
type Gauge = (typeof GAUGES)[number];
type RecordKey = 'drops' | 'refusals' | 'lookups' | 'streamRefusals';
const RECORDS: readonly RecordKey[] = ['drops', 'refusals', 'lookups', 'streamRefusals'];

export function emptySnapshot(): BridgeMetricsSnapshot {
  return {
    sessionsOpen: 0,
    sessionsTotal: 0,
    socketsOpen: 0,
    socketsTotal: 0,
    datagramsOut: 0,
    datagramsIn: 0,
    bytesOut: 0,
    bytesIn: 0,
    malformedFrames: 0,
    errorFramesSent: 0,
    errorFramesSuppressed: 0,
    drops: {},
    refusals: {},
    lookups: {},
    answersDenied: 0,
    streamsOpen: 0,
    streamsTotal: 0,
    streamBytesOut: 0,
    streamBytesIn: 0,
    streamPauses: 0,
    streamFlowControlErrors: 0,
    streamRefusals: {},
    listenersOpen: 0,
    listenersTotal: 0,
    streamsAccepted: 0,
  };
}

/** Adds `b` into `into`; `withGauges` false adds the counters only (a retired worker's). */
export function addSnapshot(into: BridgeMetricsSnapshot, b: BridgeMetricsSnapshot, withGauges = true): BridgeMetricsSnapshot {
  const target = into as unknown as Record<string, unknown>;
  for (const [key, value] of Object.entries(b)) {
    if (typeof value === 'number') {
      if (!withGauges && GAUGES.includes(key as Gauge)) continue;
      target[key] = ((target[key] as number | undefined) ?? 0) + value;
    }
  }
  for (const key of RECORDS) {
    const sum = into[key] as Record<string, number | undefined>;
    for (const [k, v] of Object.entries(b[key] as Record<string, number | undefined>)) sum[k] = (sum[k] ?? 0) + (v ?? 0);
  }
  return into;
}

/** One worker as the primary sees it, for the per-worker series. */
export interface WorkerRow {
  /** The worker's slot, 1…N: a replacement keeps its predecessor's. */
  slot: number;
  pid: number | undefined;
  sessionsOpen: number;
  /** Sessions this slot accepted, its predecessors' included. */
  sessionsTotal: number;
}

/** The merged counters (unlabelled, as one bridge's), then one series per worker and the restarts. */
export function clusterMetricsText(merged: BridgeMetricsSnapshot, workers: readonly WorkerRow[], restarts: number): string {
  const lines = [
    '# HELP icebridge_bridge_workers Worker processes running now.',
    '# TYPE icebridge_bridge_workers gauge',
    `icebridge_bridge_workers ${workers.filter((w) => w.pid !== undefined).length}`,
    '# HELP icebridge_bridge_worker_restarts_total Workers that exited unasked and were replaced.',
    '# TYPE icebridge_bridge_worker_restarts_total counter',
    `icebridge_bridge_worker_restarts_total ${restarts}`,
    '# HELP icebridge_bridge_worker_sessions_open Sessions open now, by worker slot and process id.',
    '# TYPE icebridge_bridge_worker_sessions_open gauge',
    ...workers.filter((w) => w.pid !== undefined).map((w) => `icebridge_bridge_worker_sessions_open{worker="${w.slot}",pid="${w.pid}"} ${w.sessionsOpen}`),
    '# HELP icebridge_bridge_worker_sessions_total Sessions accepted, by worker slot (its replaced processes included).',
    '# TYPE icebridge_bridge_worker_sessions_total counter',
    ...workers.map((w) => `icebridge_bridge_worker_sessions_total{worker="${w.slot}"} ${w.sessionsTotal}`),
  ];
  return `${bridgeMetricsText([{ snapshot: merged }])}${lines.join('\n')}\n`;
}
