// The TURN client engine's address families (RFC 8656 §7.1–§7.4): REQUESTED-ADDRESS-FAMILY for the family
// asked for, one retry with the other family after a 440, dual allocations (ADDITIONAL-ADDRESS-FAMILY) with
// both relayed addresses or one and ADDRESS-ERROR-CODE, peers of either family through the matching relayed
// address. Driven directly, without sockets: a scripted server answers each request the client transmits.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { familyOf, type TransportAddress } from '../../src/net/transport-address.js';
import type { StunAttributeEntry } from '../../src/stun/attribute-values.js';
import { StunMethod } from '../../src/stun/constants.js';
import { decodeStunMessage } from '../../src/stun/decode.js';
import { encodeStunMessage } from '../../src/stun/encode.js';
import { longTermKey } from '../../src/stun/integrity.js';
import { createStunMessage, type StunMessage } from '../../src/stun/message.js';
import { encodeChannelData } from '../../src/turn/channel-data.js';
import { TurnClient } from '../../src/turn/client.js';
import type { TurnClientEvent, TurnClientOptions } from '../../src/turn/client-options.js';
import { TurnError } from '../../src/turn/errors.js';

const SERVER = { address: '192.0.2.1', port: 3478 };
const REALM = 'example.org';
const KEY = longTermKey('alice', REALM, 'secret');
const RELAY4 = { address: '192.0.2.1', port: 50000 };
const RELAY6 = { address: '2001:db8::1', port: 50002 };
const MAPPED = { address: '198.51.100.20', port: 40000 };

/** What the scripted server answers to an authenticated request: attributes (an ERROR-CODE makes it an error). */
type Answer = (request: StunMessage) => StunAttributeEntry[];

/** A server relaying `families`, answering dual requests as RFC 8656 §7.2 steps 6, 7 and 9 say. */
function familyServer(families: ('IPv4' | 'IPv6')[], options: { ignoreAdditional?: boolean } = {}): Answer {
  return (request) => {
    if (request.method !== StunMethod.Allocate) return request.method === StunMethod.Refresh ? [['LIFETIME', request.get('LIFETIME') ?? 600]] : [];
    const requested = request.get('REQUESTED-ADDRESS-FAMILY');
    const additional = options.ignoreAdditional ? undefined : request.get('ADDITIONAL-ADDRESS-FAMILY');
    if (requested && additional) return [['ERROR-CODE', { code: 400, reason: 'Bad Request' }]];
    const relayOf = (f: 'IPv4' | 'IPv6'): StunAttributeEntry => ['XOR-RELAYED-ADDRESS', f === 'IPv4' ? RELAY4 : RELAY6];
    const rest: StunAttributeEntry[] = [['XOR-MAPPED-ADDRESS', MAPPED], ['LIFETIME', 600]];
    if (additional) {
      const granted = (['IPv4', 'IPv6'] as const).filter((f) => families.includes(f));
      if (granted.length === 0) return [['ERROR-CODE', { code: 508, reason: 'Insufficient Capacity' }]];
      const refused = (['IPv4', 'IPv6'] as const).find((f) => !families.includes(f));
      const addressError: StunAttributeEntry[] = refused ? [['ADDRESS-ERROR-CODE', { family: refused, code: 440, reason: 'Address Family not Supported' }]] : [];
      return [...granted.map(relayOf), ...addressError, ...rest];
    }
    const family = requested ?? 'IPv4';
    // coturn pads its reason phrases with NULs and counts them in the length.
    if (!families.includes(family)) return [['ERROR-CODE', { code: 440, reason: 'Address family not supported\u0000\u0000' }]];
    return [relayOf(family), ...rest];
  };
}

