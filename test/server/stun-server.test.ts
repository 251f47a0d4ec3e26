// The STUN server engine on its own (no sockets, no clock): what it answers, what it drops and counts, and
// that no input makes it throw (DESIGN.md rule 3).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { toHex } from '../../src/crypto/index.js';
import type { DatagramSource, Transmit } from '../../src/net/engine.js';
import { StunServer, type StunServerCounters, type StunServerOptions } from '../../src/server/stun-server.js';
import {
  MAGIC_COOKIE,
  STUN_ATTRIBUTES,
  StunMethod,
  createStunMessage,
  decodeStunMessage,
  encodeStunMessage,
  type StunAttributeEntry,
  type StunClass,
  type StunMessage,
} from '../../src/stun/index.js';
import { SAMPLE_IPV4_RESPONSE, SAMPLE_REQUEST } from '../stun/vectors.js';

const CLIENT = { address: '192.0.2.7', port: 40000 };
const SOURCE: DatagramSource = { socket: 3, from: CLIENT };

/** Feeds one datagram and returns everything the engine queued in answer. */
function feed(server: StunServer, bytes: Uint8Array, source: DatagramSource = SOURCE): Transmit[] {
  server.handleDatagram(bytes, source, 1000);
  const out: Transmit[] = [];
  for (let t = server.pollTransmit(); t; t = server.pollTransmit()) out.push(t);
  return out;
}

/** Feeds one datagram that must get exactly one answer, sent back where it came from; returns it decoded. */
function answer(server: StunServer, bytes: Uint8Array, source: DatagramSource = SOURCE): StunMessage {
  const out = feed(server, bytes, source);
  assert.equal(out.length, 1, `expected one response, got ${out.length}`);
  assert.equal(out[0].socket, source.socket, 'answered on the socket the request came in on');
  assert.deepEqual(out[0].to, source.from, 'answered to the source address');
  return decodeStunMessage(out[0].bytes);
}

function accounted(c: StunServerCounters): number {
  return c.answered + c.badRequests + c.unknownAttributes + c.indications + Object.values(c.dropped).reduce((a, b) => a + b, 0);
}

function bindingRequest(attributes: StunAttributeEntry[] = [], fingerprint = false): { bytes: Uint8Array; transactionId: Uint8Array } {
  const message = createStunMessage({ method: StunMethod.Binding, class: 'request', attributes });
  return { bytes: encodeStunMessage(message, { fingerprint }), transactionId: message.transactionId };
}

function message(method: number, cls: StunClass, attributes: StunAttributeEntry[] = []): Uint8Array {
  return encodeStunMessage(createStunMessage({ method, class: cls, attributes }));
}

/** An RFC 3489 Binding request: no magic cookie, a 128-bit transaction ID in bytes 4..19. */
function classicRequest(attributes: Uint8Array = new Uint8Array(0)): Uint8Array {
  const bytes = new Uint8Array(20 + attributes.length);
  const view = new DataView(bytes.buffer);
  view.setUint16(0, 0x0001);
  view.setUint16(2, attributes.length);
  for (let i = 4; i < 20; i++) bytes[i] = 0x10 + i; // not the cookie
  bytes.set(attributes, 20);
  return bytes;
}

/** A Binding request with one attribute written by hand, so its length can be one the codec refuses. */
function requestWithRawAttribute(type: number, value: Uint8Array, declaredLength = value.length): Uint8Array {
  const padded = (value.length + 3) & ~3;
  const bytes = new Uint8Array(20 + 4 + padded);
  const view = new DataView(bytes.buffer);
  view.setUint16(0, 0x0001);
  view.setUint16(2, 4 + padded);
  view.setUint32(4, MAGIC_COOKIE);
  bytes.set([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12], 8);
  view.setUint16(20, type);
  view.setUint16(22, declaredLength);
  bytes.set(value, 24);
  return bytes;
}

