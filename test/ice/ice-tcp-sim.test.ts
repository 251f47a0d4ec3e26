// ICE-TCP (RFC 6544) on the simulator, in virtual time (issue 15): two public hosts whose agents have UDP
// and TCP host candidates (TCP through net.tcp, see src/sim/tcp.ts). With UDP dropped silently between them
// (a firewall rule, net.blockUdp) they connect over a TCP pair; with UDP open the UDP pair wins though the
// TCP pairs work; and when UDP is cut mid-call, consent expiry moves the call onto the TCP pair, no restart.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { IceAgent } from '../../src/ice/ice-agent.js';
import type { DatagramSocket } from '../../src/net/datagram-socket.js';
import { ActiveStreamSocket, PassiveStreamSocket } from '../../src/net/stream-candidate-socket.js';
import { SimWorld } from './sim-world.js';

function tcpAgent(world: SimWorld, address: string, role: 'controlling' | 'controlled', protocols: ('udp' | 'tcp')[]): IceAgent {
  const host = world.net.addHost(address);
  const tcpSockets = async () => {
    const listener = world.net.tcp.listen(host, address);
    const passive = new PassiveStreamSocket(listener.localAddress, () => listener.close());
    listener.onconnection = (stream, remote) => passive.accept(stream, remote);
    const active = new ActiveStreamSocket(address, (to) => world.net.tcp.connect(host, address, to));
    return [
      { socket: active as DatagramSocket, tcpType: 'active' as const },
      { socket: passive as DatagramSocket, tcpType: 'passive' as const },
    ];
  };
  return world.agent(host, {
    role,
    sockets: async () => (protocols.includes('udp') ? [host.bind()] : []),
    ...(protocols.includes('tcp') ? { tcpSockets } : {}),
  });
}

async function connect(world: SimWorld, a: IceAgent, b: IceAgent): Promise<void> {
  world.connect(a, b);
  void a.gather();
  void b.gather();
  assert.ok(await world.run(() => a.state === 'completed' && b.state === 'completed', 60_000), `a ${a.state}, b ${b.state}`);
}

async function exchange(world: SimWorld, a: IceAgent, b: IceAgent): Promise<void> {
  let atA = 0;
  let atB = 0;
  a.addEventListener('data', () => atA++);
  b.addEventListener('data', () => atB++);
  a.send(new Uint8Array([1]));
  b.send(new Uint8Array([2]));
  assert.ok(await world.run(() => atA === 1 && atB === 1, 1_000), `data: a ${atA}, b ${atB}`);
}

const A = '198.51.100.10';
const B = '198.51.100.20';
const between = (src: { address: string }, dst: { address: string }) => [src.address, dst.address].sort().join() === [A, B].sort().join();

describe('ICE-TCP on the simulator (virtual time)', () => {
  for (const role of ['controlling', 'controlled'] as const) {
    it(`UDP dropped between the peers: connected over a TCP pair (a ${role})`, async () => {
      const world = new SimWorld({ stun: false, link: { delayMs: 10 } });
      world.net.blockUdp(between);
      const a = tcpAgent(world, A, role, ['udp', 'tcp']);
      const b = tcpAgent(world, B, role === 'controlling' ? 'controlled' : 'controlling', ['udp', 'tcp']);
      await connect(world, a, b);
      for (const agent of [a, b]) assert.equal(agent.getSelectedCandidatePair()?.local.protocol, 'tcp');
      const stats = await a.getStats();
      assert.ok(stats.filter((s) => s.local.protocol === 'udp').every((s) => s.state !== 'succeeded'), 'no UDP pair succeeded');
      assert.ok(world.net.stats.droppedFor('blocked') > 0, 'the firewall dropped the UDP checks');
      await exchange(world, a, b);
      await a.close();
      await b.close();
    });
  }

  it('UDP open: the UDP pair wins though the TCP pairs succeed', async () => {
    const world = new SimWorld({ stun: false, link: { delayMs: 10 } });
    const a = tcpAgent(world, A, 'controlling', ['udp', 'tcp']);
    const b = tcpAgent(world, B, 'controlled', ['udp', 'tcp']);
    await connect(world, a, b);
    await world.run(() => false, 5_000);
    for (const agent of [a, b]) assert.equal(agent.getSelectedCandidatePair()?.local.protocol, 'udp');
    const stats = await a.getStats();
    assert.ok(stats.some((s) => s.local.protocol === 'tcp' && s.state === 'succeeded'), JSON.stringify(stats.map((s) => [s.local.protocol, s.state])));
    await exchange(world, a, b);
    await a.close();
    await b.close();
  });

  it('UDP cut mid-call: consent expires on the UDP pair and the call moves to the TCP pair, no restart', async () => {
    const world = new SimWorld({ stun: false, link: { delayMs: 10 } });
    const a = tcpAgent(world, A, 'controlling', ['udp', 'tcp']);
    const b = tcpAgent(world, B, 'controlled', ['udp', 'tcp']);
    await connect(world, a, b);
    await world.run(() => false, 5_000);
    const ufrag = a.localParameters.usernameFragment;
    world.net.blockUdp(between);
    const cutAt = world.clock.now();
    assert.ok(
      await world.run(() => a.getSelectedCandidatePair()?.local.protocol === 'tcp' && b.getSelectedCandidatePair()?.local.protocol === 'tcp', 40_000),
      `a ${JSON.stringify(a.getSelectedCandidatePair()?.local)}, b ${JSON.stringify(b.getSelectedCandidatePair()?.local)}`,
    );
    const took = world.clock.now() - cutAt;
    assert.ok(took <= 31_000, `moved after ${took} ms (consent expires at 30 s, RFC 7675)`);
    await exchange(world, a, b);
    assert.equal(a.localParameters.usernameFragment, ufrag, 'no ICE restart');
    await a.close();
    await b.close();
  });
});
