import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { TransportAddress } from '../../src/net/transport-address.js';
import { SimNetwork, VirtualClock, type SimNatOptions, type SimSocket } from '../../src/sim/index.js';
import { bindReflector, collect } from './reflector.js';

const STUN = { address: '192.0.2.1', port: 3478 };

function setUp(natOptions: SimNatOptions = {}, seed = 1) {
  const clock = new VirtualClock();
  const net = new SimNetwork({ clock, seed });
  const nat = net.addNat({ publicAddress: '203.0.113.10', ...natOptions });
  const server = net.addHost(STUN.address);
  const reflector = bindReflector(server, STUN.port);
  /** Asks the reflector which address it sees for `socket`. */
  const mappedAddressOf = (socket: SimSocket): TransportAddress => {
    const previous = socket.ondatagram;
    let text = '';
    socket.ondatagram = (bytes) => (text = new TextDecoder().decode(bytes));
    socket.send(new Uint8Array([1]), STUN);
    clock.runUntilIdle();
    socket.ondatagram = previous;
    const [address, port] = text.split(':');
    return { address, port: Number(port) };
  };
  return { clock, net, nat, server, reflector, mappedAddressOf };
}

describe('RFC 4787 §6 hairpinning', () => {
  for (const hairpinning of [true, false]) {
    test(`hairpinning=${hairpinning}`, () => {
      const { clock, net, nat, mappedAddressOf } = setUp({ hairpinning });
      const a = nat.addHost('10.0.0.2').bind(4000);
      const b = nat.addHost('10.0.0.3').bind(4000);
      const aPublic = mappedAddressOf(a);
      const bPublic = mappedAddressOf(b);
      const atB = collect(b);

      a.send(new TextEncoder().encode('via the public address'), bPublic);
      clock.runUntilIdle();

      if (hairpinning) {
        assert.equal(atB.length, 1);
        assert.equal(atB[0].text, 'via the public address');
        // REQ-9a: the hairpinned datagram shows A's public source, not its private one.
        assert.deepEqual(atB[0].from, aPublic);
      } else {
        assert.equal(atB.length, 0);
        assert.equal(net.stats.droppedFor('hairpin-disabled'), 1);
      }
    });
  }
});

describe('RFC 4787 §4.2.1 port assignment', () => {
  test('port preservation on: the internal port is kept while free, never overloaded (REQ-3)', () => {
    const { nat, mappedAddressOf } = setUp({ portPreservation: true });
    const first = nat.addHost('10.0.0.2').bind(5000);
    const second = nat.addHost('10.0.0.3').bind(5000);
    assert.deepEqual(mappedAddressOf(first), { address: '203.0.113.10', port: 5000 });
    const other = mappedAddressOf(second);
    assert.equal(other.address, '203.0.113.10');
    assert.notEqual(other.port, 5000);
  });

  test('port preservation off: a port from the dynamic range, the same for the same seed', () => {
    const portFor = (seed: number): number => {
      const { nat, mappedAddressOf } = setUp({ portPreservation: false }, seed);
      const mapped = mappedAddressOf(nat.addHost('10.0.0.2').bind(5000));
      assert.equal(mapped.address, '203.0.113.10');
      assert.notEqual(mapped.port, 5000);
      assert.ok(mapped.port >= 49152 && mapped.port <= 65535, `port ${mapped.port}`);
      return mapped.port;
    };
    assert.equal(portFor(7), portFor(7));
    const ports = new Set([1, 2, 3, 4, 5].map(portFor));
    assert.ok(ports.size >= 4, 'different seeds give different ports');
  });

  test('portRange bounds the ports a NAT hands out', () => {
    const { nat, mappedAddressOf } = setUp({ mapping: 'address-and-port-dependent', portRange: { min: 40000, max: 40003 } });
    const host = nat.addHost();
    const ports = [1, 2, 3, 4].map(() => mappedAddressOf(host.bind()).port).sort();
    assert.deepEqual(ports, [40000, 40001, 40002, 40003]);
  });

  test('REQ-2 paired pooling: each internal IP keeps one public IP of the pool', () => {
    const { nat, mappedAddressOf } = setUp({ publicAddress: ['203.0.113.10', '203.0.113.11'], mapping: 'address-and-port-dependent' });
    const a = nat.addHost('10.0.0.2');
    const b = nat.addHost('10.0.0.3');
    assert.deepEqual(new Set([a.bind(), a.bind(), a.bind()].map((s) => mappedAddressOf(s).address)), new Set(['203.0.113.10']));
    assert.deepEqual(new Set([b.bind(), b.bind()].map((s) => mappedAddressOf(s).address)), new Set(['203.0.113.11']));
  });
});

