import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SimNetwork, VirtualClock } from '../../src/sim/index.js';
import { exchange, runUntil, TestAgent } from './engine-harness.js';

function twoHosts(seed = 1, link = {}) {
  const clock = new VirtualClock();
  const net = new SimNetwork({ clock, seed, link });
  const ha = net.addHost('192.0.2.10');
  const hb = net.addHost('192.0.2.20');
  return { clock, net, ha, hb };
}

describe('IceAgentEngine on the simulated network', () => {
  it('connects two hosts, selects the host pair on both sides and carries data both ways', () => {
    const { clock, ha, hb } = twoHosts();
    const a = new TestAgent('a', clock, { role: 'controlling' });
    const b = new TestAgent('b', clock, { role: 'controlled' });
    const sa = ha.bind(5000);
    const sb = hb.bind(6000);
    a.addCandidate(a.attach(sa), sa.localAddress);
    b.addCandidate(b.attach(sb), sb.localAddress);
    exchange(a, b);
    assert.ok(runUntil(clock, () => a.engine.state === 'completed' && b.engine.state === 'completed', 10_000), `a ${a.engine.state}, b ${b.engine.state}`);
    assert.deepEqual(a.states, ['checking', 'connected', 'completed']);
    assert.deepEqual(b.states, ['checking', 'connected', 'completed']);
    assert.ok(a.engine.selectedPair && b.engine.selectedPair);
    assert.equal(a.engine.selectedPair.remote.port, 6000);
    assert.equal(b.engine.selectedPair.remote.port, 5000);
    assert.ok(a.engine.selectedPair.nominated && b.engine.selectedPair.nominated);
    assert.ok(a.send('hello b'));
    assert.ok(b.send('hello a'));
    runUntil(clock, () => a.received.length > 0 && b.received.length > 0, 1000);
    assert.deepEqual(b.received, ['hello b']);
    assert.deepEqual(a.received, ['hello a']);
    const stats = a.engine.selectedPair.stats;
    assert.ok(stats.requestsSent >= 2 && stats.responsesReceived >= 2 && stats.bytesSent === 7);
  });

  it('keeps consent: checks every 5 s ± 20 % keep the pair; silence → disconnected → failed at 30 s', () => {
    const { clock, net, ha, hb } = twoHosts();
    const a = new TestAgent('a', clock, { role: 'controlling' });
    const b = new TestAgent('b', clock, { role: 'controlled' });
    const sa = ha.bind(5000);
    const sb = hb.bind(6000);
    a.addCandidate(a.attach(sa), sa.localAddress);
    b.addCandidate(b.attach(sb), sb.localAddress);
    exchange(a, b);
    assert.ok(runUntil(clock, () => a.engine.state === 'completed' && b.engine.state === 'completed', 10_000));
    const t0 = clock.now();
    clock.runUntil(t0 + 60_000);
    assert.equal(a.engine.state, 'completed', 'a minute of consent checks keeps the pair');
    const consents = a.engine.selectedPair!.stats.consentRequestsSent;
    assert.ok(consents >= 10 && consents <= 15, `${consents} consent checks in 60 s`);
    // The peer vanishes.
    sb.close();
    assert.ok(runUntil(clock, () => a.engine.state === 'disconnected', 20_000));
    // Measured from the last response, read afterwards: one may still have been in flight at close().
    const lost = a.engine.selectedPair!.stats.lastResponseTimestamp!;
    assert.ok(Math.abs(clock.now() - lost - 7_500) < 1, `disconnected after ${clock.now() - lost} ms`);
    assert.ok(runUntil(clock, () => a.engine.state === 'failed', 40_000));
    assert.ok(Math.abs(clock.now() - lost - 30_000) < 1, `failed after ${clock.now() - lost} ms`);
    assert.equal(a.send('x'), false, 'no data after consent is lost');
    void net;
  });
});
