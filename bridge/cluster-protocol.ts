// The IPC messages between the primary of a multi-process bridge (bridge/cluster.ts) and its workers
// (bridge/cluster-worker.ts). Every message carries `icebridge` so other IPC traffic is left alone.
import type { BridgeMetricsSnapshot } from '../src/bridge/metrics.js';
import type { BridgeOptions } from './options.js';

/**
 * The options a worker's bridge runs with: what crosses a process boundary (no server, logger, resolve
 * function or mDNS object; `mdns` and `webTransport` stay with the single-process bridge, see cluster.ts).
 */
export type ClusterBridgeOptions = Omit<BridgeOptions, 'server' | 'logger' | 'resolve' | 'mdns' | 'webTransport' | 'metricsSource'>;

export type ToWorker =
  /** `handoff`: the worker does not listen; the primary hands it upgrade requests (see below). */
  | { icebridge: 'start'; slot: number; options: ClusterBridgeOptions; handoff?: boolean }
  /**
   * An HTTP upgrade request the primary read (`icebridge serve`, whose one HTTP port also serves pages),
   * sent with its TCP socket as the message's handle; `head` is base64 of the bytes read past the headers.
   */
  | { icebridge: 'upgrade'; method: string; url: string; rawHeaders: string[]; head: string }
  | { icebridge: 'snapshot'; id: number }
  | { icebridge: 'metrics-text'; id: number; text: string }
  /** RunningBridgeCluster.setHostAddresses: null for the host's interfaces again (IPC drops undefined). */
  | { icebridge: 'host-addresses'; addresses: string[] | null }
  | { icebridge: 'stop' };

export type FromWorker =
  /** The worker listens for its options (messages sent before would be lost). */
  | { icebridge: 'ready' }
  | { icebridge: 'listening'; port: number; url: string }
  | { icebridge: 'failed'; message: string; usage: boolean }
  /** `id` answers a snapshot request; without one it is the periodic push. */
  | { icebridge: 'snapshot'; id?: number; snapshot: BridgeMetricsSnapshot }
  /** A worker asks for the merged /metrics text, to serve a GET it received. */
  | { icebridge: 'metrics'; id: number };

export function isFromWorker(m: unknown): m is FromWorker {
  return typeof m === 'object' && m !== null && typeof (m as { icebridge?: unknown }).icebridge === 'string';
}

export const isToWorker = isFromWorker as (m: unknown) => m is ToWorker;
