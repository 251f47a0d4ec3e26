// RFC 5780 NAT behaviour discovery on the simulated network, on virtual time: icebridge's STUN server with
// two addresses × two ports on the public side, a client behind a NAT of every RFC 4787 mapping × filtering
// — all nine classified — and without a NAT; hairpinning on and off; the binding lifetime probe; the errors.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EngineDriver } from '../../src/net/driver.js';
import { StunServer } from '../../src/server/stun-server.js';
import { NAT_BEHAVIORS, SimNetwork, VirtualClock, type SimHost, type SimNatOptions } from '../../src/sim/index.js';
import { discoverNatBehavior, NatDiscoveryError, type NatBehaviorResult } from '../../src/nat/index.js';
import { StunMethod, createStunMessage, decodeStunMessage, encodeStunMessage } from '../../src/stun/index.js';
import { settleOnVirtualTime } from '../support/virtual-time.js';

const A1 = '192.0.2.1';
const A2 = '192.0.2.2';
const P1 = 3478;
const P2 = 3479;

/** icebridge's STUN server in RFC 5780 mode on a host with two addresses. */
function rfc5780Server(net: SimNetwork, clock: VirtualClock): StunServer {
  const host = net.addHost({ address: [A1, A2], name: 'stun server' });
  const sockets = [
    { address: A1, port: P1 },
    { address: A1, port: P2 },
    { address: A2, port: P1 },
    { address: A2, port: P2 },
  ].map((address, socket) => ({ socket, address, sim: host.bind(address.port, address.address) }));
  const engine = new StunServer({ rfc5780: { sockets: sockets.map(({ socket, address }) => ({ socket, address })) } });
  const driver = new EngineDriver(engine, { clock });
  for (const s of sockets) driver.attach(s.socket, s.sim);
  return engine;
}

function world(seed: number): { clock: VirtualClock; net: SimNetwork; server: StunServer } {
  const clock = new VirtualClock();
  const net = new SimNetwork({ clock, seed });
  return { clock, net, server: rfc5780Server(net, clock) };
}

function behind(net: SimNetwork, nat: SimNatOptions): SimHost {
  return net.addNat({ publicAddress: '203.0.113.10', ...nat }).addHost('10.0.0.2');
}

function discover(clock: VirtualClock, host: SimHost, extra: Partial<Parameters<typeof discoverNatBehavior>[1]> = {}): Promise<NatBehaviorResult> {
  return settleOnVirtualTime(
    clock,
    discoverNatBehavior(`stun:${A1}:${P1}`, { socket: host.bind(), openSocket: async () => host.bind(), clock, timeoutMs: 2000, ...extra }),
  );
}