describe('StunServer engine: Binding', () => {
  it('answers a Binding request with XOR-MAPPED-ADDRESS = the source, the same transaction ID and SOFTWARE', () => {
    const server = new StunServer();
    const { bytes, transactionId } = bindingRequest();
    const r = answer(server, bytes);
    assert.equal(r.method, StunMethod.Binding);
    assert.equal(r.class, 'success');
    assert.equal(toHex(r.transactionId), toHex(transactionId));
    assert.equal(r.hasMagicCookie, true);
    assert.deepEqual(r.get('XOR-MAPPED-ADDRESS'), CLIENT);
    assert.equal(r.has('MAPPED-ADDRESS'), false);
    assert.equal(r.get('SOFTWARE'), 'icebridge');
    assert.equal(server.counters.answered, 1);
  });

  it('answers an IPv6 source with an IPv6 XOR-MAPPED-ADDRESS', () => {
    const from = { address: '2001:db8::1', port: 3478 };
    const r = answer(new StunServer(), bindingRequest().bytes, { socket: 0, from });
    assert.deepEqual(r.get('XOR-MAPPED-ADDRESS'), from);
  });

  it('answers the RFC 5769 §2.1 sample request (integrity it cannot check is not a reason to refuse)', () => {
    const r = answer(new StunServer(), SAMPLE_REQUEST.bytes);
    assert.equal(r.class, 'success');
    assert.equal(toHex(r.transactionId), SAMPLE_REQUEST.transactionId);
    assert.equal(r.has('FINGERPRINT'), true, 'the sample has FINGERPRINT, so the answer does');
  });

  it('answers an RFC 3489 request (no cookie) with MAPPED-ADDRESS, echoing all 128 bits of its transaction ID', () => {
    const request = classicRequest();
    const r = answer(new StunServer(), request);
    assert.equal(r.class, 'success');
    assert.equal(r.hasMagicCookie, false);
    assert.deepEqual(r.get('MAPPED-ADDRESS'), CLIENT);
    assert.equal(r.has('XOR-MAPPED-ADDRESS'), false, 'an RFC 3489 client cannot read XOR-MAPPED-ADDRESS');
    assert.equal(r.cookie, new DataView(request.buffer).getUint32(4));
    assert.equal(toHex(r.transactionId), toHex(request.subarray(8, 20)));
  });

  it('with answerClassicStun: false, drops an RFC 3489 request as not STUN', () => {
    const server = new StunServer({ answerClassicStun: false });
    assert.deepEqual(feed(server, classicRequest()), []);
    assert.equal(server.counters.dropped['not-stun'], 1);
  });
});

describe('StunServer engine: 420 Unknown Attribute', () => {
  it('lists exactly the unknown comprehension-required types, in wire order', () => {
    const server = new StunServer();
    const { bytes, transactionId } = bindingRequest([
      [0x7fff, new Uint8Array([1, 2, 3, 4])],
      ['PRIORITY', 1], // known: not listed
      [0x0002, new Uint8Array(8)], // RFC 3489 RESPONSE-ADDRESS: gone from RFC 8489, so unknown
      [0x8abc, new Uint8Array(3)], // unknown but comprehension-optional: ignored (RFC 8489 §14)
      [0x0031, new Uint8Array(0)],
    ]);
    const r = answer(server, bytes);
    assert.equal(r.class, 'error');
    assert.equal(toHex(r.transactionId), toHex(transactionId));
    assert.equal(r.get('ERROR-CODE')?.code, 420);
    assert.deepEqual(r.get('UNKNOWN-ATTRIBUTES'), [0x7fff, 0x0002, 0x0031]);
    assert.equal(r.has('XOR-MAPPED-ADDRESS'), false);
    assert.equal(server.counters.unknownAttributes, 1);
    assert.equal(server.counters.answered, 0);
  });

  it('ignores unknown comprehension-optional attributes and answers normally', () => {
    const r = answer(new StunServer(), bindingRequest([[0x8abc, new Uint8Array(5)], [0xffff, new Uint8Array(0)]]).bytes);
    assert.equal(r.class, 'success');
  });

  it('answers 420 to an RFC 3489 request too, without XOR attributes', () => {
    const unknown = new Uint8Array([0x00, 0x02, 0x00, 0x08, 0, 1, 0, 80, 10, 0, 0, 1]);
    const r = answer(new StunServer(), classicRequest(unknown));
    assert.equal(r.hasMagicCookie, false);
    assert.equal(r.get('ERROR-CODE')?.code, 420);
    assert.deepEqual(r.get('UNKNOWN-ATTRIBUTES'), [0x0002]);
  });
});

