// The client side of bench/bridge.ts, a process of its own (neither the bridge's nor the bench runner's
// event loop). Commands arrive as JSON lines on stdin and each is answered with one JSON line:
//   rtt       sequential ping-pong of a small datagram to a UDP echo server, directly (UdpSocket) or through
//             the bridge (connectBridge + one bound socket); percentiles of the round-trip time
//   open      opens one bridge session with one bound socket, kept for `rate`
//   rate      sends datagrams to a UDP sink at a fixed rate for a while, directly or over the open session
//   close     closes the session of `open`
//   sessions  opens `count` authenticated sessions, each with one bound socket, and keeps them idle
//   release   closes those sessions
// Every loop is bounded by a count and by a time limit. stdin closing (the run ended or died) ends the process.
import { createInterface } from 'node:readline';
import type { BridgeConnection, BridgeSocket } from '../../src/net/bridge-client.js';
import type { DatagramSocket } from '../../src/net/datagram-socket.js';
import type { TransportAddress } from '../../src/net/transport-address.js';
import { connectBridge } from '../../src/node/bridge-client.js';
import { UdpSocket } from '../../src/node/udp-socket.js';
import { ownCpuMs, processCpuMs } from '../lib/proc.js';

export interface RttCommand {
  cmd: 'rtt';
  mode: 'direct' | 'bridge';
  /** Bridge URL with its token (mode 'bridge'). */
  url?: string;
  host: string;
  port: number;
  payloadBytes: number;
  warmup: number;
  samples: number;
  /** A datagram unanswered for this long is counted lost and the next one goes. */
  timeoutMs: number;
  /** Hard bound on the whole command. */
  maxMs: number;
  /** Processes (the bridge, the echo server) whose CPU time over the measured round trips (warm-up excluded) to report. */
  observePids?: number[];
}

export interface RttResult {
  type: 'rtt';
  count: number;
  lost: number;
  /** Round-trip times in µs. */
  p50: number;
  p90: number;
  p99: number;
  min: number;
  mean: number;
  /** Over the measured round trips only (warm-up excluded): wall time, this process's CPU, the observed one's. */
  elapsedMs: number;
  cpuMs: number;
  /** CPU ms of each of observePids over the measured round trips, in order. */
  observedCpuMs: (number | null)[];
}

export interface RateCommand {
  cmd: 'rate';
  mode: 'direct' | 'bridge';
  host: string;
  port: number;
  payloadBytes: number;
  /** Datagrams per second offered. */
  rate: number;
  durationMs: number;
}

export interface RateResult {
  type: 'rate';
  /** send() calls made. */
  sent: number;
  /** Of those, datagrams the bridge client dropped itself (its WebSocket queue over its limit). */
  droppedByClient: number;
  elapsedMs: number;
  cpuMs: number;
  /** The largest number of datagrams one pacing tick had to send (a stalled client sends in bursts). */
  maxBurst: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
}

async function openBridgeSocket(url: string): Promise<{ connection: BridgeConnection; socket: BridgeSocket }> {
  const connection = await connectBridge(url, { connectTimeoutMs: 10_000, requestTimeoutMs: 10_000 });
  try {
    return { connection, socket: await connection.bind({ family: 'IPv4' }) };
  } catch (err) {
    connection.close();
    throw err;
  }
}

async function rtt(c: RttCommand): Promise<RttResult> {
  const to: TransportAddress = { address: c.host, port: c.port };
  let socket: DatagramSocket;
  let connection: BridgeConnection | undefined;
  if (c.mode === 'bridge') {
    if (c.url === undefined) throw new Error('rtt over the bridge needs url');
    ({ socket, connection } = await openBridgeSocket(c.url));
  } else {
    socket = await UdpSocket.bind({ address: c.host });
  }
  const total = c.warmup + c.samples;
  const samples = new Float64Array(c.samples);
  const payload = new Uint8Array(c.payloadBytes);
  const view = new DataView(payload.buffer);
  let n = 0;
  let taken = 0;
  let lost = 0;
  let sentAt = 0;
  // Marks taken when the first measured datagram goes.
  let cpu0 = ownCpuMs();
  const observe = () => (c.observePids ?? []).map(processCpuMs);
  let observed0 = observe();
  let t0 = performance.now();
  const deadline = t0 + c.maxMs;
  try {
    await new Promise<void>((resolve) => {
      let done = false;
      const finish = () => {
        if (done) return;
        done = true;
        clearInterval(watchdog);
        resolve();
      };
      const sendNext = () => {
        if (n >= total || performance.now() > deadline) return finish();
        if (n === c.warmup) {
          cpu0 = ownCpuMs();
          observed0 = observe();
          t0 = performance.now();
        }
        view.setUint32(0, n);
        sentAt = performance.now();
        socket.send(payload, to);
      };
      socket.ondatagram = (bytes) => {
        const now = performance.now();
        if (bytes.length < 4 || new DataView(bytes.buffer, bytes.byteOffset, 4).getUint32(0) !== n) return; // late echo of a lost one
        if (n >= c.warmup && taken < samples.length) samples[taken++] = (now - sentAt) * 1000;
        n++;
        sendNext();
      };
      // One interval instead of a timer per datagram: timers would add their own cost to every round trip.
      const watchdog = setInterval(() => {
        const now = performance.now();
        if (now > deadline) return finish();
        if (now - sentAt > c.timeoutMs) {
          lost++;
          n++;
          sendNext();
        }
      }, Math.max(10, Math.min(100, c.timeoutMs / 2)));
      sendNext();
    });
  } finally {
    socket.ondatagram = null;
  }
  const elapsedMs = performance.now() - t0;
  const cpuMs = ownCpuMs() - cpu0;
  const observed1 = observe();
  socket.close();
  connection?.close();
  const sorted = samples.slice(0, taken).sort();
  let sum = 0;
  for (const s of sorted) sum += s;
  return {
    type: 'rtt',
    count: taken,
    lost,
    p50: percentile(sorted, 0.5),
    p90: percentile(sorted, 0.9),
    p99: percentile(sorted, 0.99),
    min: sorted[0] ?? Number.NaN,
    mean: sum / Math.max(1, taken),
    elapsedMs,
    cpuMs,
    observedCpuMs: observed1.map((after, i) => (after === null || observed0[i] === null ? null : after - observed0[i]!)),
  };
}

