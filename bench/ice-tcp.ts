// ICE-TCP connect time (issue 15): two Node agents in this process on 127.0.0.1, host candidates of one
// transport — UDP, or TCP (RFC 6544 active + passive) — from gather() to both agents connected, contenders
// alternating round after round; the ratio TCP / UDP is the median of the per-round ratios. The same engine
// and pacing (Ta 50 ms) on both: the difference is the TCP handshake and the passive side learning its
// peer-reflexive candidate from the connection. A third contender: one agent relay-only, its passive relayed
// TCP candidate an RFC 6062 allocation at icebridge's TURN server (gathering includes the Allocate).
import { createIceAgent } from '../src/node/ice-agent.js';
import type { IceAgent } from '../src/ice/ice-agent.js';
import { startTurnServer } from '../src/node/turn-server.js';
import { median } from './lib/stats.js';
import type { BenchContext, BenchResult, Benchmark } from './lib/types.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function connectOnce(protocol: 'udp' | 'tcp', relayUrl?: string): Promise<number> {
  const options = { mdns: false as const, addresses: ['127.0.0.1'], candidateProtocols: [protocol] };
  const relayOnly = relayUrl ? { iceTransportPolicy: 'relay' as const, iceServers: [{ urls: relayUrl, username: 'bench', credential: 'bench' }] } : {};
  const a = createIceAgent({ ...options, ...relayOnly, role: 'controlling' });
  const b = createIceAgent({ ...options, role: 'controlled' });
  const wire = (from: IceAgent, to: IceAgent) => {
    void to.setRemoteParameters(from.localParameters);
    from.addEventListener('icecandidate', (e) => void to.addRemoteCandidate(e.candidate));
  };
  wire(a, b);
  wire(b, a);
  const t0 = performance.now();
  try {
    void a.gather();
    void b.gather();
    const up = (x: IceAgent) => x.state === 'connected' || x.state === 'completed';
    while (!(up(a) && up(b))) {
      if (performance.now() - t0 > 15_000) throw new Error(`${protocol}: not connected within 15 s (a ${a.state}, b ${b.state})`);
      await sleep(1);
    }
    const ms = performance.now() - t0;
    const local = a.getSelectedCandidatePair()?.local;
    if (local?.protocol !== protocol || (relayUrl !== undefined) !== (local.type === 'relay')) throw new Error(`selected a ${local?.protocol} ${local?.type} pair`);
    return ms;
  } finally {
    await a.close();
    await b.close();
  }
}

const bench: Benchmark = {
  name: 'ice-tcp',
  title: 'ICE connect time over TCP candidates (RFC 6544) vs UDP, loopback',
  async run(ctx: BenchContext): Promise<BenchResult> {
    const rounds = ctx.quick ? 2 : 20;
    const udp: number[] = [];
    const tcp: number[] = [];
    const relayed: number[] = [];
    const ratios: number[] = [];
    const relayedRatios: number[] = [];
    const turn = await startTurnServer({ hosts: ['127.0.0.1'], port: 0, tcpPort: 0, relayAddress: '127.0.0.1', users: { bench: 'bench' }, realm: 'bench', allowLoopback: true });
    const relayUrl = `turn:127.0.0.1:${turn.tcpAddresses[0].port}?transport=tcp`;
    try {
      for (let round = 0; round < rounds; round++) {
        // Alternate which goes first, so a warming process favours neither.
        const [first, second] = round % 2 === 0 ? (['udp', 'tcp'] as const) : (['tcp', 'udp'] as const);
        const x = await connectOnce(first);
        const y = await connectOnce(second);
        const u = first === 'udp' ? x : y;
        const t = first === 'tcp' ? x : y;
        udp.push(Math.round(u * 10) / 10);
        tcp.push(Math.round(t * 10) / 10);
        ratios.push(t / u);
        const r = await connectOnce('tcp', relayUrl);
        relayed.push(Math.round(r * 10) / 10);
        relayedRatios.push(r / u);
      }
    } finally {
      await turn.close();
    }
    ctx.log(`udp median ${median(udp).toFixed(1)} ms, tcp median ${median(tcp).toFixed(1)} ms, relayed tcp median ${median(relayed).toFixed(1)} ms`);
    return {
      figures: [
        { group: 'connect time (gather → both connected)', contender: 'UDP host candidates', unit: 'ms', median: median(udp), samples: udp },
        { group: 'connect time (gather → both connected)', contender: 'TCP host candidates (active + passive)', unit: 'ms', median: median(tcp), samples: tcp },
        { group: 'connect time (gather → both connected)', contender: 'relayed TCP (RFC 6062, icebridge TURN) ↔ host TCP', unit: 'ms', median: median(relayed), samples: relayed },
      ],
      ratios: [
        { name: 'connect time: TCP / UDP', value: median(ratios), samples: ratios },
        { name: 'connect time: relayed TCP / UDP', value: median(relayedRatios), samples: relayedRatios },
      ],
      notes: ['two agents in one process on 127.0.0.1, Ta 50 ms; connected = a pair is valid and selected on both sides'],
    };
  },
};

export default bench;