describe('StunServer engine: 400 Bad Request', () => {
  it('answers a Binding request whose attribute value has an invalid length (PRIORITY of 3 bytes)', () => {
    const server = new StunServer();
    const bytes = requestWithRawAttribute(0x0024, new Uint8Array([1, 2, 3]));
    const r = answer(server, bytes);
    assert.equal(r.class, 'error');
    assert.equal(r.method, StunMethod.Binding);
    assert.equal(toHex(r.transactionId), toHex(bytes.subarray(8, 20)));
    const error = r.get('ERROR-CODE');
    assert.equal(error?.code, 400);
    assert.match(error?.reason ?? '', /PRIORITY/);
    assert.ok((error?.reason.length ?? 0) <= 127, 'RFC 8489 §14.8: fewer than 128 characters');
    assert.equal(r.get('SOFTWARE'), 'icebridge');
    assert.equal(server.counters.badRequests, 1);
  });

  it('answers an attribute that runs past the end, and an XOR-MAPPED-ADDRESS of an unknown family', () => {
    const server = new StunServer();
    const past = requestWithRawAttribute(0x8022, new Uint8Array(4), 40);
    assert.equal(answer(server, past).get('ERROR-CODE')?.code, 400);
    const family = requestWithRawAttribute(0x0020, new Uint8Array([0, 3, 0, 0, 0, 0, 0, 0]));
    assert.equal(answer(server, family).get('ERROR-CODE')?.code, 400);
    assert.equal(server.counters.badRequests, 2);
  });

  it('echoes the cookie field of an RFC 3489 request it cannot read', () => {
    const badPriority = new Uint8Array([0x00, 0x24, 0x00, 0x02, 1, 2, 0, 0]);
    const request = classicRequest(badPriority);
    const r = answer(new StunServer(), request);
    assert.equal(r.get('ERROR-CODE')?.code, 400);
    assert.equal(r.cookie, new DataView(request.buffer).getUint32(4));
  });

  it('does not answer a malformed request of another method, or a malformed indication', () => {
    const server = new StunServer();
    const allocate = requestWithRawAttribute(0x0024, new Uint8Array([1, 2, 3]));
    allocate[1] = 0x03; // Allocate request
    assert.deepEqual(feed(server, allocate), []);
    const indication = requestWithRawAttribute(0x0024, new Uint8Array([1, 2, 3]));
    indication[1] = 0x11; // Binding indication
    assert.deepEqual(feed(server, indication), []);
    assert.equal(server.counters.dropped.malformed, 2);
  });
});