/** A TurnClient with the server played by `answer`; `run` delivers every transmit and its answer until quiet. */
function harness(answer: Answer, options: Partial<TurnClientOptions> = {}) {
  const client = new TurnClient({ server: SERVER, username: 'alice', credential: 'secret', fingerprint: false, ...options });
  const requests: StunMessage[] = [];
  const toServer: Uint8Array[] = [];
  const events: TurnClientEvent[] = [];
  let now = 0;
  const run = () => {
    for (let t = client.pollTransmit(); t; t = client.pollTransmit()) {
      if ((t.bytes[0] & 0xc0) !== 0) {
        toServer.push(t.bytes);
        continue; // ChannelData
      }
      const request = decodeStunMessage(t.bytes);
      if (request.class !== 'request') {
        toServer.push(t.bytes);
        continue;
      }
      requests.push(request);
      let attributes: StunAttributeEntry[];
      let protect = true;
      if (!request.has('MESSAGE-INTEGRITY')) {
        attributes = [['ERROR-CODE', { code: 401, reason: 'Unauthenticated' }], ['REALM', REALM], ['NONCE', 'n1']];
        protect = false;
      } else attributes = answer(request);
      const cls = attributes.some(([name]) => name === 'ERROR-CODE') ? 'error' : 'success';
      const response = createStunMessage({ method: request.method, class: cls, transactionId: request.transactionId, attributes });
      client.handleDatagram(encodeStunMessage(response, protect ? { integrity: { key: KEY } } : undefined), { socket: 0, from: SERVER }, now);
    }
    for (let e = client.pollEvent(); e; e = client.pollEvent()) events.push(e);
  };
  return {
    client,
    requests,
    toServer,
    events,
    run,
    allocate() {
      client.allocate(now);
      run();
    },
    advance(ms: number) {
      now += ms;
      client.handleTimeout(now);
      run();
    },
    act(f: (now: number) => void) {
      f(now);
      run();
    },
    allocates: () => requests.filter((r) => r.method === StunMethod.Allocate && r.has('MESSAGE-INTEGRITY')),
  };
}

const failure = (events: TurnClientEvent[]): TurnError => {
  const e = events.find((x) => x.type === 'allocation-failed');
  assert.ok(e && e.type === 'allocation-failed', `no allocation-failed event in ${JSON.stringify(events.map((x) => x.type))}`);
  return e.error;
};

describe('TURN client: relayed address families', () => {
  it('sends REQUESTED-ADDRESS-FAMILY for IPv6, and for IPv4 when asked explicitly, none by default', () => {
    for (const family of ['IPv6', 'IPv4', undefined] as const) {
      const h = harness(familyServer(['IPv4', 'IPv6']), { family });
      h.allocate();
      assert.equal(h.client.state, 'allocated');
      assert.equal(h.allocates()[0].get('REQUESTED-ADDRESS-FAMILY'), family);
      assert.equal(h.allocates()[0].has('ADDITIONAL-ADDRESS-FAMILY'), false);
      assert.equal(h.client.relayedAddress?.address, family === 'IPv6' ? RELAY6.address : RELAY4.address);
    }
  });

  it('after a 440 to the default (IPv4) asks once, explicitly, for IPv6 — an IPv6-only server relays', () => {
    const h = harness(familyServer(['IPv6']));
    h.allocate();
    const [first, second] = h.allocates();
    assert.equal(first.has('REQUESTED-ADDRESS-FAMILY'), false);
    assert.equal(second.get('REQUESTED-ADDRESS-FAMILY'), 'IPv6');
    assert.notDeepEqual(second.transactionId, first.transactionId, 'a new transaction, not a retransmission');
    assert.equal(h.client.state, 'allocated');
    assert.deepEqual(h.client.relayedAddress, RELAY6);
    assert.deepEqual(h.client.relayedAddresses, [RELAY6]);
  });

  it('after a 440 to IPv6 asks for IPv4; when both are refused the error names both attempts, NULs trimmed', () => {
    const h = harness(familyServer(['IPv4']), { family: 'IPv6' });
    h.allocate();
    assert.deepEqual(h.allocates().map((r) => r.get('REQUESTED-ADDRESS-FAMILY')), ['IPv6', 'IPv4']);
    assert.deepEqual(h.client.relayedAddress, RELAY4);

    const none = harness(familyServer([]));
    none.allocate();
    assert.equal(none.allocates().length, 2, 'one fallback, never more');
    const error = failure(none.events);
    assert.equal(error.code, 440);
    assert.equal(error.kind, 'response');
    assert.equal(error.reason, 'IPv4 relay: 440 Address family not supported; then IPv6 relay: 440 Address family not supported');
    assert.doesNotMatch(error.message, /\u0000/);
    const closed = none.events.at(-1);
    assert.ok(closed?.type === 'closed' && closed.reason === 'not-allocated' && closed.error === error, 'the closing reason says both attempts too');
  });

  it('with familyFallback: false a 440 ends the attempt (RFC 8656 §7.4)', () => {
    const h = harness(familyServer(['IPv6']), { familyFallback: false });
    h.allocate();
    assert.equal(h.allocates().length, 1);
    const error = failure(h.events);
    assert.deepEqual([error.code, error.reason], [440, 'Address family not supported']);
  });

  it('refuses a relayed address of a family not asked for, without a fallback (§7.3), and deletes it', () => {
    const h = harness(() => [['XOR-RELAYED-ADDRESS', RELAY4], ['LIFETIME', 600]], { family: 'IPv6' });
    h.allocate();
    const error = failure(h.events);
    assert.deepEqual([error.code, error.kind], [440, 'protocol']);
    assert.equal(h.allocates().length, 1);
    assert.equal(h.requests.at(-1)?.get('LIFETIME'), 0);
  });

  it('rejects dualStack together with family (§7.1: never both attributes)', () => {
    assert.throws(() => new TurnClient({ server: SERVER, username: 'a', credential: 'b', dualStack: true, family: 'IPv6' }), RangeError);
  });
});

