// startBridgeCluster(): the bridge on every core. N worker processes (node:cluster) share the WebSocket
// port — the primary accepts connections and hands them round-robin to the workers (Node's default on
// Linux) — and each runs startBridge with its own sessions and UDP sockets; nothing is shared but the port
// and the options. The primary runs no session: it forks, replaces a worker that exits unasked (its clients
// lost their TCP connection: close code 1006, or 1011 when the worker failed on an uncaught error and had
// time to say so), and merges /metrics (bridge/cluster-metrics.ts). The in-process startBridge is unchanged.
//
// Limits are per worker, except maxSessions and maxPendingConnections, divided among the workers (rounded
// up; round-robin accept keeps the workers even). mDNS and WebTransport stay with the single-process bridge:
// a multicast responder and a Deno carrier per worker would compete for one port and one set of names.
// A session's UDP socket may send to another session's socket on the host (addSessionPort) only within its
// own worker.
//
// With `handoff` (`icebridge serve --workers`, whose one HTTP port also serves pages, /config.json and the
// signalling relay in the primary) the workers do not listen: the primary reads each upgrade request and
// sends it with its TCP socket to the next worker (handUpgrade), which replays it to its bridge.
import cluster, { type Worker } from 'node:cluster';
import type { IncomingMessage } from 'node:http';
import { Socket } from 'node:net';
import { availableParallelism } from 'node:os';
import type { Duplex } from 'node:stream';
import type { BridgeMetricsSnapshot } from '../src/bridge/metrics.js';
import { addSnapshot, clusterMetricsText, emptySnapshot, type WorkerRow } from './cluster-metrics.js';
import { isFromWorker, type ClusterBridgeOptions, type FromWorker, type ToWorker } from './cluster-protocol.js';
import { BRIDGE_DEFAULTS, checkHostAddresses } from './options.js';

export type { ClusterBridgeOptions } from './cluster-protocol.js';

export interface BridgeClusterOptions {
  /** Worker processes. Default: availableParallelism() (the CPUs this process may use). */
  workers?: number;
  bridge: ClusterBridgeOptions;
  /**
   * The script the workers run; it must call serveAsClusterWorker() (bridge/cluster-worker.ts) when
   * isBridgeWorker(). Default: this process's own script (process.argv[1]) with its arguments, as
   * `icebridge bridge` does.
   */
  exec?: string;
  args?: string[];
  /** Node flags of the workers. Default: this process's (process.execArgv). */
  execArgv?: string[];
  /** How long a worker may take to listen. Default 20 000 ms. */
  startTimeoutMs?: number;
  /** Wait before replacing a worker; doubles while workers keep dying within a second of starting, up to 5 s. Default 100 ms. */
  restartDelayMs?: number;
  /** One JSON line per worker start, exit and replacement. Default: stderr. */
  logger?: (line: string) => void;
  /** The workers do not listen; the caller's HTTP server passes them upgrade requests with handUpgrade. Default false. */
  handoff?: boolean;
}

export interface RunningBridgeCluster {
  readonly url: string;
  readonly port: number;
  /** The workers running now: slot (1…N, kept by a replacement) and process id. */
  readonly workers: readonly { slot: number; pid: number }[];
  /** Workers that exited unasked and were replaced. */
  readonly restarts: number;
  /** Sessions open in all workers, as of their last push (at most SNAPSHOT_INTERVAL_MS old). */
  readonly sessionCount: number;
  /**
   * With `handoff`: gives an upgrade request this process's HTTP server read to the next worker (round
   * robin), socket and all; 503 when no worker is up (one is being replaced).
   */
  handUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  /** Resolves when the next replacement worker listens. */
  nextRestart(): Promise<{ slot: number; pid: number }>;
  /** Every worker's counters merged (fresh from each live worker, kept ones of the exited). */
  snapshot(): Promise<BridgeMetricsSnapshot>;
  /** What GET /metrics serves. */
  metricsText(): Promise<string>;
  /**
   * RunningBridge.setHostAddresses in every worker, and in the workers that replace them later. A TypeError
   * for what is not a list of IP addresses (at most 255).
   */
  setHostAddresses(addresses: string[] | undefined): void;
  /** Stops every worker (sessions closed 1001). */
  close(): Promise<void>;
}

/** How long the primary waits for a live worker's fresh snapshot before using its last pushed one. */
const SNAPSHOT_TIMEOUT_MS = 1000;
const STOP_TIMEOUT_MS = 5000;
const MAX_RESTART_DELAY_MS = 5000;

interface Slot {
  slot: number;
  worker: Worker | undefined;
  listening: boolean;
  last: BridgeMetricsSnapshot;
  startedAt: number;
  delayMs: number;
}