describe('StunServer engine: FINGERPRINT and SOFTWARE in responses', () => {
  it('FINGERPRINT is in the response iff the request had it (success and 420)', () => {
    const server = new StunServer();
    for (const fingerprint of [false, true]) {
      const ok = answer(server, bindingRequest([], fingerprint).bytes);
      assert.equal(ok.has('FINGERPRINT'), fingerprint, `success, request fingerprint=${fingerprint}`);
      assert.equal(ok.attributes.at(-1)?.name === 'FINGERPRINT', fingerprint, 'and it is last');
      const unknown = answer(server, bindingRequest([[0x7ffe, new Uint8Array(4)]], fingerprint).bytes);
      assert.equal(unknown.get('ERROR-CODE')?.code, 420);
      assert.equal(unknown.has('FINGERPRINT'), fingerprint, `420, request fingerprint=${fingerprint}`);
    }
  });

  it('drops a request whose FINGERPRINT is wrong (RFC 8489 §7.3: it is not STUN), and one with an attribute after FINGERPRINT', () => {
    const server = new StunServer();
    const bad = bindingRequest([], true).bytes;
    bad[bad.length - 1] ^= 0x01;
    assert.deepEqual(feed(server, bad), []);
    const good = bindingRequest([], true).bytes;
    const trailing = new Uint8Array(good.length + 8);
    trailing.set(good);
    new DataView(trailing.buffer).setUint16(2, good.length - 20 + 8);
    trailing.set([0x80, 0x22, 0x00, 0x04, 0x61, 0x62, 0x63, 0x64], good.length); // SOFTWARE "abcd"
    assert.deepEqual(feed(server, trailing), []);
    assert.equal(server.counters.dropped.malformed, 2);
    assert.equal(server.counters.badRequests, 0);
  });

  it(
    'a 400 to a request that carried FINGERPRINT carries FINGERPRINT too',
    () => {
      const bytes = requestWithRawAttribute(0x0024, new Uint8Array([1, 2, 3]));
      const withFingerprint = new Uint8Array(bytes.length + 8);
      withFingerprint.set(bytes);
      const view = new DataView(withFingerprint.buffer);
      view.setUint16(2, bytes.length - 20 + 8);
      // A correct CRC, computed as the codec would, so only the PRIORITY length is wrong.
      const crcSource = encodeStunMessage(
        createStunMessage({ method: 1, class: 'request', transactionId: bytes.slice(8, 20), attributes: [[0x0024, bytes.slice(24, 28)]] }),
        { fingerprint: true },
      );
      withFingerprint.set(crcSource.subarray(crcSource.length - 8), bytes.length);
      const r = answer(new StunServer(), withFingerprint);
      assert.equal(r.get('ERROR-CODE')?.code, 400);
      assert.equal(r.has('FINGERPRINT'), true);
    },
  );

  it("SOFTWARE is present by default, configurable, and absent with software: ''", () => {
    const cases: [StunServerOptions, string | undefined][] = [
      [{}, 'icebridge'],
      [{ software: 'test server 1.0' }, 'test server 1.0'],
      [{ software: '' }, undefined],
    ];
    for (const [options, software] of cases) {
      const server = new StunServer(options);
      const success = answer(server, bindingRequest().bytes);
      const unknown = answer(server, bindingRequest([[0x7ffe, new Uint8Array(0)]]).bytes);
      const bad = answer(server, requestWithRawAttribute(0x0024, new Uint8Array([1])));
      const classic = answer(server, classicRequest());
      for (const [what, r] of [['success', success], ['420', unknown], ['400', bad], ['RFC 3489', classic]] as const) {
        assert.equal(r.get('SOFTWARE'), software, `${what} with ${JSON.stringify(options)}`);
        assert.equal(r.has('SOFTWARE'), software !== undefined);
      }
    }
  });
});

describe('StunServer engine: what it drops', () => {
  it('drops non-STUN (ChannelData 0x40, RTP 0x80, DTLS 0x16, empty, short) as not-stun, answering nothing', () => {
    const server = new StunServer();
    const inputs = [
      new Uint8Array([0x40, 0x00, 0x00, 0x04, 1, 2, 3, 4]), // ChannelData, channel 0x4000
      new Uint8Array([0x80, 0x60, 0x00, 0x01, 0, 0, 0, 0, 0, 0, 0, 1, 0xde, 0xad]), // RTP v2
      new Uint8Array([0x16, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10, 1, 0, 0, 0x0c]), // DTLS handshake
      new Uint8Array(0),
      new Uint8Array([0x00, 0x01, 0x00]),
      bindingRequest().bytes.subarray(0, 19),
    ];
    for (const bytes of inputs) assert.deepEqual(feed(server, bytes), []);
    assert.equal(server.counters.dropped['not-stun'], inputs.length);
    assert.equal(server.counters.received, inputs.length);
    assert.equal(accounted(server.counters), inputs.length);
  });

  it('sends nothing for a Binding indication (a keepalive, RFC 8489 §6.3.2)', () => {
    const server = new StunServer();
    assert.deepEqual(feed(server, message(StunMethod.Binding, 'indication')), []);
    assert.equal(server.counters.answered, 0);
  });

  it(
    'counts a Binding indication, so received equals the sum of the other counters',
    () => {
      const server = new StunServer();
      feed(server, message(StunMethod.Binding, 'indication'));
      assert.equal(accounted(server.counters), server.counters.received);
    },
  );

  it('drops success and error responses sent to it (not-a-request), including the RFC 5769 response', () => {
    const server = new StunServer();
    const inputs = [
      message(StunMethod.Binding, 'success', [['XOR-MAPPED-ADDRESS', CLIENT]]),
      message(StunMethod.Binding, 'error', [['ERROR-CODE', { code: 400, reason: 'Bad Request' }]]),
      SAMPLE_IPV4_RESPONSE.bytes,
    ];
    for (const bytes of inputs) assert.deepEqual(feed(server, bytes), []);
    assert.equal(server.counters.dropped['not-a-request'], 3);
    assert.equal(accounted(server.counters), 3);
  });

  it('drops requests of methods it has no handler for (unsupported-method)', () => {
    const server = new StunServer();
    assert.deepEqual(feed(server, message(StunMethod.Allocate, 'request', [['REQUESTED-TRANSPORT', 17]])), []);
    assert.deepEqual(feed(server, message(0x0ff, 'request')), []);
    assert.equal(server.counters.dropped['unsupported-method'], 2);
  });

  it('drops a datagram whose length field disagrees with its size', () => {
    const server = new StunServer();
    const bytes = bindingRequest([['PRIORITY', 7]]).bytes;
    assert.deepEqual(feed(server, bytes.subarray(0, bytes.length - 4)), [], 'truncated');
    const unaligned = bytes.slice();
    unaligned[3] = 5;
    assert.deepEqual(feed(server, unaligned), [], 'length not a multiple of 4');
    assert.equal(server.counters.dropped.malformed, 2);
  });
});

