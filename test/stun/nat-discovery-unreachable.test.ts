// RFC 5780 NAT behaviour discovery towards a refused server (the bridge's policy, here the simulator's
// refuse()): it fails at once with NatDiscoveryError UNREACHABLE instead of waiting out its test timeouts.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DestinationUnreachableError } from '../../src/net/datagram-socket.js';
import { EngineDriver } from '../../src/net/driver.js';
import { discoverNatBehavior, NatDiscoveryError } from '../../src/nat/index.js';
import { StunServer } from '../../src/server/stun-server.js';
import { SimNetwork, VirtualClock } from '../../src/sim/index.js';
import { settleOnVirtualTime } from '../support/virtual-time.js';

const A1 = '192.0.2.1';
const A2 = '192.0.2.2';
const P1 = 3478;
const P2 = 3479;

function world() {
  const clock = new VirtualClock();
  const net = new SimNetwork({ clock, seed: 31, link: { delayMs: 10 } });
  const host = net.addHost({ address: [A1, A2], name: 'stun server' });
  const sockets = [
    { address: A1, port: P1 },
    { address: A1, port: P2 },
    { address: A2, port: P1 },
    { address: A2, port: P2 },
  ].map((address, socket) => ({ socket, address, sim: host.bind(address.port, address.address) }));
  const driver = new EngineDriver(new StunServer({ rfc5780: { sockets: sockets.map(({ socket, address }) => ({ socket, address })) } }), { clock });
  for (const s of sockets) driver.attach(s.socket, s.sim);
  const client = net.addNat({ publicAddress: '203.0.113.10', mapping: 'address-and-port-dependent', filtering: 'address-and-port-dependent' }).addHost('10.0.0.2');
  return { clock, net, client };
}

async function outcome(clock: VirtualClock, promise: Promise<unknown>): Promise<{ at: number; error: unknown }> {
  try {
    await settleOnVirtualTime(clock, promise);
    return { at: clock.now(), error: undefined };
  } catch (error) {
    return { at: clock.now(), error };
  }
}

describe('NAT behaviour discovery towards a refused server', () => {
  it('fails at once with UNREACHABLE when the primary address is refused (NO_RESPONSE after the timeout otherwise)', async () => {
    const w = world();
    w.client.refuse(A1);
    const socket = w.client.bind();
    const { at, error } = await outcome(w.clock, discoverNatBehavior(`stun:${A1}:${P1}`, { socket, clock: w.clock, timeoutMs: 3_000 }));
    assert.ok(error instanceof NatDiscoveryError, String(error));
    assert.equal(error.code, 'UNREACHABLE');
    assert.equal(error.message, '192.0.2.1:3478 is unreachable: destination-denied: destination 192.0.2.1 port 3478 is not allowed');
    assert.ok(error.cause instanceof DestinationUnreachableError);
    assert.ok(at < 5, `failed at virtual ${at} ms`);
    assert.equal(socket.onunreachable, null, 'the borrowed socket gets its handler back');

    // The control: the server silent rather than refused — discovery waits the whole test timeout.
    const c = world();
    const silent = c.client.bind();
    const blocked = c.net.addHost('192.0.2.9').bind(P1); // nobody answers here
    const late = await outcome(c.clock, discoverNatBehavior(blocked.localAddress, { socket: silent, clock: c.clock, timeoutMs: 3_000 }));
    assert.ok(late.error instanceof NatDiscoveryError && late.error.code === 'NO_RESPONSE');
    assert.ok(late.at >= 3_000);
  });

  it('fails with UNREACHABLE when only the alternate address is refused (the mapping tests need it)', async () => {
    const w = world();
    w.client.refuse(A2, { code: 'rate-limited', reason: 'over the packets or bytes per second of this session' });
    const { error } = await outcome(w.clock, discoverNatBehavior(`stun:${A1}:${P1}`, { socket: w.client.bind(), clock: w.clock, timeoutMs: 3_000 }));
    assert.ok(error instanceof NatDiscoveryError && error.code === 'UNREACHABLE', String(error));
    assert.match(error.message, /^192\.0\.2\.2:3478 is unreachable: rate-limited: /);
  });
});
