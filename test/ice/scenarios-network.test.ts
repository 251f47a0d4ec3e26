// Scenarios about the path (RFC 8445 §7.2.5.2, §7.3.1.4, §14): loss, round-trip time, and what getStats()
// reports about the selected pair. Simulated network, virtual time; every loss pattern comes from a seed.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { IceAgent } from '../../src/ice/ice-agent.js';
import { SimNetwork, VirtualClock, type SimHost } from '../../src/sim/index.js';
import { runUntil, TestAgent } from './engine-harness.js';
import { SimWorld } from './sim-world.js';

const connected = (x: IceAgent) => x.state === 'connected' || x.state === 'completed';

/** Moves virtual time forward by exactly `ms` (a timer at the end makes SimWorld.run reach it). */
async function wait(world: SimWorld, ms: number): Promise<void> {
  const end = world.clock.now() + ms;
  world.clock.setTimer(() => {}, end);
  await world.run(() => world.clock.now() >= end, ms + 1);
}
const settled = (x: IceAgent) => connected(x) || x.state === 'failed';

function collect(agent: IceAgent): string[] {
  const got: string[] = [];
  agent.addEventListener('data', (e) => got.push(new TextDecoder().decode((e as unknown as { data: Uint8Array }).data)));
  return got;
}

/** Two public agents (no STUN server: host candidates only), each host's own link configured. */
async function pair(seed: number, link: { lossRate?: number; delayMs?: number }) {
  const world = new SimWorld({ stun: false, seed });
  const ha = world.host('public', 0);
  const hb = world.host('public', 1);
  ha.link.configure(link);
  hb.link.configure(link);
  const a = world.agent(ha, { role: 'controlling' });
  const b = world.agent(hb, { role: 'controlled' });
  const connectedAt: Record<'a' | 'b', number | undefined> = { a: undefined, b: undefined };
  a.addEventListener('statechange', () => {
    if (connected(a)) connectedAt.a ??= world.clock.now();
  });
  b.addEventListener('statechange', () => {
    if (connected(b)) connectedAt.b ??= world.clock.now();
  });
  world.connect(a, b);
  void a.gather();
  void b.gather();
  await world.run(() => (connected(a) && connected(b)) || (settled(a) && settled(b)), 120_000);
  return { world, a, b, connectedAt, ok: connected(a) && connected(b) };
}

/** Sends `count` numbered messages each way, one every 100 ms, then waits a second; returns what arrived. */
async function exchangeMessages(world: SimWorld, a: IceAgent, b: IceAgent, count: number) {
  const atA = collect(a);
  const atB = collect(b);
  for (let i = 0; i < count; i++) {
    assert.ok(a.send(`a${i}`) && b.send(`b${i}`), `send ${i} refused: a ${a.state}, b ${b.state}`);
    await wait(world, 100);
  }
  await wait(world, 1_000);
  return { atA, atB };
}

/** Every message arrived at most once, in order (no jitter), and only ones that were sent. */
function assertSubsequence(got: string[], prefix: string, count: number): void {
  const sent = Array.from({ length: count }, (_, i) => `${prefix}${i}`);
  let j = 0;
  for (const g of got) {
    while (j < sent.length && sent[j] !== g) j++;
    assert.ok(j < sent.length, `unexpected or reordered message ${g} in ${got.join(',')}`);
    j++;
  }
}

