// TURN relay throughput over real UDP on loopback: ChannelData packets per second relayed client -> server
// -> UDP peer by icebridge's Node TURN server and by coturn, each in a process of its own, driven in turn by
// one load generator process (bench/load/turn-load.ts), round after round. Also: heap per allocation of
// icebridge's TURN server with 1 000 allocations open, measured inside the server after gc.
import { CommandChild } from './lib/command-child.js';
import { JsonLines, spawnNodeScript, stopChild } from './lib/processes.js';
import { median, ratio } from './lib/stats.js';
import type { BenchContext, BenchFigure, BenchRatio, BenchResult, Benchmark } from './lib/types.js';
import type { TurnLoadResult, TurnLoadRun } from './load/turn-load.js';
import { startCoturn } from '../test/interop/support/coturn.js';

const HOST = '127.0.0.1';
const ICEBRIDGE = 'icebridge';
const COTURN = 'coturn';
const BARE = 'bare node:dgram forwarder';
const USER = { username: 'u', credential: 'p' };

/** Targets of the brief; reported, never enforced. */
const TARGET_VS_COTURN = 0.8;
const TARGET_BYTES_PER_ALLOCATION = 5 * 1024;

/** For the throughput runs: no per-allocation bandwidth cap (the default, 2.5 MB/s, would cap 100-byte packets at ~24 000/s). */
// The listening socket's receive buffer as large as coturn makes its own (ss shows rb4194304 for coturn's
// socket here): with the OS default (212 992 bytes) a window of small datagrams overflows it.
const RECEIVE_BUFFER_BYTES = 4 << 20;
const THROUGHPUT_OPTIONS = { bytesPerSecond: 'Infinity', receiveBufferSize: RECEIVE_BUFFER_BYTES };

const COTURN_ARGS = [
  '--lt-cred-mech',
  '--realm=r',
  '--user=u:p',
  '--allow-loopback-peers',
  '--relay-ip=127.0.0.1',
  // Single-threaded mode (per --help): the listener and the relaying in one thread, as in one Node process;
  // coturn's authentication thread remains.
  '--relay-threads=0',
  '--no-tcp',
];

interface Contender {
  name: string;
  /** Speaks no TURN (the bare forwarder): the generator's raw mode. */
  raw?: boolean;
  port: number;
  pid: number;
  describe: string;
  stop(): Promise<void>;
}

interface HeapReply {
  heapUsed: number;
  external: number;
  total: number;
  rss: number;
  allocations: number;
}

