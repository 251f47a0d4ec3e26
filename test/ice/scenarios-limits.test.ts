// Scenarios about limits and hostile input (RFC 8445 §6.1.2.5, RFC 8838 §10–11, DESIGN.md rule 3): too many
// remote candidates and pairs are refused and counted; malformed STUN and random bytes on the agent's socket
// never throw and are counted. The engine is fed directly (sans-I/O) for the property tests, and an
// IceAgent on the simulated network shows the same while connected.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { HmacSha1 } from '../../src/crypto/index.js';
import { IceAgentEngine } from '../../src/ice/agent.js';
import { computePriority, type IceCandidate, type IceCandidateType } from '../../src/ice/candidate.js';
import type { IceAgent } from '../../src/ice/ice-agent.js';
import { pairPriority } from '../../src/ice/pair-priority.js';
import type { Transmit } from '../../src/net/engine.js';
import type { TransportAddress } from '../../src/net/transport-address.js';
import { classifyDatagram } from '../../src/stun/classify.js';
import { StunMethod } from '../../src/stun/constants.js';
import { decodeStunMessage } from '../../src/stun/decode.js';
import { encodeStunMessage } from '../../src/stun/encode.js';
import { StunParseError } from '../../src/stun/errors.js';
import { shortTermKey } from '../../src/stun/integrity.js';
import { createStunMessage, type StunMessage } from '../../src/stun/message.js';
import type { StunAttributeEntry } from '../../src/stun/attribute-values.js';
import { SimWorld } from './sim-world.js';

const connected = (x: IceAgent) => x.state === 'connected' || x.state === 'completed';

/** Moves virtual time forward by exactly `ms` (a timer at the end makes SimWorld.run reach it). */
async function wait(world: SimWorld, ms: number): Promise<void> {
  const end = world.clock.now() + ms;
  world.clock.setTimer(() => {}, end);
  await world.run(() => world.clock.now() >= end, ms + 1);
}

function candidate(address: string, port: number, type: IceCandidateType = 'host', localPreference = 65535, foundation = `f${address.replace(/[^0-9a-f]/g, '')}${port}`): IceCandidate {
  return { foundation: foundation.slice(0, 32), component: 1, protocol: 'udp', priority: computePriority(type, localPreference, 1), address, port, type, extensions: [] };
}

function drain(engine: IceAgentEngine): { transmits: Transmit[]; events: ReturnType<IceAgentEngine['pollEvent']>[] } {
  const transmits: Transmit[] = [];
  const events: ReturnType<IceAgentEngine['pollEvent']>[] = [];
  for (let t = engine.pollTransmit(); t; t = engine.pollTransmit()) transmits.push(t);
  for (let e = engine.pollEvent(); e; e = engine.pollEvent()) events.push(e);
  return { transmits, events };
}

