// STUN server throughput over real UDP on loopback: Binding responses per second from icebridge's Node
// server, the bare node:dgram ceiling, coturn and the npm `stun` package's server — each in a process of its
// own, driven in turn by one load generator process, round after round. Also: heap per idle client
// transaction of icebridge's StunClient.
import { createSocket } from 'node:dgram';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StunClient } from '../src/stun/client.js';
import { StunMethod, createStunMessage, decodeStunMessage } from '../src/index.js';
import { gc } from './lib/gc.js';
import { JsonLines, atExit, spawnNodeScript, spawnTracked, stopChild } from './lib/processes.js';
import { median, ratio } from './lib/stats.js';
import type { BenchContext, BenchFigure, BenchRatio, BenchResult, Benchmark } from './lib/types.js';
import type { LoadResult, LoadRun } from './load/stun-load.js';

const HOST = '127.0.0.1';

const ICEBRIDGE = 'icebridge';
const BARE = 'bare node:dgram echo';
const COTURN = 'coturn';
const NPM = 'npm stun';

interface RunningServer {
  name: string;
  port: number;
  pid: number;
  /** What the server answers to a plain Binding request, for the notes. */
  response?: string;
  stats(): Promise<Record<string, unknown> | undefined>;
  stop(): Promise<void>;
  describe: string;
}

async function startNodeServer(name: string, script: string): Promise<RunningServer> {
  const child = spawnNodeScript(script);
  const io = new JsonLines(child, name);
  try {
    const ready = await io.next((m) => m.type === 'ready', 30_000);
    return {
      name,
      port: Number(ready.port),
      pid: child.pid!,
      describe: `node ${process.version}, ${script}`,
      stats: async () => {
        io.send({ cmd: 'stats' });
        return io.next((m) => m.type === 'stats', 5000).catch(() => undefined);
      },
      stop: () => stopChild(child),
    };
  } catch (err) {
    await stopChild(child);
    throw err;
  }
}

function freeUdpPort(): Promise<number> {
  const socket = createSocket('udp4');
  return new Promise((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(0, HOST, () => {
      const { port } = socket.address();
      socket.close(() => resolve(port));
    });
  });
}

/** coturn as a plain STUN server on one loopback address, writing nothing outside a temporary directory. */
async function startCoturn(relayThreads: number): Promise<RunningServer> {
  const port = await freeUdpPort();
  const dir = mkdtempSync(join(tmpdir(), 'icebridge-bench-coturn-'));
  const args = [
    '-n',
    '--no-tls',
    '--no-dtls',
    '--no-tcp',
    `--listening-ip=${HOST}`,
    `--listening-port=${port}`,
    '--no-cli',
    '--log-file=stdout',
    '--simple-log',
    '--stun-only',
    `--relay-threads=${relayThreads}`,
    // Answer with XOR-MAPPED-ADDRESS + SOFTWARE only, as icebridge does: no MAPPED-ADDRESS, no RESPONSE-ORIGIN.
    '--no-stun-backward-compatibility',
    '--response-origin-only-with-rfc5780',
    `--pidfile=${join(dir, 'turnserver.pid')}`,
    `--userdb=${join(dir, 'turndb')}`,
  ];
  const removeDir = atExit(() => rmSync(dir, { recursive: true, force: true }));
  const child = spawnTracked('turnserver', args);
  const io = new JsonLines(child, 'coturn');
  const stop = async () => {
    await stopChild(child);
    removeDir();
  };
  try {
    await probe(port, 10_000, () => io.tail());
    return {
      name: COTURN,
      port,
      pid: child.pid!,
      describe: `turnserver ${args.join(' ')}`,
      stats: async () => undefined,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** Sends Binding requests until one is answered; returns a description of the answer. */
async function probe(port: number, timeoutMs: number, context: () => string = () => ''): Promise<string> {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, HOST, () => resolve()));
  const local = socket.address();
  const request = Buffer.from('000100002112a442' + '0123456789abcdef01234567', 'hex');
  try {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const answer = await new Promise<Buffer | undefined>((resolve) => {
        const timer = setTimeout(() => resolve(undefined), 300);
        socket.once('message', (msg) => {
          clearTimeout(timer);
          resolve(msg);
        });
        socket.send(request, port, HOST);
      });
      socket.removeAllListeners('message');
      if (answer === undefined) continue;
      if (answer.equals(request)) return `${answer.length}-byte echo of the request`;
      const message = decodeStunMessage(new Uint8Array(answer));
      if (message.class !== 'success' || Buffer.compare(Buffer.from(message.transactionId), request.subarray(8)) !== 0) {
        throw new Error(`port ${port}: unexpected answer ${answer.toString('hex')}`);
      }
      const mapped = message.get('XOR-MAPPED-ADDRESS');
      if (!mapped || mapped.address !== local.address || mapped.port !== local.port) {
        throw new Error(`port ${port}: XOR-MAPPED-ADDRESS ${JSON.stringify(mapped)}, expected ${local.address}:${local.port}`);
      }
      return `${answer.length}-byte success response: ${message.attributes.map((a) => a.name ?? a.type).join(', ')}`;
    }
    throw new Error(`no answer on port ${port} within ${timeoutMs} ms\n${context()}`);
  } finally {
    socket.close();
  }
}

