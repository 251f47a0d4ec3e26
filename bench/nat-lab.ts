// Connect time across real Linux NATs (the lab of test/nat-lab, root only): `icebridge peer` ↔ `icebridge peer`
// behind two port-restricted cone NATs (the common home router: direct) and behind two symmetric NATs
// (through icebridge's TURN server), alternating, median of 10 each. Without root it reports why it skipped.
import { buildLabCli, killLabChildren, runPeerPair, startLabServer, type LabServer } from '../test/nat-lab/lab-processes.js';
import { NAT_MODES, type NatModeName } from '../test/nat-lab/nat-modes.js';
import { LabTopology, labUnavailable } from '../test/nat-lab/topology.js';
import { median, ratio } from './lib/stats.js';
import type { BenchContext, BenchFigure, BenchResult, Benchmark } from './lib/types.js';

const ROUNDS = 10;

const PAIRS: { contender: string; mode: NatModeName; path: 'direct' | 'relay' }[] = [
  { contender: 'cone pair: port-restricted × port-restricted (direct)', mode: 'port-restricted', path: 'direct' },
  { contender: 'symmetric pair: symmetric × symmetric (TURN relay)', mode: 'symmetric', path: 'relay' },
];

async function run(ctx: BenchContext): Promise<BenchResult> {
  const unavailable = labUnavailable();
  if (unavailable) {
    ctx.log(`nat-lab: skipped — ${unavailable}`);
    return { figures: [], ratios: [], notes: [`skipped: ${unavailable}; the lab needs root to build network namespaces and NAT rules (sudo npm run bench -- nat-lab)`] };
  }
  const rounds = ctx.quick ? 1 : ROUNDS;
  await buildLabCli();
  const topology = new LabTopology(`nb${process.pid % 100_000}`);
  let server: LabServer | undefined;
  const notes: string[] = [];
  const samples = PAIRS.map(() => ({ connect: [] as number[], echo: [] as number[] }));
  try {
    const nats = PAIRS.map((p) => {
      const mode = NAT_MODES.find((m) => m.name === p.mode)!;
      return [topology.addNat(mode), topology.addNat(mode)] as const;
    });
    server = await startLabServer(topology.publicNs);
    for (let round = 0; round < rounds; round++) {
      for (const [i, pair] of PAIRS.entries()) {
        const r = await runPeerPair(nats[i][0], nats[i][1]);
        if (!r.connected || r.connectMs === undefined) {
          notes.push(`round ${round + 1}, ${pair.contender}: did not connect (${(r.error ?? '').split('\n')[0]})`);
          continue;
        }
        if (r.path !== pair.path) notes.push(`round ${round + 1}, ${pair.contender}: went ${r.path}, not ${pair.path}`);
        samples[i].connect.push(r.connectMs);
        if (r.echoRttMs !== undefined) samples[i].echo.push(r.echoRttMs);
        ctx.log(`  round ${round + 1}: ${pair.mode} pair ${r.path} in ${Math.round(r.connectMs)} ms`);
      }
    }
  } finally {
    await server?.stop().catch(() => {});
    killLabChildren();
    topology.destroy();
  }
  const figures: BenchFigure[] = PAIRS.map((pair, i) => ({
    group: 'time from both agents running to connected (lower is better)',
    contender: pair.contender,
    unit: 'ms',
    median: median(samples[i].connect),
    samples: samples[i].connect,
    extra: { 'echo rtt ms': median(samples[i].echo) },
  }));
  notes.push(
    'each agent gathers host, server-reflexive and relayed candidates (STUN and TURN: icebridge serve in the public namespace); the time runs from the later of the two agents\' first signalling line to the controlling agent\'s "connected"',
    'the ICE agent nominates up to 2 s (nominationDelayMs, src/timing.ts ICE_NOMINATION_DELAY_MS) after its first valid pair while better pairs are still being checked: that wait, not the network, dominates both figures',
    'network: veth + bridge inside one machine (no added delay; tc netem is not available here)',
  );
  return { figures, ratios: [ratio('connect time: symmetric (relay) / cone (direct)', samples[1].connect, samples[0].connect)], notes };
}

const benchmark: Benchmark = { name: 'nat-lab', title: 'ICE connect time across real Linux NATs: cone pair (direct) vs symmetric pair (TURN)', run };
export default benchmark;