describe('limits (RFC 8445 §6.1.2.5, RFC 8838 §11)', () => {
  it('maxRemoteCandidates: past the limit candidates are refused and counted, and after end-of-candidates too', () => {
    const engine = new IceAgentEngine({ maxRemoteCandidates: 5, random: () => 0.5 });
    engine.addLocalCandidate({ candidate: candidate('192.0.2.10', 5000), socket: 0, base: { address: '192.0.2.10', port: 5000 } }, 0);
    engine.setRemoteParameters({ usernameFragment: 'peer', password: 'peer-password-0123456789' }, 0);
    const accepted = Array.from({ length: 20 }, (_, i) => engine.addRemoteCandidate(candidate(`198.51.100.${i + 1}`, 7000 + i), 0));
    assert.deepEqual(accepted, [...Array(5).fill(true), ...Array(15).fill(false)]);
    assert.equal(engine.remoteCandidates.length, 5);
    assert.equal(engine.refusedRemoteCandidates, 15);
    assert.equal(engine.checklist.pairs.length, 5);
    engine.addRemoteCandidate(null, 0);
    const fresh = new IceAgentEngine({ random: () => 0.5 });
    fresh.addRemoteCandidate(null, 0);
    assert.equal(fresh.addRemoteCandidate(candidate('198.51.100.99', 9999), 0), false, 'refused after end-of-candidates');
    assert.equal(fresh.refusedRemoteCandidates, 1);
  });

  it('maxPairs: the checklist keeps the highest-priority pairs (3 locals × 10 remotes, limit 8)', () => {
    const engine = new IceAgentEngine({ role: 'controlling', maxPairs: 8, random: () => 0.5 });
    const locals = [65535, 40000, 1000].map((pref, i) => {
      const c = candidate(`192.0.2.${10 + i}`, 5000 + i, 'host', pref);
      engine.addLocalCandidate({ candidate: c, socket: i, base: { address: c.address, port: c.port } }, 0);
      return c;
    });
    const types: IceCandidateType[] = ['host', 'srflx', 'relay'];
    const remotes = Array.from({ length: 10 }, (_, i) => candidate(`198.51.100.${i + 1}`, 7000 + i, types[i % 3], 1000 * (i + 1)));
    // Shuffled arrival, so the limit cannot just keep the first ones.
    for (const i of [7, 2, 9, 0, 5, 3, 8, 1, 6, 4]) engine.addRemoteCandidate(remotes[i], 0);
    assert.equal(engine.checklist.pairs.length, 8);
    assert.equal(engine.checklist.pairsDroppedByLimit, 22);
    const all = locals.flatMap((l) => remotes.map((r) => pairPriority(l.priority, r.priority))).sort((x, y) => (x > y ? -1 : x < y ? 1 : 0));
    assert.deepEqual(engine.checklist.pairs.map((p) => p.priority), all.slice(0, 8));
  });

  it('an IceAgent sent 300 unreachable candidates after the real one (maxRemoteCandidates 40, maxPairs 10): refuses the excess, counts it, connects', async () => {
    const world = new SimWorld({ stun: false, seed: 9 });
    const a = world.agent(world.host('public', 0), { role: 'controlling' });
    const b = world.agent(world.host('public', 1), { role: 'controlled', maxRemoteCandidates: 40, maxPairs: 10 });
    b.setRemoteParameters(a.localParameters);
    a.setRemoteParameters(b.localParameters);
    let refused = 0;
    const taken: Promise<boolean>[] = [];
    a.addEventListener('icecandidate', (e) => {
      const c = e.candidate;
      taken.push(b.addRemoteCandidate(c));
      if (c === null) return;
      // A misbehaving peer: a flood of relayed-type candidates on unroutable addresses.
      for (let i = 0; i < 300; i++) {
        void b.addRemoteCandidate(candidate(`203.0.113.${1 + (i % 250)}`, 10_000 + i, 'relay', 100 + i, `junk${i}`)).then((ok) => {
          if (!ok) refused++;
        });
      }
    });
    b.addEventListener('icecandidate', (e) => void a.addRemoteCandidate(e.candidate));
    void a.gather();
    void b.gather();
    assert.ok(await world.run(() => connected(a) && connected(b), 30_000), `a ${a.state}, b ${b.state}`);
    assert.deepEqual(await Promise.all(taken), taken.map(() => true), 'the signalled candidates are all taken');
    assert.equal(refused, 300 - 39);
    assert.equal(b.engine.refusedRemoteCandidates, refused);
    assert.equal(b.remoteCandidates.length, 40);
    assert.ok(b.engine.checklist.pairs.length <= 10);
    assert.equal(b.getSelectedCandidatePair()!.remote.address, a.localCandidates[0].address);
    a.close();
    b.close();
  });

  it('with maxPairs 10 and junk first, the real (higher-priority) candidate still gets a pair and connects', async () => {
    const world = new SimWorld({ stun: false, seed: 10 });
    const a = world.agent(world.host('public', 0), { role: 'controlling' });
    const b = world.agent(world.host('public', 1), { role: 'controlled', maxPairs: 10 });
    b.setRemoteParameters(a.localParameters);
    a.setRemoteParameters(b.localParameters);
    const taken: Promise<boolean>[] = [];
    a.addEventListener('icecandidate', (e) => {
      const c = e.candidate;
      if (c !== null) for (let i = 0; i < 50; i++) void b.addRemoteCandidate(candidate(`203.0.113.${1 + i}`, 20_000 + i, 'relay', 100 + i, `junk${i}`));
      taken.push(b.addRemoteCandidate(c));
    });
    b.addEventListener('icecandidate', (e) => void a.addRemoteCandidate(e.candidate));
    void a.gather();
    void b.gather();
    assert.ok(await world.run(() => connected(a) && connected(b), 10_000), `a ${a.state}, b ${b.state}`);
    assert.deepEqual(await Promise.all(taken), taken.map(() => true), 'the signalled candidates are all taken');
    assert.ok(b.engine.checklist.pairs.length <= 10);
    assert.ok(b.engine.checklist.pairsDroppedByLimit >= 40);
    assert.equal(b.getSelectedCandidatePair()!.remote.type, 'host', 'the signalled host candidate was paired, evicting junk');
    a.close();
    b.close();
  });
});

