// Refused destinations in ICE (RFC 8445 §7.2.5.2.2: a hard ICMP error fails the pair): a pair towards a
// refused remote fails at once while the others go on; with every remote refused the agent fails quickly;
// a TURN 403 fails the relayed pair; the gatherer reports a refused STUN/TURN server at once; a refused
// selected pair loses consent at once. Simulated network, virtual time.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { computeFoundation, computePriority, type IceCandidate } from '../../src/ice/candidate.js';
import type { CandidatePair } from '../../src/ice/candidate-pair.js';
import type { GatheringError } from '../../src/ice/gatherer.js';
import { IceAgent } from '../../src/ice/ice-agent.js';
import { BridgeError } from '../../src/net/bridge-error.js';
import { BridgeSocket } from '../../src/net/bridge-socket.js';
import type { TransportAddress } from '../../src/net/transport-address.js';
import { hostSocketOf } from '../../src/worker/host-socket.js';
import { runTurnServer } from '../../src/server/turn-server-runner.js';
import { TurnServer } from '../../src/server/turn-server.js';
import { SeededRandom, SimNetwork, VirtualClock } from '../../src/sim/index.js';
import { exchange, runUntil, TestAgent } from './engine-harness.js';
import { SimWorld } from './sim-world.js';

/** A host candidate at an address nobody owns (here: the cloud metadata address a bridge refuses). */
function unownedCandidate(address: string, port: number, localPreference = 65535): IceCandidate {
  return {
    foundation: computeFoundation('host', address, 'udp'),
    component: 1,
    protocol: 'udp',
    priority: computePriority('host', localPreference, 1),
    address,
    port,
    type: 'host',
    extensions: [],
  };
}

const METADATA = '169.254.169.254';

/** Two agents on public hosts and a third remote candidate for `a` that leads nowhere. */
function engineWorld(refuse: boolean) {
  const clock = new VirtualClock();
  const net = new SimNetwork({ clock, seed: 11, link: { delayMs: 10 } });
  const ha = net.addHost('192.0.2.10');
  const hb = net.addHost('192.0.2.20');
  if (refuse) ha.refuse('169.254.0.0/16');
  const a = new TestAgent('a', clock, { role: 'controlling', random: () => 0.5 });
  const b = new TestAgent('b', clock, { role: 'controlled', random: () => 0.5 });
  const sa = ha.bind(5000);
  const sb = hb.bind(6000);
  a.addCandidate(a.attach(sa), sa.localAddress);
  b.addCandidate(b.attach(sb), sb.localAddress);
  exchange(a, b, { endOfCandidates: false });
  // Highest priority, so it is checked first and, unanswered, would hold the nomination back.
  a.engine.addRemoteCandidate(unownedCandidate(METADATA, 80, 65535), clock.now());
  a.driver.poll();
  const pairTo = (address: string) => a.engine.checklist.pairs.find((p) => p.remote.address === address)!;
  return { clock, net, ha, hb, a, b, sb, pairTo };
}

