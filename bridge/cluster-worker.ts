// One worker process of a multi-process bridge (bridge/cluster.ts): waits for its options from the primary,
// runs startBridge on the shared port (node:cluster hands it connections), and answers the primary's
// snapshot requests. GET /metrics on any worker serves the primary's merged text. It ends on the primary's
// `stop` (sessions closed 1001), when the primary goes away, or on an uncaught error: then its sessions are
// closed with 1011 (internal error) within a second, so clients see a close code, and the primary replaces it.
// SIGINT and SIGTERM are left to the primary (a terminal's Ctrl-C or a service manager signals every process).
import cluster from 'node:cluster';
import { createServer, IncomingMessage, type Server } from 'node:http';
import { Socket } from 'node:net';
import { BridgeCloseCode } from './close-codes.js';
import { isToWorker, type FromWorker, type ToWorker } from './cluster-protocol.js';
import { startBridge, type RunningBridge } from './server.js';

/** How long a failing worker waits for its sessions' close frames to leave before it exits. */
const FAIL_GRACE_MS = 1000;
/** How long a worker waits for the primary's merged /metrics text. */
const METRICS_TIMEOUT_MS = 2000;
/** How often a worker pushes its counters to the primary (what the primary keeps if this worker dies). */
export const SNAPSHOT_INTERVAL_MS = 1000;

function send(m: FromWorker): Promise<void> {
  return new Promise((resolve) => {
    if (!process.connected) return resolve();
    process.send!(m, undefined, undefined, () => resolve());
  });
}

/** True when this process is a bridge worker forked by bridge/cluster.ts. */
export function isBridgeWorker(): boolean {
  return cluster.isWorker && process.env.ICEBRIDGE_BRIDGE_WORKER === '1';
}

/** Runs this process as a bridge worker until it is stopped; resolves with its exit code. */
export async function serveAsClusterWorker(): Promise<number> {
  const start = await new Promise<Extract<ToWorker, { icebridge: 'start' }> | undefined>((resolve) => {
    const onMessage = (m: unknown) => {
      if (isToWorker(m) && m.icebridge === 'start') {
        process.off('message', onMessage);
        resolve(m);
      }
    };
    process.on('message', onMessage);
    process.once('disconnect', () => resolve(undefined));
    void send({ icebridge: 'ready' });
  });
  if (!start) return 1;
  const slot = start.slot;
  const waiting = new Map<number, (text: string) => void>();
  let nextId = 1;
  let bridge: RunningBridge;
  // Handed-off upgrades arrive on a server that never listens: the bridge attaches to it as to an app's.
  const handoff = start.handoff === true ? createServer() : undefined;
  try {
    bridge = await startBridge({
      ...start.options,
      ...(handoff ? { server: handoff } : {}),
      // Each line says which worker wrote it.
      logger: (line) => process.stderr.write(`${line.startsWith('{') ? `{"worker":${slot},"pid":${process.pid},${line.slice(1)}` : line}\n`),
      metricsSource: () =>
        new Promise((resolve, reject) => {
          const id = nextId++;
          const timer = setTimeout(() => {
            waiting.delete(id);
            reject(new Error('the primary did not answer'));
          }, METRICS_TIMEOUT_MS);
          waiting.set(id, (text) => {
            clearTimeout(timer);
            resolve(text);
          });
          void send({ icebridge: 'metrics', id });
        }),
    });
  } catch (err) {
    await send({ icebridge: 'failed', message: err instanceof Error ? err.message : String(err), usage: err instanceof TypeError || err instanceof RangeError });
    return 1;
  }
  const push = () => void send({ icebridge: 'snapshot', snapshot: bridge.snapshot() });
  const pushing = setInterval(push, SNAPSHOT_INTERVAL_MS);
  pushing.unref();

  return new Promise<number>((resolve) => {
    let ending = false;
    const end = async (code: number, closeCode: number, reason: string) => {
      if (ending) return;
      ending = true;
      clearInterval(pushing);
      const cut = setTimeout(() => resolve(code), FAIL_GRACE_MS + 1000);
      await bridge.close(closeCode, reason).catch(() => {});
      clearTimeout(cut);
      // The last counts, so the primary keeps them once this process is gone.
      await send({ icebridge: 'snapshot', snapshot: bridge.snapshot() });
      resolve(code);
    };
    process.on('message', (m: unknown, handle: unknown) => {
      if (!isToWorker(m)) return;
      if (m.icebridge === 'upgrade') handUpgrade(handoff, m, handle);
      else if (m.icebridge === 'snapshot') void send({ icebridge: 'snapshot', id: m.id, snapshot: bridge.snapshot() });
      else if (m.icebridge === 'metrics-text') {
        waiting.get(m.id)?.(m.text);
        waiting.delete(m.id);
      }
      else if (m.icebridge === 'host-addresses') bridge.setHostAddresses(m.addresses ?? undefined);
      else if (m.icebridge === 'stop') void end(0, BridgeCloseCode.goingAway, 'bridge shutting down');
    });
    process.once('disconnect', () => void end(0, BridgeCloseCode.goingAway, 'bridge shutting down'));
    // Ctrl-C reaches the whole process group: the primary stops the workers (or, gone, disconnects them).
    process.on('SIGINT', () => {});
    process.on('SIGTERM', () => {});
    process.on('uncaughtException', (err) => {
      process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), event: 'worker-failed', worker: slot, pid: process.pid, error: err.stack ?? String(err) })}\n`);
      setTimeout(() => resolve(1), FAIL_GRACE_MS).unref();
      void end(1, BridgeCloseCode.internalError, 'bridge worker failed');
    });
    void send({ icebridge: 'listening', port: handoff ? 0 : bridge.port, url: handoff ? '' : bridge.url });
  });
}

/** Replays an upgrade request the primary read as this process's own, on the socket it sent along. */
function handUpgrade(server: Server | undefined, m: Extract<ToWorker, { icebridge: 'upgrade' }>, handle: unknown): void {
  if (!(handle instanceof Socket)) return;
  if (server === undefined) {
    handle.destroy();
    return;
  }
  const req = new IncomingMessage(handle);
  req.method = m.method;
  req.url = m.url;
  req.httpVersionMajor = 1;
  req.httpVersionMinor = 1;
  req.httpVersion = '1.1';
  req.rawHeaders = m.rawHeaders;
  for (let i = 0; i + 1 < m.rawHeaders.length; i += 2) {
    const name = m.rawHeaders[i].toLowerCase();
    const value = m.rawHeaders[i + 1];
    const had = req.headers[name];
    req.headers[name] = had === undefined ? value : `${String(had)}, ${value}`;
  }
  server.emit('upgrade', req, handle, Buffer.from(m.head, 'base64'));
}