// ---- never throws, on anything -------------------------------------------------------------------------------

const seeds: Uint8Array[] = [
  bindingRequest().bytes,
  bindingRequest([], true).bytes,
  bindingRequest([['PRIORITY', 0x6e0001ff], ['USERNAME', 'a:b'], ['ICE-CONTROLLING', 5n], ['USE-CANDIDATE', true]], true).bytes,
  bindingRequest([[0x7fff, new Uint8Array(4)], [0x8abc, new Uint8Array(1)]], true).bytes,
  classicRequest(),
  classicRequest(new Uint8Array([0x00, 0x02, 0x00, 0x08, 0, 1, 0, 80, 10, 0, 0, 1])),
  SAMPLE_REQUEST.bytes,
  SAMPLE_IPV4_RESPONSE.bytes,
  message(StunMethod.Binding, 'indication'),
  message(StunMethod.Allocate, 'request', [['REQUESTED-TRANSPORT', 17], ['LIFETIME', 600]]),
];

type Mutation =
  | { kind: 'flip'; at: number; bit: number }
  | { kind: 'set'; at: number; value: number }
  | { kind: 'truncate'; to: number }
  | { kind: 'append'; bytes: Uint8Array }
  | { kind: 'length'; value: number }
  | { kind: 'attribute'; type: number; length: number; value: Uint8Array; fixLength: boolean };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ kind: fc.constant('set' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant('truncate' as const), to: fc.nat() }),
  fc.record({ kind: fc.constant('append' as const), bytes: fc.uint8Array({ maxLength: 24 }) }),
  fc.record({ kind: fc.constant('length' as const), value: fc.integer({ min: 0, max: 0xffff }) }),
  fc.record({
    kind: fc.constant('attribute' as const),
    type: fc.oneof(fc.constantFrom(...STUN_ATTRIBUTES.map((r) => r.type)), fc.integer({ min: 0, max: 0xffff })),
    length: fc.integer({ min: 0, max: 40 }),
    value: fc.uint8Array({ maxLength: 40 }),
    fixLength: fc.boolean(),
  }),
);