describe('IceAgentEngine.handleUnreachable', () => {
  it('fails the pair to a refused remote at once; the other pair goes on and the agent connects through it', () => {
    const w = engineWorld(true);
    const refused = w.pairTo(METADATA);
    assert.ok(runUntil(w.clock, () => refused.state === 'failed', 1_000), `state ${refused.state}`);
    const failedAt = w.clock.now();
    assert.ok(failedAt < 100, `failed at virtual ${failedAt} ms`);
    assert.equal(w.net.stats.droppedFor('refused'), 1, 'one check, no retransmission');
    assert.equal(w.a.engine.counters.unreachable, 1);
    assert.ok(
      [...w.a.engine.transactions].every((t) => t.to.address !== METADATA),
      'the refused check is no longer in flight',
    );
    assert.ok(runUntil(w.clock, () => w.a.engine.state === 'connected' && w.b.engine.state === 'connected', 5_000), `a ${w.a.engine.state}, b ${w.b.engine.state}`);
    assert.equal(w.a.engine.selectedPair?.remote.address, '192.0.2.20');
    assert.equal(refused.state, 'failed');
    assert.equal(refused.valid, false);

    // The control: no refusal — at the same moment the pair is still being checked (it would take 39.5 s).
    const c = engineWorld(false);
    const pending = c.pairTo(METADATA);
    c.clock.runUntil(failedAt + 400);
    assert.equal(pending.state, 'in-progress');
  });

  it('with every remote refused the agent fails within milliseconds, not after the checks time out', () => {
    const clock = new VirtualClock();
    const net = new SimNetwork({ clock, seed: 12, link: { delayMs: 10 } });
    const ha = net.addHost('192.0.2.10');
    const a = new TestAgent('a', clock, { role: 'controlling', random: () => 0.5 });
    const sa = ha.bind(5000);
    a.addCandidate(a.attach(sa), sa.localAddress);
    ha.refuse('198.51.100.0/24');
    a.engine.setRemoteParameters({ usernameFragment: 'peer', password: 'peerpasswordpeerpassword' }, 0);
    a.engine.addRemoteCandidate(unownedCandidate('198.51.100.7', 7000), 0);
    a.engine.addRemoteCandidate(unownedCandidate('198.51.100.8', 8000, 65000), 0);
    a.engine.addRemoteCandidate(null, 0);
    a.engine.setLocalGatheringComplete(0);
    a.driver.poll();
    assert.ok(runUntil(clock, () => a.engine.state === 'failed', 60_000), a.engine.state);
    assert.ok(clock.now() < 500, `failed at virtual ${clock.now()} ms`);
    assert.deepEqual(a.states, ['checking', 'failed']);
    assert.ok(a.engine.checklist.pairs.every((p: CandidatePair) => p.state === 'failed'));
  });

  it('a refused selected pair loses consent at once: failed at the next consent check, not 30 s later', () => {
    const w = engineWorld(false);
    assert.ok(runUntil(w.clock, () => w.a.engine.state === 'connected', 10_000));
    w.ha.refuse('192.0.2.20');
    const t0 = w.clock.now();
    assert.ok(runUntil(w.clock, () => w.a.engine.state === 'failed', 40_000));
    // RFC 7675 §5.1: a check every 5 s ± 20 % (random() = 0.5 here: exactly 5 s).
    assert.ok(w.clock.now() - t0 <= 5_100, `failed ${w.clock.now() - t0} ms after the refusal`);
    assert.equal(w.a.send('x'), false);

    // The control: the peer just goes silent — 6 s later the agent has not failed (consent lasts 30 s).
    const c = engineWorld(false);
    assert.ok(runUntil(c.clock, () => c.a.engine.state === 'connected', 10_000));
    c.sb.close();
    const c0 = c.clock.now();
    c.clock.runUntil(c0 + 6_000);
    assert.notEqual(c.a.engine.state, 'failed');
  });
});

// ---- IceAgent (gatherer, demux routes, relays, driver) end to end -----------------------------------------

/** Runs virtual time, flushing microtasks between timers, until `done` or `limitMs` of virtual time. */
async function runAsync(clock: VirtualClock, done: () => boolean, limitMs: number): Promise<boolean> {
  const end = clock.now() + limitMs;
  for (;;) {
    await new Promise<void>((resolve) => setImmediate(resolve));
    if (done()) return true;
    const next = clock.nextDeadline;
    if (next === undefined || next > end) return done();
    clock.step();
  }
}

function record(clock: VirtualClock, agent: IceAgent) {
  const log = { errors: [] as { at: number; error: GatheringError }[], states: [] as { at: number; state: string }[], complete: undefined as number | undefined };
  agent.addEventListener('icecandidateerror', (e) => log.errors.push({ at: clock.now(), error: (e as unknown as { error: GatheringError }).error }));
  agent.addEventListener('statechange', () => log.states.push({ at: clock.now(), state: agent.state }));
  agent.addEventListener('gatheringstatechange', () => {
    if (agent.gatheringState === 'complete') log.complete = clock.now();
  });
  return log;
}

