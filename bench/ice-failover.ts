// Time to switch pairs after an address goes away (issue 15): from removeSocket() — what the Node agent's
// interface watcher calls — until both agents send on a pair that avoids the address, data flowing both ways
// every 50 ms (20 ms on real sockets). Simulator (virtual time, 10 ms links, seeds 1..N) for the controlling and
// the controlled agent losing the address; real UDP sockets on loopback addresses (real time, the address
// dropped from the agent's interface list: one poll interval of 100 ms included); and, as root, two processes
// in network namespaces (test/nat-lab's segment) where the controlling agent's address is deleted with
// `ip addr del` and its interface watcher sees it go (bench/servers/failover-peer.ts). And a page agent
// (IcebridgeService, what the Worker runs, gatherPolicy 'continual') on a bridge bound to the wildcard: the
// bridge's announced address changes (RunningBridge.setHostAddresses, the path its interface watcher takes
// too), the page hears of it (`host-addresses`) and moves to the new one; a Node agent is the peer.
//
// No peer implementation runs here: aioice and coturn have no failover without a restart, and pion and
// Chromium are not on this machine as libraries. The figures are icebridge's own, with the default
// failoverSilenceMs (1 000 ms), which bounds how fast the side that did not lose the address follows.
import { execFileSync } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { connectThenRemove, setup, switchedWithin } from '../test/ice/failover-scenario.js';
import { MdnsSegment, segmentUnavailable } from '../test/nat-lab/mdns-segment.js';
import { createIceAgent } from '../src/node/ice-agent.js';
import type { IceAgent } from '../src/ice/ice-agent.js';
import { WebSocket } from 'ws';
import { startBridge, type RunningBridge } from '../bridge/server.js';
import type { WebSocketConstructor } from '../src/net/bridge-client.js';
import { mintRestCredential } from '../src/net/rest-credentials.js';
import { IcebridgeService } from '../src/worker/service.js';
import { median } from './lib/stats.js';
import type { BenchContext, BenchFigure, BenchResult, Benchmark } from './lib/types.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const PEER = fileURLToPath(new URL('./servers/failover-peer.ts', import.meta.url));

/**
 * Namespaces (root): two peers on one segment, the controlling one with a second address; its selected
 * address is deleted with `ip addr del` while data flows. The time until both report a pair avoiding it.
 */
async function namespaceSwitch(segment: MdnsSegment): Promise<number> {
  const [p0, p1] = segment.peers;
  const spawnPeer = (ns: string, role: string) => segment.spawnIn(ns, [process.execPath, '--import', 'tsx', PEER, role], ROOT);
  const a = spawnPeer(p0.ns, 'controlling');
  const b = spawnPeer(p1.ns, 'controlled');
  a.stdout!.pipe(b.stdin!);
  b.stdout!.pipe(a.stdin!);
  const selections: { who: string; local?: string; remote?: string; at: number }[] = [];
  const states = new Map<string, string>();
  const pairs = new Map<string, string[]>();
  for (const [who, child] of [['a', a], ['b', b]] as const) {
    child.stdin!.on('error', () => {});
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const m = JSON.parse(line) as { selected?: { local?: string; remote?: string }; state?: string; at?: number; pairs?: string[] };
      if (m.selected) selections.push({ who, ...m.selected, at: m.at! });
      if (m.pairs) pairs.set(who, m.pairs);
      if (m.state) states.set(who, m.state);
    });
  }
  try {
    const deadline = Date.now() + 15_000;
    while (!(states.get('a') === 'connected' && states.get('b') === 'connected')) {
      if (Date.now() > deadline) throw new Error(`namespaces: not connected (a ${states.get('a')}, b ${states.get('b')})`);
      await sleep(20);
    }
    await sleep(3_000); // every pair checked
    const lost = selections.filter((s) => s.who === 'a').at(-1)!.local!;
    const t0 = Date.now();
    execFileSync('ip', ['-n', p0.ns, 'addr', 'del', `${lost}/24`, 'dev', 'eth0']);
    for (;;) {
      const last = (who: string) => selections.filter((s) => s.who === who && s.at >= t0).at(-1);
      const sa = last('a');
      const sb = last('b');
      if (sa && sb && sa.local !== lost && sb.remote !== lost) {
        execFileSync('ip', ['-n', p0.ns, 'addr', 'add', `${lost}/24`, 'dev', 'eth0']);
        return Math.max(sa.at, sb.at) - t0;
      }
      if (Date.now() - t0 > 10_000) throw new Error(`namespaces: did not switch within 10 s (lost ${lost}): ${JSON.stringify({ selections, pairs: [...pairs], states: [...states] })}`);
      await sleep(5);
    }
  } finally {
    a.stdin!.end();
    b.stdin!.end();
    await Promise.all([a, b].map((c) => new Promise((resolve) => (c.exitCode === null ? c.once('close', resolve) : resolve(null)))));
  }
}

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

