// The TURN server engine never throws on input: random bytes, mutated valid messages and random
// well-formed STUN messages of the TURN methods, on the listening socket and on a relay socket.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { DatagramSource } from '../../src/net/engine.js';
import { TurnServer } from '../../src/server/turn-server.js';
import type { StunAttributeEntry } from '../../src/stun/attribute-values.js';
import { StunMethod } from '../../src/stun/constants.js';
import { decodeStunMessage } from '../../src/stun/decode.js';
import { encodeStunMessage } from '../../src/stun/encode.js';
import { longTermKey } from '../../src/stun/integrity.js';
import { createStunMessage } from '../../src/stun/message.js';
import { encodeChannelData } from '../../src/turn/channel-data.js';

const CLIENT: DatagramSource = { socket: 0, from: { address: '198.51.100.7', port: 5000 } };
const RELAY_SOCKET = 100;
const PEER = { address: '192.0.2.9', port: 7000 };
const PEER_SOURCE: DatagramSource = { socket: RELAY_SOCKET, from: PEER };

/** An engine with one allocation (a permission and channel 0x4000 to PEER), and valid messages for it. */
function allocatedEngine() {
  const engine = new TurnServer({ users: { alice: 'secret' }, unixEpochMs: 0 });
  const drain = () => {
    const out: Uint8Array[] = [];
    for (let t = engine.pollTransmit(); t; t = engine.pollTransmit()) out.push(t.bytes);
    for (let e = engine.pollEvent(); e; e = engine.pollEvent()) if (e.type === 'open-relay') engine.relayOpened(e.requestId, RELAY_SOCKET, { address: '192.0.2.1', port: 50_000 }, 0);
    for (let t = engine.pollTransmit(); t; t = engine.pollTransmit()) out.push(t.bytes);
    return out;
  };
  const allocate = (attributes: StunAttributeEntry[]) => encodeStunMessage(createStunMessage({ method: StunMethod.Allocate, class: 'request', attributes }));
  engine.handleDatagram(allocate([['REQUESTED-TRANSPORT', 17]]), CLIENT, 0);
  const challenge = decodeStunMessage(drain()[0]);
  const realm = challenge.get('REALM')!;
  const nonce = challenge.get('NONCE')!;
  const key = longTermKey('alice', realm, 'secret');
  const authed = (method: number, attributes: StunAttributeEntry[]) =>
    encodeStunMessage(
      createStunMessage({ method, class: 'request', attributes: [...attributes, ['USERNAME', 'alice'], ['REALM', realm], ['NONCE', nonce]] }),
      { integrity: { key }, fingerprint: true },
    );
  const corpus = [
    authed(StunMethod.Allocate, [['REQUESTED-TRANSPORT', 17], ['LIFETIME', 900]]),
    authed(StunMethod.CreatePermission, [['XOR-PEER-ADDRESS', PEER]]),
    authed(StunMethod.ChannelBind, [['CHANNEL-NUMBER', 0x4000], ['XOR-PEER-ADDRESS', PEER]]),
    authed(StunMethod.Refresh, [['LIFETIME', 600]]),
    encodeStunMessage(createStunMessage({ method: StunMethod.Send, class: 'indication', attributes: [['XOR-PEER-ADDRESS', PEER], ['DATA', new Uint8Array([1, 2, 3])]] })),
    encodeChannelData(0x4000, new Uint8Array([9, 8, 7, 6, 5])),
    encodeStunMessage(createStunMessage({ method: StunMethod.Binding, class: 'request' }), { fingerprint: true }),
  ];
  for (const bytes of corpus.slice(0, 3)) {
    engine.handleDatagram(bytes, CLIENT, 0);
    drain();
  }
  assert.equal(engine.allocationCount, 1);
  return { engine, corpus, drain, key, realm, nonce };
}

let nextSocket = RELAY_SOCKET + 1;

/** Feeds one datagram and plays the driver: relay sockets open at once (the first is RELAY_SOCKET). */
function feed(engine: TurnServer, bytes: Uint8Array, toRelay: boolean, now: number): void {
  engine.handleDatagram(bytes, toRelay ? PEER_SOURCE : CLIENT, now);
  engine.handleTimeout(now);
  for (let e = engine.pollEvent(); e; e = engine.pollEvent()) {
    if (e.type === 'open-relay') engine.relayOpened(e.requestId, nextSocket++, { address: '192.0.2.1', port: 50_000 }, now);
  }
  for (let t = engine.pollTransmit(); t; t = engine.pollTransmit());
}

const mutation = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ maxLength: 8 }) }),
);
type Mutation = typeof mutation extends fc.Arbitrary<infer M> ? M : never;

function mutate(input: Uint8Array, mutations: Mutation[]): Uint8Array {
  let bytes = input.slice();
  for (const m of mutations) {
    if (bytes.length === 0) break;
    const at = m.at % bytes.length;
    if (m.kind === 'flip') bytes[at] = m.value;
    else if (m.kind === 'truncate') bytes = bytes.slice(0, at);
    else bytes = new Uint8Array([...bytes.subarray(0, at), ...m.bytes, ...bytes.subarray(at)]);
  }
  return bytes;
}

