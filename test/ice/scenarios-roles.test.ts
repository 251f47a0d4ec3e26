// Scenarios about roles (RFC 8445 §6.1.1, §7.2.5.1, §7.3.1.1, §7.3.1.5, §2.5): role conflicts resolved by
// the tie-breaker, ICE-lite against a full agent, and a scripted remote that nominates aggressively.
// Everything on the simulated network and virtual time.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HmacSha1 } from '../../src/crypto/index.js';
import { computePriority, type IceCandidate } from '../../src/ice/candidate.js';
import { encodeCheckRequest, encodeCheckResponse, validateCheckRequest } from '../../src/ice/checks.js';
import type { IceAgent } from '../../src/ice/ice-agent.js';
import type { TransportAddress } from '../../src/net/transport-address.js';
import { SimNetwork, VirtualClock, type SimTraceEvent } from '../../src/sim/index.js';
import { decodeStunMessage } from '../../src/stun/decode.js';
import { shortTermKey } from '../../src/stun/integrity.js';
import { runUntil, TestAgent } from './engine-harness.js';
import { SimWorld, type Placement } from './sim-world.js';

const connected = (x: IceAgent) => x.state === 'connected' || x.state === 'completed';

/** Moves virtual time forward by exactly `ms` (a timer at the end makes SimWorld.run reach it). */
async function wait(world: SimWorld, ms: number): Promise<void> {
  const end = world.clock.now() + ms;
  world.clock.setTimer(() => {}, end);
  await world.run(() => world.clock.now() >= end, ms + 1);
}

/** What an IceAgent announced, in order. */
function watch(world: SimWorld, agent: IceAgent) {
  const log = { states: [] as string[], roleChanges: [] as { at: number; role: string }[], data: [] as string[], selectedAt: [] as number[] };
  agent.addEventListener('statechange', () => log.states.push(agent.state));
  agent.addEventListener('rolechange', () => log.roleChanges.push({ at: world.clock.now(), role: agent.role }));
  agent.addEventListener('selectedcandidatepairchange', () => log.selectedAt.push(world.clock.now()));
  agent.addEventListener('data', (e) => log.data.push(new TextDecoder().decode((e as unknown as { data: Uint8Array }).data)));
  return log;
}

/** A STUN Binding request (class request, method Binding) with the magic cookie. */
function isBindingRequest(bytes: Uint8Array): boolean {
  return bytes.length >= 20 && bytes[0] === 0x00 && bytes[1] === 0x01 && bytes[4] === 0x21 && bytes[5] === 0x12 && bytes[6] === 0xa4 && bytes[7] === 0x42;
}

const sameAddress = (x: TransportAddress, y: TransportAddress) => x.address === y.address && x.port === y.port;

describe('role conflict (RFC 8445 §7.3.1.1, §7.2.5.1): the larger tie-breaker controls', () => {
  const cases = [
    { both: 'controlling', tieA: 10n, tieB: 20n },
    { both: 'controlling', tieA: 0xffff_ffff_ffff_fff0n, tieB: 7n },
    { both: 'controlled', tieA: 10n, tieB: 20n },
    { both: 'controlled', tieA: 0xffff_ffff_ffff_fff0n, tieB: 7n },
  ] as const;
  for (const { both, tieA, tieB } of cases) {
    const winner = tieA > tieB ? 'a' : 'b';
    const switcher = both === 'controlling' ? (winner === 'a' ? 'b' : 'a') : winner;
    it(`both created ${both}, tie-breakers a=${tieA} b=${tieB}, checks crossing: ${winner} ends controlling, one rolechange in all (on ${switcher})`, async () => {
      const world = new SimWorld({ stun: false, seed: 3 });
      const a = world.agent(world.host('public', 0), { role: both, tieBreaker: tieA });
      const b = world.agent(world.host('public', 1), { role: both, tieBreaker: tieB });
      const la = watch(world, a);
      const lb = watch(world, b);
      world.connect(a, b);
      void a.gather();
      void b.gather();
      assert.ok(await world.run(() => connected(a) && connected(b), 10_000), `a ${a.state}, b ${b.state}`);
      // Let any late 487 still in flight arrive before judging the roles.
      await wait(world, 1_000);
      const [w, l, lw, ll] = winner === 'a' ? [a, b, la, lb] : [b, a, lb, la];
      assert.equal(w.role, 'controlling', 'the larger tie-breaker controls');
      assert.equal(l.role, 'controlled');
      assert.equal(connected(a) && connected(b), true);
      a.send('to b');
      b.send('to a');
      await world.run(() => la.data.length > 0 && lb.data.length > 0, 1_000);
      assert.deepEqual([la.data, lb.data], [['to a'], ['to b']]);
      const expectWinnerChanges = both === 'controlling' ? 0 : 1;
      const expectLoserChanges = both === 'controlling' ? 1 : 0;
      assert.deepEqual(
        lw.roleChanges.map((r) => r.role),
        expectWinnerChanges ? ['controlling'] : [],
        `winner's role changes: ${JSON.stringify(lw.roleChanges)}`,
      );
      assert.deepEqual(
        ll.roleChanges.map((r) => r.role),
        expectLoserChanges ? ['controlled'] : [],
        `loser's role changes (each must be a real switch, no flip-flop): ${JSON.stringify(ll.roleChanges)}`,
      );
      a.close();
      b.close();
    });
  }
});