function mutate(seed: Uint8Array, mutations: Mutation[]): Uint8Array {
  let bytes = seed.slice();
  for (const m of mutations) {
    if (m.kind === 'flip' && bytes.length > 0) bytes[m.at % bytes.length] ^= 1 << m.bit;
    else if (m.kind === 'set' && bytes.length > 0) bytes[m.at % bytes.length] = m.value;
    else if (m.kind === 'truncate') bytes = bytes.slice(0, m.to % (bytes.length + 1));
    else if (m.kind === 'append') bytes = Uint8Array.from([...bytes, ...m.bytes]);
    else if (m.kind === 'length' && bytes.length >= 4) new DataView(bytes.buffer).setUint16(2, m.value);
    else if (m.kind === 'attribute') {
      const padded = (m.value.length + 3) & ~3;
      const grown = new Uint8Array(bytes.length + 4 + padded);
      grown.set(bytes);
      const view = new DataView(grown.buffer);
      view.setUint16(bytes.length, m.type);
      view.setUint16(bytes.length + 2, m.length);
      grown.set(m.value, bytes.length + 4);
      if (m.fixLength && grown.length >= 20) view.setUint16(2, grown.length - 20);
      bytes = grown;
    }
  }
  return bytes;
}

const hostileDatagram = fc.oneof(
  fc.uint8Array({ maxLength: 120 }),
  // Random bytes behind a plausible header (first byte 0..3, the cookie, a matching length).
  fc.tuple(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 255 }), fc.boolean(), fc.uint8Array({ maxLength: 25 }).map((b) => b.subarray(0, b.length & ~3)), fc.uint8Array({ minLength: 12, maxLength: 12 })).map(
    ([t0, t1, cookie, body, id]) => {
      const bytes = new Uint8Array(20 + body.length);
      const view = new DataView(bytes.buffer);
      bytes[0] = t0;
      bytes[1] = t1;
      view.setUint16(2, body.length);
      view.setUint32(4, cookie ? MAGIC_COOKIE : 0x01020304);
      bytes.set(id, 8);
      bytes.set(body, 20);
      return bytes;
    },
  ),
  fc.tuple(fc.constantFrom(...seeds), fc.array(mutation, { minLength: 1, maxLength: 4 })).map(([seed, ms]) => mutate(seed, ms)),
);

const FROM_V4 = { address: '198.51.100.4', port: 65535 };
const FROM_V6 = { address: '2001:db8::9', port: 1 };

describe('StunServer engine on hostile input', () => {
  it('never throws on 50 000 random and mutated datagrams; every answer is a well-formed response to the sender', () => {
    const server = new StunServer();
    let fed = 0;
    fc.assert(
      fc.property(hostileDatagram, fc.boolean(), (bytes, v6) => {
        const from = v6 ? FROM_V6 : FROM_V4;
        const c = server.counters;
        const responsesBefore = c.answered + c.badRequests + c.unknownAttributes;
        const out = feed(server, bytes, { socket: 1, from });
        fed++;
        // Exactly one counter moved for every datagram.
        if (c.received !== fed || accounted(c) !== fed) {
          assert.fail(`counters do not add up after ${fed} datagrams: ${JSON.stringify(c)}`);
        }
        if (out.length !== c.answered + c.badRequests + c.unknownAttributes - responsesBefore) {
          assert.fail(`${out.length} transmits, not one per counted answer`);
        }
        for (const t of out) {
          if (t.to !== from) assert.deepEqual(t.to, from);
          const r = decodeStunMessage(t.bytes);
          assert.ok(r.class === 'success' || r.class === 'error', r.class);
          assert.equal(r.method, StunMethod.Binding);
          assert.equal(toHex(r.transactionId), toHex(bytes.subarray(8, 20)));
          assert.equal(r.cookie, new DataView(bytes.buffer, bytes.byteOffset).getUint32(4));
          if (r.class === 'success') assert.deepEqual(r.get('XOR-MAPPED-ADDRESS') ?? r.get('MAPPED-ADDRESS'), from);
          else assert.ok([400, 420].includes(r.get('ERROR-CODE')?.code ?? 0));
        }
      }),
      { numRuns: 50_000, seed: 0x1ceb1d9e },
    );
    assert.equal(server.counters.received, 50_000);
    assert.ok(server.counters.answered > 0 && server.counters.badRequests > 0 && server.counters.unknownAttributes > 0, JSON.stringify(server.counters));
    assert.ok(Object.values(server.counters.dropped).every((n) => n > 0), JSON.stringify(server.counters));
  });
});