describe('RFC 4787 §4.3 mapping refresh and expiry', () => {
  const LIFETIME = 120_000;

  test('a mapping idle for its lifetime expires; inbound datagrams then count as mapping-expired', () => {
    const { clock, net, nat, reflector, mappedAddressOf } = setUp({ mappingLifetimeMs: LIFETIME });
    const socket = nat.addHost('10.0.0.2').bind(5000);
    const mapped = mappedAddressOf(socket);
    const received = collect(socket);

    clock.advance(LIFETIME - 1);
    reflector.send(new TextEncoder().encode('just in time'), mapped);
    clock.runUntilIdle();
    assert.deepEqual(received.map((r) => r.text), ['just in time'], 'inbound does not refresh by default');
    assert.equal(nat.mappings.length, 1);

    clock.advance(1);
    assert.equal(nat.mappings.length, 0);
    reflector.send(new TextEncoder().encode('too late'), mapped);
    clock.runUntilIdle();
    assert.equal(received.length, 1);
    assert.equal(net.stats.droppedFor('mapping-expired'), 1);

    // A fresh mapping gets a fresh port (no port preservation).
    const again = mappedAddressOf(socket);
    assert.equal(again.address, mapped.address);
    assert.notEqual(again.port, mapped.port);
    assert.equal(nat.mappingsCreated, 2);
  });

  test('outbound traffic refreshes the mapping (REQ-6)', () => {
    const { clock, nat, reflector, mappedAddressOf } = setUp({ mappingLifetimeMs: LIFETIME });
    const socket = nat.addHost('10.0.0.2').bind(5000);
    const mapped = mappedAddressOf(socket);
    for (let i = 0; i < 5; i++) {
      clock.advance(LIFETIME - 10_000);
      socket.send(new Uint8Array([0]), { address: '192.0.2.99', port: 9 }); // a keepalive to anywhere (EIM)
      clock.runUntilIdle();
    }
    const received = collect(socket);
    reflector.send(new TextEncoder().encode('still open'), mapped);
    clock.runUntilIdle();
    assert.deepEqual(received.map((r) => r.text), ['still open']);
    assert.deepEqual(mappedAddressOf(socket), mapped, 'the same mapping after ten minutes');
    assert.equal(nat.mappingsCreated, 1);
  });

  test('with port preservation an expired mapping comes back on the same port', () => {
    const { clock, nat, mappedAddressOf } = setUp({ mappingLifetimeMs: LIFETIME, portPreservation: true });
    const socket = nat.addHost('10.0.0.2').bind(5000);
    assert.equal(mappedAddressOf(socket).port, 5000);
    clock.advance(LIFETIME);
    assert.equal(nat.mappings.length, 0);
    assert.equal(mappedAddressOf(socket).port, 5000);
    assert.equal(nat.mappingsCreated, 2);
  });

  test('inboundRefresh: inbound datagrams keep the mapping alive too (REQ-6a)', () => {
    const { clock, nat, reflector, mappedAddressOf } = setUp({ mappingLifetimeMs: LIFETIME, inboundRefresh: true });
    const socket = nat.addHost('10.0.0.2').bind(5000);
    const mapped = mappedAddressOf(socket);
    const received = collect(socket);
    for (let i = 0; i < 3; i++) {
      clock.advance(LIFETIME - 1_000);
      reflector.send(new Uint8Array([i]), mapped);
      clock.runUntilIdle();
    }
    assert.equal(received.length, 3);
    assert.equal(nat.mappingsCreated, 1);
  });

  test('no timers are left on the clock by idle mappings', () => {
    const { clock, nat, mappedAddressOf } = setUp();
    mappedAddressOf(nat.addHost().bind());
    assert.equal(clock.pending, 0);
  });
});

describe('unsolicited inbound', () => {
  test('a datagram to a public port without a mapping, or to the NAT itself, is dropped and counted', () => {
    const { clock, net, nat, reflector } = setUp();
    const inside = nat.addHost().bind(5000);
    const received = collect(inside);
    reflector.send(new Uint8Array([1]), { address: '203.0.113.10', port: 5000 });
    inside.send(new Uint8Array([2]), { address: nat.internalAddress, port: 53 });
    clock.runUntilIdle();
    assert.equal(received.length, 0);
    assert.equal(net.stats.droppedFor('no-mapping'), 1);
    assert.equal(net.stats.droppedFor('no-socket'), 1);
    assert.equal(nat.mappings.length, 0);
  });
});

describe('nested NATs', () => {
  test('a host behind two NATs is seen with the outer NAT’s public address', () => {
    const { clock, net, mappedAddressOf } = setUp();
    const carrier = net.addNat({ publicAddress: '203.0.113.50', internalNetwork: '100.64.0.0/24' });
    const home = carrier.addNat({ internalNetwork: '192.168.1.0/24' });
    assert.deepEqual(home.publicAddresses, ['100.64.0.2']);
    const phone = home.addHost();
    assert.deepEqual(phone.addresses, ['192.168.1.2']);
    const mapped = mappedAddressOf(phone.bind(5000));
    assert.equal(mapped.address, '203.0.113.50');
    assert.equal(net.stats.delivered, 2);
    assert.equal(clock.pending, 0);
  });

  test('two LANs may use the same private prefix (RFC 4787 §4.4)', () => {
    const { clock, net, mappedAddressOf } = setUp();
    const left = net.addNat({ internalNetwork: '192.168.1.0/24' });
    const right = net.addNat({ internalNetwork: '192.168.1.0/24' });
    const l = left.addHost('192.168.1.2').bind(5000);
    const r = right.addHost('192.168.1.2').bind(5000);
    const lPublic = mappedAddressOf(l);
    mappedAddressOf(r);
    const atR = collect(r);
    // EIF by default: once both have mappings, each reaches the other through its public address.
    l.send(new TextEncoder().encode('hello'), mappedAddressOf(r));
    clock.runUntilIdle();
    assert.deepEqual(atR, [{ text: 'hello', from: lPublic }]);
    assert.notEqual(left.publicAddresses[0], right.publicAddresses[0]);
  });
});
