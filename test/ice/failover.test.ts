// Failover without an ICE restart (issue 15), on the simulator in virtual time: two agents with two host
// addresses each, data flowing both ways every 50 ms; then one address goes away (removeSocket, as the Node
// agent's interface watcher does). The agent that lost it moves at once to its best remaining valid pair;
// the controlling agent nominates it (renomination, both sides advertising it), and the other agent follows
// — the renominated pair, or the pair the peer's data now arrives on. Data keeps flowing; nobody restarts.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { IceAgent } from '../../src/ice/ice-agent.js';
import type { DatagramSocket } from '../../src/net/datagram-socket.js';
import { SimWorld } from './sim-world.js';

interface Peer {
  agent: IceAgent;
  sockets: DatagramSocket[];
  received: number[];
  switches: number;
}

function setup(options: { renominationB?: boolean } = {}) {
  const world = new SimWorld({ stun: false, link: { delayMs: 10 } });
  const make = (addresses: string[], role: 'controlling' | 'controlled', renomination = true): Peer => {
    const sockets = addresses.map((a) => world.net.addHost(a).bind());
    const agent = world.agent(world.server, { sockets: async () => sockets, role, gatherPolicy: 'continual', renomination });
    const peer: Peer = { agent, sockets, received: [], switches: 0 };
    agent.addEventListener('data', () => peer.received.push(world.clock.now()));
    agent.addEventListener('selectedcandidatepairchange', () => peer.switches++);
    return peer;
  };
  const a = make(['198.51.100.10', '198.51.100.11'], 'controlling');
  const b = make(['198.51.100.20', '198.51.100.21'], 'controlled', options.renominationB ?? true);
  world.connect(a.agent, b.agent);
  // Both send every 50 ms once connected.
  const tick = () => {
    for (const p of [a, b]) if (p.agent.getSelectedCandidatePair()) p.agent.send(new Uint8Array([1]));
    world.clock.setTimer(tick, world.clock.now() + 50);
  };
  world.clock.setTimer(tick, world.clock.now() + 50);
  return { world, a, b };
}

const pairOf = (p: Peer) => {
  const s = p.agent.getSelectedCandidatePair()!;
  return { local: s.local.address, remote: s.remote.address };
};

/** Connects, lets every pair be checked, then removes `loser`'s selected socket; returns when it did. */
async function connectThenRemove(world: SimWorld, a: Peer, b: Peer, loser: Peer) {
  void a.agent.gather();
  void b.agent.gather();
  assert.ok(await world.run(() => a.agent.state === 'connected' && b.agent.state === 'connected' && a.received.length > 5 && b.received.length > 5, 20_000), `a ${a.agent.state}, b ${b.agent.state}`);
  // Let the remaining pairs be checked (they are the ones failover can use).
  await world.run(() => false, 5_000);
  const before = { a: pairOf(a), b: pairOf(b) };
  assert.equal(before.a.local, before.b.remote, 'both sides agree on the pair');
  const ufrags = [a.agent.localParameters.usernameFragment, b.agent.localParameters.usernameFragment];
  const lost = pairOf(loser).local;
  const socket = loser.sockets.find((s) => s.localAddress.address === lost)!;
  const at = world.clock.now();
  loser.agent.removeSocket(socket);
  return { before, at, lost, ufrags };
}

async function switchedWithin(world: SimWorld, a: Peer, b: Peer, lost: string, at: number, limitMs: number): Promise<number> {
  let switchedAt = -1;
  await world.run(() => {
    const pa = pairOf(a);
    const pb = pairOf(b);
    const moved = pa.local !== lost && pa.remote !== lost && pb.local !== lost && pb.remote !== lost && pa.local === pb.remote && pa.remote === pb.local;
    if (moved && switchedAt < 0) switchedAt = world.clock.now();
    return moved;
  }, limitMs);
  assert.ok(switchedAt >= 0, `not switched within ${limitMs} ms: a ${JSON.stringify(pairOf(a))}, b ${JSON.stringify(pairOf(b))}`);
  return switchedAt - at;
}

async function assertDataFlows(world: SimWorld, a: Peer, b: Peer): Promise<void> {
  const from = world.clock.now();
  await world.run(() => false, 1_000);
  for (const [name, p] of [['a', a], ['b', b]] as const) {
    const n = p.received.filter((t) => t > from).length;
    assert.ok(n >= 15, `${name} received ${n} datagrams in the second after the switch`);
  }
}

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
    await a.close();
    await b.close();
  });
});
