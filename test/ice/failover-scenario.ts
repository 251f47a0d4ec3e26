// The failover scenario on the simulator, shared by test/ice/failover.test.ts and bench/ice-failover.ts: two
// agents with two host addresses each, data both ways every 50 ms, then one address goes away.
import assert from 'node:assert/strict';
import type { IceAgent } from '../../src/ice/ice-agent.js';
import type { DatagramSocket } from '../../src/net/datagram-socket.js';
import { SimWorld } from './sim-world.js';

export interface Peer {
  agent: IceAgent;
  sockets: DatagramSocket[];
  received: number[];
  switches: number;
}

export function setup(options: { renominationB?: boolean; seed?: number } = {}) {
  const world = new SimWorld({ stun: false, link: { delayMs: 10 }, seed: options.seed });
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

export const pairOf = (p: Peer) => {
  const s = p.agent.getSelectedCandidatePair()!;
  return { local: s.local.address, remote: s.remote.address };
};

/** Connects, lets every pair be checked, then removes `loser`'s selected socket; returns when it did. */
export async function connectThenRemove(world: SimWorld, a: Peer, b: Peer, loser: Peer) {
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

export async function switchedWithin(world: SimWorld, a: Peer, b: Peer, lost: string, at: number, limitMs: number): Promise<number> {
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

export async function assertDataFlows(world: SimWorld, a: Peer, b: Peer): Promise<void> {
  const from = world.clock.now();
  await world.run(() => false, 1_000);
  for (const [name, p] of [['a', a], ['b', b]] as const) {
    const n = p.received.filter((t) => t > from).length;
    assert.ok(n >= 15, `${name} received ${n} datagrams in the second after the switch`);
  }
}