const address = fc.oneof(
  fc.tuple(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 255 })).map((b) => b.join('.')),
  fc.constantFrom('::1', '::', 'fe80::1', '2001:db8::7', '::ffff:127.0.0.1', '127.0.0.1', '0.0.0.0', '192.0.2.9'),
);
const transportAddress = fc.record({ address, port: fc.integer({ min: 0, max: 65535 }) });
const attribute: fc.Arbitrary<StunAttributeEntry> = fc.oneof(
  transportAddress.map((a) => ['XOR-PEER-ADDRESS', a] as const),
  fc.integer({ min: 0, max: 0xffff }).map((n) => ['CHANNEL-NUMBER', n] as const),
  fc.oneof(fc.integer({ min: 1, max: 0xffffffff }), fc.constant(0)).map((n) => ['LIFETIME', n] as const),
  fc.oneof(fc.constant(17), fc.integer({ min: 0, max: 255 })).map((n) => ['REQUESTED-TRANSPORT', n] as const),
  fc.constantFrom('IPv4', 'IPv6').map((f) => ['REQUESTED-ADDRESS-FAMILY', f] as const),
  fc.constantFrom('IPv4', 'IPv6').map((f) => ['ADDITIONAL-ADDRESS-FAMILY', f] as const),
  fc.boolean().map((r) => ['EVEN-PORT', { reservePort: r }] as const),
  fc.constant(['DONT-FRAGMENT', true] as const),
  fc.uint8Array({ minLength: 8, maxLength: 8 }).map((t) => ['RESERVATION-TOKEN', t] as const),
  fc.uint8Array({ maxLength: 64 }).map((d) => ['DATA', d] as const),
  fc.constantFrom('alice', 'bob', '1700000000:x', '').map((u) => ['USERNAME', u] as const),
  fc.string({ maxLength: 20 }).map((r) => ['REALM', r] as const),
  fc.string({ maxLength: 60 }).map((n) => ['NONCE', n] as const),
  fc.integer({ min: 0, max: 3 }).map((a) => ['PASSWORD-ALGORITHM', { algorithm: a, parameters: new Uint8Array(0) }] as const),
  fc.array(fc.integer({ min: 0, max: 3 }), { maxLength: 3 }).map((l) => ['PASSWORD-ALGORITHMS', l.map((a) => ({ algorithm: a, parameters: new Uint8Array(0) }))] as const),
  fc.uint8Array({ minLength: 20, maxLength: 20 }).map((m) => ['MESSAGE-INTEGRITY', m] as const),
  fc.uint8Array({ minLength: 32, maxLength: 32 }).map((m) => ['MESSAGE-INTEGRITY-SHA256', m] as const),
  fc.tuple(fc.integer({ min: 0x0030, max: 0x7fff }), fc.uint8Array({ maxLength: 8 })).map(([t, v]) => [t, v] as const),
);

describe('TURN server fuzzing', () => {
  it('survives random bytes on the listening and the relay socket', () => {
    const { engine } = allocatedEngine();
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 700 }), fc.boolean(), fc.nat(4_000_000), (bytes, toRelay, now) => feed(engine, bytes, toRelay, now)),
      { numRuns: 5000 },
    );
    assert.equal(engine.counters.dropped['internal-error'], 0);
  });

  it('survives mutated valid TURN messages and ChannelData', () => {
    const { engine, corpus } = allocatedEngine();
    fc.assert(
      fc.property(fc.nat(corpus.length - 1), fc.array(mutation, { minLength: 1, maxLength: 4 }), fc.boolean(), (i, mutations, toRelay) =>
        feed(engine, mutate(corpus[i], mutations), toRelay, 1000),
      ),
      { numRuns: 5000 },
    );
    assert.equal(engine.counters.dropped['internal-error'], 0);
    assert.ok(engine.counters.errorResponses[400] !== undefined || engine.counters.errorResponses[401] !== undefined);
  });

  it('survives random well-formed messages of the TURN methods, signed or not', () => {
    const { engine, key, realm, nonce } = allocatedEngine();
    const methods = [StunMethod.Allocate, StunMethod.Refresh, StunMethod.CreatePermission, StunMethod.ChannelBind, StunMethod.Send, StunMethod.Data, StunMethod.Binding];
    fc.assert(
      fc.property(
        fc.constantFrom(...methods),
        fc.constantFrom('request' as const, 'indication' as const, 'success' as const, 'error' as const),
        fc.array(attribute, { maxLength: 8 }),
        fc.boolean(),
        fc.nat(500_000),
        (method, cls, attributes, sign, now) => {
          let bytes: Uint8Array;
          // Signed ones carry valid credentials, so they get past authentication into the method handlers.
          const credentials: StunAttributeEntry[] = sign ? [['USERNAME', 'alice'], ['REALM', realm], ['NONCE', nonce]] : [];
          try {
            bytes = encodeStunMessage(createStunMessage({ method, class: cls, attributes: [...attributes, ...credentials] }), sign ? { integrity: { key } } : undefined);
          } catch {
            return; // the generator made something the encoder refuses; not the server's concern
          }
          feed(engine, bytes, false, now);
        },
      ),
      { numRuns: 5000 },
    );
    assert.equal(engine.counters.dropped['internal-error'], 0);
    // Authenticated and matched to the allocation: the method handlers themselves ran.
    const { requests } = engine.counters;
    assert.ok(requests.refresh > 0 && requests.createPermission > 0 && requests.channelBind > 0, JSON.stringify(requests));
  });
});
