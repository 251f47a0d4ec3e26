// The simulator refuses destinations the way the bridge does: nothing delivered, `onunreachable` from a timer.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DestinationUnreachableError } from '../../src/net/datagram-socket.js';
import { SimNetwork, VirtualClock } from '../../src/sim/index.js';

const byte = new Uint8Array([1]);

function world() {
  const clock = new VirtualClock();
  const net = new SimNetwork({ clock, seed: 1, link: { delayMs: 10 } });
  const client = net.addHost('198.51.100.20');
  const server = net.addHost('192.0.2.1');
  const other = net.addHost('192.0.2.2');
  return { clock, net, client, server, other };
}

describe('SimHost.refuse / SimNetwork.refuse', () => {
  it('refuses a CIDR block: nothing is delivered and onunreachable fires from a timer, not inside send', () => {
    const { clock, net, client, server, other } = world();
    const s = server.bind(3478);
    const o = other.bind(3478);
    const arrivals: string[] = [];
    s.ondatagram = () => arrivals.push('server');
    o.ondatagram = () => arrivals.push('other');
    client.refuse('192.0.2.1/32');
    const socket = client.bind();
    const refusals: DestinationUnreachableError[] = [];
    socket.onunreachable = (e) => refusals.push(e);

    socket.send(byte, { address: '192.0.2.1', port: 3478 });
    socket.send(byte, { address: '192.0.2.2', port: 3478 });
    assert.equal(refusals.length, 0, 'never synchronously inside send');
    clock.runUntilIdle();

    assert.deepEqual(arrivals, ['other']);
    assert.equal(refusals.length, 1);
    const [e] = refusals;
    assert.ok(e instanceof DestinationUnreachableError);
    assert.equal(e.code, 'destination-denied');
    assert.deepEqual(e.destination, { address: '192.0.2.1', port: 3478 });
    assert.equal(e.reason, 'destination 192.0.2.1 port 3478 is not allowed');
    assert.equal(e.message, 'destination-denied: destination 192.0.2.1 port 3478 is not allowed');
    assert.equal(net.stats.droppedFor('refused'), 1);
    assert.equal(net.stats.sent, net.stats.delivered + net.stats.dropped + net.stats.inFlight);
  });

  it('takes a transport address, a predicate, a code and a reason; the undo lifts the refusal', () => {
    const { clock, net, client, server } = world();
    const s = server.bind(3478);
    let arrived = 0;
    s.ondatagram = () => arrived++;
    const socket = client.bind();
    const refusals: DestinationUnreachableError[] = [];
    socket.onunreachable = (e) => refusals.push(e);

    const lift = client.refuse({ address: '192.0.2.1', port: 3478 }, { code: 'rate-limited', reason: 'over the packets per second' });
    socket.send(byte, { address: '192.0.2.1', port: 3478 });
    socket.send(byte, { address: '192.0.2.1', port: 3479 }); // another port: not refused (no socket there)
    clock.runUntilIdle();
    assert.equal(refusals.length, 1);
    assert.equal(refusals[0].code, 'rate-limited');
    assert.equal(refusals[0].reason, 'over the packets per second');

    lift();
    const liftNet = net.refuse((to) => to.port === 3478, { code: 'invalid-destination' });
    socket.send(byte, { address: '192.0.2.1', port: 3478 });
    clock.runUntilIdle();
    assert.equal(refusals.length, 2);
    assert.equal(refusals[1].code, 'invalid-destination');
    assert.equal(arrived, 0);

    liftNet();
    socket.send(byte, { address: '192.0.2.1', port: 3478 });
    clock.runUntilIdle();
    assert.equal(arrived, 1, 'delivered once both refusals are lifted');
    assert.equal(refusals.length, 2);
  });

  it('network-wide refusals apply to hosts behind NATs too; a closed socket hears nothing', () => {
    const { clock, net } = world();
    net.refuse('169.254.0.0/16');
    const nat = net.addNat({ publicAddress: '203.0.113.10' });
    const laptop = nat.addHost('10.0.0.2');
    const socket = laptop.bind();
    const refused: string[] = [];
    socket.onunreachable = (e) => refused.push(e.destination.address);
    socket.send(byte, { address: '169.254.169.254', port: 80 });
    clock.runUntilIdle();
    assert.deepEqual(refused, ['169.254.169.254']);

    socket.send(byte, { address: '169.254.169.254', port: 80 });
    socket.close();
    clock.runUntilIdle();
    assert.deepEqual(refused, ['169.254.169.254'], 'no refusal after close');
  });

  it('rejects a malformed CIDR at once', () => {
    const { client } = world();
    assert.throws(() => client.refuse('192.0.2.0/33'), TypeError);
  });
});