// ---- Hostile datagrams ------------------------------------------------------------------------------

const LOCAL = { address: '192.0.2.10', port: 5000 };
const REMOTE = { address: '192.0.2.20', port: 6000 };
const LOCAL_UFRAG = 'LocalUfrag';
const LOCAL_PWD = 'localpassword0123456789';
const REMOTE_UFRAG = 'RemoteUfrag';
const REMOTE_PWD = 'remotepassword0123456789';
const LOCAL_KEY = new HmacSha1(shortTermKey(LOCAL_PWD));
const REMOTE_KEY = new HmacSha1(shortTermKey(REMOTE_PWD));
const LIMITS = { maxRemoteCandidates: 20, maxPairs: 10, maxPeerReflexiveCandidates: 6 };

function targetEngine(): IceAgentEngine {
  const engine = new IceAgentEngine({ role: 'controlling', usernameFragment: LOCAL_UFRAG, password: LOCAL_PWD, tieBreaker: 1000n, random: () => 0.5, ...LIMITS });
  engine.addLocalCandidate({ candidate: candidate(LOCAL.address, LOCAL.port), socket: 0, base: LOCAL }, 0);
  engine.setRemoteParameters({ usernameFragment: REMOTE_UFRAG, password: REMOTE_PWD }, 0);
  engine.addRemoteCandidate(candidate(REMOTE.address, REMOTE.port), 0);
  engine.handleTimeout(0);
  drain(engine);
  return engine;
}

type Datagram = { build: (inFlight: Uint8Array[]) => Uint8Array; label: string };

const txId = fc.uint8Array({ minLength: 12, maxLength: 12 });
const ipv4 = fc.tuple(fc.integer({ min: 1, max: 223 }), fc.nat(255), fc.nat(255), fc.integer({ min: 1, max: 254 })).map((p) => p.join('.'));
const ipv6 = fc.array(fc.nat(0xffff), { minLength: 8, maxLength: 8 }).map((p) => p.map((x) => x.toString(16)).join(':'));
const port = fc.integer({ min: 1, max: 65535 });
const source = fc.oneof(
  { weight: 3, arbitrary: fc.constant(REMOTE) },
  { weight: 3, arbitrary: fc.record({ address: ipv4, port }) },
  { weight: 1, arbitrary: fc.record({ address: ipv6, port }) },
);

const junk: fc.Arbitrary<Datagram> = fc.uint8Array({ maxLength: 120 }).map((bytes) => ({ label: 'junk', build: () => bytes }));

/** A STUN header with the magic cookie, a random type and a random body of a plausible length. */
const stunShaped: fc.Arbitrary<Datagram> = fc.record({ type: fc.nat(0x3fff), id: txId, body: fc.uint8Array({ maxLength: 96 }), lie: fc.boolean() }).map(({ type, id, body, lie }) => ({
  label: 'stun-shaped',
  build: () => {
    const len = (body.length + 3) & ~3;
    const out = new Uint8Array(20 + len);
    const v = new DataView(out.buffer);
    v.setUint16(0, type);
    v.setUint16(2, lie ? (len + 4) & 0xffff : len);
    v.setUint32(4, 0x2112a442);
    out.set(id, 8);
    out.set(body, 20);
    return out;
  },
}));

const username = fc.oneof(
  fc.constant(`${LOCAL_UFRAG}:${REMOTE_UFRAG}`),
  fc.string({ maxLength: 40 }).map((s) => `${LOCAL_UFRAG}:${s}`),
  fc.string({ maxLength: 40 }),
  fc.constant(LOCAL_UFRAG),
);