describe('role conflict without crossing checks', () => {
  /** Signalling with a delay per direction: here a learns b's candidates late, so b's checks arrive first. */
  function connectAsymmetric(world: SimWorld, a: IceAgent, b: IceAgent, aToBMs: number, bToAMs: number): void {
    const wire = (from: IceAgent, to: IceAgent, delay: number) => {
      to.setRemoteParameters(from.localParameters);
      from.addEventListener('icecandidate', (e) => {
        const candidate = (e as unknown as { candidate: Parameters<IceAgent['addRemoteCandidate']>[0] }).candidate;
        world.clock.setTimer(() => to.addRemoteCandidate(candidate), world.clock.now() + delay);
      });
    };
    wire(a, b, aToBMs);
    wire(b, a, bToAMs);
  }

  for (const both of ['controlling', 'controlled'] as const) {
    it(`both ${both}, only b checks at first: the larger tie-breaker (a) controls, exactly one rolechange in all`, async () => {
      const world = new SimWorld({ stun: false, seed: 4 });
      const a = world.agent(world.host('public', 0), { role: both, tieBreaker: 900n });
      const b = world.agent(world.host('public', 1), { role: both, tieBreaker: 100n });
      const la = watch(world, a);
      const lb = watch(world, b);
      connectAsymmetric(world, a, b, 0, 1_000);
      void a.gather();
      void b.gather();
      assert.ok(await world.run(() => connected(a) && connected(b), 10_000), `a ${a.state}, b ${b.state}`);
      await wait(world, 2_000);
      assert.equal(a.role, 'controlling');
      assert.equal(b.role, 'controlled');
      const changes = [...la.roleChanges.map((r) => `a:${r.role}`), ...lb.roleChanges.map((r) => `b:${r.role}`)];
      assert.deepEqual(changes, both === 'controlling' ? ['b:controlled'] : ['a:controlling']);
      assert.ok(connected(a) && connected(b));
      a.close();
      b.close();
    });
  }
});