/** The page on the bridge: from setHostAddresses() until the page's selected pair uses the new address. */
async function pageSwitch(bridge: RunningBridge, round: number): Promise<number> {
  const from = `127.0.2.${10 + 2 * round}`;
  const to = `127.0.2.${11 + 2 * round}`;
  bridge.setHostAddresses([from]);
  const token = mintRestCredential({ secret: 'bench', user: 'bench', ttlSeconds: 600 });
  const service = new IcebridgeService({ WebSocket: WebSocket as unknown as WebSocketConstructor });
  const peer = createIceAgent({ mdns: false, addresses: ['127.0.0.1'], role: 'controlled' });
  try {
    const page = await service.createAgent(
      { bridge: { url: bridge.url, username: token.username, credential: token.credential }, role: 'controlling', gatherPolicy: 'continual' },
      (e) => {
        if (e.type === 'icecandidate' && e.candidate) void peer.addRemoteCandidate(e.candidate);
      },
    );
    peer.addEventListener('icecandidate', (e) => service.agentAddRemoteCandidate(page.id, e.candidate ?? null));
    await peer.setRemoteParameters(page.localParameters);
    service.agentSetRemoteParameters(page.id, peer.localParameters);
    await Promise.all([service.agentGather(page.id), peer.gather()]);
    const at = (address: string) => service.agentGetSelectedCandidatePair(page.id)?.local.address === address;
    const deadline = Date.now() + 15_000;
    while (!at(from)) {
      if (Date.now() > deadline) throw new Error('the page did not connect');
      await sleep(2);
    }
    const t0 = performance.now();
    bridge.setHostAddresses([to]);
    while (!at(to)) {
      if (performance.now() - t0 > 10_000) throw new Error('the page did not move within 10 s');
      await sleep(1);
    }
    return performance.now() - t0;
  } finally {
    service.close();
    await peer.close();
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
      figures.push({ group: 'switch time, simulator', contender, unit: 'ms (virtual)', median: median(samples), samples });
    }
    const real: number[] = [];
    for (let round = 0; round < (ctx.quick ? 2 : 10); round++) real.push(Math.round((await realSwitch(round)) * 10) / 10);
    ctx.log(`real sockets, controlling agent loses the address: median ${median(real).toFixed(1)} ms`);
    figures.push({ group: 'switch time, real sockets', contender: 'real UDP on loopback, controlling agent loses the address (100 ms poll)', unit: 'ms', median: median(real), samples: real });
    const bridge = await startBridge({ host: '127.0.0.1', port: 0, secret: 'bench', allowLoopback: true, udpBindAddress: { IPv4: '0.0.0.0', IPv6: '::' }, logger: () => {} });
    const page: number[] = [];
    try {
      for (let round = 0; round < (ctx.quick ? 2 : 10); round++) page.push(Math.round((await pageSwitch(bridge, round)) * 10) / 10);
    } finally {
      await bridge.close();
    }
    ctx.log(`page on the bridge, the bridge's address changes: median ${median(page).toFixed(1)} ms`);
    figures.push({ group: 'switch time, real sockets', contender: 'page agent on the bridge, the bridge’s announced address changes (host-addresses)', unit: 'ms', median: median(page), samples: page });
    const unavailable = segmentUnavailable();
    const extraNotes: string[] = [];
    if (unavailable) {
      extraNotes.push(`network namespaces skipped: ${unavailable}`);
    } else {
      const segment = new MdnsSegment(2, `fo${process.pid % 100_000}`);
      try {
        // The controlling side's second address, on the same segment; deleting the primary one would take
        // the secondary with it unless it is promoted.
        execFileSync('ip', ['netns', 'exec', segment.peers[0].ns, 'sysctl', '-qw', 'net.ipv4.conf.eth0.promote_secondaries=1']);
        execFileSync('ip', ['-n', segment.peers[0].ns, 'addr', 'add', '10.77.0.12/24', 'dev', 'eth0']);
        const netns: number[] = [];
        for (let round = 0; round < (ctx.quick ? 1 : 5); round++) netns.push(await namespaceSwitch(segment));
        ctx.log(`namespaces, controlling agent's address deleted: median ${median(netns)} ms`);
        figures.push({ group: 'switch time, real sockets', contender: 'network namespaces, `ip addr del` of the controlling agent’s address (100 ms poll)', unit: 'ms', median: median(netns), samples: netns });
      } finally {
        segment.destroy();
      }
    }
    return {
      figures,
      ratios: [],
      notes: [
        'from removeSocket() (or the address leaving the interface list) until both agents use a pair avoiding it',
        'the controlled agent losing its address: the controlling one follows its data after failoverSilenceMs (1 000 ms)',
        'no peer implementation measured: none on this machine fails over without an ICE restart',
        ...extraNotes,
      ],
    };
  },
};

export default bench;
