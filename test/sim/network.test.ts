import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SimBindError, SimNetwork, VirtualClock, type SimTraceEvent } from '../../src/sim/index.js';
import { collect } from './reflector.js';

function setUp(seed = 1) {
  const clock = new VirtualClock();
  const net = new SimNetwork({ clock, seed });
  return { clock, net };
}

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);

describe('SimNetwork hosts and sockets', () => {
  test('addresses are assigned from documentation ranges when not given', () => {
    const { net } = setUp();
    assert.deepEqual(net.addHost().addresses, ['192.0.2.1']);
    assert.deepEqual(net.addHost('192.0.2.2').addresses, ['192.0.2.2']);
    assert.deepEqual(net.addHost().addresses, ['192.0.2.3']);
    const nat = net.addNat();
    assert.deepEqual(nat.publicAddresses, ['203.0.113.1']);
    assert.equal(nat.internalAddress, '10.0.0.1');
    assert.deepEqual(nat.addHost().addresses, ['10.0.0.2']);
    assert.equal(net.addNat().internalAddress, '10.0.1.1', 'each LAN gets its own prefix by default');
    assert.throws(() => net.addHost('192.0.2.2'), /already in use/);
    assert.throws(() => net.addHost('not an address'), TypeError);
  });

  test('bind: explicit port, ephemeral port, EADDRINUSE, EADDRNOTAVAIL; close frees the port', () => {
    const { net } = setUp();
    const host = net.addHost('192.0.2.1');
    const fixed = host.bind(3478);
    assert.deepEqual(fixed.localAddress, { address: '192.0.2.1', port: 3478 });
    assert.throws(() => host.bind(3478), (e: unknown) => e instanceof SimBindError && e.code === 'EADDRINUSE');
    assert.throws(() => host.bind(1, '192.0.2.9'), (e: unknown) => e instanceof SimBindError && e.code === 'EADDRNOTAVAIL');
    assert.throws(() => host.bind(70_000), RangeError);

    const ephemeral = host.bind();
    assert.ok(ephemeral.localAddress.port >= 49152 && ephemeral.localAddress.port <= 65535);
    assert.notEqual(host.bind(0).localAddress.port, ephemeral.localAddress.port);

    let closes = 0;
    fixed.onclose = () => closes++;
    fixed.close();
    fixed.close();
    assert.equal(closes, 1);
    assert.equal(fixed.closed, true);
    assert.equal(host.bind(3478).localAddress.port, 3478);
  });

  test('ephemeral ports are deterministic for a seed', () => {
    const ports = (seed: number) => {
      const host = setUp(seed).net.addHost();
      return [host.bind(), host.bind(), host.bind()].map((s) => s.localAddress.port);
    };
    assert.deepEqual(ports(9), ports(9));
    assert.notDeepEqual(ports(9), ports(10));
  });

  test('delivery is asynchronous, on the clock, never inside send()', () => {
    const { clock, net } = setUp();
    const a = net.addHost().bind(1000);
    const b = net.addHost().bind(2000);
    const received = collect(b);
    a.send(bytes('x'), b.localAddress);
    assert.equal(received.length, 0);
    assert.equal(net.stats.inFlight, 1);
    clock.runUntilIdle();
    assert.deepEqual(received, [{ text: 'x', from: { address: '192.0.2.1', port: 1000 } }]);
    assert.equal(clock.now(), 0, 'zero delay takes no virtual time');
  });

  test('the receiver gets a copy: the sender may reuse its buffer', () => {
    const { clock, net } = setUp();
    const a = net.addHost().bind();
    const b = net.addHost().bind();
    const received = collect(b);
    const buffer = bytes('first');
    a.send(buffer, b.localAddress);
    buffer.set(bytes('XXXXX'));
    clock.runUntilIdle();
    assert.equal(received[0].text, 'first');
  });

  test('undeliverable datagrams are dropped silently and counted by reason', () => {
    const { clock, net } = setUp();
    const a = net.addHost('192.0.2.1').bind();
    const b = net.addHost('192.0.2.2');
    const closed = b.bind(4000);
    closed.close();
    a.send(bytes('nobody'), { address: '192.0.2.200', port: 1 }); // no host
    a.send(bytes('no socket'), { address: '192.0.2.2', port: 4000 }); // closed port
    a.send(bytes('private'), { address: '10.0.0.2', port: 1 }); // private address, not routed on the internet
    a.send(bytes('v6 from v4'), { address: '2001:db8::1', port: 1 });
    a.send(bytes('garbage'), { address: 'nonsense', port: 1 });
    a.send(bytes('port 0'), { address: '192.0.2.2', port: 0 });
    assert.doesNotThrow(() => clock.runUntilIdle());
    assert.equal(net.stats.sent, 6);
    assert.equal(net.stats.delivered, 0);
    assert.deepEqual(
      { noRoute: net.stats.droppedFor('no-route'), noSocket: net.stats.droppedFor('no-socket') },
      { noRoute: 5, noSocket: 1 },
    );
    a.close();
    a.send(bytes('after close'), { address: '192.0.2.2', port: 1 });
    assert.equal(net.stats.sent, 6, 'a closed socket sends nothing');
  });

  test('a datagram already in flight to a socket closed meanwhile is dropped as no-socket', () => {
    const { clock, net } = setUp();
    const a = net.addHost({ link: { delayMs: 10 } }).bind();
    const b = net.addHost().bind(5000);
    a.send(bytes('late'), b.localAddress);
    clock.advance(5);
    b.close();
    clock.runUntilIdle();
    assert.equal(net.stats.droppedFor('no-socket'), 1);
  });

  test('IPv6 hosts on the public side, with addresses canonicalised (RFC 5952)', () => {
    const { clock, net } = setUp();
    const dual = net.addHost({ address: ['192.0.2.10', '2001:DB8:0:0::10'] });
    assert.deepEqual(dual.addresses, ['192.0.2.10', '2001:db8::10']);
    const v6 = net.addHost('2001:db8::20').bind(3478);
    const received = collect(v6);
    const from = dual.bind(5000, '2001:db8::10');
    from.send(bytes('over v6'), { address: '2001:0db8::0020', port: 3478 });
    clock.runUntilIdle();
    assert.deepEqual(received, [{ text: 'over v6', from: { address: '2001:db8::10', port: 5000 } }]);
  });

  test('a host can have an address on a LAN and one on the internet', () => {
    const { clock, net } = setUp();
    const nat = net.addNat();
    const host = nat.addHost('10.0.0.5');
    host.addAddress('198.51.100.7', { segment: net });
    const server = net.addHost().bind(3478);
    const received = collect(server);
    host.bind(4000, '10.0.0.5').send(bytes('via nat'), server.localAddress);
    host.bind(4000, '198.51.100.7').send(bytes('direct'), server.localAddress);
    clock.runUntilIdle();
    assert.deepEqual(new Map(received.map((r) => [r.text, r.from.address])), new Map([
      ['via nat', nat.publicAddresses[0]],
      ['direct', '198.51.100.7'],
    ]));
  });

  test('ontrace shows send, translate and deliver in order', () => {
    const { clock, net } = setUp();
    const events: string[] = [];
    net.ontrace = (e: SimTraceEvent) => events.push(e.type === 'translate' ? `translate:${e.direction}` : e.type);
    const nat = net.addNat();
    const server = net.addHost().bind(3478);
    server.ondatagram = (b, from) => server.send(b, from);
    nat.addHost().bind().send(bytes('ping'), server.localAddress);
    clock.runUntilIdle();
    assert.deepEqual(events, ['send', 'translate:outbound', 'deliver', 'send', 'translate:inbound', 'deliver']);
  });
});

