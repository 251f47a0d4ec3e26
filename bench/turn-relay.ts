// TURN relay throughput on loopback: ChannelData packets per second relayed client -> server -> UDP peer by
// icebridge's Node TURN server and by coturn, each in a process of its own, driven in turn by one load
// generator process (bench/load/turn-load.ts), round after round, with the clients on UDP, on TCP control
// connections and on TLS ones (RFC 8656 §3.1; the relayed leg is UDP in every case). Also: heap per
// allocation of icebridge's TURN server with 1 000 allocations open (UDP, and TCP with their connections),
// measured inside the server after gc.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CommandChild } from './lib/command-child.js';
import { JsonLines, spawnNodeScript, stopChild } from './lib/processes.js';
import { median, ratio } from './lib/stats.js';
import type { BenchContext, BenchFigure, BenchRatio, BenchResult, Benchmark } from './lib/types.js';
import type { TurnLoadResult, TurnLoadRun } from './load/turn-load.js';
import { startCoturn } from '../test/interop/support/coturn.js';
import { selfSignedCertificate } from '../test/support/test-certificate.js';

type Transport = 'udp' | 'tcp' | 'tls';
const TRANSPORTS: readonly Transport[] = ['udp', 'tcp', 'tls'];

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
const THROUGHPUT_OPTIONS = { bytesPerSecond: 'Infinity', receiveBufferSize: RECEIVE_BUFFER_BYTES, tcpPort: 0, tlsPort: 0 };

const COTURN_ARGS = [
  '--lt-cred-mech',
  '--realm=r',
  '--user=u:p',
  '--allow-loopback-peers',
  '--relay-ip=127.0.0.1',
  // Single-threaded mode (per --help): the listener and the relaying in one thread, as in one Node process;
  // coturn's authentication thread remains.
  '--relay-threads=0',
];