/** A Binding request built field by field: any mix of present, missing and wrong attributes. */
const craftedRequest: fc.Arbitrary<Datagram> = fc
  .record({
    id: txId,
    username: fc.option(username),
    priority: fc.option(fc.nat(0xffffffff)),
    role: fc.option(fc.tuple(fc.constantFrom('ICE-CONTROLLING', 'ICE-CONTROLLED'), fc.bigInt({ min: 0n, max: 0xffff_ffff_ffff_ffffn }))),
    useCandidate: fc.boolean(),
    key: fc.constantFrom('local', 'remote', 'none'),
    fingerprint: fc.boolean(),
    method: fc.oneof({ weight: 5, arbitrary: fc.constant(StunMethod.Binding as number) }, { weight: 1, arbitrary: fc.integer({ min: 2, max: 0xfff }) }),
    cls: fc.constantFrom('request', 'request', 'request', 'indication'),
  })
  .map((r) => ({
    label: 'crafted-request',
    build: () => {
      const attributes: StunAttributeEntry[] = [];
      if (r.username !== null) attributes.push(['USERNAME', r.username]);
      if (r.priority !== null) attributes.push(['PRIORITY', r.priority]);
      if (r.role !== null) attributes.push(r.role as StunAttributeEntry);
      if (r.useCandidate) attributes.push(['USE-CANDIDATE', true]);
      const message = createStunMessage({ method: r.method, class: r.cls as 'request' | 'indication', transactionId: r.id, attributes });
      const key = r.key === 'local' ? LOCAL_KEY : r.key === 'remote' ? REMOTE_KEY : undefined;
      return encodeStunMessage(message, { integrity: key ? { key } : undefined, fingerprint: r.fingerprint });
    },
  }));

/** A response, often to a check actually in flight, with any mix of attributes and keys. */
const craftedResponse: fc.Arbitrary<Datagram> = fc
  .record({
    pick: fc.nat(),
    ownId: fc.boolean(),
    id: txId,
    cls: fc.constantFrom('success', 'error'),
    mapped: fc.option(fc.oneof(fc.record({ address: ipv4, port }), fc.record({ address: ipv6, port }))),
    code: fc.option(fc.oneof(fc.constant(487), fc.integer({ min: 300, max: 699 }))),
    key: fc.constantFrom('remote', 'remote', 'local', 'none'),
  })
  .map((r) => ({
    label: 'crafted-response',
    build: (inFlight: Uint8Array[]) => {
      const id = r.ownId && inFlight.length > 0 ? inFlight[r.pick % inFlight.length] : r.id;
      const attributes: StunAttributeEntry[] = [];
      if (r.mapped !== null) attributes.push(['XOR-MAPPED-ADDRESS', r.mapped as TransportAddress]);
      if (r.code !== null) attributes.push(['ERROR-CODE', { code: r.code, reason: 'fuzz' }]);
      const message = createStunMessage({ method: StunMethod.Binding, class: r.cls as 'success' | 'error', transactionId: id, attributes });
      const key = r.key === 'remote' ? REMOTE_KEY : r.key === 'local' ? LOCAL_KEY : undefined;
      return encodeStunMessage(message, { integrity: key ? { key } : undefined, fingerprint: true });
    },
  }));

/** A valid check to us, then bytes flipped or cut off. */
const mutatedCheck: fc.Arbitrary<Datagram> = fc
  .record({ id: txId, flips: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { maxLength: 3 }), cut: fc.option(fc.nat()) })
  .map(({ id, flips, cut }) => ({
    label: 'mutated-check',
    build: () => {
      const message = createStunMessage({
        method: StunMethod.Binding,
        class: 'request',
        transactionId: id,
        attributes: [
          ['USERNAME', `${LOCAL_UFRAG}:${REMOTE_UFRAG}`],
          ['PRIORITY', 1853824767],
          ['ICE-CONTROLLED', 77n],
          ['USE-CANDIDATE', true],
        ],
      });
      let bytes = encodeStunMessage(message, { integrity: { key: LOCAL_KEY }, fingerprint: true });
      for (const [at, x] of flips) bytes[at % bytes.length] ^= x;
      if (cut !== null) bytes = bytes.slice(0, cut % (bytes.length + 1));
      return bytes;
    },
  }));

const step = fc.record({ datagram: fc.oneof(junk, stunShaped, craftedRequest, craftedResponse, mutatedCheck), from: source, advance: fc.nat(3_000) });

/** What the engine must have done with one datagram, judged independently of it. */
function expectation(bytes: Uint8Array): 'data' | 'malformed' | 'request' | 'other' {
  if (classifyDatagram(bytes) !== 'stun') return 'data';
  let message: StunMessage;
  try {
    message = decodeStunMessage(bytes);
  } catch (e) {
    if (e instanceof StunParseError) return 'malformed';
    throw e;
  }
  if (message.method !== StunMethod.Binding) return 'malformed';
  return message.class === 'request' ? 'request' : 'other';
}

