// Failover without an ICE restart (issue 15), on the simulator in virtual time: two agents with two host
// addresses each, data flowing both ways every 50 ms; then one address goes away (removeSocket, as the Node
// agent's interface watcher does). The agent that lost it moves at once to its best remaining valid pair;
// the controlling agent nominates it (renomination, both sides advertising it), and the other agent follows
// — the renominated pair, or the pair the peer's data now arrives on. Data keeps flowing; nobody restarts.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { assertDataFlows, connectThenRemove, setup, switchedWithin } from './failover-scenario.js';
import { SimWorld } from './sim-world.js';

describe('failover without an ICE restart (simulator, virtual time)', () => {
  it('the controlling agent loses its selected address: both sides on another pair within 2 s, data flowing', async () => {
    const { world, a, b } = setup();
    const { at, lost, ufrags } = await connectThenRemove(world, a, b, a);
    const took = await switchedWithin(world, a, b, lost, at, 2_000);
    assert.ok(took <= 2_000, `took ${took} ms`);
    await assertDataFlows(world, a, b);
    assert.deepEqual([a.agent.localParameters.usernameFragment, b.agent.localParameters.usernameFragment], ufrags, 'no ICE restart');
    assert.equal(a.agent.state, 'connected');
    assert.equal(b.agent.state, 'connected');
    assert.ok(a.switches >= 2 && b.switches >= 2, `selectedcandidatepairchange: a ${a.switches}, b ${b.switches}`);
    // The pairs on the address that went away failed with the reason, at once.
    const stats = await a.agent.getStats();
    const gone = stats.filter((s) => s.local.address === lost);
    assert.ok(gone.length > 0 && gone.every((s) => s.state === 'failed' && s.failureReason === 'the local address went away'), JSON.stringify(gone.map((s) => [s.state, s.failureReason])));
    await a.agent.close();
    await b.agent.close();
  });

  it('the controlled agent loses its selected address: it moves at once, the controlling one follows its data within 2 s', async () => {
    const { world, a, b } = setup();
    const { at, lost, ufrags } = await connectThenRemove(world, a, b, b);
    const took = await switchedWithin(world, a, b, lost, at, 2_000);
    assert.ok(took <= 2_000, `took ${took} ms`);
    await assertDataFlows(world, a, b);
    assert.deepEqual([a.agent.localParameters.usernameFragment, b.agent.localParameters.usernameFragment], ufrags, 'no ICE restart');
    await a.agent.close();
    await b.agent.close();
  });

  it('without renomination on the other side, nomination stays final on the wire, and still each side moves and data flows', async () => {
    const { world, a, b } = setup({ renominationB: false });
    assert.deepEqual(b.agent.localParameters.iceOptions, undefined);
    const { at, lost } = await connectThenRemove(world, a, b, a);
    const took = await switchedWithin(world, a, b, lost, at, 2_000);
    assert.ok(took <= 2_000, `took ${took} ms`);
    await assertDataFlows(world, a, b);
    await a.agent.close();
    await b.agent.close();
  });

  it('with no valid pair left the agent says disconnected, then failed — no silent wait', async () => {
    const { world, a, b } = setup();
    await connectThenRemove(world, a, b, a);
    a.agent.removeSocket(a.sockets.find((s) => a.agent.localCandidates.some((c) => c.address === s.localAddress.address))!);
    assert.ok(await world.run(() => a.agent.state === 'failed' || a.agent.state === 'disconnected', 1_000), `a ${a.agent.state}`);
    await a.agent.close();
    await b.agent.close();
  });
});

describe('a better pair later: renomination (simulator)', () => {
  it('an address that appears gives a better pair than the relay in use: trickled, checked, renominated, followed', async () => {
    const world = new SimWorld({ stun: true, turn: true, link: { delayMs: 10 } });
    const symmetric = { mapping: 'address-and-port-dependent', filtering: 'address-and-port-dependent' } as const;
    const aHost = world.host(symmetric, 0);
    const bHost = world.host(symmetric, 1);
    const a = world.agent(aHost, { role: 'controlling', gatherPolicy: 'continual' });
    const b = world.agent(bHost, { role: 'controlled', gatherPolicy: 'continual' });
    world.connect(a, b);
    const trickled: string[] = [];
    a.addEventListener('icecandidate', (e) => e.candidate && trickled.push(e.candidate.candidate));
    let bGot = 0;
    b.addEventListener('data', () => bGot++);
    void a.gather();
    void b.gather();
    assert.ok(await world.run(() => a.state === 'connected' && b.state === 'connected', 30_000), `a ${a.state}, b ${b.state}`);
    const initial = a.getSelectedCandidatePair()!;
    assert.ok(initial.local.type === 'relay' || initial.remote.type === 'relay', `two symmetric NATs: through a relay, not ${JSON.stringify(initial)}`);
    const ufrag = a.localParameters.usernameFragment;

    // A public address appears on a's machine.
    // (Gathering on it waits for the STUN and TURN servers: virtual time must run meanwhile.)
    const adding = a.addSocket(world.net.addHost('198.51.100.50').bind());
    assert.ok(
      await world.run(() => a.getSelectedCandidatePair()?.local.address === '198.51.100.50' && b.getSelectedCandidatePair()?.remote.address === '198.51.100.50', 10_000),
      `a ${JSON.stringify(a.getSelectedCandidatePair())}, b ${JSON.stringify(b.getSelectedCandidatePair())}`,
    );
    assert.ok(trickled.some((c) => c.includes(' 198.51.100.50 ') && c.includes('typ host')), 'the new host candidate is trickled');
    const before = bGot;
    for (let i = 0; i < 5; i++) a.send(new Uint8Array([i]));
    assert.ok(await world.run(() => bGot >= before + 5, 1_000), 'data on the renominated pair');
    assert.equal(a.localParameters.usernameFragment, ufrag, 'no ICE restart');
    await world.run(() => false, 12_000);
    await adding;
    // RFC 8445 §5.1.2.1: local preferences stay unique across both gatherings — the later host candidate
    // and its relay tie with none of the first ones (a lone address's 65535 each time, before).
    const priorities = new Map<string, string[]>();
    for (const c of trickled) {
      const [, component, protocol, priority, , , , type] = c.split(' ');
      const key = `${type} ${protocol} ${component}`;
      priorities.set(key, [...(priorities.get(key) ?? []), priority]);
    }
    assert.ok((priorities.get('host udp 1')?.length ?? 0) >= 2 && (priorities.get('relay udp 1')?.length ?? 0) >= 2, JSON.stringify([...priorities]));
    for (const [key, list] of priorities) assert.equal(new Set(list).size, list.length, `${key}: ${list.join(', ')}`);
    await a.close();
    await b.close();
  });
});
