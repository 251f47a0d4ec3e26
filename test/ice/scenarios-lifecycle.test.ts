// Scenarios after the first connection: ICE restart (RFC 8445 §9) and consent freshness (RFC 7675) — loss
// of consent, and recovery from outages. Simulated network, virtual time.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { IceAgent } from '../../src/ice/ice-agent.js';
import type { SimHost } from '../../src/sim/index.js';
import { decodeStunMessage } from '../../src/stun/decode.js';
import { SimWorld } from './sim-world.js';

const connected = (x: IceAgent) => x.state === 'connected' || x.state === 'completed';

/** Moves virtual time forward by exactly `ms` (a timer at the end makes SimWorld.run reach it). */
async function wait(world: SimWorld, ms: number): Promise<void> {
  const end = world.clock.now() + ms;
  world.clock.setTimer(() => {}, end);
  await world.run(() => world.clock.now() >= end, ms + 1);
}

function isBindingRequest(bytes: Uint8Array): boolean {
  return bytes.length >= 20 && bytes[0] === 0x00 && bytes[1] === 0x01 && bytes[4] === 0x21 && bytes[5] === 0x12;
}

function isBindingSuccess(bytes: Uint8Array): boolean {
  return bytes.length >= 20 && bytes[0] === 0x01 && bytes[1] === 0x01 && bytes[4] === 0x21 && bytes[5] === 0x12;
}

/** Two public agents, 25 ms per link crossing (RTT 100 ms), connected and completed. */
async function connectedPair(seed: number) {
  const world = new SimWorld({ stun: false, seed });
  const ha = world.host('public', 0);
  const hb = world.host('public', 1);
  ha.link.configure({ delayMs: 25 });
  hb.link.configure({ delayMs: 25 });
  const a = world.agent(ha, { role: 'controlling' });
  const b = world.agent(hb, { role: 'controlled' });
  const log = { a: track(world, a), b: track(world, b) };
  // Every Binding request on the wire and every success response delivered, by host address.
  const requests: { at: number; from: string; username: string | undefined }[] = [];
  const successDelivered: { at: number; to: string }[] = [];
  world.net.ontrace = (ev) => {
    if (ev.type === 'send' && isBindingRequest(ev.datagram.bytes)) {
      requests.push({ at: ev.at, from: ev.datagram.src.address, username: decodeStunMessage(ev.datagram.bytes).get('USERNAME') });
    }
    if (ev.type === 'deliver' && isBindingSuccess(ev.datagram.bytes)) successDelivered.push({ at: ev.at, to: ev.datagram.dst.address });
  };
  world.connect(a, b);
  void a.gather();
  void b.gather();
  assert.ok(await world.run(() => a.state === 'completed' && b.state === 'completed', 10_000), `a ${a.state}, b ${b.state}`);
  return { world, ha, hb, a, b, log, requests, successDelivered };
}

function track(world: SimWorld, agent: IceAgent) {
  const log = {
    states: [] as { at: number; state: string }[],
    selected: [] as number[],
    data: [] as { at: number; text: string }[],
  };
  agent.addEventListener('statechange', () => log.states.push({ at: world.clock.now(), state: agent.state }));
  agent.addEventListener('selectedcandidatepairchange', () => log.selected.push(world.clock.now()));
  agent.addEventListener('data', (e) => log.data.push({ at: world.clock.now(), text: new TextDecoder().decode(e.data) }));
  return log;
}

/** Re-signals every candidate of `from` to `to`, then end-of-candidates. */
async function resignal(from: IceAgent, to: IceAgent): Promise<void> {
  for (const c of from.localCandidates) assert.equal(await to.addRemoteCandidate(from.toInit(c)), true);
  await to.addRemoteCandidate(null);
}