describe('NAT behaviour discovery on the simulated network', () => {
  for (const mapping of NAT_BEHAVIORS) {
    for (const filtering of NAT_BEHAVIORS) {
      it(`classifies mapping=${mapping} filtering=${filtering}`, async () => {
        const { clock, net, server } = world(NAT_BEHAVIORS.indexOf(mapping) * 3 + NAT_BEHAVIORS.indexOf(filtering) + 1);
        const r = await discover(clock, behind(net, { mapping, filtering }));
        assert.equal(r.natted, true);
        assert.equal(r.mapping, mapping, JSON.stringify(r.details.tests));
        assert.equal(r.filtering, filtering, JSON.stringify(r.details.tests));
        assert.equal(r.mappedAddress.address, '203.0.113.10');
        assert.deepEqual(r.otherAddress, { address: A2, port: P2 });
        if (mapping === 'endpoint-independent' || filtering === 'endpoint-independent') {
          assert.equal(r.hairpinning, true, 'the simulated NAT hairpins by default (RFC 4787 REQ-9)');
        } else {
          assert.equal(r.hairpinning, undefined, 'a symmetric NAT that filters cannot be tested');
          assert.match(r.details.hairpinning ?? '', /untestable/);
        }
        const classic =
          mapping !== 'endpoint-independent'
            ? 'symmetric'
            : { 'endpoint-independent': 'full cone', 'address-dependent': 'restricted cone', 'address-and-port-dependent': 'port-restricted cone' }[filtering];
        assert.equal(r.classic, classic);
        assert.equal(r.ice, mapping === 'endpoint-independent' ? 'direct likely' : 'needs relay');
        assert.equal(r.details.serverBehindNat, false);
        assert.ok(server.rfc5780!.counters.changed >= 1);
        // Filtering tests first (§4.4), then mapping: the test list says so.
        const names = r.details.tests.map((t) => t.test);
        assert.equal(names[0], 'I');
        assert.match(names[1], /^filtering II/);
        const unanswered = r.details.tests.filter((t) => t.outcome === 'no response').length;
        assert.equal(unanswered, { 'endpoint-independent': 0, 'address-dependent': 1, 'address-and-port-dependent': 2 }[filtering]);
      });
    }
  }

  it('a public host is "open internet": no NAT, endpoint-independent both ways, ICE direct', async () => {
    const { clock, net } = world(20);
    const host = net.addHost('198.51.100.20');
    const r = await discover(clock, host);
    assert.equal(r.natted, false);
    assert.equal(r.mapping, 'endpoint-independent');
    assert.equal(r.filtering, 'endpoint-independent');
    assert.equal(r.classic, 'open internet');
    assert.equal(r.ice, 'direct');
    assert.equal(r.hairpinning, undefined, 'no NAT, nothing to hairpin');
    assert.equal(r.details.tests.length, 2, 'test I and filtering II only');
  });

  it('reports a NAT that does not hairpin', async () => {
    const { clock, net } = world(21);
    const r = await discover(clock, behind(net, { mapping: 'endpoint-independent', filtering: 'address-and-port-dependent', hairpinning: false }));
    assert.equal(r.hairpinning, false);
    assert.equal(r.classic, 'port-restricted cone');
  });

  it('skips hairpinning without a second socket', async () => {
    const { clock, net } = world(22);
    const host = behind(net, {});
    const r = await settleOnVirtualTime(clock, discoverNatBehavior({ address: A1, port: P1 }, { socket: host.bind(), clock, timeoutMs: 1000 }));
    assert.equal(r.hairpinning, undefined);
    assert.equal(r.classic, 'full cone');
  });

  it('paces new transactions at most ten per second (RFC 5780 §5)', async () => {
    const { clock, net } = world(23);
    const r = await discover(clock, behind(net, { mapping: 'endpoint-independent', filtering: 'endpoint-independent' }), { hairpinning: false });
    // I, filtering II, mapping II: all answered at once on the simulator, so the pacing is all the time taken.
    assert.equal(r.details.tests.length, 3);
    assert.equal(r.details.durationMs, 200);
  });

  it('probes the binding lifetime (§4.6) when asked: a 30 s NAT mapping lifetime is found within the precision', async () => {
    const { clock, net, server } = world(24);
    const host = behind(net, { mapping: 'endpoint-independent', filtering: 'address-and-port-dependent', mappingLifetimeMs: 30_000 });
    const r = await discover(clock, host, { hairpinning: false, bindingLifetime: { minMs: 5000, maxMs: 120_000, precisionMs: 2000 } });
    const lifetime = r.bindingLifetime!;
    assert.ok(lifetime.atLeastMs < 30_000 && lifetime.lessThanMs! >= 30_000, JSON.stringify(lifetime));
    assert.ok(lifetime.lessThanMs! - lifetime.atLeastMs <= 2000);
    assert.deepEqual(lifetime.trials.slice(0, 4).map((t) => [t.idleMs, t.alive]), [[5000, true], [10000, true], [20000, true], [40000, false]]);
    assert.ok(server.rfc5780!.counters.responsePort >= lifetime.trials.length);
  });

  it('a server without RFC 5780 support is a clear NO_RFC5780 error', async () => {
    const clock = new VirtualClock();
    const net = new SimNetwork({ clock, seed: 25 });
    new EngineDriver(new StunServer(), { clock }).attach(0, net.addHost(A1).bind(P1));
    const host = behind(net, {});
    await assert.rejects(discover(clock, host), (err: unknown) => {
      assert.ok(err instanceof NatDiscoveryError);
      assert.equal(err.code, 'NO_RFC5780');
      assert.match(err.message, /no OTHER-ADDRESS/);
      return true;
    });
  });

  it('no socket, or a server that is no STUN URI nor { address, port }: a TypeError saying so, not a crash inside', async () => {
    const net = new SimNetwork({ clock: new VirtualClock(), seed: 26 });
    const socket = net.addHost('192.0.2.10').bind();
    await assert.rejects(discoverNatBehavior(`${A1}:${P1}`, {} as never), { name: 'TypeError', message: /^discoverNatBehavior needs options\.socket/ });
    for (const bad of [5, { address: A1 }, null]) {
      await assert.rejects(discoverNatBehavior(bad as never, { socket }), { name: 'TypeError', message: /^discoverNatBehavior: the server must be a STUN URI, host:port or \{ address, port \}, got / });
    }
  });

  it('a server that sends OTHER-ADDRESS but ignores CHANGE-REQUEST is caught (NO_RFC5780), not read as endpoint-independent filtering', async () => {
    const clock = new VirtualClock();
    const net = new SimNetwork({ clock, seed: 27 });
    const liar = net.addHost(A1).bind(P1);
    liar.ondatagram = (bytes, from) => {
      const request = decodeStunMessage(bytes);
      const response = createStunMessage({
        method: StunMethod.Binding,
        class: 'success',
        transactionId: request.transactionId,
        attributes: [['XOR-MAPPED-ADDRESS', from], ['OTHER-ADDRESS', { address: A2, port: P2 }]],
      });
      liar.send(encodeStunMessage(response), from);
    };
    const host = behind(net, {});
    await assert.rejects(discover(clock, host), (err: unknown) => err instanceof NatDiscoveryError && err.code === 'NO_RFC5780' && /ignored CHANGE-REQUEST/.test(err.message));
  });

  it('gives the socket its handlers back after a discovery', async () => {
    const { clock, net } = world(28);
    const socket = behind(net, {}).bind();
    const handler = () => {};
    const onclose = () => {};
    socket.ondatagram = handler;
    socket.onclose = onclose;
    await settleOnVirtualTime(clock, discoverNatBehavior(`${A1}:${P1}`, { socket, clock, timeoutMs: 1000 }));
    assert.equal(socket.ondatagram, handler);
    assert.equal(socket.onclose, onclose);
  });

  it('no server is NO_RESPONSE, after the test timeout; the socket gets its handlers back', async () => {
    const clock = new VirtualClock();
    const net = new SimNetwork({ clock, seed: 26 });
    net.addHost(A1).bind(P1); // receives, never answers
    const host = behind(net, {});
    const socket = host.bind();
    const handler = () => {};
    socket.ondatagram = handler;
    const run = settleOnVirtualTime(clock, discoverNatBehavior(`${A1}:${P1}`, { socket, clock, timeoutMs: 1500 }));
    await assert.rejects(run, (err: unknown) => err instanceof NatDiscoveryError && err.code === 'NO_RESPONSE');
    assert.equal(clock.now(), 1500);
    assert.equal(socket.ondatagram, handler);
  });
});