describe('hostile datagrams never throw and are counted (DESIGN.md rule 3)', () => {
  it('≈ 3 000 random, STUN-shaped, crafted and mutated datagrams from anywhere, with time passing', () => {
    const seen = { data: 0, malformed: 0, request: 0, other: 0 };
    fc.assert(
      fc.property(fc.array(step, { minLength: 1, maxLength: 20 }), (steps) => {
        const engine = targetEngine();
        const inFlight: Uint8Array[] = [];
        let now = 0;
        for (const { datagram, from, advance } of steps) {
          const bytes = datagram.build(inFlight);
          const kind = expectation(bytes);
          seen[kind]++;
          const before = { ...engine.counters };
          engine.handleDatagram(bytes, { socket: 0, from }, now);
          const out = drain(engine);
          const c = engine.counters;
          if (kind === 'data') {
            assert.ok(c.unexpectedData === before.unexpectedData + 1 || out.events.some((e) => e?.type === 'data'), 'non-STUN bytes are delivered or counted');
          } else if (kind === 'malformed') {
            assert.equal(c.malformed, before.malformed + 1, `${datagram.label}: unparseable STUN is counted`);
          } else if (kind === 'request') {
            // Every Binding request gets exactly one answer, to where it came from.
            const replies = out.transmits.filter((t) => t.to.address === from.address && t.to.port === from.port);
            assert.equal(replies.length, 1, `${datagram.label}: one answer, got ${replies.length}`);
            const reply = decodeStunMessage(replies[0].bytes);
            assert.deepEqual(reply.transactionId, decodeStunMessage(bytes).transactionId);
            if (reply.class === 'error' && [400, 401].includes(reply.get('ERROR-CODE')?.code ?? 0)) {
              assert.equal(c.rejectedChecks, before.rejectedChecks + 1, 'a rejected check is counted');
            }
          }
          now += advance;
          engine.handleTimeout(now);
          for (const t of drain(engine).transmits) {
            if (classifyDatagram(t.bytes) === 'stun') {
              const m = decodeStunMessage(t.bytes);
              if (m.class === 'request') inFlight.push(m.transactionId);
            }
          }
          assert.ok(engine.remoteCandidates.length <= LIMITS.maxRemoteCandidates, `${engine.remoteCandidates.length} remote candidates`);
          assert.ok(engine.remoteCandidates.filter((r) => r.type === 'prflx').length <= LIMITS.maxPeerReflexiveCandidates, 'peer-reflexive limit');
          assert.ok(engine.checklist.pairs.length <= LIMITS.maxPairs, `${engine.checklist.pairs.length} pairs`);
          const timeout = engine.pollTimeout();
          assert.ok(timeout === undefined || Number.isFinite(timeout), `pollTimeout ${timeout}`);
        }
      }),
      { numRuns: 300, seed: 20240611 },
    );
    // The mix really exercised every path.
    for (const [kind, n] of Object.entries(seen)) assert.ok(n >= 100, `${kind}: only ${n} cases`);
  });

  it('an IceAgent connected on the simulated network takes 500 hostile datagrams on its socket, stays connected, counts them', async () => {
    const world = new SimWorld({ stun: false, seed: 12 });
    const a = world.agent(world.host('public', 0), { role: 'controlling' });
    const b = world.agent(world.host('public', 1), { role: 'controlled' });
    const got: string[] = [];
    b.addEventListener('data', (e) => got.push(new TextDecoder().decode((e as unknown as { data: Uint8Array }).data)));
    world.connect(a, b);
    void a.gather();
    void b.gather();
    assert.ok(await world.run(() => a.state === 'completed' && b.state === 'completed', 10_000));
    const target = b.localCandidates[0];
    const attacker = world.net.addHost('192.0.2.66').bind(4444);
    const samples = fc.sample(fc.oneof(junk, stunShaped, craftedRequest, mutatedCheck), { numRuns: 500, seed: 7 });
    let unparseable = 0;
    let nonStun = 0;
    for (const d of samples) {
      const bytes = d.build([]);
      const kind = expectation(bytes);
      if (kind === 'malformed') unparseable++;
      if (kind === 'data') nonStun++;
      attacker.send(bytes, { address: target.address, port: target.port });
    }
    const before = { ...b.engine.counters };
    await wait(world, 2_000);
    assert.equal(b.engine.counters.malformed - before.malformed, unparseable, 'every unparseable datagram counted as malformed');
    assert.equal(b.engine.counters.unexpectedData - before.unexpectedData, nonStun, 'every non-STUN datagram counted as unexpected data');
    assert.ok(unparseable > 50 && nonStun > 50);
    assert.equal(b.state, 'completed');
    assert.ok(a.send('still here'));
    assert.ok(await world.run(() => got.includes('still here'), 1_000));
    a.close();
    b.close();
  });
});