describe('ICE restart (RFC 8445 §9)', () => {
  /** Both restart (a first), then parameters and candidates are signalled both ways. */
  async function restartBoth(a: IceAgent, b: IceAgent) {
    const old = { a: a.localParameters, b: b.localParameters };
    const pa1 = await a.restart();
    const pb1 = await b.restart();
    await b.setRemoteParameters(pa1);
    await a.setRemoteParameters(pb1);
    await resignal(a, b);
    await resignal(b, a);
    return { old, pa1, pb1 };
  }

  it('both restart, exchange new parameters and candidates: a new pair is selected on each side and the checks use the new credentials', async () => {
    const { world, ha, hb, a, b, log, requests } = await connectedPair(1);
    await wait(world, 3_000);
    const restartAt = world.clock.now();
    const selectedBefore = { a: log.a.selected.length, b: log.b.selected.length };
    const { old, pa1, pb1 } = await restartBoth(a, b);
    for (const [p0, p1] of [[old.a, pa1], [old.b, pb1]]) {
      assert.notEqual(p1.usernameFragment, p0.usernameFragment, 'a new ufrag');
      assert.notEqual(p1.password, p0.password, 'a new password');
    }
    assert.equal(a.role, 'controlling', 'roles survive a restart (§9)');
    assert.equal(b.role, 'controlled');
    assert.ok(await world.run(() => log.a.selected.length > selectedBefore.a && log.b.selected.length > selectedBefore.b, 5_000), 'a new pair is selected on both sides');
    const newPairAt = Math.max(log.a.selected.at(-1)!, log.b.selected.at(-1)!);
    assert.ok(newPairAt - restartAt < 1_000, `new pair selected ${newPairAt - restartAt} ms after the restart`);
    await wait(world, 200);
    assert.equal(log.a.selected.length - selectedBefore.a, 1);
    assert.equal(log.b.selected.length - selectedBefore.b, 1);

    // Consent on the new pair, with the new credentials (USERNAME is "remote ufrag:local ufrag", §7.2.2).
    await wait(world, 15_000);
    assert.ok(a.state === 'completed' && b.state === 'completed', `a ${a.state}, b ${b.state}`);
    const fromA = requests.filter((r) => r.from === ha.addresses[0] && r.at >= restartAt);
    const fromB = requests.filter((r) => r.from === hb.addresses[0] && r.at >= restartAt);
    // A check each, a's nomination, then consent every 4–6 s for 15 s.
    assert.ok(fromA.length >= 4 && fromB.length >= 3, `${fromA.length} and ${fromB.length} requests after the restart: ${JSON.stringify([fromA, fromB].map((l) => l.map((r) => Math.round(r.at - restartAt))))}`);
    assert.equal(fromA.at(-1)!.username, `${pb1.usernameFragment}:${pa1.usernameFragment}`);
    assert.equal(fromB.at(-1)!.username, `${pa1.usernameFragment}:${pb1.usernameFragment}`);
    assert.ok((await a.getStats()).some((s) => s.selected && s.consentRequestsSent > 0), 'consent runs on the new pair');
    a.send('after');
    b.send('after');
    await wait(world, 200);
    assert.equal(log.a.data.at(-1)?.text, 'after');
    assert.equal(log.b.data.at(-1)?.text, 'after');
    a.close();
    b.close();
  });

  it('data sent while the restart’s checks run is carried by the old selected pair and delivered', async () => {
    const { world, a, b, log } = await connectedPair(8);
    await wait(world, 3_000);
    const selectedBefore = { a: log.a.selected.length, b: log.b.selected.length };
    await restartBoth(a, b);
    // RFC 8445 §9: "during the restart, data can continue to be sent using existing data sessions".
    assert.equal(a.send('during restart, a'), true);
    assert.equal(b.send('during restart, b'), true);
    assert.ok(await world.run(() => log.a.selected.length > selectedBefore.a && log.b.selected.length > selectedBefore.b, 5_000));
    const newPairAt = Math.min(log.a.selected.at(-1)!, log.b.selected.at(-1)!);
    await wait(world, 200);
    const gotA = log.a.data.find((d) => d.text === 'during restart, b');
    const gotB = log.b.data.find((d) => d.text === 'during restart, a');
    assert.ok(
      gotA && gotB,
      `data sent during the restart arrives (a got ${gotA ? 'it' : 'nothing'}, b got ${gotB ? 'it' : 'nothing'}; dropped as unexpected: a ${a.engine.counters.unexpectedData}, b ${b.engine.counters.unexpectedData})`,
    );
    assert.ok(gotA.at < newPairAt && gotB.at < newPairAt, `data arrived (${gotA.at}, ${gotB.at}) before the new pair (${newPairAt})`);
    a.close();
    b.close();
  });

  it('every state change during a restart is announced: agent.state always equals the last statechange, no repeats', async () => {
    const { world, a, b, log } = await connectedPair(2);
    await wait(world, 1_000);
    const pa1 = await a.restart();
    const pb1 = await b.restart();
    const check = (when: string) => {
      for (const [name, x, l] of [['a', a, log.a], ['b', b, log.b]] as const) {
        assert.equal(x.state, l.states.at(-1)!.state, `${name} ${when}: state is ${x.state} but the last statechange said ${l.states.at(-1)!.state}`);
      }
    };
    check('after restart()');
    await b.setRemoteParameters(pa1);
    await a.setRemoteParameters(pb1);
    check('after setRemoteParameters()');
    await resignal(a, b);
    await resignal(b, a);
    await wait(world, 2_000);
    check('after the new pair');
    for (const [name, l] of [['a', log.a], ['b', log.b]] as const) {
      const seq = l.states.map((s) => s.state);
      for (let i = 1; i < seq.length; i++) assert.notEqual(seq[i], seq[i - 1], `${name}: statechange repeated ${seq[i]} (${seq.join(' → ')})`);
    }
    a.close();
    b.close();
  });

  it('the answerer’s natural order — apply the peer’s new parameters, then restart itself — reconnects with the new credentials', async () => {
    // Like JSEP: setRemoteDescription(offer with new ufrag/pwd), then createAnswer (new ufrag/pwd of our own).
    const { world, a, b, log } = await connectedPair(3);
    await wait(world, 1_000);
    const selectedBefore = { a: log.a.selected.length, b: log.b.selected.length };
    const pa1 = await a.restart();
    await b.setRemoteParameters(pa1);
    const pb1 = await b.restart();
    await a.setRemoteParameters(pb1);
    await resignal(a, b);
    await resignal(b, a);
    assert.ok(
      await world.run(() => log.a.selected.length > selectedBefore.a && log.b.selected.length > selectedBefore.b, 5_000),
      `new pair selected: a ${log.a.selected.length > selectedBefore.a}, b ${log.b.selected.length > selectedBefore.b} — b's remote parameters after its restart: ${JSON.stringify(b.engine.remoteParameters ?? null)}`,
    );
    a.close();
    b.close();
  });

  it('the answerer applying an offer that carries candidates, then restarting, keeps those candidates', async () => {
    // JSEP with the candidates in the offer: setRemoteDescription(offer: new ufrag/pwd + a=candidate lines),
    // then createAnswer (our restart). The restart must not throw the offer's candidates away.
    const { world, a, b, log } = await connectedPair(5);
    await wait(world, 1_000);
    const selectedBefore = log.b.selected.length;
    const pa1 = await a.restart();
    await b.setRemoteParameters(pa1);
    await resignal(a, b);
    const pb1 = await b.restart();
    const pairs = await b.getStats();
    assert.ok(pairs.length > 0 && pairs.every((p) => p.remote.type === 'host'), `b's pairs after its restart: ${JSON.stringify(pairs.map((p) => p.remote.type))}`);
    await a.setRemoteParameters(pb1);
    await resignal(b, a);
    assert.ok(await world.run(() => log.b.selected.length > selectedBefore && connected(a) && connected(b), 5_000), 'a new pair selected');
    assert.equal(b.getSelectedCandidatePair()?.remote.type, 'host', 'the signalled candidate, not one learned from a check');
    a.close();
    b.close();
  });

  it('no check with the old credentials is sent once both sides restarted (a consent check in flight is flushed too)', async () => {
    const { world, ha, a, b, requests } = await connectedPair(4);
    // Restart 10 ms after a sends a consent check, while that check is still in flight (RTT 100 ms).
    const start = requests.length;
    assert.ok(await world.run(() => requests.slice(start).some((r) => r.from === ha.addresses[0]), 10_000));
    await wait(world, 10);
    const { old } = await restartBoth(a, b);
    const [pa0, pb0] = [old.a, old.b];
    const restartAt = world.clock.now();
    await wait(world, 45_000);
    assert.ok(connected(a) && connected(b));
    const stale = requests.filter((r) => r.at > restartAt + 1_000 && (r.username?.includes(pa0.usernameFragment) || r.username?.includes(pb0.usernameFragment)));
    assert.deepEqual(
      stale.map((r) => `${Math.round(r.at - restartAt)} ms ${r.from} ${r.username}`),
      [],
      'requests with the old ufrags more than 1 s after the restart',
    );
    a.close();
    b.close();
  });
});

