// The bridge's protocol v2 paths: (a) the round-trip time a TURN-over-TCP allocation adds when its TCP
// connection is a bridge stream instead of a Node socket (ChannelData ping-pong to a UDP echo peer through
// coturn); (b) the time from `new IceAgent(...)` to the first server-reflexive candidate from a STUN server
// given by NAME, for the page's agent (headless Chromium, a Worker, the bridge resolving the name and
// carrying the Binding) vs the Node agent (real UDP, the name resolved in-process). The bridge, coturn,
// the echo peer and the STUN server each run in a process of their own; the clients run in this one.
// Contenders alternate over rounds; ratios are taken per round, then the median.
import { randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import { mintRestCredential } from '../src/net/rest-credentials.js';
import { connectBridge } from '../src/node/bridge-client.js';
import { StreamSocket } from '../src/node/stream-socket.js';
import type { BridgeConnection } from '../src/net/bridge-client.js';
import { startCoturn, type RunningCoturn } from '../test/interop/support/coturn.js';
import { CommandChild } from './lib/command-child.js';
import { measureNodeGather, type GatherTiming } from './lib/gather-time.js';
import { startPageAgentHost, type PageAgentHost } from './lib/page-agent.js';
import { cpuWindow } from './lib/proc.js';
import { median, ratio } from './lib/stats.js';
import { measureTurnEcho, type TurnEchoResult } from './lib/turn-echo.js';
import type { BenchContext, BenchFigure, BenchRatio, BenchResult, Benchmark } from './lib/types.js';

const HOST = '127.0.0.1';
const STUN_NAME = 'stun.bench.test';
const USER = { username: 'u', credential: 'p' };
const COTURN_ARGS = ['--lt-cred-mech', '--realm', 'r', '--user', `${USER.username}:${USER.credential}`, '--allow-loopback-peers', '--relay-ip=127.0.0.1'];
/** Ping-pong runs above the bridge's default per-session caps (2 000 packets/s). */
const UNCAPPED = { packetsPerSecond: 10_000_000, bytesPerSecond: 4_000_000_000 };

type Path = 'direct' | 'bridge';
const RTT_LABEL: Record<Path, string> = {
  direct: 'Node direct (StreamSocket.connect)',
  bridge: 'through the bridge (connectBridge → openStreamSocket)',
};
type Side = 'node' | 'page';
const GATHER_LABEL: Record<Side, string> = {
  node: 'Node (new IceAgent, icebridge/node)',
  page: 'page (headless Chromium, Worker, bridge)',
};

function tokenUrl(base: string, secret: string): string {
  const { username, credential } = mintRestCredential({ secret, user: 'bench', ttlSeconds: 3600, nowSeconds: Date.now() / 1000 });
  return `${base}?username=${encodeURIComponent(username)}&credential=${encodeURIComponent(credential)}`;
}

const load = () => loadavg().map((l) => l.toFixed(2)).join(' ');

async function run(ctx: BenchContext): Promise<BenchResult> {
  const quick = ctx.quick;
  const secret = randomBytes(16).toString('hex');
  const notes: string[] = [`load average at the start: ${load()}`];
  const figures: BenchFigure[] = [];
  const ratios: BenchRatio[] = [];
  const children: CommandChild[] = [];
  let coturn: RunningCoturn | undefined;
  let pageHost: PageAgentHost | undefined;
  let connection: BridgeConnection | undefined;
  const start = async (name: string, script: string, args: string[] = []) => {
    const child = await CommandChild.start(name, script, { args, profile: name === 'bridge' });
    children.push(child);
    return child;
  };
  try {
    const echo = await start('UDP echo peer', 'bench/servers/bare-dgram.ts');
    const stun = await start('STUN server behind a NAT', 'bench/servers/stun-nat.ts');
    const bridge = await start('bridge', 'bench/servers/bridge.ts', [JSON.stringify({ secret, ...UNCAPPED, zone: { [STUN_NAME]: HOST } })]);
    coturn = await startCoturn({ args: COTURN_ARGS });
    const url = tokenUrl(String(bridge.ready.url), secret);
    const peer = { address: HOST, port: Number(echo.ready.port) };
    const server = { address: HOST, port: coturn.port };
    ctx.log(
      `  coturn ${HOST}:${coturn.port} pid ${coturn.pid}, echo peer :${peer.port} pid ${echo.pid}, bridge ${String(bridge.ready.url)} pid ${bridge.pid}, ` +
        `STUN ${String(stun.ready.stunServer)} behind NAT :${String(stun.ready.port)} pid ${stun.pid}`,
    );

    // ---- (a) TURN over TCP: ChannelData round trips, direct vs through a bridge stream ---------------
    const rttRounds = quick ? 1 : 8;
    const echoCfg = { payloadBytes: 32, warmup: quick ? 100 : 500, samples: quick ? 300 : 3000, timeoutMs: 500 };
    const rtt: Record<Path, TurnEchoResult[]> = { direct: [], bridge: [] };
    const cpu: Record<Path, { coturn: number[]; bridge: number[] }> = { direct: { coturn: [], bridge: [] }, bridge: { coturn: [], bridge: [] } };
    for (let round = 0; round < rttRounds; round++) {
      const order: Path[] = round % 2 === 0 ? ['direct', 'bridge'] : ['bridge', 'direct'];
      for (const path of order) {
        if (path === 'bridge') connection = await connectBridge(url);
        const via = connection;
        const openBase = path === 'direct' ? () => StreamSocket.connect({ host: HOST, port: coturn!.port }) : () => via!.openStreamSocket(server, 'tcp', '');
        const stop = cpuWindow([coturn.pid, bridge.pid]);
        try {
          const r = await measureTurnEcho({ openBase, server, ...USER, peer, ...echoCfg });
          const [coturnMs, bridgeMs] = stop();
          const perRt = (ms: number | null) => (ms === null ? Number.NaN : (1000 * ms) / Math.max(1, echoCfg.warmup + echoCfg.samples));
          cpu[path].coturn.push(perRt(coturnMs));
          cpu[path].bridge.push(perRt(bridgeMs));
          rtt[path].push(r);
          ctx.log(
            `  rtt round ${round + 1}/${rttRounds} ${path}: p50 ${r.p50.toFixed(1)} µs, p99 ${r.p99.toFixed(1)} µs, ${r.count} samples, ${r.lost} lost, ` +
              `ChannelData sent/received ${r.counters.sentChannelData}/${r.counters.receivedChannelData} (Send indications ${r.counters.sentIndications}), setup ${r.setupMs.toFixed(1)} ms`,
          );
        } finally {
          connection?.close();
          connection = undefined;
        }
      }
    }
    for (const path of ['direct', 'bridge'] as const) {
      const rs = rtt[path];
      figures.push({
        group: `round trip of a ${echoCfg.payloadBytes}-byte ChannelData datagram through a coturn TCP allocation to a UDP echo peer`,
        contender: RTT_LABEL[path],
        unit: 'µs p50',
        median: median(rs.map((r) => r.p50)),
        samples: rs.map((r) => r.p50),
        extra: {
          'p90 µs': median(rs.map((r) => r.p90)),
          'p99 µs': median(rs.map((r) => r.p99)),
          'min µs': median(rs.map((r) => r.min)),
          'samples/round': String(rs[0]?.count ?? 0),
          lost: String(rs.reduce((a, r) => a + r.lost, 0)),
          'setup ms': median(rs.map((r) => r.setupMs)),
          'coturn CPU µs/rt': median(cpu[path].coturn),
          ...(path === 'bridge' ? { 'bridge CPU µs/rt': median(cpu[path].bridge) } : {}),
        },
      });
    }
    const addedP50 = rtt.bridge.map((b, i) => b.p50 - rtt.direct[i].p50);
    const addedP99 = rtt.bridge.map((b, i) => b.p99 - rtt.direct[i].p99);
    figures.push({
      group: 'latency the bridge adds to TURN over TCP (per round: bridge p50 − direct p50)',
      contender: 'icebridge bridge',
      unit: 'µs',
      median: median(addedP50),
      samples: addedP50,
      extra: { 'p99 added µs': median(addedP99) },
    });
    ratios.push(ratio('TURN/TCP ChannelData RTT p50: bridge / direct', rtt.bridge.map((r) => r.p50), rtt.direct.map((r) => r.p50)));
    const indications = [...rtt.direct, ...rtt.bridge].reduce((a, r) => a + (r.counters.sentIndications ?? 0), 0);
    notes.push(
      `(a) per contender per round: a fresh TCP connection to coturn (${HOST}:${coturn.port}; direct: StreamSocket.connect from this process; bridge: a fresh connectBridge session and openStreamSocket, the bridge process connecting to coturn), TurnRelaySocket.allocate over it (transport 'tcp'), bindChannel(echo peer), then ${echoCfg.warmup} warm-up and ${echoCfg.samples} timed round trips, one at a time: performance.now() at relay.send(32 bytes) to the echo's ondatagram. ${rttRounds} round(s), order alternating. ${indications === 0 ? 'Every payload went as ChannelData (sentIndications 0).' : `${indications} payloads went as Send indications.`} Setup (TCP connect + Allocate with its 401 challenge + ChannelBind) is timed apart and not in the RTT`,
      `(a) the bridge runs with packetsPerSecond ${UNCAPPED.packetsPerSecond} and bytesPerSecond ${UNCAPPED.bytesPerSecond} per session; coturn: turnserver ${COTURN_ARGS.join(' ')} (TCP and UDP listener on one port, relay on 127.0.0.1); the echo peer is bench/servers/bare-dgram.ts`,
    );

    // ---- (b) new IceAgent → first srflx from a STUN server given by name: page vs Node ---------------
    const stunUrl = `stun:${STUN_NAME}:${String(stun.ready.port)}`;
    const timeoutMs = 10_000;
    pageHost = await startPageAgentHost();
    ctx.log(`  page ${pageHost.origin}, ${pageHost.version}; STUN ${stunUrl}`);
    const host = pageHost;
    const measure = (side: Side): Promise<GatherTiming> =>
      side === 'page'
        ? host.measureGather({ bridge: url, stunUrl, timeoutMs })
        : measureNodeGather({ stunUrl, timeoutMs, options: { addressFilter: (a) => a === HOST, resolve: async () => HOST } });
    // Warm-up, not counted: the first page agent also starts the page's Worker; the first Node agent loads code.
    const cold: Partial<Record<Side, GatherTiming>> = {};
    for (const side of ['node', 'page'] as const) cold[side] = await measure(side);
    const gatherRounds = quick ? 1 : 8;
    const perRound = quick ? 3 : 10;
    const timings: Record<Side, GatherTiming[][]> = { node: [], page: [] };
    const failures: Record<Side, string[]> = { node: [], page: [] };
    for (let round = 0; round < gatherRounds; round++) {
      const order: Side[] = round % 2 === 0 ? ['node', 'page'] : ['page', 'node'];
      for (const side of order) {
        const got: GatherTiming[] = [];
        for (let i = 0; i < perRound; i++) {
          const t = await measure(side);
          if (t.srflxMs === null) failures[side].push(t.errors.join('; ') || `no srflx (candidates: ${t.candidates.join(' | ') || 'none'})`);
          else got.push(t);
        }
        timings[side].push(got);
        ctx.log(
          `  gather round ${round + 1}/${gatherRounds} ${side}: srflx at ${got.map((t) => t.srflxMs!.toFixed(1)).join(', ')} ms` +
            (got.length < perRound ? `; FAILED ${perRound - got.length}: ${failures[side].at(-1)}` : ''),
        );
      }
    }
    const roundMedian = (side: Side) => timings[side].map((r) => (r.length > 0 ? median(r.map((t) => t.srflxMs!)) : Number.NaN));
    for (const side of ['node', 'page'] as const) {
      const all = timings[side].flat();
      if (all.length === 0) {
        notes.push(`(b) ${GATHER_LABEL[side]}: NOT MEASURED, no agent produced a srflx candidate; first failure: ${failures[side][0] ?? '?'}`);
        continue;
      }
      const srflx = all.map((t) => t.srflxMs!);
      figures.push({
        group: `new IceAgent → first srflx candidate, STUN server by name (${STUN_NAME}), one fresh agent each`,
        contender: GATHER_LABEL[side],
        unit: 'ms',
        median: median(srflx),
        samples: srflx,
        extra: {
          n: String(all.length),
          failed: String(failures[side].length),
          'host candidate ms': median(all.map((t) => t.firstCandidateMs ?? Number.NaN)),
          'gathering complete ms': median(all.map((t) => t.completeMs ?? Number.NaN)),
          'cold (first agent) ms': cold[side]?.srflxMs ?? '-',
        },
      });
      if (failures[side].length > 0) notes.push(`(b) ${GATHER_LABEL[side]}: ${failures[side].length} agent(s) had no srflx candidate; first: ${failures[side][0]}`);
    }
    if (timings.node.flat().length > 0 && timings.page.flat().length > 0) {
      ratios.push(ratio('new IceAgent → first srflx: page / Node', roundMedian('page'), roundMedian('node')));
    }
    notes.push(
      `(b) timed: performance.now() just before \`new IceAgent({ iceServers: [{ urls: '${stunUrl}' }], … })\`, gather() called at once, to the first icecandidate event of type srflx (also shown: to the host candidate, and to gatheringstatechange → complete). ${gatherRounds} round(s) × ${perRound} agents per contender, order alternating, each agent fresh and closed before the next; one warm-up agent per contender first, not counted (its time is the "cold" column)`,
      `(b) Node: new IceAgent from src/node.ts in this process, addressFilter a => a === '${HOST}' (one host socket on 127.0.0.1), resolve: async () => '${HOST}' (the name is answered in-process). Page: one page (reused, one Worker) at ${pageHost.origin} in headless Chromium ${pageHost.version}, a fresh \`new IceAgent({ bridge: <token URL>, iceServers })\` per sample, each opening its own bridge session (WebSocket + token check), its host socket a bridge UDP socket on 127.0.0.1, the name resolved by the bridge (zone option: ${STUN_NAME} → ${HOST}). The page client and its Worker are bundled from src/ in memory at the start of the run (as scripts/build.mjs lays out dist/)`,
      `(b) the STUN server (icebridge's startStunServer, its own process) sits behind a minimal UDP NAT (bench/servers/stun-nat.ts: one 127.0.0.1 mapping socket per client source): on plain loopback the mapped address equals the host base and RFC 8445 §5.1.3 drops the srflx as redundant; behind the NAT it differs, so a srflx appears for both contenders, through the same extra hop`,
    );
    notes.push(`load average at the end: ${load()}`);
    return { figures, ratios, notes, meta: { rtt, cpu, echoCfg, gather: timings, cold, failures, stunUrl } };
  } finally {
    connection?.close();
    await Promise.all([pageHost?.close().catch(() => undefined), coturn?.stop().catch(() => undefined), ...children.map((c) => c.stop())]);
  }
}

const benchmark: Benchmark = {
  name: 'bridge-v2',
  title: 'Bridge v2: TURN over TCP through a bridge stream vs direct, and gathering by name, page vs Node',
  run,
};
export default benchmark;
