// Scenarios about gathering and trickle (RFC 8445 §5.1.1, RFC 8838): a dead STUN or TURN server times out
// alone while host and server-reflexive candidates are already trickled; candidates that arrive late, out
// of order, or after checks started. Simulated network, virtual time.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { IceCandidateInit } from '../../src/ice/candidate.js';
import type { GatheringError } from '../../src/ice/gatherer.js';
import type { IceAgent } from '../../src/ice/ice-agent.js';
import { SeededRandom, type SimHost } from '../../src/sim/index.js';
import { SimWorld, type Placement } from './sim-world.js';

const connected = (x: IceAgent) => x.state === 'connected' || x.state === 'completed';

/** Moves virtual time forward by exactly `ms` (a timer at the end makes SimWorld.run reach it). */
async function wait(world: SimWorld, ms: number): Promise<void> {
  const end = world.clock.now() + ms;
  world.clock.setTimer(() => {}, end);
  await world.run(() => world.clock.now() >= end, ms + 1);
}
const EIM_EIF: Placement = { mapping: 'endpoint-independent', filtering: 'endpoint-independent' };
const EIM_APDF: Placement = { mapping: 'endpoint-independent', filtering: 'address-and-port-dependent' };

type Candidate = IceCandidateInit | null;

/** Everything an agent reports, stamped with virtual time. */
function record(world: SimWorld, agent: IceAgent) {
  const log = {
    candidates: [] as { at: number; candidate: Candidate }[],
    errors: [] as { at: number; error: GatheringError }[],
    gathering: [] as { at: number; state: string }[],
    states: [] as { at: number; state: string }[],
    typeOf: (c: Candidate) => (c ? / typ (\w+)/.exec(c.candidate)![1] : null),
  };
  agent.addEventListener('icecandidate', (e) => log.candidates.push({ at: world.clock.now(), candidate: (e as unknown as { candidate: Candidate }).candidate! }));
  agent.addEventListener('icecandidateerror', (e) => log.errors.push({ at: world.clock.now(), error: (e as unknown as { error: GatheringError }).error }));
  agent.addEventListener('gatheringstatechange', () => log.gathering.push({ at: world.clock.now(), state: agent.gatheringState }));
  agent.addEventListener('statechange', () => log.states.push({ at: world.clock.now(), state: agent.state }));
  return log;
}

/** Signalling by hand: parameters now; candidates queued for the test to deliver as it likes. */
function manualSignalling(a: IceAgent, b: IceAgent) {
  void b.setRemoteParameters(a.localParameters);
  void a.setRemoteParameters(b.localParameters);
  const fromA: Candidate[] = [];
  const fromB: Candidate[] = [];
  a.addEventListener('icecandidate', (e) => fromA.push((e as unknown as { candidate: Candidate }).candidate));
  b.addEventListener('icecandidate', (e) => fromB.push((e as unknown as { candidate: Candidate }).candidate));
  return { fromA, fromB };
}

function isBindingRequest(bytes: Uint8Array): boolean {
  return bytes.length >= 20 && bytes[0] === 0x00 && bytes[1] === 0x01 && bytes[4] === 0x21 && bytes[5] === 0x12;
}

/** Time of the first Binding request `host` sends to anything but the STUN/TURN server. */
function firstCheckFrom(world: SimWorld, host: SimHost): { at: number | undefined } {
  const seen: { at: number | undefined } = { at: undefined };
  const previous = world.net.ontrace;
  world.net.ontrace = (ev) => {
    previous?.(ev);
    if (ev.type !== 'send' || seen.at !== undefined) return;
    if (host.addresses.includes(ev.datagram.src.address) && ev.datagram.dst.address !== '192.0.2.1' && isBindingRequest(ev.datagram.bytes)) seen.at = ev.at;
  };
  return seen;
}