describe('consent freshness (RFC 7675)', () => {
  function lastResponseTo(successDelivered: { at: number; to: string }[], host: SimHost): number {
    return successDelivered.filter((s) => s.to === host.addresses[0]).at(-1)!.at;
  }

  it('peer black-holed: disconnected 7.5 s after the last response, failed at 30 s, then send() returns false', async () => {
    const { world, ha, hb, a, b, log, successDelivered } = await connectedPair(5);
    await wait(world, 10_000);
    assert.equal(a.state, 'completed');
    const cutAt = world.clock.now();
    hb.link.configure({ lossRate: 1 });
    assert.ok(await world.run(() => a.state === 'disconnected', 20_000), `a ${a.state}`);
    const last = lastResponseTo(successDelivered, ha);
    assert.ok(last <= cutAt + 100, 'no response after the cut (but one in flight)');
    assert.ok(Math.abs(world.clock.now() - last - 7_500) < 1, `disconnected ${world.clock.now() - last} ms after the last response`);
    assert.equal(a.send('still trying'), true, 'consent has not expired yet: sending is allowed');
    assert.ok(await world.run(() => a.state === 'failed', 30_000), `a ${a.state}`);
    assert.ok(Math.abs(world.clock.now() - last - 30_000) < 1, `failed ${world.clock.now() - last} ms after the last response`);
    assert.equal(a.send('too late'), false, 'RFC 7675 §5.1: no data once consent is lost');
    assert.deepEqual(
      log.a.states.map((s) => s.state),
      ['checking', 'connected', 'completed', 'disconnected', 'failed'],
    );
    // b lost a too (its link is the one cut): the same schedule on its side.
    await wait(world, 10_000);
    assert.equal(b.state, 'failed');
    assert.deepEqual(
      log.b.states.map((s) => s.state),
      ['checking', 'connected', 'completed', 'disconnected', 'failed'],
    );
    a.close();
    b.close();
  });

  it('a 3 s outage right after both sides had consent answered does not lead to disconnected', async () => {
    // Consent checks come every 4–6 s (RFC 7675 §5.1); an outage that starts just after both sides heard a
    // response ends before either side's next check is due, so no silence reaches 7.5 s.
    const { world, ha, hb, a, b, log, successDelivered } = await connectedPair(6);
    const recent = () => {
      const now = world.clock.now();
      const la = successDelivered.filter((s) => s.to === ha.addresses[0]).at(-1)?.at ?? -Infinity;
      const lb = successDelivered.filter((s) => s.to === hb.addresses[0]).at(-1)?.at ?? -Infinity;
      return now > 5_000 && now - la < 600 && now - lb < 600;
    };
    assert.ok(await world.run(recent, 120_000), 'both sides heard a consent response within the last 600 ms');
    const outageAt = world.clock.now();
    hb.link.configure({ lossRate: 1 });
    await wait(world, 3_000);
    hb.link.configure({ lossRate: 0 });
    await wait(world, 30_000);
    for (const [name, l] of [['a', log.a], ['b', log.b]] as const) {
      assert.deepEqual(l.states.map((s) => s.state), ['checking', 'connected', 'completed'], `${name}: states after an outage at ${outageAt} ms`);
    }
    a.send('after the outage');
    await wait(world, 200);
    assert.equal(log.b.data.at(-1)?.text, 'after the outage');
    a.close();
    b.close();
  });

  it('a 12 s outage: disconnected, then back to completed when responses return (not failed)', async () => {
    const { world, hb, a, b, log } = await connectedPair(7);
    await wait(world, 2_000);
    hb.link.configure({ lossRate: 1 });
    await wait(world, 12_000);
    assert.equal(a.state, 'disconnected');
    hb.link.configure({ lossRate: 0 });
    assert.ok(await world.run(() => a.state === 'completed' && b.state === 'completed', 15_000), `a ${a.state}, b ${b.state}`);
    assert.deepEqual(log.a.states.map((s) => s.state), ['checking', 'connected', 'completed', 'disconnected', 'completed']);
    assert.equal(a.send('back'), true);
    await wait(world, 200);
    assert.equal(log.b.data.at(-1)?.text, 'back');
    a.close();
    b.close();
  });
});
