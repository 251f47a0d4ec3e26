// STUN Binding load generator, a process of its own so it never shares an event loop with the server under
// test. Commands arrive as JSON lines on stdin; each {"cmd":"run", ...} keeps `window` requests in flight
// against 127.0.0.1:<port> from `sockets` sockets for a warm-up and then a measured window, and answers one
// JSON line. Requests are 20-byte Binding requests patched in place: transaction id bytes 0-1 = slot,
// 2-5 = generation, 6-11 = a per-run nonce. An answer frees its slot and the slot sends again at once; a
// request unanswered after `timeoutMs` is counted and resent, so loss never stalls the window.
import { createSocket, type Socket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { randomFillSync } from 'node:crypto';
import { createInterface } from 'node:readline';

const MAGIC_COOKIE = 0x2112a442;
const BINDING_REQUEST = 0x0001;
const BINDING_SUCCESS = 0x0101;
const BINDING_ERROR = 0x0111;

export interface LoadRun {
  host: string;
  port: number;
  window: number;
  sockets: number;
  warmupMs: number;
  durationMs: number;
  timeoutMs: number;
  /** Whose CPU time to read from /proc over the measured window (the server under test). */
  serverPid?: number;
  clockTicksPerSecond: number;
}

export interface LoadResult {
  type: 'result';
  /** Answers to outstanding requests during the measured window. */
  answered: number;
  elapsedMs: number;
  responsesPerSecond: number;
  /** Of `answered`: Binding success responses (0x0101), echoes of the request (0x0001), anything else. */
  success: number;
  echo: number;
  errorResponses: number;
  other: number;
  timeouts: number;
  /** Datagrams that matched no outstanding request (late answers to resent requests, duplicates). */
  stale: number;
  notStun: number;
  sent: number;
  /** CPU the generator itself used over the window, ms; near elapsedMs means it was the bottleneck. */
  generatorCpuMs: number;
  /** CPU the server process used over the window (all its threads), ms; null where /proc is not readable. */
  serverCpuMs: number | null;
  serverThreads: number | null;
  responseBytes: number;
}

/** utime + stime of a process in ms, from /proc/<pid>/stat (fields 14 and 15, after the parenthesised name). */
function processCpuMs(pid: number, ticksPerSecond: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / ticksPerSecond;
  } catch {
    return null;
  }
}

function threadCount(pid: number): number | null {
  try {
    const match = /^Threads:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) : null;
  } catch {
    return null;
  }
}

function bindSocket(host: string): Promise<Socket> {
  const socket = createSocket({ type: 'udp4', recvBufferSize: 1 << 20, sendBufferSize: 1 << 20 });
  return new Promise((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(0, host, () => {
      socket.off('error', reject);
      socket.on('error', () => {});
      resolve(socket);
    });
  });
}

export async function runLoad(cfg: LoadRun): Promise<LoadResult> {
  const W = cfg.window;
  if (!(W >= 1 && W <= 0xffff) || !(cfg.sockets >= 1 && cfg.sockets <= 64)) throw new Error('window 1..65535, sockets 1..64');
  const sockets: Socket[] = [];
  for (let i = 0; i < cfg.sockets; i++) sockets.push(await bindSocket(cfg.host));

  const nonce = randomFillSync(Buffer.alloc(6));
  const requests: Buffer[] = [];
  for (let slot = 0; slot < W; slot++) {
    const b = Buffer.alloc(20);
    b.writeUInt16BE(BINDING_REQUEST, 0);
    b.writeUInt16BE(0, 2);
    b.writeUInt32BE(MAGIC_COOKIE, 4);
    b.writeUInt16BE(slot, 8);
    nonce.copy(b, 14);
    requests.push(b);
  }
  const generation = new Uint32Array(W);
  const outstanding = new Uint8Array(W);
  const sentAt = new Float64Array(W);
  // A coarse clock, advanced by the sweep timer: a timestamp per send would cost more than it tells.
  let coarseNow = performance.now();
  let counting = false;
  let stopping = false;
  const r = { answered: 0, success: 0, echo: 0, errorResponses: 0, other: 0, timeouts: 0, stale: 0, notStun: 0, sent: 0, responseBytes: 0 };

  const send = (slot: number): void => {
    const g = (generation[slot] + 1) >>> 0;
    generation[slot] = g;
    requests[slot].writeUInt32BE(g, 10);
    outstanding[slot] = 1;
    sentAt[slot] = coarseNow;
    if (counting) r.sent++;
    sockets[slot % sockets.length].send(requests[slot], cfg.port, cfg.host);
  };

  const onMessage = (msg: Buffer): void => {
    if (msg.length < 20 || msg.readUInt32BE(4) !== MAGIC_COOKIE) {
      r.notStun++;
      return;
    }
    const slot = msg.readUInt16BE(8);
    if (slot >= W || outstanding[slot] === 0 || msg.readUInt32BE(10) !== generation[slot] || msg.compare(nonce, 0, 6, 14, 20) !== 0) {
      r.stale++;
      return;
    }
    outstanding[slot] = 0;
    if (counting) {
      r.answered++;
      r.responseBytes = msg.length;
      const type = msg.readUInt16BE(0);
      if (type === BINDING_SUCCESS) r.success++;
      else if (type === BINDING_REQUEST) r.echo++;
      else if (type === BINDING_ERROR) r.errorResponses++;
      else r.other++;
    }
    if (!stopping) send(slot);
  };
  for (const s of sockets) s.on('message', onMessage);

  const sweep = setInterval(() => {
    coarseNow = performance.now();
    if (stopping) return;
    for (let slot = 0; slot < W; slot++) {
      if (outstanding[slot] === 1 && coarseNow - sentAt[slot] > cfg.timeoutMs) {
        if (counting) r.timeouts++;
        send(slot);
      }
    }
  }, 20);

  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
  try {
    for (let slot = 0; slot < W; slot++) send(slot);
    await sleep(cfg.warmupMs);

    const serverThreads = cfg.serverPid === undefined ? null : threadCount(cfg.serverPid);
    const serverCpu0 = cfg.serverPid === undefined ? null : processCpuMs(cfg.serverPid, cfg.clockTicksPerSecond);
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    counting = true;
    await sleep(cfg.durationMs);
    counting = false;
    const t1 = performance.now();
    const cpu = process.cpuUsage(cpu0);
    const serverCpu1 = cfg.serverPid === undefined ? null : processCpuMs(cfg.serverPid, cfg.clockTicksPerSecond);

    stopping = true;
    // Let answers in flight arrive (and be dropped) before the sockets close.
    await sleep(150);
    const elapsedMs = t1 - t0;
    return {
      type: 'result',
      ...r,
      elapsedMs,
      responsesPerSecond: r.answered / (elapsedMs / 1000),
      generatorCpuMs: (cpu.user + cpu.system) / 1000,
      serverCpuMs: serverCpu0 === null || serverCpu1 === null ? null : serverCpu1 - serverCpu0,
      serverThreads,
    };
  } finally {
    clearInterval(sweep);
    for (const s of sockets) s.close();
  }
}

// The command loop; stdin closing (the bench run ended or died) ends the process.
if (process.argv[1]?.endsWith('stun-load.ts')) {
  const lines = createInterface({ input: process.stdin });
  let queue = Promise.resolve();
  lines.on('line', (line) => {
    queue = queue.then(async () => {
      let reply: unknown;
      try {
        const cmd = JSON.parse(line) as { cmd: string } & LoadRun;
        if (cmd.cmd !== 'run') return;
        reply = await runLoad(cmd);
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