describe('a dead STUN server', () => {
  it('gathering completes at the STUN timeout (5 s), host candidates are trickled at 0, and the agents connect meanwhile', async () => {
    const world = new SimWorld({ deadStun: true, seed: 1 });
    const a = world.agent(world.host('public', 0), { role: 'controlling' });
    const b = world.agent(world.host(EIM_EIF, 1), { role: 'controlled' });
    const la = record(world, a);
    const lb = record(world, b);
    world.connect(a, b);
    void a.gather();
    void b.gather();
    assert.ok(await world.run(() => a.gatheringState === 'complete' && b.gatheringState === 'complete', 10_000));
    for (const [name, log] of [['a', la], ['b', lb]] as const) {
      const hosts = log.candidates.filter((c) => log.typeOf(c.candidate) === 'host');
      assert.equal(hosts.length, 1, `${name}: one host candidate`);
      assert.equal(hosts[0].at, 0, `${name}: the host candidate is trickled at once`);
      assert.deepEqual(log.candidates.map((c) => log.typeOf(c.candidate)), ['host', null], `${name}: host, then end-of-candidates`);
      const done = log.gathering.find((g) => g.state === 'complete')!;
      assert.ok(done.at >= 5_000 && done.at <= 5_050, `${name}: gathering completed at ${done.at} ms`);
      assert.equal(log.candidates.at(-1)!.at, done.at, `${name}: the null candidate comes with 'complete'`);
      assert.deepEqual(log.errors.map((e) => e.error.url), ['stun:192.0.2.1:3478'], `${name}: one icecandidateerror for the dead server`);
      // Connected well before gathering gave up on the server (the nomination waits ≤ 2 s for better pairs).
      const up = log.states.find((s) => s.state === 'connected' || s.state === 'completed')!;
      assert.ok(up && up.at < 3_000, `${name}: connected at ${up?.at} ms`);
    }
    assert.ok(await world.run(() => a.state === 'completed' && b.state === 'completed', 2_000), `a ${a.state}, b ${b.state}`);
    assert.deepEqual(la.states.map((s) => s.state), ['checking', 'connected', 'completed']);
    a.close();
    b.close();
  });

  it('an extra stun: URL with no server behind it: the live server’s srflx is trickled at once, the dead one times out alone', async () => {
    const world = new SimWorld({ seed: 2 });
    world.iceServers.push({ urls: 'stun:192.0.2.99:3478' });
    const ha = world.host(EIM_APDF, 0);
    const hb = world.host('public', 1);
    for (const h of [ha, hb, world.server]) h.link.configure({ delayMs: 10 });
    const a = world.agent(ha, { role: 'controlling' });
    const b = world.agent(hb, { role: 'controlled' });
    const la = record(world, a);
    world.connect(a, b);
    void a.gather();
    void b.gather();
    assert.ok(await world.run(() => a.gatheringState === 'complete' && connected(a) && connected(b), 10_000), `a ${a.state}, b ${b.state}`);
    const srflx = la.candidates.find((c) => la.typeOf(c.candidate) === 'srflx')!;
    assert.ok(srflx, 'a server-reflexive candidate from the live server');
    // NAT uplink link default (0) + a's link 10 ms + server link 10 ms, each way: answered ≈ 40 ms.
    assert.ok(srflx.at < 100, `srflx trickled at ${srflx.at} ms`);
    const done = la.gathering.find((g) => g.state === 'complete')!.at;
    assert.ok(done >= 5_000 && done <= 5_050, `gathering completed at ${done} ms`);
    assert.deepEqual(la.errors.map((e) => e.error.url), ['stun:192.0.2.99:3478']);
    a.close();
    b.close();
  });
});

describe('a TURN server that never answers', () => {
  it('times out alone (10 s) while the srflx from STUN is already trickled; the agents connect without it', async () => {
    const world = new SimWorld({ seed: 3 });
    // Port 3479 on the server host: nothing listens there, every Allocate is dropped.
    world.iceServers.push({ urls: 'turn:192.0.2.1:3479', username: 'alice', credential: 'secret' });
    const ha = world.host(EIM_APDF, 0);
    const hb = world.host('public', 1);
    const a = world.agent(ha, { role: 'controlling' });
    const b = world.agent(hb, { role: 'controlled' });
    const la = record(world, a);
    const lb = record(world, b);
    world.connect(a, b);
    void a.gather();
    void b.gather();
    assert.ok(await world.run(() => connected(a) && connected(b), 5_000), `a ${a.state}, b ${b.state}`);
    assert.equal(a.gatheringState, 'gathering', 'still waiting for TURN');
    assert.ok(await world.run(() => a.gatheringState === 'complete' && b.gatheringState === 'complete', 15_000));
    assert.deepEqual(la.candidates.map((c) => la.typeOf(c.candidate)), ['host', 'srflx', null]);
    assert.ok(la.candidates[1].at < 100, `srflx at ${la.candidates[1].at} ms`);
    for (const log of [la, lb]) {
      const done = log.gathering.find((g) => g.state === 'complete')!.at;
      assert.ok(done >= 10_000 && done <= 10_050, `gathering completed at ${done} ms`);
      assert.equal(log.errors.length, 1);
      assert.ok(log.errors[0].error.url.startsWith('turn:192.0.2.1:3479'), log.errors[0].error.url);
      assert.equal(log.errors[0].error.errorCode, 408);
    }
    assert.ok(await world.run(() => a.state === 'completed' && b.state === 'completed', 1_000));
    a.close();
    b.close();
  });
});