function clockTicksPerSecond(): number {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
}

/** Heap retained per transaction of a StunClient with `count` requests started and never answered. */
function heapPerIdleTransaction(count: number, rounds: number): number[] {
  const samples: number[] = [];
  // One call per round: a client from a previous round left in this frame's registers would not be collected.
  for (let round = 0; round < rounds; round++) samples.push(heapOfIdleClient(count) / count);
  return samples;
}

function heapOfIdleClient(count: number): number {
  const to = { address: HOST, port: 3478 };
  gc();
  gc();
  const before = process.memoryUsage().heapUsed;
  const client = new StunClient<undefined>();
  const now = performance.now();
  for (let i = 0; i < count; i++) {
    client.request(createStunMessage({ method: StunMethod.Binding, class: 'request' }), to, 0, now, undefined);
    while (client.pollTransmit() !== undefined) {
      // Drained and dropped: the transactions stay in flight, idle.
    }
  }
  gc();
  gc();
  const after = process.memoryUsage().heapUsed;
  // Keeps the client alive up to here, and checks nothing was dropped.
  if (client.transactions.size !== count) throw new Error(`${client.transactions.size} transactions in flight, expected ${count}`);
  return after - before;
}

async function run(ctx: BenchContext): Promise<BenchResult> {
  const quick = ctx.quick;
  const rounds = quick ? 1 : 3;
  const load = { window: 128, sockets: 4, warmupMs: quick ? 300 : 1000, durationMs: quick ? 1000 : 3000, timeoutMs: 200 };
  const ticks = clockTicksPerSecond();
  const notes: string[] = [];
  const servers: RunningServer[] = [];
  const generator = spawnNodeScript('bench/load/stun-load.ts');
  const generatorIo = new JsonLines(generator, 'load generator');
  try {
    const starts: [string, () => Promise<RunningServer>][] = [
      [ICEBRIDGE, () => startNodeServer(ICEBRIDGE, 'bench/servers/icebridge-stun.ts')],
      [BARE, () => startNodeServer(BARE, 'bench/servers/bare-dgram.ts')],
      [COTURN, () => startCoturn(0)],
      [NPM, () => startNodeServer(NPM, 'bench/servers/npm-stun.ts')],
    ];
    for (const [name, start] of starts) {
      try {
        const server = await start();
        server.response = await probe(server.port, 5000);
        servers.push(server);
        ctx.log(`  ${name}: port ${server.port}, pid ${server.pid}, answers a plain Binding request with a ${server.response}`);
      } catch (err) {
        // One contender failing to start (say coturn not installed) must not lose the others' figures.
        notes.push(`${name} could not be measured: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`);
        ctx.log(`  ${name}: NOT MEASURED: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    await generatorIo.next((m) => m.type === 'ready', 30_000);

    const results = new Map<string, LoadResult[]>(servers.map((s) => [s.name, []]));
    for (let round = 0; round < rounds; round++) {
      for (let k = 0; k < servers.length; k++) {
        const server = servers[(round + k) % servers.length];
        const cfg: LoadRun & { cmd: 'run' } = { cmd: 'run', host: HOST, port: server.port, serverPid: server.pid, clockTicksPerSecond: ticks, ...load };
        generatorIo.send(cfg as unknown as Record<string, unknown>);
        const reply = await generatorIo.next((m) => m.type === 'result' || m.type === 'error', load.warmupMs + load.durationMs + 15_000);
        if (reply.type === 'error') throw new Error(`load generator: ${String(reply.message)}`);
        const result = reply as unknown as LoadResult;
        results.get(server.name)!.push(result);
        ctx.log(
          `  round ${round + 1}/${rounds} ${server.name}: ${Math.round(result.responsesPerSecond).toLocaleString('en-US')} responses/s` +
            `, server CPU ${result.serverCpuMs === null ? '?' : Math.round((100 * result.serverCpuMs) / result.elapsedMs)}%` +
            `, generator CPU ${Math.round((100 * result.generatorCpuMs) / result.elapsedMs)}%, ${result.timeouts} timeouts`,
        );
      }
    }

    const figures: BenchFigure[] = [];
    const wall = (name: string) => results.get(name)?.map((r) => r.responsesPerSecond) ?? [];
    const perCpu = (name: string) =>
      results.get(name)?.map((r) => (r.serverCpuMs !== null && r.serverCpuMs > 0 ? r.answered / (r.serverCpuMs / 1000) : Number.NaN)) ?? [];
    for (const server of servers) {
      const rs = results.get(server.name)!;
      const cpuShare = median(rs.map((r) => (r.serverCpuMs ?? Number.NaN) / r.elapsedMs));
      const generatorShare = median(rs.map((r) => r.generatorCpuMs / r.elapsedMs));
      figures.push({
        group: 'Binding responses over UDP loopback (wall clock)',
        contender: server.name,
        unit: 'responses/s',
        median: median(wall(server.name)),
        samples: wall(server.name),
        extra: {
          'server CPU %': Math.round(100 * cpuShare),
          'generator CPU %': Math.round(100 * generatorShare),
          'timeouts/run': median(rs.map((r) => r.timeouts)),
          'reply bytes': rs.at(-1)?.responseBytes ?? 0,
          'server threads': rs.at(-1)?.serverThreads ?? '?',
        },
      });
      const cpuSamples = perCpu(server.name);
      figures.push({
        group: 'Binding responses per second of server CPU time (all server threads)',
        contender: server.name,
        unit: 'responses/CPU-s',
        median: median(cpuSamples),
        samples: cpuSamples,
        extra: { 'µs CPU/response': Math.round((1e6 / median(cpuSamples)) * 100) / 100 },
      });
      if (rs.some((r) => r.errorResponses > 0 || r.other > 0)) notes.push(`${server.name} sent error or unexpected responses: ${JSON.stringify(rs.map((r) => [r.errorResponses, r.other]))}`);
    }

    const ratios: BenchRatio[] = [];
    const has = (name: string) => results.has(name);
    const pairs: [string, string, number?][] = [
      [ICEBRIDGE, BARE, 0.95],
      [ICEBRIDGE, COTURN],
      [ICEBRIDGE, NPM],
    ];
    for (const [a, b, target] of pairs) {
      if (!has(a) || !has(b)) continue;
      ratios.push(ratio(`responses/s: ${a} / ${b}`, wall(a), wall(b), target));
    }
    for (const [a, b, target] of pairs) {
      if (!has(a) || !has(b)) continue;
      ratios.push(ratio(`responses per server CPU-s: ${a} / ${b}`, perCpu(a), perCpu(b), target));
    }

    // Sanity: the engine's own count agrees with what the generator saw.
    for (const server of servers) {
      const stats = await server.stats();
      if (stats && server.name === ICEBRIDGE) notes.push(`icebridge engine counters after the runs: ${JSON.stringify(stats)}`);
    }

    const bareRuns = results.get(BARE) ?? [];
    if (bareRuns.some((r) => r.generatorCpuMs / r.elapsedMs > 0.85)) {
      notes.push(
        'the load generator was near a full core while driving the bare echo server: the wall-clock ceiling is partly the generator\'s; the per-server-CPU-second ratios are the fairer comparison',
      );
    }
    notes.push(
      `load: ${load.window} requests in flight from ${load.sockets} sockets (one Node process), 20-byte Binding requests without attributes, resent after ${load.timeoutMs} ms; ${load.warmupMs} ms warm-up then ${load.durationMs} ms measured per run; ${rounds} rounds, servers alternating`,
      'server CPU = utime+stime of the server process from /proc over the measured window (every thread: libuv, V8 GC helpers, coturn\'s threads)',
      ...servers.map((s) => `${s.name}: ${s.describe}; reply to a plain Binding request: ${s.response}`),
      'coturn runs with --relay-threads=0 ("single-threaded mode" per its --help; the listener, auth and admin threads remain) to be comparable with single-threaded Node servers',
    );

    const count = quick ? 2000 : 10_000;
    const heap = heapPerIdleTransaction(count, 3);
    figures.push({
      group: `heap per idle client transaction (StunClient, ${count.toLocaleString('en-US')} transactions started, none sent)`,
      contender: 'icebridge StunClient',
      unit: 'bytes',
      median: median(heap),
      samples: heap,
    });
    ctx.log(`  heap per idle transaction: ${heap.map((h) => Math.round(h)).join(', ')} bytes`);

    return {
      figures,
      ratios,
      notes,
      meta: { load, rounds, clockTicksPerSecond: ticks, runs: Object.fromEntries(results) },
    };
  } finally {
    await Promise.all([...servers.map((s) => s.stop()), stopChild(generator)]);
  }
}

const benchmark: Benchmark = { name: 'stun-server', title: 'STUN server: Binding responses per second over UDP loopback', run };
export default benchmark;