let session: { connection: BridgeConnection; socket: BridgeSocket } | undefined;
let direct: UdpSocket | undefined;

async function rate(c: RateCommand): Promise<RateResult> {
  let socket: DatagramSocket;
  if (c.mode === 'bridge') {
    if (session === undefined) throw new Error('rate over the bridge needs an open session');
    socket = session.socket;
  } else {
    direct ??= await UdpSocket.bind({ address: c.host, sendBufferSize: 4 << 20 });
    socket = direct;
  }
  const droppedBefore = session?.connection.droppedSends ?? 0;
  const to: TransportAddress = { address: c.host, port: c.port };
  const payload = new Uint8Array(c.payloadBytes).fill(0x42);
  // Never more than 100 ms' worth in one tick: after a stall (timers fire late on a loaded machine) the
  // deficit is made up in bounded bursts rather than lost, and rather than sent all at once.
  const burstCap = Math.max(1, Math.ceil(c.rate / 10));
  let sent = 0;
  let maxBurst = 0;
  const cpu0 = ownCpuMs();
  const t0 = performance.now();
  const end = t0 + c.durationMs;
  const limit = Math.ceil((c.rate * c.durationMs) / 1000);
  for (;;) {
    const now = performance.now();
    if (now >= end || sent >= limit) break;
    const due = Math.min(limit, Math.floor(((now - t0) * c.rate) / 1000)) - sent;
    const burst = Math.min(due, burstCap);
    for (let i = 0; i < burst; i++) socket.send(payload, to);
    sent += burst;
    if (burst > maxBurst) maxBurst = burst;
    // A 1 ms timer (not setImmediate) so the client does not spin a core the bridge and sink need.
    await sleep(1);
  }
  const elapsedMs = performance.now() - t0;
  const cpuMs = ownCpuMs() - cpu0;
  // Let the WebSocket's queue drain into the kernel before the runner reads the counters.
  await sleep(50);
  return { type: 'rate', sent, droppedByClient: (session?.connection.droppedSends ?? 0) - droppedBefore, elapsedMs, cpuMs, maxBurst };
}

const idle: { connection: BridgeConnection; socket: BridgeSocket }[] = [];

async function openSessions(url: string, count: number, concurrency: number, maxMs: number): Promise<Record<string, unknown>> {
  const t0 = performance.now();
  let next = 0;
  const failures: string[] = [];
  const worker = async () => {
    while (next < count && performance.now() - t0 < maxMs) {
      next++;
      try {
        idle.push(await openBridgeSocket(url));
      } catch (err) {
        failures.push(err instanceof Error ? err.message : String(err));
        if (failures.length > 20) return;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { opened: idle.length, failed: failures.length, firstFailure: failures[0], ms: performance.now() - t0 };
}

async function release(): Promise<Record<string, unknown>> {
  const n = idle.length;
  for (const s of idle.splice(0)) s.connection.close();
  await sleep(200);
  return { closed: n };
}

async function handle(message: Record<string, unknown>): Promise<Record<string, unknown>> {
  switch (message.cmd) {
    case 'rtt':
      return { ...(await rtt(message as unknown as RttCommand)) };
    case 'open':
      session?.connection.close();
      session = await openBridgeSocket(String(message.url));
      return { type: 'open', local: session.socket.localAddress };
    case 'rate':
      return { ...(await rate(message as unknown as RateCommand)) };
    case 'close':
      session?.connection.close();
      session = undefined;
      return { type: 'close' };
    case 'sessions':
      return { type: 'sessions', ...(await openSessions(String(message.url), Number(message.count), Number(message.concurrency ?? 20), Number(message.maxMs ?? 60_000))) };
    case 'release':
      return { type: 'release', ...(await release()) };
    default:
      throw new Error(`unknown command ${String(message.cmd)}`);
  }
}

if (process.argv[1]?.endsWith('bridge-client.ts')) {
  const lines = createInterface({ input: process.stdin });
  let queue = Promise.resolve();
  lines.on('line', (line) => {
    queue = queue.then(async () => {
      let reply: unknown;
      try {
        reply = await handle(JSON.parse(line) as Record<string, unknown>);
      } catch (err) {
        reply = { type: 'error', message: err instanceof Error ? err.message : String(err) };
      }
      process.stdout.write(`${JSON.stringify(reply)}\n`);
    });
  });
  lines.on('close', () => void queue.finally(() => process.exit(0)));
  process.once('SIGTERM', () => process.exit(0));
  process.stdout.write(`${JSON.stringify({ type: 'ready', pid: process.pid })}\n`);
}
