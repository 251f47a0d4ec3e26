// Time to switch pairs after an address goes away (issue 15): from removeSocket() — what the Node agent's
// interface watcher calls — until both agents send on a pair that avoids the address, data flowing both ways
// every 50 ms (20 ms on real sockets). Simulator (virtual time, 10 ms links, seeds 1..N) for the controlling and
// the controlled agent losing the address, and real UDP sockets on loopback addresses (real time, the address
// dropped from the agent's interface list: one poll interval of 100 ms included).
//
// No peer implementation runs here: aioice and coturn have no failover without a restart, and pion and
// Chromium are not on this machine as libraries. The figures are icebridge's own, with the default
// failoverSilenceMs (1 000 ms), which bounds how fast the side that did not lose the address follows.
import { connectThenRemove, setup, switchedWithin } from '../test/ice/failover-scenario.js';
import { createIceAgent } from '../src/node/ice-agent.js';
import type { IceAgent } from '../src/ice/ice-agent.js';
import { median } from './lib/stats.js';
import type { BenchContext, BenchFigure, BenchResult, Benchmark } from './lib/types.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function simSwitch(seed: number, loserIsControlling: boolean): Promise<number> {
  const { world, a, b } = setup({ seed });
  const { at, lost } = await connectThenRemove(world, a, b, loserIsControlling ? a : b);
  const ms = await switchedWithin(world, a, b, lost, at, 10_000);
  await a.agent.close();
  await b.agent.close();
  return ms;
}

async function realSwitch(round: number): Promise<number> {
  const base = 10 + 3 * round;
  const aAddresses = [`127.0.1.${base}`, `127.0.1.${base + 1}`];
  const bAddresses = [`127.0.1.${base + 2}`];
  const options = { gatherPolicy: 'continual' as const, networkPollIntervalMs: 100, mdns: false as const };
  const a = createIceAgent({ ...options, role: 'controlling', listAddresses: () => aAddresses });
  const b = createIceAgent({ ...options, role: 'controlled', listAddresses: () => bAddresses });
  const wire = (from: IceAgent, to: IceAgent) => {
    void to.setRemoteParameters(from.localParameters);
    from.addEventListener('icecandidate', (e) => void to.addRemoteCandidate(e.candidate));
  };
  wire(a, b);
  wire(b, a);
  const pinger = setInterval(() => {
    for (const agent of [a, b]) if (agent.getSelectedCandidatePair()) agent.send(new Uint8Array([1]));
  }, 20);
  try {
    await Promise.all([a.gather(), b.gather()]);
    const deadline = Date.now() + 15_000;
    while (!(a.state === 'connected' && b.state === 'connected' && (await a.getStats()).filter((s) => s.state === 'succeeded').length >= 2)) {
      if (Date.now() > deadline) throw new Error('did not connect with two valid pairs');
      await sleep(10);
    }
    const lost = a.getSelectedCandidatePair()!.local.address;
    aAddresses.splice(aAddresses.indexOf(lost), 1);
    const t0 = performance.now();
    for (;;) {
      const pa = a.getSelectedCandidatePair();
      const pb = b.getSelectedCandidatePair();
      if (pa && pb && pa.local.address !== lost && pb.remote.address !== lost) return performance.now() - t0;
      if (performance.now() - t0 > 10_000) throw new Error('did not switch within 10 s');
      await sleep(2);
    }
  } finally {
    clearInterval(pinger);
    await a.close();
    await b.close();
  }
}

const bench: Benchmark = {
  name: 'ice-failover',
  title: 'ICE failover: time to switch pairs after an address goes away (no restart)',
  async run(ctx: BenchContext): Promise<BenchResult> {
    const rounds = ctx.quick ? 2 : 20;
    const figures: BenchFigure[] = [];
    for (const [contender, controlling] of [
      ['simulator, controlling agent loses the address', true],
      ['simulator, controlled agent loses the address', false],
    ] as const) {
      const samples: number[] = [];
      for (let seed = 1; seed <= rounds; seed++) samples.push(await simSwitch(seed, controlling));
      ctx.log(`${contender}: median ${median(samples)} ms (virtual)`);
      figures.push({ group: 'switch time', contender, unit: 'ms (virtual)', median: median(samples), samples });
    }
    const real: number[] = [];
    for (let round = 0; round < (ctx.quick ? 2 : 10); round++) real.push(Math.round((await realSwitch(round)) * 10) / 10);
    ctx.log(`real sockets, controlling agent loses the address: median ${median(real).toFixed(1)} ms`);
    figures.push({ group: 'switch time', contender: 'real UDP on loopback, controlling agent loses the address (100 ms poll)', unit: 'ms', median: median(real), samples: real });
    return {
      figures,
      ratios: [],
      notes: [
        'from removeSocket() (or the address leaving the interface list) until both agents use a pair avoiding it',
        'the controlled agent losing its address: the controlling one follows its data after failoverSilenceMs (1 000 ms)',
        'no peer implementation measured: none on this machine fails over without an ICE restart',
      ],
    };
  },
};

export default bench;