async function run(ctx: BenchContext): Promise<BenchResult> {
  const quick = ctx.quick;
  const rounds = quick ? 1 : 3;
  const load = { allocations: 4, window: 256, payloadBytes: 100, warmupMs: quick ? 300 : 1000, durationMs: quick ? 1000 : 3000, timeoutMs: 200 };
  const notes: string[] = [];
  const figures: BenchFigure[] = [];
  const ratios: BenchRatio[] = [];
  const contenders: Contender[] = [];
  const children: CommandChild[] = [];
  const generator = spawnNodeScript('bench/load/turn-load.ts');
  const generatorIo = new JsonLines(generator, 'TURN load generator');
  try {
    const starts: [string, () => Promise<Contender>][] = [
      [
        ICEBRIDGE,
        async () => {
          const child = await CommandChild.start('icebridge TURN server', 'bench/servers/icebridge-turn.ts', { args: [JSON.stringify(THROUGHPUT_OPTIONS)], profile: true });
          children.push(child);
          return {
            name: ICEBRIDGE,
            port: Number(child.ready.port),
            pid: child.pid,
            describe: `node ${process.version}, bench/servers/icebridge-turn.ts with bytesPerSecond Infinity, receiveBufferSize ${RECEIVE_BUFFER_BYTES} (listening socket)`,
            stop: () => child.stop(),
          };
        },
      ],
      [
        COTURN,
        async () => {
          const coturn = await startCoturn({ args: COTURN_ARGS });
          return { name: COTURN, port: coturn.port, pid: coturn.pid, describe: `turnserver ${COTURN_ARGS.join(' ')} (plus -n --no-tls --no-dtls --no-cli --log-file=stdout --simple-log, own pid file and userdb)`, stop: () => coturn.stop() };
        },
      ],
      [
        BARE,
        async () => {
          const child = await CommandChild.start(BARE, 'bench/servers/bare-relay.ts');
          children.push(child);
          return {
            name: BARE,
            raw: true,
            port: Number(child.ready.port),
            pid: child.pid,
            describe: `node ${process.version}, bench/servers/bare-relay.ts: ChannelData in on one node:dgram socket, payload out of another, no TURN logic (the Node ceiling; receive buffer 4 MiB)`,
            stop: () => child.stop(),
          };
        },
      ],
    ];
    for (const [name, start] of starts) {
      try {
        const c = await start();
        contenders.push(c);
        ctx.log(`  ${name}: port ${c.port}, pid ${c.pid}`);
      } catch (err) {
        notes.push(`${name} could not be measured: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`);
        ctx.log(`  ${name}: NOT MEASURED: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    await generatorIo.next((m) => m.type === 'ready', 30_000);

    const results = new Map<string, TurnLoadResult[]>(contenders.map((c) => [c.name, []]));
    for (let round = 0; round < rounds; round++) {
      for (let k = 0; k < contenders.length; k++) {
        const c = contenders[(round + k) % contenders.length];
        const cfg: TurnLoadRun & { cmd: 'run' } = { cmd: 'run', host: HOST, port: c.port, serverPid: c.pid, raw: c.raw, ...USER, ...load };
        generatorIo.send(cfg as unknown as Record<string, unknown>);
        const reply = await generatorIo.next((m) => m.type === 'run' || m.type === 'error', load.warmupMs + load.durationMs + 30_000);
        if (reply.type === 'error') throw new Error(`TURN load generator against ${c.name}: ${String(reply.message)}`);
        const r = reply as unknown as TurnLoadResult;
        results.get(c.name)!.push(r);
        ctx.log(
          `  round ${round + 1}/${rounds} ${c.name}: ${Math.round(r.packetsPerSecond).toLocaleString('en-US')} packets/s delivered, loss ${r.lossPct.toFixed(3)}%` +
            `, server CPU ${r.serverCpuMs === null ? '?' : Math.round((100 * r.serverCpuMs) / r.elapsedMs)}% (${r.serverThreads ?? '?'} threads)` +
            `, generator CPU ${Math.round((100 * r.generatorCpuMs) / r.elapsedMs)}%, drops at server socket ${r.serverSocketDrops ?? '?'}, at peer ${r.peerSocketDrops ?? '?'}`,
        );
      }
    }

    const wall = (name: string) => results.get(name)?.map((r) => r.packetsPerSecond) ?? [];
    const perCpu = (name: string) => results.get(name)?.map((r) => (r.serverCpuMs !== null && r.serverCpuMs > 0 ? r.delivered / (r.serverCpuMs / 1000) : Number.NaN)) ?? [];
    for (const c of contenders) {
      const rs = results.get(c.name)!;
      figures.push({
        group: `ChannelData relayed client -> server -> UDP peer (${load.payloadBytes}-byte payloads, wall clock)`,
        contender: c.name,
        unit: 'packets/s',
        median: median(wall(c.name)),
        samples: wall(c.name),
        extra: {
          'loss %': median(rs.map((r) => r.lossPct)),
          'server CPU %': Math.round(100 * median(rs.map((r) => (r.serverCpuMs ?? Number.NaN) / r.elapsedMs))),
          'generator CPU %': Math.round(100 * median(rs.map((r) => r.generatorCpuMs / r.elapsedMs))),
          'server threads': rs.at(-1)?.serverThreads ?? '?',
          'server socket drops': rs.reduce((a, r) => a + (r.serverSocketDrops ?? 0), 0),
        },
      });
    }
    for (const c of contenders) {
      const s = perCpu(c.name);
      figures.push({
        group: 'ChannelData relayed per second of server CPU time (all server threads)',
        contender: c.name,
        unit: 'packets/CPU-s',
        median: median(s),
        samples: s,
        extra: { 'µs CPU/packet': Math.round((1e6 / median(s)) * 100) / 100 },
      });
    }
    if (results.has(ICEBRIDGE) && results.has(COTURN)) {
      ratios.push(ratio(`packets/s: ${ICEBRIDGE} / ${COTURN}`, wall(ICEBRIDGE), wall(COTURN), TARGET_VS_COTURN));
      ratios.push(ratio(`packets per server CPU-s: ${ICEBRIDGE} / ${COTURN}`, perCpu(ICEBRIDGE), perCpu(COTURN), TARGET_VS_COTURN));
    }
    if (results.has(ICEBRIDGE) && results.has(BARE)) {
      ratios.push(ratio(`packets per server CPU-s: ${ICEBRIDGE} / ${BARE}`, perCpu(ICEBRIDGE), perCpu(BARE)));
    }
    if (results.has(BARE) && results.has(COTURN)) {
      ratios.push(ratio(`packets per server CPU-s: ${BARE} / ${COTURN}`, perCpu(BARE), perCpu(COTURN)));
    }
    for (const c of contenders) {
      const rs = results.get(c.name)!;
      if (rs.some((r) => r.generatorCpuMs / r.elapsedMs > 0.85)) {
        notes.push(`the load generator was near a full core while driving ${c.name}: that wall-clock figure is partly the generator's ceiling; the per-server-CPU-second figures are the fairer comparison`);
      }
    }
    notes.push(
      `load: ${load.allocations} allocations from one generator process (a UDP socket each), a channel bound on each to one peer socket of the same process; ${load.window} packets in flight, each delivery at the peer frees its slot, which sends again at once; a packet unseen after ${load.timeoutMs} ms counts as lost and is resent; ${load.warmupMs} ms warm-up then ${load.durationMs} ms measured; ${rounds} rounds, servers alternating`,
      'server CPU = utime+stime of the server process from /proc over the measured window (every thread); drops = the kernel receive-buffer drop counters (/proc/net/udp) of the server\'s listening socket and of the peer socket',
      ...contenders.map((c) => `${c.name}: ${c.describe}`),
      `${BARE} is not a TURN server: it shows what node:dgram itself costs per relayed packet (receive, slice, send), the floor under any Node TURN server; the generator drives it with the same ChannelData on plain sockets`,
      `icebridge's TURN server runs with bytesPerSecond Infinity for the throughput runs: its default per-allocation cap (2 500 000 bytes/s, both directions) would hold one allocation to ~24 000 packets/s of 104-byte ChannelData; coturn's --max-bps is unlimited by default. Its listening socket gets a ${RECEIVE_BUFFER_BYTES}-byte receive buffer (receiveBufferSize), the size coturn sets on its own sockets; with the OS default of 212 992 bytes the window overflows it and every lost packet stalls its slot for the timeout`,
    );

    // Done with the throughput servers before the heap figure: their CPU would disturb nothing, but their fds and ports are not needed.
    await Promise.all(contenders.map((c) => c.stop()));

    // ---- heap per allocation -------------------------------------------------------------------------
    const count = quick ? 100 : 1000;
    const heapRounds = quick ? 1 : 2;
    const heapServer = await CommandChild.start('icebridge TURN server (heap)', 'bench/servers/icebridge-turn.ts', {
      args: [JSON.stringify({ maxAllocationsPerUser: count + 100, maxAllocations: count + 100 })],
    });
    children.push(heapServer);
    const heapPort = Number(heapServer.ready.port);
    const call = async (cmd: string, args: Record<string, unknown>, timeoutMs: number) => {
      generatorIo.send({ ...args, cmd });
      const reply = await generatorIo.next((m) => m.type === cmd || m.type === 'error', timeoutMs);
      if (reply.type === 'error') throw new Error(`TURN load generator: ${String(reply.message)}`);
      return reply;
    };
    const waitForAllocations = async (n: number) => {
      const deadline = Date.now() + 15_000;
      for (;;) {
        const s = await heapServer.call('stats');
        if (Number(s.allocations) === n) return;
        if (Date.now() > deadline) throw new Error(`the TURN server has ${String(s.allocations)} allocations, expected ${n}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    };
    // Warm-up: first-use costs (compiled code, lazily made tables) must not be counted per allocation.
    await call('hold', { host: HOST, port: heapPort, ...USER, count: 20, concurrency: 10, maxMs: 30_000 }, 60_000);
    await call('release', {}, 60_000);
    const perAllocation: number[] = [];
    const heapPart: number[] = [];
    const externalPart: number[] = [];
    const leftover: number[] = [];
    for (let round = 0; round < heapRounds; round++) {
      await waitForAllocations(0);
      const h0 = await heapServer.call<HeapReply>('heap');
      const held = await call('hold', { host: HOST, port: heapPort, ...USER, count, concurrency: 20, maxMs: 90_000 }, 120_000);
      if (Number(held.held) < count) throw new Error(`held ${String(held.held)} of ${count} allocations; first failure: ${String(held.firstFailure)}`);
      await waitForAllocations(count);
      const h1 = await heapServer.call<HeapReply>('heap');
      await call('release', {}, 120_000);
      await waitForAllocations(0);
      const h2 = await heapServer.call<HeapReply>('heap');
      perAllocation.push((h1.total - h0.total) / count);
      heapPart.push((h1.heapUsed - h0.heapUsed) / count);
      externalPart.push((h1.external - h0.external) / count);
      leftover.push((h2.total - h0.total) / count);
      ctx.log(
        `  heap round ${round + 1}/${heapRounds}: ${count} allocations in ${Math.round(Number(held.ms))} ms; ${Math.round(perAllocation.at(-1)!)} bytes/allocation ` +
          `(heap ${Math.round(heapPart.at(-1)!)}, external ${Math.round(externalPart.at(-1)!)}); after deallocating ${Math.round(leftover.at(-1)!)} bytes/allocation remain`,
      );
    }
    figures.push({
      group: `heap per allocation, icebridge TURN server (${count.toLocaleString('en-US')} allocations with their relay sockets, no permissions; heapUsed + external after gc, inside the server)`,
      contender: ICEBRIDGE,
      unit: 'bytes',
      median: median(perAllocation),
      samples: perAllocation,
      extra: {
        'V8 heap': median(heapPart),
        external: median(externalPart),
        'left after dealloc': median(leftover),
        target: `<= ${TARGET_BYTES_PER_ALLOCATION.toLocaleString('en-US')} ${median(perAllocation) <= TARGET_BYTES_PER_ALLOCATION ? '(met)' : '(MISSED)'}`,
      },
    });
    notes.push(
      `heap: the server runs with maxAllocationsPerUser and maxAllocations ${count + 100} (defaults 10 and 1000), all allocations from user u of one client process, 20 at a time; 20 were made and deleted before the first baseline; per-allocation bytes = (after - before) / ${count}, ${heapRounds} rounds`,
    );
    return {
      figures,
      ratios,
      notes,
      meta: { load, rounds, coturnArgs: COTURN_ARGS, runs: Object.fromEntries(results), heap: { perAllocation, heapPart, externalPart, leftover } },
    };
  } finally {
    await Promise.all([...contenders.map((c) => c.stop()), ...children.map((c) => c.stop()), stopChild(generator)]);
  }
}


const benchmark: Benchmark = { name: 'turn-relay', title: 'TURN relay: ChannelData packets per second over UDP loopback, and heap per allocation', run };
export default benchmark;