describe('ICE-lite (RFC 8445 §2.5, §6.1.1)', () => {
  const fullPlacements: { name: string; placement: Placement }[] = [
    { name: 'public', placement: 'public' },
    { name: 'behind a port-restricted NAT', placement: { mapping: 'endpoint-independent', filtering: 'address-and-port-dependent' } },
  ];
  for (const { name, placement } of fullPlacements) {
    it(`full agent ${name}, created controlled, vs a public lite agent: the full agent controls, lite sends no checks, data flows`, async () => {
      const world = new SimWorld({ seed: 8 });
      const full = world.agent(world.host(placement, 0), { role: 'controlled', tieBreaker: 1n });
      const lite = world.agent(world.host('public', 1), { lite: true });
      const lf = watch(world, full);
      const ll = watch(world, lite);
      const liteRequests: SimTraceEvent[] = [];
      let liteAddress: TransportAddress | undefined;
      lite.addEventListener('icecandidate', (e) => {
        const c = (e as unknown as { candidate: { candidate: string } | null }).candidate;
        if (c && !liteAddress) liteAddress = { address: lite.localCandidates[0].address, port: lite.localCandidates[0].port };
      });
      world.net.ontrace = (ev) => {
        if (ev.type === 'send' && liteAddress && sameAddress(ev.datagram.src, liteAddress) && isBindingRequest(ev.datagram.bytes)) liteRequests.push(ev);
      };
      world.connect(full, lite);
      void full.gather();
      void lite.gather();
      assert.ok(await world.run(() => connected(full) && connected(lite), 10_000), `full ${full.state}, lite ${lite.state}`);
      assert.equal(full.role, 'controlling', 'a full agent facing a lite peer takes the controlling role');
      assert.equal(lite.role, 'controlled');
      assert.deepEqual(lf.roleChanges.map((r) => r.role), ['controlling']);
      assert.deepEqual(ll.roleChanges, [], 'the lite agent never changes role');
      assert.deepEqual(lite.localCandidates.map((c) => c.type), ['host'], 'lite gathers host candidates only');
      // Data both ways, then consent for a while (the full agent's checks keep it; the lite one sends none).
      for (let i = 0; i < 3; i++) {
        assert.ok(full.send(`f${i}`));
        assert.ok(lite.send(`l${i}`));
      }
      await wait(world, 20_000);
      assert.deepEqual(ll.data, ['f0', 'f1', 'f2']);
      assert.deepEqual(lf.data, ['l0', 'l1', 'l2']);
      assert.ok(connected(full) && connected(lite), `after 20 s: full ${full.state}, lite ${lite.state}`);
      assert.ok(liteAddress, 'lite trickled its host candidate');
      assert.equal(liteRequests.length, 0, 'an ICE-lite agent sends no Binding requests');
      assert.equal((await lite.getStats()).reduce((n, s) => n + s.requestsSent, 0), 0);
      assert.ok((await lite.getStats()).some((s) => s.selected && s.requestsReceived > 0 && s.responsesSent > 0));
      assert.ok((await full.getStats()).some((s) => s.selected && s.nominated && s.consentRequestsSent > 0), 'the full agent keeps consent');
      full.close();
      lite.close();
    });
  }

  it('lite vs lite (RFC 8445 §6.1.1 "Both lite", §8.2): no checks at all; once both lists are complete the one pair is taken, data flows', async () => {
    const world = new SimWorld({ seed: 9 });
    const a = world.agent(world.host('public', 0), { lite: true });
    const b = world.agent(world.host('public', 1), { lite: true });
    const requests: SimTraceEvent[] = [];
    world.net.ontrace = (ev) => {
      if (ev.type === 'send' && isBindingRequest(ev.datagram.bytes)) requests.push(ev);
    };
    const la = watch(world, a);
    const lb = watch(world, b);
    world.connect(a, b);
    void a.gather();
    void b.gather();
    assert.ok(await world.run(() => a.state === 'completed' && b.state === 'completed', 10_000), `a ${a.state}, b ${b.state}`);
    for (const [agent, peer] of [[a, b], [b, a]] as const) {
      const pair = agent.getSelectedCandidatePair();
      assert.deepEqual([pair?.local.port, pair?.remote.port], [agent.localCandidates[0]!.port, peer.localCandidates[0]!.port], 'each takes the only pair there is');
    }
    assert.ok(a.send('from a') && b.send('from b'));
    await wait(world, 30_000);
    assert.deepEqual([lb.data, la.data], [['from a'], ['from b']]);
    assert.equal(requests.length, 0, 'neither sends a Binding request, not even for consent');
    assert.ok(a.state === 'completed' && b.state === 'completed', `after 30 s: a ${a.state}, b ${b.state}`);
    a.close();
    b.close();
  });

  it('lite vs lite waits for both candidate lists: without the peer’s end-of-candidates nothing is chosen', async () => {
    const world = new SimWorld({ seed: 10 });
    const a = world.agent(world.host('public', 0), { lite: true });
    const b = world.agent(world.host('public', 1), { lite: true });
    void a.setRemoteParameters(b.localParameters);
    b.addEventListener('icecandidate', (e) => e.candidate && void a.addRemoteCandidate(e.candidate)); // no null: no end
    void a.gather();
    void b.gather();
    await wait(world, 10_000);
    assert.equal(a.getSelectedCandidatePair(), null, 'a second pair could still come (§8.2 chooses among all of them)');
    assert.equal(a.state, 'checking');
    await a.addRemoteCandidate(null);
    assert.ok(await world.run(() => a.state === 'completed', 1_000), a.state);
    a.close();
    b.close();
  });
});

/**
 * A scripted controlling peer (one public socket) that answers checks and nominates aggressively: every check it
 * sends carries USE-CANDIDATE (RFC 5245 aggressive nomination, still accepted by RFC 8445 §8.1.1 agents).
 */
class AggressiveRemote {
  readonly ufrag = 'scriptedpeer';
  readonly password = 'scripted-peer-password-0123';
  readonly key = new HmacSha1(shortTermKey(this.password));
  readonly responses: TransportAddress[] = [];
  readonly data: string[] = [];
  readonly candidate: IceCandidate;