describe('TURN client: dual allocations (ADDITIONAL-ADDRESS-FAMILY)', () => {
  it('asks with ADDITIONAL-ADDRESS-FAMILY IPv6 only, and takes both relayed addresses, IPv4 first', () => {
    const h = harness(familyServer(['IPv6', 'IPv4']), { dualStack: true });
    h.allocate();
    const [request] = h.allocates();
    assert.equal(request.get('ADDITIONAL-ADDRESS-FAMILY'), 'IPv6');
    assert.equal(request.has('REQUESTED-ADDRESS-FAMILY'), false);
    // coturn 4.6's code point for it (draft-ietf-tram-turnbis), on by default, off with draftDualStackAttribute: false.
    assert.deepEqual([...(request.attributes.find((a) => a.type === 0x8032)?.value as Uint8Array)], [2, 0, 0, 0]);
    const plain = harness(familyServer(['IPv6', 'IPv4']), { dualStack: true, draftDualStackAttribute: false });
    plain.allocate();
    assert.equal(plain.allocates()[0].attributes.some((a) => a.type === 0x8032), false);
    assert.deepEqual(h.client.relayedAddresses, [RELAY4, RELAY6]);
    assert.deepEqual(h.client.relayedAddress, RELAY4);
    assert.equal(h.client.addressError, undefined);
    const allocated = h.events.find((e) => e.type === 'allocated');
    assert.ok(allocated?.type === 'allocated');
    assert.deepEqual(allocated.relayedAddresses, [RELAY4, RELAY6]);
    assert.deepEqual(allocated.relayed, RELAY4);
  });

  it('relays to peers of both families: permissions, channels, Send indications, data in from both', () => {
    const h = harness(familyServer(['IPv4', 'IPv6']), { dualStack: true });
    h.allocate();
    const peer4: TransportAddress = { address: '192.0.2.50', port: 6000 };
    const peer6: TransportAddress = { address: '2001:db8::50', port: 6000 };
    h.act((now) => h.client.createPermission(peer4, now));
    h.act((now) => h.client.createPermission(peer6, now));
    const permissions = h.requests.filter((r) => r.method === StunMethod.CreatePermission);
    assert.deepEqual(permissions.map((r) => familyOf(r.get('XOR-PEER-ADDRESS')!.address)), ['IPv4', 'IPv6']);
    assert.deepEqual(h.events.filter((e) => e.type === 'permission').map((e) => e.type === 'permission' && e.result), ['created', 'created']);
    assert.equal(h.client.send(peer6, new Uint8Array([6]), 0), 'indication');
    assert.equal(h.client.send(peer4, new Uint8Array([4]), 0), 'indication');
    assert.deepEqual(h.client.relayFor(peer6), RELAY6);
    assert.deepEqual(h.client.relayFor(peer4), RELAY4);
    let channel6 = 0;
    h.act((now) => (channel6 = h.client.bindChannel(peer6, now) ?? 0));
    assert.equal(channel6, 0x4000);
    assert.equal(h.client.send(peer6, new Uint8Array([7]), 0), 'channel');
    // Data from either family's peer is delivered.
    const data = (peer: TransportAddress) =>
      encodeStunMessage(createStunMessage({ method: StunMethod.Data, class: 'indication', attributes: [['XOR-PEER-ADDRESS', peer], ['DATA', new Uint8Array([1])]] }));
    h.act((now) => h.client.handleDatagram(data(peer4), { socket: 0, from: SERVER }, now));
    h.act((now) => h.client.handleDatagram(encodeChannelData(0x4000, new Uint8Array([2])), { socket: 0, from: SERVER }, now));
    assert.deepEqual(
      h.events.filter((e) => e.type === 'data').map((e) => e.type === 'data' && e.peer.address),
      ['192.0.2.50', '2001:db8::50'],
    );
  });

  it('refreshes the whole allocation with one Refresh, no REQUESTED-ADDRESS-FAMILY (§8.1), and deletes it so', () => {
    const h = harness(familyServer(['IPv4', 'IPv6']), { dualStack: true, lifetimeSeconds: 600 });
    h.allocate();
    h.advance(541_000);
    const refreshes = h.requests.filter((r) => r.method === StunMethod.Refresh);
    assert.equal(refreshes.length, 1);
    assert.equal(refreshes[0].has('REQUESTED-ADDRESS-FAMILY'), false);
    assert.ok(h.events.some((e) => e.type === 'refreshed'));
    assert.deepEqual(h.client.relayedAddresses, [RELAY4, RELAY6], 'both halves live on');
    h.act((now) => h.client.close(now));
    const last = h.requests.at(-1)!;
    assert.deepEqual([last.method, last.get('LIFETIME'), last.has('REQUESTED-ADDRESS-FAMILY')], [StunMethod.Refresh, 0, false]);
    assert.equal(h.client.state, 'closed');
  });

  it('takes the half granted and reports ADDRESS-ERROR-CODE for the other, as data, not as an error', () => {
    const h = harness(familyServer(['IPv6']), { dualStack: true });
    h.allocate();
    assert.equal(h.client.state, 'allocated');
    assert.deepEqual(h.client.relayedAddresses, [RELAY6]);
    assert.deepEqual(h.client.relayedAddress, RELAY6);
    assert.deepEqual(h.client.addressError, { family: 'IPv4', code: 440, reason: 'Address Family not Supported' });
    const allocated = h.events.find((e) => e.type === 'allocated');
    assert.ok(allocated?.type === 'allocated');
    assert.deepEqual(allocated.addressError, h.client.addressError);
    assert.ok(!h.events.some((e) => e.type === 'allocation-failed'));
    // Only peers of the granted family are reachable.
    h.act((now) => h.client.createPermission({ address: '192.0.2.50', port: 1 }, now));
    const refused = h.events.find((e) => e.type === 'permission');
    assert.ok(refused?.type === 'permission' && refused.result === 'failed' && refused.error.code === 443);
  });

  it('a server that ignores ADDITIONAL-ADDRESS-FAMILY grants one relayed address; an IPv6-only one 440s and the fallback asks for IPv6', () => {
    const h = harness(familyServer(['IPv4', 'IPv6'], { ignoreAdditional: true }), { dualStack: true });
    h.allocate();
    assert.deepEqual(h.client.relayedAddresses, [RELAY4]);
    const v6 = harness(familyServer(['IPv6'], { ignoreAdditional: true }), { dualStack: true });
    v6.allocate();
    const [first, second] = v6.allocates();
    assert.equal(first.get('ADDITIONAL-ADDRESS-FAMILY'), 'IPv6');
    assert.deepEqual([second.get('REQUESTED-ADDRESS-FAMILY'), second.has('ADDITIONAL-ADDRESS-FAMILY')], ['IPv6', false]);
    assert.deepEqual(v6.client.relayedAddresses, [RELAY6]);
  });
});