describe('loss on both hosts’ links (seeded)', () => {
  it('10 % per link: every one of 10 seeds connects within 10 s, and most messages get through both ways', async () => {
    for (let seed = 1; seed <= 10; seed++) {
      const { world, a, b, connectedAt, ok } = await pair(seed, { lossRate: 0.1, delayMs: 10 });
      assert.ok(ok, `seed ${seed}: a ${a.state}, b ${b.state}`);
      assert.ok(connectedAt.a! < 10_000 && connectedAt.b! < 10_000, `seed ${seed}: connected at ${JSON.stringify(connectedAt)}`);
      const { atA, atB } = await exchangeMessages(world, a, b, 20);
      // Each message crosses two 10 % links: 81 % arrive on average; 10 of 20 is far in the tail.
      assert.ok(atA.length >= 10 && atB.length >= 10, `seed ${seed}: ${atA.length} and ${atB.length} of 20 arrived`);
      assertSubsequence(atA, 'b', 20);
      assertSubsequence(atB, 'a', 20);
      a.close();
      b.close();
    }
  });

  it('30 % per link (a round trip survives 24 % of the time): most seeds connect within 40 s, and data gets through', async () => {
    // A check is sent at most 7 times (RFC 8489 §6.2.1, 39.5 s), so even a perfect agent sometimes fails at
    // this loss; the bar is most seeds, and each that connects does so within one transaction lifetime.
    let connectedSeeds = 0;
    for (let seed = 1; seed <= 10; seed++) {
      const { world, a, b, connectedAt, ok } = await pair(seed, { lossRate: 0.3, delayMs: 10 });
      if (!ok) {
        a.close();
        b.close();
        continue;
      }
      connectedSeeds++;
      assert.ok(connectedAt.a! < 40_000 && connectedAt.b! < 40_000, `seed ${seed}: connected at ${JSON.stringify(connectedAt)}`);
      const { atA, atB } = await exchangeMessages(world, a, b, 20);
      // 49 % arrive on average; at least 3 of 20 each way.
      assert.ok(atA.length >= 3 && atB.length >= 3, `seed ${seed}: ${atA.length} and ${atB.length} of 20 arrived`);
      assertSubsequence(atA, 'b', 20);
      assertSubsequence(atB, 'a', 20);
      a.close();
      b.close();
    }
    assert.ok(connectedSeeds >= 6, `${connectedSeeds} of 10 seeds connected`);
  });

  it('a check arriving on a pair whose own check is in retransmission back-off triggers a new check at once (RFC 8445 §7.3.1.4)', () => {
    // a's checks to b are lost for the first 2 s (b's link is down), so a's transaction retransmits at 0.5 s,
    // 1.5 s and next at 3.5 s. b learns a's candidate only at 2 s and checks it: a must cancel its In-Progress
    // transaction and check the pair again at once (§7.3.1.4), not wait for the 3.5 s retransmission.
    const clock = new VirtualClock();
    const net = new SimNetwork({ clock, seed: 1 });
    const hb = net.addHost({ address: '192.0.2.20', link: { lossRate: 1 } });
    const ha = net.addHost('192.0.2.10');
    const a = new TestAgent('a', clock, { role: 'controlling' });
    const b = new TestAgent('b', clock, { role: 'controlled' });
    const sa = ha.bind(5000);
    const sb = hb.bind(6000);
    const ca = a.addCandidate(a.attach(sa), sa.localAddress);
    const cb = b.addCandidate(b.attach(sb), sb.localAddress);
    const pa = a.engine.localParameters;
    const pbp = b.engine.localParameters;
    a.engine.setRemoteParameters({ usernameFragment: pbp.usernameFragment, password: pbp.password }, 0);
    b.engine.setRemoteParameters({ usernameFragment: pa.usernameFragment, password: pa.password }, 0);
    a.engine.addRemoteCandidate(cb, 0);
    a.driver.poll();
    b.driver.poll();
    clock.setTimer(() => hb.link.configure({ lossRate: 0 }), 1_999);
    clock.setTimer(() => {
      b.engine.addRemoteCandidate(ca, clock.now());
      b.driver.poll();
    }, 2_000);
    const aConnected = () => a.engine.state === 'connected' || a.engine.state === 'completed';
    assert.ok(runUntil(clock, aConnected, 10_000), `a ${a.engine.state}`);
    assert.ok(clock.now() < 2_500, `a connected at ${clock.now()} ms: it waited for its own retransmission (3.5 s) instead of a triggered check at 2 s`);
  });
});

describe('round-trip time', () => {
  async function timed(delayMs: number) {
    const { a, b, connectedAt, ok } = await pair(1, { delayMs });
    assert.ok(ok, `delay ${delayMs}: a ${a.state}, b ${b.state}`);
    const rtt = 4 * delayMs; // each way crosses the sender's link and the receiver's
    const stats = (await a.getStats()).find((s) => s.selected)!;
    a.close();
    b.close();
    return { rtt, a: connectedAt.a!, b: connectedAt.b!, measured: stats.currentRoundTripTime };
  }

  it('100 ms and 300 ms RTT: connected after ≥ 2 RTT (check + nomination) and < 10 RTT + nomination delay, scaling with the RTT', async () => {
    const fast = await timed(25);
    const slow = await timed(75);
    for (const r of [fast, slow]) {
      // The controlling agent needs its check answered and then its nominating check answered.
      assert.ok(r.a >= 2 * r.rtt, `controlling connected at ${r.a} ms with RTT ${r.rtt}`);
      // The controlled one needs the nominating check: at least 1.5 RTT.
      assert.ok(r.b >= 1.5 * r.rtt, `controlled connected at ${r.b} ms with RTT ${r.rtt}`);
      assert.ok(r.a < 10 * r.rtt + 2_000 && r.b < 10 * r.rtt + 2_000, `connected at ${r.a}/${r.b} ms with RTT ${r.rtt}`);
      assert.ok(Math.abs(r.measured! - r.rtt / 1000) < 0.005, `measured RTT ${r.measured} s, configured ${r.rtt / 1000} s`);
    }
    const ratio = slow.a / fast.a;
    assert.ok(ratio > 2 && ratio < 4, `time to connected grows with the RTT: ${fast.a} ms at 100 ms, ${slow.a} ms at 300 ms`);
  });
});