  constructor(
    private readonly socket: { send(bytes: Uint8Array, to: TransportAddress): void; ondatagram: ((b: Uint8Array, f: TransportAddress) => void) | null; localAddress: TransportAddress },
    private readonly peer: { ufrag: string; password: string },
  ) {
    this.candidate = {
      foundation: 'scripted',
      component: 1,
      protocol: 'udp',
      priority: computePriority('host', 65535, 1),
      address: socket.localAddress.address,
      port: socket.localAddress.port,
      type: 'host',
      extensions: [],
    };
    socket.ondatagram = (bytes, from) => {
      if (bytes[0] >= 4) {
        this.data.push(new TextDecoder().decode(bytes));
        return;
      }
      const m = decodeStunMessage(bytes);
      if (m.class === 'request') {
        const check = validateCheckRequest(m, this.ufrag, this.key);
        assert.ok(check.ok, 'the agent checks the scripted peer with its credentials');
        socket.send(encodeCheckResponse(m, from, this.key), from);
      } else if (m.class === 'success') {
        this.responses.push(from);
      }
    };
  }

  /** A check with USE-CANDIDATE towards one of the agent's candidates. */
  nominate(to: TransportAddress): void {
    const { bytes } = encodeCheckRequest({
      localUfrag: this.ufrag,
      remoteUfrag: this.peer.ufrag,
      remoteKey: new HmacSha1(shortTermKey(this.peer.password)),
      priority: computePriority('prflx', 65535, 1),
      role: 'controlling',
      tieBreaker: 0xffff_ffff_ffff_ffffn,
      useCandidate: true,
    });
    this.socket.send(bytes, to);
  }
}

describe('aggressive nomination by the remote (RFC 8445 §8.1.1, §7.3.1.5)', () => {
  function setup() {
    const clock = new VirtualClock();
    const net = new SimNetwork({ clock, seed: 5 });
    const hb = net.addHost({ address: ['192.0.2.20', '192.0.2.21'] });
    const hr = net.addHost('192.0.2.30');
    const b = new TestAgent('b', clock, { role: 'controlled', tieBreaker: 1n });
    const s1 = hb.bind(6000, '192.0.2.20');
    const s2 = hb.bind(6001, '192.0.2.21');
    const high = b.addCandidate(b.attach(s1), s1.localAddress, 'host', 65535);
    const low = b.addCandidate(b.attach(s2), s2.localAddress, 'host', 1000);
    const p = b.engine.localParameters;
    const remote = new AggressiveRemote(hr.bind(7000), { ufrag: p.usernameFragment, password: p.password });
    b.engine.setRemoteParameters({ usernameFragment: remote.ufrag, password: remote.password }, clock.now());
    b.engine.addRemoteCandidate(remote.candidate, clock.now());
    b.engine.addRemoteCandidate(null, clock.now());
    b.engine.setLocalGatheringComplete(clock.now());
    b.driver.poll();
    const selections = () => b.events.filter((e) => e.type === 'selectedcandidatepairchange').length;
    const selectedLocal = () => b.engine.selectedPair?.local.candidate;
    return { clock, b, high, low, remote, selections, selectedLocal };
  }

  it('USE-CANDIDATE on every check, the lower-priority pair first: the controlled agent moves to the highest-priority nominated pair', () => {
    const { clock, b, high, low, remote, selections, selectedLocal } = setup();
    remote.nominate(low);
    assert.ok(runUntil(clock, () => selectedLocal() === low, 1_000), 'the first nominated pair is selected');
    remote.nominate(high);
    assert.ok(runUntil(clock, () => selectedLocal() === high, 1_000), `selected ${selectedLocal()?.address}, want the higher-priority ${high.address}`);
    // A later nomination of the worse pair does not pull the selection back down.
    remote.nominate(low);
    clock.advance(1_000);
    assert.equal(selectedLocal(), high);
    assert.equal(selections(), 2);
    assert.ok(b.engine.selectedPair!.nominated && b.engine.selectedPair!.valid);
    assert.equal(b.engine.state, 'completed');
    assert.equal(b.engine.role, 'controlled');
  });

  it('USE-CANDIDATE on both pairs at once, before the agent has checked either: the highest-priority one ends selected', () => {
    const { clock, b, high, low, remote, selectedLocal } = setup();
    remote.nominate(high);
    remote.nominate(low);
    clock.advance(2_000);
    assert.equal(selectedLocal(), high, `selected ${selectedLocal()?.address}`);
    assert.ok(b.engine.checklist.pairs.filter((p) => p.nominated).length === 2, 'both pairs are nominated');
    assert.ok(b.send('hello'));
    clock.advance(100);
    assert.deepEqual(remote.data, ['hello']);
    assert.ok(remote.responses.length >= 2, 'the agent checked both pairs back (triggered checks)');
  });
});
