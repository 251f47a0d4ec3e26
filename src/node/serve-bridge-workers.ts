// `icebridge serve --workers N` (startIcebridgeServer's `workers`): the bridge's sessions in N worker
// processes (bridge/cluster.ts in handoff mode) while this process keeps the HTTP port — the pages,
// /config.json, the signalling relay, /metrics — and the STUN/TURN server, and hands every upgrade request
// for the bridge's path to a worker with its socket. What cannot cross a process boundary is refused here.
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { startBridgeCluster, type ClusterBridgeOptions, type RunningBridgeCluster } from '../../bridge/cluster.js';
import type { BridgeOptions } from '../../bridge/options.js';

/** Most worker processes `workers` may ask for. */
const MAX_WORKERS = 1024;

/** The `workers` option, checked: an integer from 1 to 1024 (default 1: the bridge in this process). */
export function workersOption(workers: unknown): number {
  if (workers === undefined) return 1;
  if (typeof workers !== 'number' || !Number.isInteger(workers) || workers < 1 || workers > MAX_WORKERS) {
    throw new RangeError(`workers must be an integer from 1 to ${MAX_WORKERS}, got ${String(workers)}`);
  }
  return workers;
}

/** The bridge options as they cross to the workers; a function or object that cannot cross is a TypeError. */
function crossable(options: BridgeOptions): ClusterBridgeOptions {
  const { server, logger, resolve, mdns, webTransport, metricsSource, ...rest } = options;
  const cannot = Object.entries({ server, logger, resolve, metricsSource, webTransport }).find(([, v]) => v !== undefined)?.[0];
  if (cannot !== undefined) throw new TypeError(`bridge.${cannot} cannot be given to worker processes: use workers: 1`);
  if (mdns !== undefined && mdns !== false) throw new TypeError('bridge.mdns runs in one process (one multicast responder): use workers: 1');
  return rest;
}

/**
 * Starts the workers and routes `http`'s upgrade requests for `path` to them. Resolves once every worker
 * runs; rejects (with every worker stopped) if one cannot start.
 */
export async function startServeBridgeWorkers(http: Server, workers: number, path: string, options: BridgeOptions): Promise<RunningBridgeCluster> {
  const cluster = await startBridgeCluster({ workers, handoff: true, bridge: { ...crossable(options), path } });
  http.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    if (new URL(req.url ?? '/', 'http://x').pathname === path) cluster.handUpgrade(req, socket, head);
  });
  return cluster;
}