describe('trickle (RFC 8838)', () => {
  it('signalling delay 2 s: checks start when the candidates land; connected within 2 s + nomination delay + 1 s', async () => {
    const world = new SimWorld({ seed: 4 });
    const ha = world.host(EIM_APDF, 0);
    const hb = world.host(EIM_APDF, 1);
    const a = world.agent(ha, { role: 'controlling' });
    const b = world.agent(hb, { role: 'controlled' });
    const la = record(world, a);
    const lb = record(world, b);
    const firstA = firstCheckFrom(world, ha);
    world.connect(a, b, 2_000);
    void a.gather();
    void b.gather();
    assert.ok(await world.run(() => connected(a) && connected(b), 10_000), `a ${a.state}, b ${b.state}`);
    assert.ok(firstA.at! >= 2_000 && firstA.at! < 2_100, `a's first check at ${firstA.at} ms`);
    for (const log of [la, lb]) {
      const up = log.states.find((s) => s.state === 'connected' || s.state === 'completed')!.at;
      assert.ok(up >= 2_000 && up < 2_000 + 2_000 + 1_000, `connected at ${up} ms`);
    }
    const types = [a.getSelectedCandidatePair()!.local.type, a.getSelectedCandidatePair()!.remote.type];
    assert.ok(!types.includes('relay'), `selected ${types}`);
    a.close();
    b.close();
  });

  it('checks start before gathering ends: a check leaves before the gathering state is complete', async () => {
    const world = new SimWorld({ seed: 5, turn: true });
    const ha = world.host(EIM_APDF, 0);
    const hb = world.host(EIM_APDF, 1);
    for (const h of [ha, hb, world.server]) h.link.configure({ delayMs: 20 });
    const a = world.agent(ha, { role: 'controlling' });
    const b = world.agent(hb, { role: 'controlled' });
    const la = record(world, a);
    const firstA = firstCheckFrom(world, ha);
    world.connect(a, b);
    void a.gather();
    void b.gather();
    assert.ok(await world.run(() => connected(a) && connected(b) && a.gatheringState === 'complete', 10_000));
    const complete = la.gathering.find((g) => g.state === 'complete')!.at;
    assert.ok(firstA.at !== undefined && firstA.at < complete, `first check at ${firstA.at} ms, gathering complete at ${complete} ms`);
    assert.ok(la.candidates.some((c) => la.typeOf(c.candidate) === 'relay'), 'a relayed candidate was gathered');
    a.close();
    b.close();
  });

  for (const order of ['reverse', 'shuffled'] as const) {
    it(`all candidates delivered in ${order} order after gathering, end-of-candidates last: connects directly`, async () => {
      const world = new SimWorld({ seed: 6, turn: true });
      const a = world.agent(world.host(EIM_APDF, 0), { role: 'controlling' });
      const b = world.agent(world.host(EIM_APDF, 1), { role: 'controlled' });
      const { fromA, fromB } = manualSignalling(a, b);
      void a.gather();
      void b.gather();
      assert.ok(await world.run(() => a.gatheringState === 'complete' && b.gatheringState === 'complete', 15_000));
      const rng = new SeededRandom(`order-${order}`);
      const arrange = (list: Candidate[]) => {
        const real = list.filter((c): c is IceCandidateInit => c !== null);
        assert.equal(real.length, 3, `host, srflx and relay: ${real.map((c) => c.candidate).join(' / ')}`);
        if (order === 'reverse') real.reverse();
        else for (let i = real.length - 1; i > 0; i--) {
          const j = rng.integer(0, i);
          [real[i], real[j]] = [real[j], real[i]];
        }
        return [...real, null];
      };
      const toB = arrange(fromA);
      const toA = arrange(fromB);
      // Interleave deliveries 50 ms apart, so checks run while later candidates still arrive.
      for (let i = 0; i < toB.length; i++) {
        assert.equal(await b.addRemoteCandidate(toB[i]), true);
        assert.equal(await a.addRemoteCandidate(toA[i]), true);
        await wait(world, 50);
      }
      assert.ok(await world.run(() => a.state === 'completed' && b.state === 'completed', 10_000), `a ${a.state}, b ${b.state}`);
      const selected = a.getSelectedCandidatePair()!;
      assert.ok(selected.local.type !== 'relay' && selected.remote.type !== 'relay', `a direct path exists: selected ${selected.local.type}/${selected.remote.type}`);
      assert.equal(await a.addRemoteCandidate(fromB[0]), false, 'after end-of-candidates a candidate is refused');
      a.close();
      b.close();
    });
  }

  /** a public, b behind a port-restricted NAT; b's srflx reaches a only 1 s after a's first check. */
  async function lateCandidate() {
    const world = new SimWorld({ seed: 7 });
    const ha = world.host('public', 0);
    const hb = world.host(EIM_APDF, 1);
    const a = world.agent(ha, { role: 'controlling' });
    const b = world.agent(hb, { role: 'controlled' });
    const { fromA, fromB } = manualSignalling(a, b);
    const firstA = firstCheckFrom(world, ha);
    void a.gather();
    void b.gather();
    // a's candidates go to b at once; b's host goes to a at once, its srflx waits.
    let lateAccepted: Promise<boolean> | undefined;
    let lateAt = 0;
    let learnedBeforeLate = 0;
    a.addEventListener('remotecandidate', () => {
      if (lateAccepted === undefined) learnedBeforeLate++;
    });
    const lateAddress = { address: '', port: 0 };
    const pump = () => {
      while (fromA.length > 0) void b.addRemoteCandidate(fromA.shift()!);
      for (let i = 0; i < fromB.length; i++) {
        const c = fromB[i];
        if (c && / typ host/.test(c.candidate)) {
          void a.addRemoteCandidate(c);
          fromB.splice(i--, 1);
        }
      }
      if (lateAccepted === undefined && firstA.at !== undefined && world.clock.now() >= firstA.at + 1_000) {
        const late = fromB.find((c) => c && / typ srflx/.test(c.candidate));
        if (late) {
          lateAt = world.clock.now();
          const parts = late.candidate.split(' ');
          lateAddress.address = parts[4];
          lateAddress.port = Number(parts[5]);
          lateAccepted = a.addRemoteCandidate(late);
          fromB.splice(fromB.indexOf(late), 1);
        }
      }
      if (lateAccepted !== undefined && fromB.includes(null)) {
        void a.addRemoteCandidate(null);
        fromB.splice(fromB.indexOf(null), 1);
      }
      return false;
    };
    await world.run(pump, 1_500);
    assert.ok(firstA.at !== undefined, 'a started checking');
    assert.equal(await lateAccepted, true, 'the late candidate is accepted');
    assert.ok(lateAt >= firstA.at + 1_000, `late candidate at ${lateAt} ms, first check at ${firstA.at} ms`);
    assert.ok(await world.run(() => pump() || (a.state === 'completed' && b.state === 'completed'), 10_000), `a ${a.state}, b ${b.state}`);
    const selected = a.getSelectedCandidatePair()!;
    assert.equal(`${selected.remote.address}:${selected.remote.port}`, `${lateAddress.address}:${lateAddress.port}`, 'the selected pair goes to b’s public (NAT) address');
    // No duplicate pair towards the same remote address from the same base.
    const keys = (await a.getStats()).map((s) => `${String(s.local.address)}:${String(s.local.port)}>${String(s.remote.address)}:${String(s.remote.port)}`);
    assert.equal(new Set(keys).size, keys.length, `pairs: ${keys.join(', ')}`);
    return { a, b, selected, lateAddress, learnedBeforeLate };
  }

  it('a candidate arriving after checks started (b’s srflx, 1 s after a’s first check) is taken in and the pair connects', async () => {
    const { a, b } = await lateCandidate();
    a.close();
    b.close();
  });

  it('that late srflx had already been learned as peer-reflexive: the pairs show the signalled candidate, not the stale prflx', async () => {
    const { a, b, selected, lateAddress, learnedBeforeLate } = await lateCandidate();
    assert.ok(learnedBeforeLate >= 1, 'a learned b’s NAT address as peer-reflexive before the srflx was signalled');
    // The pair was found first through a peer-reflexive candidate (b's check through its NAT); the signalled
    // srflx has the same address and replaced it in the remote list (RFC 8445 §7.3.1.3: the exchange
    // "will signal the actual foundation"). The pairs must show the signalled candidate too.
    const signalled = a.remoteCandidates.find((c) => c.address === lateAddress.address && c.port === lateAddress.port)!;
    assert.equal(signalled.type, 'srflx');
    assert.equal(selected.remote.type, 'srflx', `selected pair's remote is still the learned ${selected.remote.type} (priority ${selected.remote.priority}, signalled ${signalled.priority})`);
    assert.equal(selected.remote.foundation, signalled.foundation, 'the signalled foundation (§7.3.1.3)');
    a.close();
    b.close();
  });
});