describe('SimNetwork link conditions', () => {
  test('loss: close to the configured rate, and exactly the same count for the same seed', () => {
    const run = (seed: number): number => {
      const { clock, net } = setUp(seed);
      const a = net.addHost({ link: { lossRate: 0.2 } }).bind();
      const b = net.addHost().bind();
      let received = 0;
      b.ondatagram = () => received++;
      const payload = bytes('x');
      for (let i = 0; i < 5_000; i++) a.send(payload, b.localAddress);
      clock.runUntilIdle();
      assert.equal(net.stats.droppedFor('loss') + received, 5_000);
      return received;
    };
    // 5 000 trials at p = 0.8: standard deviation about 28, so ±150 is over five of them.
    const delivered = run(2024);
    assert.ok(Math.abs(delivered - 4_000) < 150, `delivered ${delivered} of 5 000 at 20 % loss`);
    assert.equal(run(2024), delivered);
    assert.notEqual(run(2025), delivered);
  });

  test('loss compounds across links: sender, NAT uplink and receiver', () => {
    const { clock, net } = setUp(5);
    const nat = net.addNat({ link: { lossRate: 0.5 } });
    const a = nat.addHost({ link: { lossRate: 0.5 } }).bind();
    const b = net.addHost().bind();
    let received = 0;
    b.ondatagram = () => received++;
    for (let i = 0; i < 4_000; i++) a.send(bytes('x'), b.localAddress);
    clock.runUntilIdle();
    assert.ok(Math.abs(received - 1_000) < 100, `received ${received}, expected about 1 000`);
  });

  test('lossRate 1 cuts a host off; configure() changes conditions on the fly', () => {
    const { clock, net } = setUp();
    const host = net.addHost();
    const a = host.bind();
    const b = net.addHost().bind();
    const received = collect(b);
    host.link.configure({ lossRate: 1 });
    a.send(bytes('lost'), b.localAddress);
    host.link.configure({ lossRate: 0 });
    a.send(bytes('kept'), b.localAddress);
    clock.runUntilIdle();
    assert.deepEqual(received.map((r) => r.text), ['kept']);
    assert.throws(() => host.link.configure({ lossRate: 2 }), RangeError);
  });

  test('delay: one-way delay is the sum of the links crossed; constant delay keeps order', () => {
    const { clock, net } = setUp();
    const nat = net.addNat({ link: { delayMs: 30 } });
    const a = nat.addHost({ link: { delayMs: 5 } }).bind();
    const b = net.addHost({ link: { delayMs: 10 } }).bind();
    const arrivals: string[] = [];
    b.ondatagram = (data) => arrivals.push(`${new TextDecoder().decode(data)}@${clock.now()}`);
    a.send(bytes('1'), b.localAddress);
    clock.advance(1);
    a.send(bytes('2'), b.localAddress);
    a.send(bytes('3'), b.localAddress);
    clock.runUntilIdle();
    assert.deepEqual(arrivals, ['1@45', '2@46', '3@46']);
  });

  test('delay: a faster path overtakes a slower one', () => {
    const { clock, net } = setUp();
    const slow = net.addHost({ link: { delayMs: 100 } }).bind();
    const fast = net.addHost({ link: { delayMs: 1 } }).bind();
    const sink = net.addHost().bind();
    const order: string[] = [];
    sink.ondatagram = (data) => order.push(`${new TextDecoder().decode(data)}@${clock.now()}`);
    slow.send(bytes('slow'), sink.localAddress);
    clock.advance(50);
    fast.send(bytes('fast'), sink.localAddress);
    clock.runUntilIdle();
    assert.deepEqual(order, ['fast@51', 'slow@100']);
  });

  test('jitter: delays within [delay, delay + jitter), reproducible for a seed', () => {
    const arrivals = (seed: number): number[] => {
      const { clock, net } = setUp(seed);
      const a = net.addHost({ link: { delayMs: 20, jitterMs: 10 } }).bind();
      const b = net.addHost().bind();
      const times: number[] = [];
      b.ondatagram = () => times.push(clock.now());
      for (let i = 0; i < 100; i++) a.send(bytes('x'), b.localAddress);
      clock.runUntilIdle();
      return times;
    };
    const times = arrivals(3);
    assert.equal(times.length, 100);
    assert.ok(times.every((t) => t >= 20 && t < 30));
    assert.ok(new Set(times).size > 90, 'jitter varies per datagram');
    assert.deepEqual(arrivals(3), times);
  });

  test('a network-wide default link applies where none is given', () => {
    const clock = new VirtualClock();
    const net = new SimNetwork({ clock, link: { delayMs: 7 } });
    const a = net.addHost().bind();
    const b = net.addHost({ link: { delayMs: 1 } }).bind();
    let at = -1;
    b.ondatagram = () => (at = clock.now());
    a.send(bytes('x'), b.localAddress);
    clock.runUntilIdle();
    assert.equal(at, 8);
  });
});