interface Contender {
  name: string;
  /** Speaks no TURN (the bare forwarder): the generator's raw mode. */
  raw?: boolean;
  /** The UDP port, and the TCP/TLS ones where the contender serves them. */
  port: number;
  streamPorts?: { tcp: number; tls: number };
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
  const load = { allocations: 4, window: 256, payloadBytes: 100, warmupMs: quick ? 300 : 1000, durationMs: quick ? 1000 : 2000, timeoutMs: 200 };
  const notes: string[] = [];
  const figures: BenchFigure[] = [];
  const ratios: BenchRatio[] = [];
  const contenders: Contender[] = [];
  const children: CommandChild[] = [];
  const generator = spawnNodeScript('bench/load/turn-load.ts');
  const generatorIo = new JsonLines(generator, 'TURN load generator');
  const certDir = mkdtempSync(join(tmpdir(), 'icebridge-bench-turn-'));
  try {
    const pem = selfSignedCertificate(certDir, 'turn.bench');
    const starts: [string, () => Promise<Contender>][] = [
      [
        ICEBRIDGE,
        async () => {
          const options = { ...THROUGHPUT_OPTIONS, certFile: pem.cert, keyFile: pem.key };
          const child = await CommandChild.start('icebridge TURN server', 'bench/servers/icebridge-turn.ts', { args: [JSON.stringify(options)], profile: true });
          children.push(child);
          return {
            name: ICEBRIDGE,
            port: Number(child.ready.port),
            streamPorts: { tcp: Number(child.ready.tcpPort), tls: Number(child.ready.tlsPort) },
            pid: child.pid,
            describe: `node ${process.version}, bench/servers/icebridge-turn.ts with bytesPerSecond Infinity, receiveBufferSize ${RECEIVE_BUFFER_BYTES} (listening socket), TCP and TLS listeners (P-256 self-signed certificate)`,
            stop: () => child.stop(),
          };
        },
      ],
      [
        COTURN,
        async () => {
          const coturn = await startCoturn({ args: COTURN_ARGS, tls: pem });
          return {
            name: COTURN,
            port: coturn.port,
            streamPorts: { tcp: coturn.port, tls: coturn.tlsPort! },
            pid: coturn.pid,
            describe: `turnserver ${COTURN_ARGS.join(' ')} (plus -n --tls-listening-port --cert --pkey (the same certificate) --no-dtls --no-cli --log-file=stdout --simple-log, own pid file and userdb)`,
            stop: () => coturn.stop(),
          };
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

    // One key per contender and transport: "icebridge/tcp".
    const key = (name: string, transport: Transport) => `${name}/${transport}`;
    const runsOf = (transport: Transport) => contenders.filter((c) => transport === 'udp' || c.streamPorts !== undefined);
    const results = new Map<string, TurnLoadResult[]>();
    for (const t of TRANSPORTS) for (const c of runsOf(t)) results.set(key(c.name, t), []);
    for (let round = 0; round < rounds; round++) {
      for (const transport of TRANSPORTS) {
        const runs = runsOf(transport);
        for (let k = 0; k < runs.length; k++) {
          const c = runs[(round + k) % runs.length];
          const port = transport === 'udp' ? c.port : c.streamPorts![transport];
          const cfg: TurnLoadRun & { cmd: 'run' } = { cmd: 'run', host: HOST, port, transport, serverPid: c.pid, raw: c.raw, ...USER, ...load };
          generatorIo.send(cfg as unknown as Record<string, unknown>);
          const reply = await generatorIo.next((m) => m.type === 'run' || m.type === 'error', load.warmupMs + load.durationMs + 30_000);
          if (reply.type === 'error') throw new Error(`TURN load generator against ${c.name} over ${transport}: ${String(reply.message)}`);
          const r = reply as unknown as TurnLoadResult;
          results.get(key(c.name, transport))!.push(r);
          ctx.log(
            `  round ${round + 1}/${rounds} ${transport} ${c.name}: ${Math.round(r.packetsPerSecond).toLocaleString('en-US')} packets/s delivered, loss ${r.lossPct.toFixed(3)}%` +
              `, server CPU ${r.serverCpuMs === null ? '?' : Math.round((100 * r.serverCpuMs) / r.elapsedMs)}% (${r.serverThreads ?? '?'} threads)` +
              `, generator CPU ${Math.round((100 * r.generatorCpuMs) / r.elapsedMs)}%, drops at server socket ${r.serverSocketDrops ?? '-'}, at peer ${r.peerSocketDrops ?? '?'}`,
          );
        }
      }
    }

    const wall = (k: string) => results.get(k)?.map((r) => r.packetsPerSecond) ?? [];
    const perCpu = (k: string) => results.get(k)?.map((r) => (r.serverCpuMs !== null && r.serverCpuMs > 0 ? r.delivered / (r.serverCpuMs / 1000) : Number.NaN)) ?? [];
    const clientLeg = { udp: 'UDP', tcp: 'TCP control connections', tls: 'TLS control connections' } as const;
    for (const transport of TRANSPORTS) {
      for (const c of runsOf(transport)) {
        const rs = results.get(key(c.name, transport))!;
        figures.push({
          group: `ChannelData relayed client -> server -> UDP peer, clients on ${clientLeg[transport]} (${load.payloadBytes}-byte payloads, wall clock)`,
          contender: c.name,
          unit: 'packets/s',
          median: median(wall(key(c.name, transport))),
          samples: wall(key(c.name, transport)),
          extra: {
            'loss %': median(rs.map((r) => r.lossPct)),
            'server CPU %': Math.round(100 * median(rs.map((r) => (r.serverCpuMs ?? Number.NaN) / r.elapsedMs))),
            'generator CPU %': Math.round(100 * median(rs.map((r) => r.generatorCpuMs / r.elapsedMs))),
            'server threads': rs.at(-1)?.serverThreads ?? '?',
            ...(transport === 'udp' ? { 'server socket drops': rs.reduce((a, r) => a + (r.serverSocketDrops ?? 0), 0) } : {}),
          },
        });
      }
      for (const c of runsOf(transport)) {
        const samples = perCpu(key(c.name, transport));
        figures.push({
          group: `ChannelData relayed per second of server CPU time (all server threads), clients on ${clientLeg[transport]}`,
          contender: c.name,
          unit: 'packets/CPU-s',
          median: median(samples),
          samples,
          extra: { 'µs CPU/packet': Math.round((1e6 / median(samples)) * 100) / 100 },
        });
      }
      const ib = key(ICEBRIDGE, transport);
      const co = key(COTURN, transport);
      if (results.has(ib) && results.has(co)) {
        ratios.push(ratio(`${transport} packets/s: ${ICEBRIDGE} / ${COTURN}`, wall(ib), wall(co), TARGET_VS_COTURN));
        ratios.push(ratio(`${transport} packets per server CPU-s: ${ICEBRIDGE} / ${COTURN}`, perCpu(ib), perCpu(co), TARGET_VS_COTURN));
      }
    }
    const bare = key(BARE, 'udp');
    if (results.has(key(ICEBRIDGE, 'udp')) && results.has(bare)) {
      ratios.push(ratio(`udp packets per server CPU-s: ${ICEBRIDGE} / ${BARE}`, perCpu(key(ICEBRIDGE, 'udp')), perCpu(bare)));
    }
    if (results.has(bare) && results.has(key(COTURN, 'udp'))) {
      ratios.push(ratio(`udp packets per server CPU-s: ${BARE} / ${COTURN}`, perCpu(bare), perCpu(key(COTURN, 'udp'))));
    }
    for (const [k, rs] of results) {
      if (rs.some((r) => r.generatorCpuMs / r.elapsedMs > 0.85)) {
        notes.push(`the load generator was near a full core while driving ${k}: that wall-clock figure is partly the generator's ceiling; the per-server-CPU-second figures are the fairer comparison`);
      }
    }
    notes.push(
      `load: ${load.allocations} allocations from one generator process (a UDP socket, or a TCP/TLS connection, each), a channel bound on each to one peer socket of the same process; ${load.window} packets in flight, each delivery at the peer frees its slot, which sends again at once; a packet unseen after ${load.timeoutMs} ms counts as lost and is resent; ${load.warmupMs} ms warm-up then ${load.durationMs} ms measured; ${rounds} rounds, servers alternating`,
      'server CPU = utime+stime of the server process from /proc over the measured window (every thread); drops = the kernel receive-buffer drop counters (/proc/net/udp) of the server\'s listening socket (UDP runs) and of the peer socket',
      'TCP/TLS: the same ChannelData written by the generator onto each allocation\'s control connection (104 bytes, already 4-aligned, RFC 8656 §12.5), relayed to the UDP peer; coturn serves TCP and TLS on its listening port and its TLS port in the same process (one relay thread, --relay-threads=0)',
      ...contenders.map((c) => `${c.name}: ${c.describe}`),
      `${BARE} is not a TURN server: it shows what node:dgram itself costs per relayed packet (receive, slice, send), the floor under any Node TURN server; the generator drives it with the same ChannelData on plain sockets`,
      `icebridge's TURN server runs with bytesPerSecond Infinity for the throughput runs: its default per-allocation cap (2 500 000 bytes/s, both directions) would hold one allocation to ~24 000 packets/s of 104-byte ChannelData; coturn's --max-bps is unlimited by default. Its listening socket gets a ${RECEIVE_BUFFER_BYTES}-byte receive buffer (receiveBufferSize), the size coturn sets on its own sockets; with the OS default of 212 992 bytes the window overflows it and every lost packet stalls its slot for the timeout`,
    );

    // Done with the throughput servers before the heap figure: their CPU would disturb nothing, but their fds and ports are not needed.
    await Promise.all(contenders.map((c) => c.stop()));

    // ---- heap per allocation: over UDP, and over TCP (the connection, its framing and buffers included) ----
    const count = quick ? 100 : 1000;
    const heapRounds = quick ? 1 : 2;
    const limit = count + 100;
    const heapServer = await CommandChild.start('icebridge TURN server (heap)', 'bench/servers/icebridge-turn.ts', {
      args: [JSON.stringify({ maxAllocationsPerUser: limit, maxAllocations: limit, tcpPort: 0, streamLimits: { maxConnections: limit, maxConnectionsPerIp: limit } })],
    });
    children.push(heapServer);
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
    const heapMeta: Record<string, unknown> = {};
    for (const transport of ['udp', 'tcp'] as const) {
      const heapPort = Number(transport === 'udp' ? heapServer.ready.port : heapServer.ready.tcpPort);
      const target = { host: HOST, port: heapPort, transport, ...USER };
      // Warm-up: first-use costs (compiled code, lazily made tables) must not be counted per allocation.
      await call('hold', { ...target, count: 20, concurrency: 10, maxMs: 30_000 }, 60_000);
      await call('release', {}, 60_000);
      const perAllocation: number[] = [];
      const heapPart: number[] = [];
      const externalPart: number[] = [];
      const leftover: number[] = [];
      for (let round = 0; round < heapRounds; round++) {
        await waitForAllocations(0);
        const h0 = await heapServer.call<HeapReply>('heap');
        const held = await call('hold', { ...target, count, concurrency: 20, maxMs: 90_000 }, 120_000);
        if (Number(held.held) < count) throw new Error(`held ${String(held.held)} of ${count} ${transport} allocations; first failure: ${String(held.firstFailure)}`);
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
          `  heap ${transport} round ${round + 1}/${heapRounds}: ${count} allocations in ${Math.round(Number(held.ms))} ms; ${Math.round(perAllocation.at(-1)!)} bytes/allocation ` +
            `(heap ${Math.round(heapPart.at(-1)!)}, external ${Math.round(externalPart.at(-1)!)}); after deallocating ${Math.round(leftover.at(-1)!)} bytes/allocation remain`,
        );
      }
      const what = transport === 'udp' ? 'with their relay sockets' : 'each on its own TCP connection, with their relay sockets';
      figures.push({
        group: `heap per ${transport.toUpperCase()} allocation, icebridge TURN server (${count.toLocaleString('en-US')} allocations ${what}, no permissions; heapUsed + external after gc, inside the server)`,
        contender: ICEBRIDGE,
        unit: 'bytes',
        median: median(perAllocation),
        samples: perAllocation,
        extra: {
          'V8 heap': median(heapPart),
          external: median(externalPart),
          'left after dealloc': median(leftover),
          ...(transport === 'udp' ? { target: `<= ${TARGET_BYTES_PER_ALLOCATION.toLocaleString('en-US')} ${median(perAllocation) <= TARGET_BYTES_PER_ALLOCATION ? '(met)' : '(MISSED)'}` } : {}),
        },
      });
      heapMeta[transport] = { perAllocation, heapPart, externalPart, leftover };
    }
    notes.push(
      `heap: the server runs with maxAllocationsPerUser and maxAllocations ${limit} (defaults 10 and 1000) and as many connections, all allocations from user u of one client process, 20 at a time; 20 were made and deleted before each transport's first baseline; per-allocation bytes = (after - before) / ${count}, ${heapRounds} rounds per transport`,
    );
    return {
      figures,
      ratios,
      notes,
      meta: { load, rounds, coturnArgs: COTURN_ARGS, runs: Object.fromEntries(results), heap: heapMeta },
    };
  } finally {
    await Promise.all([...contenders.map((c) => c.stop()), ...children.map((c) => c.stop()), stopChild(generator)]);
    rmSync(certDir, { recursive: true, force: true });
  }
}


const benchmark: Benchmark = { name: 'turn-relay', title: 'TURN relay: ChannelData packets per second on loopback, clients over UDP, TCP and TLS, and heap per allocation', run };
export default benchmark;