describe('IceAgent with refused destinations', () => {
  it('the gatherer reports a refused STUN server with its URL at once, and gathering completes', async () => {
    const world = new SimWorld({ seed: 21, link: { delayMs: 10 } });
    const host = world.host('public', 1);
    host.refuse('192.0.2.1', { reason: 'destination 192.0.2.1 port 3478 is not allowed' });
    const agent = world.agent(host, { stunTimeoutMs: 5_000 });
    const log = record(world.clock, agent);
    void agent.gather();
    assert.ok(await world.run(() => log.complete !== undefined, 10_000));
    assert.equal(log.errors.length, 1);
    const [{ at, error }] = log.errors;
    assert.equal(error.url, 'stun:192.0.2.1:3478');
    assert.equal(error.errorCode, 701);
    assert.equal(error.errorText, 'destination-denied: destination 192.0.2.1 port 3478 is not allowed');
    assert.ok(at < 5, `reported at virtual ${at} ms`);
    assert.ok(log.complete! < 5, `gathering complete at ${log.complete} ms, not after the 5 s STUN timeout`);
    agent.close();
  });

  it('the gatherer reports a refused TURN server with its URL and the refusal at once', async () => {
    const world = new SimWorld({ seed: 22, stun: false, turn: true, link: { delayMs: 10 } });
    const host = world.host('public', 1);
    host.refuse('192.0.2.1', { code: 'rate-limited', reason: 'over the packets or bytes per second of this session' });
    const agent = world.agent(host, { turnTimeoutMs: 10_000 });
    const log = record(world.clock, agent);
    void agent.gather();
    assert.ok(await world.run(() => log.complete !== undefined, 20_000));
    assert.equal(log.errors.length, 1);
    const [{ at, error }] = log.errors;
    assert.equal(error.url, 'turn:192.0.2.1:3478');
    assert.equal(error.errorCode, 701);
    assert.match(error.errorText, /rate-limited: over the packets or bytes per second of this session/);
    assert.ok(at < 5 && log.complete! < 5, `reported at ${at} ms, complete at ${log.complete} ms`);
    agent.close();
  });

  it('refusals reach the engine through the gatherer’s demux route: the refused pair fails, the agents connect', async () => {
    const world = new SimWorld({ seed: 23, stun: false, link: { delayMs: 10 } });
    const ha = world.host('public', 1);
    const hb = world.host('public', 2);
    ha.refuse('169.254.0.0/16');
    const a = world.agent(ha, { role: 'controlling' });
    const b = world.agent(hb, { role: 'controlled' });
    world.connect(a, b);
    await Promise.all([a.gather(), b.gather()]);
    await a.addRemoteCandidate(unownedCandidate(METADATA, 80));
    const refused = async () => (await a.getStats()).find((p) => (p.remote as { address?: string }).address === METADATA);
    assert.ok(await world.run(async () => (await refused())?.state === 'failed', 2_000), `state ${(await refused())?.state}`);
    assert.match((await refused())?.failureReason ?? '', /^destination-denied: /, 'the stats say why the pair failed');
    assert.ok(world.clock.now() < 200, `failed at ${world.clock.now()} ms`);
    assert.ok(await world.run(() => a.state === 'completed' && b.state === 'completed', 10_000), `a ${a.state}, b ${b.state}`);
    assert.equal(a.engine.counters.unreachable >= 1, true);
    a.close();
    b.close();
  });

  it('a TURN 403 on CreatePermission fails the relayed pair at once; with nothing left the agent fails', async () => {
    const clock = new VirtualClock();
    const net = new SimNetwork({ clock, seed: 24, link: { delayMs: 10 } });
    const server = net.addHost('192.0.2.1');
    const engine = new TurnServer({ realm: 'sim', users: { alice: 'secret' }, deny: ['198.51.100.0/24'] });
    runTurnServer({ engine, listen: [server.bind(3478)], openRelaySocket: async () => server.bind(), clock });
    const random = new SeededRandom(24);
    const ha = net.addHost('192.0.2.10');
    const hb = net.addHost('198.51.100.20');
    const a = new IceAgent({
      iceServers: [{ urls: 'turn:192.0.2.1:3478', username: 'alice', credential: 'secret' }],
      iceTransportPolicy: 'relay',
      role: 'controlling',
      sockets: async () => [ha.bind()],
      clock,
      random: () => random.next(),
    });
    const b = new IceAgent({ role: 'controlled', sockets: async () => [hb.bind()], clock, random: () => random.next() });
    const log = record(clock, a);
    b.setRemoteParameters(a.localParameters);
    a.setRemoteParameters(b.localParameters);
    a.addEventListener('icecandidate', (e) => b.addRemoteCandidate((e as unknown as { candidate: Parameters<IceAgent['addRemoteCandidate']>[0] }).candidate));
    b.addEventListener('icecandidate', (e) => a.addRemoteCandidate((e as unknown as { candidate: Parameters<IceAgent['addRemoteCandidate']>[0] }).candidate));
    void a.gather();
    void b.gather();
    assert.ok(await runAsync(clock, () => a.state === 'failed', 60_000), `a ${a.state}`);
    const checkingAt = log.states.find((s) => s.state === 'checking')?.at ?? 0;
    const failedAt = clock.now();
    assert.ok(failedAt - checkingAt < 1_000, `failed ${failedAt - checkingAt} ms after checking began (a check timeout is 39.5 s)`);
    const stats = await a.getStats();
    assert.ok(stats.length > 0 && stats.every((p) => p.state === 'failed'));
    assert.ok(stats.every((p) => /does not relay to 198\.51\.100\.20: 403/.test(p.failureReason ?? '')), JSON.stringify(stats.map((p) => p.failureReason)));
    const refusal = log.errors.find((e) => e.error.errorCode === 403);
    assert.ok(refusal, `an icecandidateerror 403 for the refused peer: ${JSON.stringify(log.errors)}`);
    assert.equal(refusal.error.url, 'turn:192.0.2.1:3478');
    assert.ok(refusal.at - checkingAt < 1_000, `reported ${refusal.at - checkingAt} ms after checking began`);
    assert.ok(a.engine.counters.unreachable >= 1);
    a.close();
    b.close();
  });

  it('a bridge socket announced at the bridge host address (the Worker’s host socket) carries the refusal to the engine', async () => {
    const clock = new VirtualClock();
    const sent: TransportAddress[] = [];
    const bridgeSocket = new BridgeSocket({ sendData: (_id, _bytes, to) => sent.push(to), releaseSocket: () => {} }, 1, { address: '0.0.0.0', port: 40000 }, ['192.0.2.5']);
    const a = new IceAgent({ role: 'controlling', sockets: async () => [hostSocketOf(bridgeSocket)], clock, random: () => 0.5 });
    const gathering = a.gather();
    assert.ok(await runAsync(clock, () => a.gatheringState === 'complete', 1_000));
    await gathering;
    assert.equal(a.localCandidates[0].address, '192.0.2.5', 'announced at the host address, not the wildcard');
    await a.setRemoteParameters({ usernameFragment: 'peer', password: 'peerpasswordpeerpassword' });
    await a.addRemoteCandidate(unownedCandidate(METADATA, 80));
    await a.addRemoteCandidate(null);
    assert.ok(await runAsync(clock, () => sent.some((to) => to.address === METADATA), 1_000), 'a check went out through the bridge');
    const destination = { address: METADATA, port: 80 };
    const reason = 'destination 169.254.169.254 port 80 is not allowed';
    bridgeSocket.errorFrame({ type: 'error', code: 'destination-denied', reason, socketId: 1, destination }, new BridgeError('destination-denied', reason));
    assert.deepEqual(
      (await a.getStats()).map((p) => p.state),
      ['failed'],
    );
    assert.equal(a.state, 'failed');
    assert.equal(a.engine.counters.unreachable, 1);
    a.close();
  });
});