export async function startBridgeCluster(options: BridgeClusterOptions): Promise<RunningBridgeCluster> {
  if (!cluster.isPrimary) throw new Error('startBridgeCluster runs in the primary process');
  const count = options.workers ?? availableParallelism();
  if (!Number.isInteger(count) || count < 1 || count > 1024) throw new RangeError('bridge cluster option workers must be an integer from 1 to 1024');
  const logger = options.logger ?? ((line: string) => process.stderr.write(`${line}\n`));
  const log = (fields: Record<string, unknown>) => logger(JSON.stringify({ time: new Date().toISOString(), ...fields }));
  const startTimeoutMs = options.startTimeoutMs ?? 20_000;
  const restartDelayMs = options.restartDelayMs ?? 100;
  const b = options.bridge;
  const perWorker: ClusterBridgeOptions = {
    ...b,
    maxSessions: Math.ceil((b.maxSessions ?? BRIDGE_DEFAULTS.maxSessions) / count),
    maxPendingConnections: Math.ceil((b.maxPendingConnections ?? BRIDGE_DEFAULTS.maxPendingConnections) / count),
  };
  cluster.setupPrimary({
    exec: options.exec ?? process.argv[1],
    args: options.args ?? process.argv.slice(2),
    execArgv: options.execArgv ?? process.execArgv,
  });

  const slots: Slot[] = Array.from({ length: count }, (_, i) => ({ slot: i + 1, worker: undefined, listening: false, last: emptySnapshot(), startedAt: 0, delayMs: restartDelayMs }));
  /** Counters of workers that exited. */
  const retired = emptySnapshot();
  const retiredSessionsBySlot = new Map<number, number>();
  let restarts = 0;
  let stopping = false;
  /**
   * What the workers ask node:cluster for. The primary keys its listening handle by the address and port
   * asked for, so every worker asks for the same (0 included: they share the port the first one got); if
   * every worker is gone, the handle closed with them, and replacements ask for the port clients know.
   */
  let askPort = b.port ?? BRIDGE_DEFAULTS.port;
  let port = askPort;
  let url = '';
  let nextRequest = 1;
  const pendingSnapshots = new Map<number, (s: BridgeMetricsSnapshot) => void>();
  let restartWaiters: ((w: { slot: number; pid: number }) => void)[] = [];

  const toWorker = (w: Worker, m: ToWorker) => {
    if (w.isConnected()) w.send(m);
  };

  const freshSnapshot = (s: Slot): Promise<BridgeMetricsSnapshot> => {
    const w = s.worker;
    if (!w || !s.listening || !w.isConnected()) return Promise.resolve(s.last);
    const id = nextRequest++;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        pendingSnapshots.delete(id);
        resolve(s.last);
      }, SNAPSHOT_TIMEOUT_MS);
      pendingSnapshots.set(id, (snap) => {
        clearTimeout(timer);
        resolve(snap);
      });
      toWorker(w, { icebridge: 'snapshot', id });
    });
  };

  const merged = async (): Promise<{ snapshot: BridgeMetricsSnapshot; rows: WorkerRow[] }> => {
    const live = await Promise.all(slots.map((s) => (s.worker ? freshSnapshot(s) : Promise.resolve(undefined))));
    const snapshot = addSnapshot(emptySnapshot(), retired, false);
    const rows: WorkerRow[] = slots.map((s, i) => {
      const snap = live[i];
      if (snap) addSnapshot(snapshot, snap);
      return {
        slot: s.slot,
        pid: s.worker && s.listening ? s.worker.process.pid : undefined,
        sessionsOpen: snap?.sessionsOpen ?? 0,
        sessionsTotal: (snap?.sessionsTotal ?? 0) + (retiredSessionsBySlot.get(s.slot) ?? 0),
      };
    });
    return { snapshot, rows };
  };
  const metricsText = async () => {
    const { snapshot, rows } = await merged();
    return clusterMetricsText(snapshot, rows, restarts);
  };

  const fork = (s: Slot): Promise<void> => {
    const worker = cluster.fork({ ICEBRIDGE_BRIDGE_WORKER: '1' });
    s.worker = worker;
    s.listening = false;
    s.last = emptySnapshot();
    s.startedAt = Date.now();
    return new Promise<void>((resolve, reject) => {
      let settled = false;
      const timer = setTimeout(() => fail(new Error(`bridge worker ${s.slot} did not listen within ${startTimeoutMs} ms`)), startTimeoutMs);
      function fail(err: Error) {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        worker.process.kill('SIGKILL');
        reject(err);
      }
      worker.on('message', (m: unknown) => {
        if (!isFromWorker(m)) return;
        onMessage(s, worker, m);
        if (m.icebridge === 'ready') {
          if (!slots.some((o) => o !== s && o.listening)) askPort = url === '' ? askPort : port;
          toWorker(worker, { icebridge: 'start', slot: s.slot, options: { ...perWorker, port: askPort }, handoff: options.handoff === true });
        }
        else if (m.icebridge === 'listening' && !settled) {
          settled = true;
          clearTimeout(timer);
          s.listening = true;
          port = m.port;
          url = m.url;
          log({ event: 'worker-listening', worker: s.slot, pid: worker.process.pid });
          resolve();
        } else if (m.icebridge === 'failed') {
          const err = m.usage ? new RangeError(m.message) : new Error(m.message);
          fail(err);
        }
      });
      worker.once('exit', (code, signal) => {
        if (!settled) fail(new Error(`bridge worker ${s.slot} exited (${signal ?? code}) before listening`));
        onExit(s, worker, code, signal);
      });
    });
  };

  const onMessage = (s: Slot, worker: Worker, m: FromWorker) => {
    if (m.icebridge === 'snapshot') {
      if (s.worker === worker) s.last = m.snapshot;
      if (m.id !== undefined) {
        pendingSnapshots.get(m.id)?.(m.snapshot);
        pendingSnapshots.delete(m.id);
      }
    } else if (m.icebridge === 'metrics') {
      void metricsText().then((text) => toWorker(worker, { icebridge: 'metrics-text', id: m.id, text }));
    }
  };

  const onExit = (s: Slot, worker: Worker, code: number | null, signal: string | null) => {
    if (s.worker !== worker) return;
    // Its counters stay with the primary; its gauges die with its sessions.
    addSnapshot(retired, s.last, false);
    retiredSessionsBySlot.set(s.slot, (retiredSessionsBySlot.get(s.slot) ?? 0) + s.last.sessionsTotal);
    s.last = emptySnapshot();
    s.worker = undefined;
    const wasListening = s.listening;
    s.listening = false;
    if (stopping || !wasListening) return;
    restarts++;
    s.delayMs = Date.now() - s.startedAt < 1000 ? Math.min(MAX_RESTART_DELAY_MS, s.delayMs * 2) : restartDelayMs;
    log({ event: 'worker-exit', worker: s.slot, pid: worker.process.pid, code, signal, restartInMs: s.delayMs });
    setTimeout(() => {
      if (stopping) return;
      fork(s).then(
        () => {
          const w = { slot: s.slot, pid: s.worker!.process.pid! };
          const waiters = restartWaiters;
          restartWaiters = [];
          for (const resolve of waiters) resolve(w);
        },
        (err: unknown) => log({ event: 'worker-restart-failed', worker: s.slot, error: err instanceof Error ? err.message : String(err) }),
      );
    }, s.delayMs);
  };

  const stopAll = async () => {
    stopping = true;
    await Promise.all(
      slots.map((s) => {
        const w = s.worker;
        if (!w) return undefined;
        return new Promise<void>((resolve) => {
          if (w.process.exitCode !== null || w.process.signalCode !== null) return resolve();
          const timer = setTimeout(() => w.process.kill('SIGKILL'), STOP_TIMEOUT_MS);
          w.once('exit', () => {
            clearTimeout(timer);
            resolve();
          });
          toWorker(w, { icebridge: 'stop' });
        });
      }),
    );
  };

  try {
    await Promise.all(slots.map(fork));
  } catch (err) {
    await stopAll();
    throw err;
  }

  let nextHandoff = 0;
  const handUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    socket.on('error', () => {});
    const live = slots.filter((s) => s.worker !== undefined && s.listening && s.worker.isConnected());
    // A TLS socket cannot change process (its state is in this one's OpenSSL): only plain TCP is handed on.
    if (!options.handoff || live.length === 0 || !(socket instanceof Socket) || socket.constructor !== Socket) {
      socket.end('HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    const worker = live[nextHandoff++ % live.length].worker!;
    // Stop reading here first: until the handle is closed in this process both hold the descriptor, and the
    // first frame the client sends once the worker has answered was read, and lost, by this one. pause()
    // alone does not stop the kernel reads of a plain net.Socket (only of one with `onread`): its handle's
    // readStop() does (Node has no public call for it).
    socket.pause();
    (socket as unknown as { _handle?: { readStop?(): number } })._handle?.readStop?.();
    const m: ToWorker = { icebridge: 'upgrade', method: req.method ?? 'GET', url: req.url ?? '/', rawHeaders: req.rawHeaders, head: head.toString('base64') };
    worker.send(m, socket, (err) => {
      if (err) socket.destroy();
    });
  };

  return {
    get url() {
      return url;
    },
    get port() {
      return port;
    },
    get workers() {
      return slots.filter((s) => s.worker && s.listening).map((s) => ({ slot: s.slot, pid: s.worker!.process.pid! }));
    },
    get restarts() {
      return restarts;
    },
    get sessionCount() {
      return slots.reduce((n, s) => n + (s.worker ? s.last.sessionsOpen : 0), 0);
    },
    handUpgrade,
    nextRestart: () => new Promise((resolve) => restartWaiters.push(resolve)),
    snapshot: async () => (await merged()).snapshot,
    metricsText,
    setHostAddresses(addresses) {
      checkHostAddresses(addresses);
      // A replacement worker starts with the list; the running ones hear of it now.
      perWorker.hostAddresses = addresses === undefined ? undefined : [...addresses];
      for (const s of slots) if (s.worker && s.listening) toWorker(s.worker, { icebridge: 'host-addresses', addresses: perWorker.hostAddresses ?? null });
    },
    close: stopAll,
  };
}
