// The mDNS engine and service on the simulated network (multicast within a segment), on virtual time:
// resolution, a name that never resolves, late and duplicate answers, goodbyes, legacy unicast, and floods
// that must not grow memory.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DNS_CLASS_IN, DnsType, decodeDnsMessage, encodeDnsMessage } from '../../src/mdns/dns-message.js';
import { MdnsEngine, type MdnsEvent } from '../../src/mdns/mdns-engine.js';
import { MDNS_IPV4_GROUP, MDNS_PORT, generateMdnsName, isMdnsCandidateAddress, isUuidLocalName } from '../../src/mdns/mdns-names.js';
import { MdnsResolveError, MdnsService } from '../../src/mdns/mdns-service.js';
import { SimNetwork, VirtualClock, type SimHost, type SimSocket } from '../../src/sim/index.js';
import { MDNS_QUERY_TIMEOUT_MS } from '../../src/timing.js';
import { settledAt } from '../support/virtual-time.js';

const GROUP = { address: MDNS_IPV4_GROUP, port: MDNS_PORT };

function multicastSocket(host: SimHost, address?: string): SimSocket {
  const socket = host.bind(MDNS_PORT, address);
  socket.addMembership(MDNS_IPV4_GROUP);
  return socket;
}

function lan(seed = 1) {
  const clock = new VirtualClock();
  const net = new SimNetwork({ clock, seed, link: { delayMs: 1 } });
  const nat = net.addNat({});
  const service = (host: SimHost, options = {}) => new MdnsService({ clock, sockets: [{ socket: multicastSocket(host), family: 'IPv4' }], ...options });
  return { clock, net, nat, service };
}

function answer(name: string, address: string, ttl = 120, id = 0): Uint8Array {
  return encodeDnsMessage({ id, response: true, authoritative: true, answers: [{ name, type: DnsType.A, class: DNS_CLASS_IN, cacheFlush: true, ttl, address }] });
}

describe('mDNS names', () => {
  it('recognises ICE mDNS names (draft §3.2.1 step 1, §3.2.2) and generates version 4 UUID names', () => {
    const name = generateMdnsName();
    assert.match(name, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}\.local$/);
    assert.ok(isMdnsCandidateAddress(name) && isUuidLocalName(name));
    assert.ok(isMdnsCandidateAddress('printer.local') && !isUuidLocalName('printer.local'));
    assert.ok(!isMdnsCandidateAddress('a.b.local') && !isMdnsCandidateAddress('192.0.2.1') && !isMdnsCandidateAddress('local'));
    assert.notEqual(generateMdnsName(), name);
  });
});