describe('getStats() of the selected pair', () => {
  it('bytes, requests and responses counted both ways, currentRoundTripTime ≈ the configured RTT (through a NAT)', async () => {
    // a behind an endpoint-independent NAT: host link 20 ms, NAT uplink 20 ms; b public with a 20 ms link.
    // One way: 20 + 20 + 20 = 60 ms, so the RTT is 120 ms.
    const world = new SimWorld({ seed: 2 });
    const nat = world.net.addNat({ publicAddress: '203.0.113.50', mapping: 'endpoint-independent', filtering: 'endpoint-independent', link: { delayMs: 20 } });
    const ha: SimHost = nat.addHost({ link: { delayMs: 20 } });
    const hb = world.host('public', 1);
    hb.link.configure({ delayMs: 20 });
    const a = world.agent(ha, { role: 'controlling' });
    const b = world.agent(hb, { role: 'controlled' });
    world.connect(a, b);
    void a.gather();
    void b.gather();
    assert.ok(await world.run(() => connected(a) && connected(b), 10_000));
    const atA = collect(a);
    const atB = collect(b);
    const big = new Uint8Array(1000).fill(0x61);
    const small = new Uint8Array(300).fill(0x62);
    for (let i = 0; i < 7; i++) assert.ok(a.send(big));
    for (let i = 0; i < 5; i++) assert.ok(b.send(small));
    // Long enough for a few consent checks (every 4–6 s) to refresh the RTT.
    await wait(world, 12_000);
    assert.equal(atB.length, 7);
    assert.equal(atA.length, 5);
    const sa = (await a.getStats()).filter((s) => s.selected);
    const sb = (await b.getStats()).filter((s) => s.selected);
    assert.equal(sa.length, 1, 'exactly one selected pair in a’s stats');
    assert.equal(sb.length, 1, 'exactly one selected pair in b’s stats');
    const [x, y] = [sa[0], sb[0]];
    assert.equal(x.bytesSent, 7_000);
    assert.equal(x.bytesReceived, 1_500);
    assert.equal(y.bytesSent, 1_500);
    assert.equal(y.bytesReceived, 7_000);
    assert.ok(x.nominated && y.nominated);
    for (const s of [x, y]) {
      assert.ok(s.requestsSent > 0 && s.responsesReceived > 0 && s.requestsReceived > 0 && s.responsesSent > 0, JSON.stringify(s));
      assert.ok(s.consentRequestsSent >= 1, `consent checks sent: ${s.consentRequestsSent}`);
      assert.ok(s.packetsSent >= (s === x ? 7 : 5) + s.requestsSent, `packetsSent ${s.packetsSent} covers data and checks`);
      assert.ok(s.currentRoundTripTime !== undefined && Math.abs(s.currentRoundTripTime - 0.12) < 0.005, `RTT ${s.currentRoundTripTime} s, expected 0.12`);
      assert.ok(s.totalRoundTripTime >= s.currentRoundTripTime! * s.responsesReceived * 0.9, `totalRoundTripTime ${s.totalRoundTripTime}`);
      assert.equal(s.state, 'succeeded');
    }
    // a sends from its host socket behind the NAT; b sees it at the NAT's mapping (srflx or learned prflx).
    assert.equal(x.local.type, 'host');
    assert.equal(y.remote.address, '203.0.113.50');
    a.close();
    b.close();
  });

  it('a check answered only after a retransmission does not inflate currentRoundTripTime (RFC 8489 §6.2.1, Karn)', async () => {
    // RTT 100 ms (25 ms per link crossing). Once connected, a's next consent check is lost on its own link;
    // the retransmission 500 ms later is answered. The RTT is still 100 ms, not 600.
    const world = new SimWorld({ stun: false, seed: 6 });
    const ha = world.host('public', 0);
    const hb = world.host('public', 1);
    ha.link.configure({ delayMs: 25 });
    hb.link.configure({ delayMs: 25 });
    const a = world.agent(ha, { role: 'controlling' });
    const b = world.agent(hb, { role: 'controlled' });
    world.connect(a, b);
    void a.gather();
    void b.gather();
    assert.ok(await world.run(() => connected(a) && connected(b), 10_000));
    await wait(world, 500);
    const before = (await a.getStats()).find((s) => s.selected)!;
    assert.ok(Math.abs(before.currentRoundTripTime! - 0.1) < 0.005, `RTT before: ${before.currentRoundTripTime}`);
    const aAddress = ha.addresses[0];
    let dropped = 0;
    world.net.ontrace = (ev) => {
      const bytes = ev.datagram.bytes;
      if (ev.type !== 'send' || dropped > 0 || ev.datagram.src.address !== aAddress || bytes[0] !== 0 || bytes[1] !== 1) return;
      // A Binding request from a: lose it on a's own link (the loss draw comes right after this 'send').
      dropped++;
      ha.link.configure({ lossRate: 1 });
      world.clock.setTimer(() => ha.link.configure({ lossRate: 0 }), world.clock.now() + 1);
    };
    const responses = before.responsesReceived;
    assert.ok(await world.run(async () => (await a.getStats()).find((s) => s.selected)!.responsesReceived > responses, 10_000));
    assert.equal(dropped, 1, 'one consent check was lost');
    const after = (await a.getStats()).find((s) => s.selected)!;
    assert.ok(Math.abs(after.currentRoundTripTime! - 0.1) < 0.005, `RTT after a retransmitted check: ${after.currentRoundTripTime} s, the path's is 0.1 s`);
    a.close();
    b.close();
  });
});