describe('mDNS on the simulated network', () => {
  it('resolves a registered name on the same segment, in one round trip', async () => {
    const { clock, nat, service } = lan();
    const a = nat.addHost();
    const b = nat.addHost();
    const responder = service(a);
    const name = responder.register(a.addresses[0]);
    clock.runUntilIdle(); // both announcements (§8.3) are gone before the querier starts listening
    const querier = service(b);
    const start = clock.now();
    const r = await settledAt(clock, querier.resolve(name));
    assert.deepEqual(r.value, [a.addresses[0]]);
    assert.ok(r.at - start < 100, `resolved after ${r.at - start} ms`);
    assert.equal(responder.engine.counters.answered, 1);
    // Resolved again from the cache, with no query.
    const again = await settledAt(clock, querier.resolve(name.toUpperCase()));
    assert.deepEqual(again.value, [a.addresses[0]]);
    responder.close();
    querier.close();
  });

  it("resolves in one round trip from a responder that, like Chromium's, answers only one-question QM queries", async () => {
    const { clock, nat, service } = lan();
    const address = '10.0.0.77';
    const name = generateMdnsName();
    // net::DnsQuery::Parse in Chromium's network service refuses a query whose qdcount is not 1 or whose
    // qclass is not exactly IN (the QU bit set): such a query is never answered.
    const chromium = multicastSocket(nat.addHost());
    const refused: string[] = [];
    chromium.ondatagram = (bytes) => {
      const m = decodeDnsMessage(bytes);
      if (m.response) return;
      if (m.questions.length !== 1 || m.questions[0].unicastResponse) return void refused.push(`qd=${m.questions.length} qu=${m.questions[0]?.unicastResponse}`);
      const [q] = m.questions;
      if (q.name.toLowerCase() !== name || q.type !== DnsType.A) return;
      chromium.send(encodeDnsMessage({ response: true, authoritative: true, answers: [{ name, type: DnsType.A, class: DNS_CLASS_IN, cacheFlush: true, ttl: 120, address }], additionals: [] }), GROUP);
    };
    const querier = service(nat.addHost());
    const r = await settledAt(clock, querier.resolve(name.toUpperCase()));
    assert.deepEqual(r.value, [address]);
    assert.ok(r.at < 100, `resolved after ${r.at} ms`);
    // Only the first query's QU copies were refused; nothing had more than one question.
    assert.deepEqual(refused, ['qd=1 qu=true', 'qd=1 qu=true']);
    querier.close();
  });

  it('a querier that heard the announcement resolves from its cache, without a query', async () => {
    const { clock, nat, service } = lan();
    const a = nat.addHost();
    const querier = service(nat.addHost());
    const responder = service(a);
    const name = responder.register(a.addresses[0]);
    clock.runUntilIdle();
    const r = await settledAt(clock, querier.resolve(name));
    assert.deepEqual(r.value, [a.addresses[0]]);
    assert.equal(responder.engine.counters.answered, 0);
  });

  it('multicast stays on its segment: a host behind another NAT neither hears nor resolves', async () => {
    const { clock, net, nat, service } = lan();
    const other = net.addNat({});
    const a = nat.addHost();
    const far = other.addHost();
    const responder = service(a);
    const querier = service(far);
    const name = responder.register(a.addresses[0]);
    const r = await settledAt(clock, querier.resolve(name));
    assert.ok(r.error instanceof MdnsResolveError && r.error.reason === 'timeout');
    assert.equal(responder.engine.counters.answered, 0);
  });

  it('a name that never resolves is given up after the timeout, after three queries (RFC 6762 §5.2: 0, 1 s, 3 s)', async () => {
    const { clock, nat, service } = lan();
    const b = nat.addHost();
    const listener = multicastSocket(nat.addHost());
    const queries: number[] = [];
    const sent: string[] = [];
    listener.ondatagram = (bytes) => {
      const m = decodeDnsMessage(bytes);
      if (m.response) return;
      // One question per message: Chromium's responder ignores a query with more.
      assert.equal(m.questions.length, 1);
      const [q] = m.questions;
      assert.equal(q.class, DNS_CLASS_IN);
      sent.push(`${Math.round(clock.now() / 1000)} ${q.type === DnsType.A ? 'A' : q.type === DnsType.AAAA ? 'AAAA' : q.type} ${q.unicastResponse ? 'QU' : 'QM'}`);
      if (q.type === DnsType.A && !q.unicastResponse) queries.push(clock.now());
    };
    const querier = service(b);
    const r = await settledAt(clock, querier.resolve(generateMdnsName()));
    assert.ok(r.error instanceof MdnsResolveError && r.error.reason === 'timeout');
    assert.equal(r.at, MDNS_QUERY_TIMEOUT_MS);
    assert.deepEqual(queries.map((t) => Math.round(t / 1000)), [0, 1, 3]);
    // The first query also as QU (RFC 6762 §5.4), then every one as QM: the only form Chromium answers.
    assert.deepEqual(sent, ['0 A QU', '0 AAAA QU', '0 A QM', '0 AAAA QM', '1 A QM', '1 AAAA QM', '3 A QM', '3 AAAA QM']);
    // Nothing left scheduled: nothing keeps a process alive.
    assert.equal(querier.engine.pollTimeout(), undefined);
    assert.equal(clock.pending, 0);
  });

  it('the timeout is an option; a late answer after it is ignored, and a duplicate answer resolves once', () => {
    const engine = new MdnsEngine({ queryTimeoutMs: 2_000 });
    engine.addSocket(0, 'IPv4', 0);
    const name = generateMdnsName();
    const from = { socket: 0, from: { address: '10.0.0.9', port: MDNS_PORT } };
    const events: MdnsEvent[] = [];
    const drain = () => {
      for (let e = engine.pollEvent(); e; e = engine.pollEvent()) events.push(e);
    };
    engine.query(name, 0);
    engine.handleTimeout(2_000);
    drain();
    assert.deepEqual(events, [{ type: 'unresolved', name, reason: 'timeout' }]);
    engine.handleDatagram(answer(name, '10.0.0.9'), from, 2_500);
    drain();
    assert.equal(events.length, 1);

    const other = generateMdnsName();
    engine.query(other, 3_000);
    engine.handleDatagram(answer(other, '10.0.0.7'), from, 3_010);
    engine.handleDatagram(answer(other, '10.0.0.7'), from, 3_011);
    engine.handleDatagram(answer(other, '10.0.0.7'), from, 3_012);
    drain();
    assert.deepEqual(events.slice(1), [{ type: 'resolved', name: other, addresses: ['10.0.0.7'] }]);
    assert.equal(engine.counters.late, 2);
  });

  it('unregister sends a goodbye (TTL 0, RFC 6762 §10.1) that empties the peer’s cache', async () => {
    const { clock, nat, service } = lan();
    const a = nat.addHost();
    const b = nat.addHost();
    const responder = service(a);
    const querier = service(b);
    const name = responder.register(a.addresses[0]);
    await settledAt(clock, querier.resolve(name));
    assert.equal(querier.engine.cacheSize, 1);
    const watcher = multicastSocket(nat.addHost());
    const ttls: number[] = [];
    watcher.ondatagram = (bytes) => ttls.push(...decodeDnsMessage(bytes).answers.map((r) => r.ttl));
    responder.unregister(name);
    clock.runUntilIdle();
    assert.deepEqual(ttls, [0]);
    assert.equal(querier.engine.cacheSize, 0);
    // Closed, the querier rejects at once.
    querier.close();
    const r = await settledAt(clock, querier.resolve(name));
    assert.ok(r.error instanceof MdnsResolveError && r.error.reason === 'closed');
  });

  it('answers a legacy one-shot query from another port by unicast, echoing ID and question, TTL ≤ 10 s (§6.7)', () => {
    const { clock, nat, service } = lan();
    const a = nat.addHost();
    const responder = service(a);
    const name = responder.register(a.addresses[0]);
    clock.runUntilIdle();
    const asker = nat.addHost().bind();
    const got: Uint8Array[] = [];
    asker.ondatagram = (bytes) => got.push(bytes);
    asker.send(encodeDnsMessage({ id: 0xbeef, questions: [{ name, type: DnsType.A, class: DNS_CLASS_IN, unicastResponse: false }] }), GROUP);
    // Not answered: a question of the other family, and a name not registered.
    asker.send(encodeDnsMessage({ id: 1, questions: [{ name, type: DnsType.AAAA, class: DNS_CLASS_IN, unicastResponse: false }] }), GROUP);
    asker.send(encodeDnsMessage({ id: 2, questions: [{ name: generateMdnsName(), type: DnsType.A, class: DNS_CLASS_IN, unicastResponse: false }] }), GROUP);
    clock.runUntilIdle();
    assert.equal(got.length, 1);
    const m = decodeDnsMessage(got[0]);
    assert.equal(m.id, 0xbeef);
    assert.equal(m.questions[0].name, name);
    assert.deepEqual(m.answers.map((r) => [r.address, r.ttl, r.cacheFlush]), [[a.addresses[0], 10, false]]);
  });

  it('a flood of responses and of names to resolve does not grow memory: cache and pending queries are capped', () => {
    const engine = new MdnsEngine({ maxCacheEntries: 50, maxPendingQueries: 8 });
    engine.addSocket(0, 'IPv4', 0);
    const from = { socket: 0, from: { address: '10.0.0.66', port: MDNS_PORT } };
    for (let i = 0; i < 20_000; i++) {
      engine.handleDatagram(answer(generateMdnsName(), `10.0.${(i >> 8) & 255}.${i & 255}`), from, i);
      // Garbage too: counted, dropped.
      if (i % 10 === 0) engine.handleDatagram(new Uint8Array([0, 1, 2, 3, 4]), from, i);
    }
    assert.ok(engine.cacheSize <= 50, `cache holds ${engine.cacheSize}`);
    assert.equal(engine.counters.malformed, 2_000);
    // Many addresses for one name are capped as well.
    const one = generateMdnsName();
    engine.query(one, 30_000);
    for (let i = 0; i < 1_000; i++) {
      const bytes = encodeDnsMessage({ response: true, answers: [{ name: one, type: DnsType.A, class: 1, cacheFlush: false, ttl: 120, address: `10.1.${i >> 8}.${i & 255}` }] });
      engine.handleDatagram(bytes, from, 30_001 + i);
    }
    const events: MdnsEvent[] = [];
    for (let e = engine.pollEvent(); e; e = engine.pollEvent()) events.push(e);
    assert.deepEqual(events, [{ type: 'resolved', name: one, addresses: ['10.1.0.0'] }]);
    // Pending queries stop at the cap: the rest are refused at once.
    for (let i = 0; i < 100; i++) engine.query(generateMdnsName(), 40_000);
    assert.equal(engine.pendingQueries, 8);
    let refused = 0;
    for (let e = engine.pollEvent(); e; e = engine.pollEvent()) if (e.type === 'unresolved' && e.reason === 'limit') refused++;
    assert.equal(refused, 92);
    assert.throws(() => new MdnsEngine({ maxCacheEntries: 0 }), RangeError);
  });
});
