// The STUN server engine in RFC 5780 mode (§6), on its own: which socket a response leaves from (Table 1),
// RESPONSE-ORIGIN and OTHER-ADDRESS, RESPONSE-PORT, PADDING, the 420s of a server without the usage, and
// the hot-path bytes against the codec's.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { DatagramSource, Transmit } from '../../src/net/engine.js';
import { encodeBindingSuccess } from '../../src/server/binding-response.js';
import { StunServer } from '../../src/server/stun-server.js';
import { TurnServer } from '../../src/server/turn-server.js';
import type { Rfc5780Socket } from '../../src/server/rfc5780.js';
import { StunAttributeType, StunMethod, createStunMessage, decodeStunMessage, encodeStunMessage, type StunAttributeEntry, type StunMessage } from '../../src/stun/index.js';

const A1 = '203.0.113.1';
const A2 = '203.0.113.2';
const P1 = 3478;
const P2 = 3479;
// Ids as a driver might pick them: not 0..3, to be sure the engine uses the map and not positions.
const GRID: Rfc5780Socket[] = [
  { socket: 10, address: { address: A1, port: P1 } },
  { socket: 11, address: { address: A1, port: P2 } },
  { socket: 12, address: { address: A2, port: P1 } },
  { socket: 13, address: { address: A2, port: P2 } },
];
const CLIENT = { address: '198.51.100.7', port: 40000 };
const idOf = (address: string, port: number) => GRID.find((s) => s.address.address === address && s.address.port === port)!.socket;

function request(attributes: StunAttributeEntry[] = [], fingerprint = false): Uint8Array {
  return encodeStunMessage(createStunMessage({ method: StunMethod.Binding, class: 'request', attributes }), { fingerprint });
}

function feed(server: StunServer | TurnServer, bytes: Uint8Array, source: DatagramSource): Transmit[] {
  server.handleDatagram(bytes, source, 1000);
  const out: Transmit[] = [];
  for (let t = server.pollTransmit(); t; t = server.pollTransmit()) out.push(t);
  return out;
}

function one(server: StunServer | TurnServer, bytes: Uint8Array, source: DatagramSource): { transmit: Transmit; response: StunMessage } {
  const out = feed(server, bytes, source);
  assert.equal(out.length, 1, `one response expected, got ${out.length}`);
  return { transmit: out[0], response: decodeStunMessage(out[0].bytes) };
}

describe('RFC 5780 server engine', () => {
  it('refuses socket grids that are not 2 addresses × 2 ports, each once', () => {
    const bad: unknown[] = [
      GRID.slice(0, 3),
      [...GRID.slice(0, 3), { socket: 13, address: { address: A1, port: P1 } }],
      GRID.map((s, i) => ({ socket: 1, address: s.address, i })),
      GRID.map((s) => ({ ...s, address: { address: s.address.address === A2 ? '2001:db8::2' : A1, port: s.address.port } })),
      GRID.map((s) => ({ ...s, address: { address: s.address.address === A2 ? '0.0.0.0' : A1, port: s.address.port } })),
      GRID.map((s) => ({ ...s, address: { address: s.address.address, port: 0 } })),
      GRID.map((s) => ({ ...s, address: { address: 'host.example', port: s.address.port } })),
    ];
    for (const sockets of bad) assert.throws(() => new StunServer({ rfc5780: { sockets: sockets as Rfc5780Socket[] } }), RangeError, JSON.stringify(sockets));
    assert.throws(() => new StunServer({ rfc5780: { sockets: GRID, maxPaddingBytes: -1 } }), RangeError);
  });

  it('a plain request gets MAPPED-ADDRESS, XOR-MAPPED-ADDRESS, RESPONSE-ORIGIN (its socket) and OTHER-ADDRESS (Ca:Cp), from the socket it came to', () => {
    const server = new StunServer({ rfc5780: { sockets: GRID } });
    for (const s of GRID) {
      const { transmit, response } = one(server, request(), { socket: s.socket, from: CLIENT });
      assert.equal(transmit.socket, s.socket);
      assert.deepEqual(transmit.to, CLIENT);
      assert.deepEqual(response.get('XOR-MAPPED-ADDRESS'), CLIENT);
      assert.deepEqual(response.get('MAPPED-ADDRESS'), CLIENT, '§6.1: MUST include both');
      assert.deepEqual(response.get('RESPONSE-ORIGIN'), s.address);
      assert.deepEqual(response.get('OTHER-ADDRESS'), {
        address: s.address.address === A1 ? A2 : A1,
        port: s.address.port === P1 ? P2 : P1,
      });
      assert.equal(response.get('SOFTWARE'), 'icebridge');
    }
    assert.equal(server.counters.answered, 4);
    assert.equal(server.rfc5780!.counters.changed, 0);
  });

  it('CHANGE-REQUEST: Table 1 for every receiving socket and flag combination', () => {
    const server = new StunServer({ rfc5780: { sockets: GRID } });
    for (const s of GRID) {
      const da = s.address.address;
      const dp = s.address.port;
      const ca = da === A1 ? A2 : A1;
      const cp = dp === P1 ? P2 : P1;
      for (const changeIp of [false, true]) {
        for (const changePort of [false, true]) {
          const label = `to ${da}:${dp} changeIp=${changeIp} changePort=${changePort}`;
          const { transmit, response } = one(server, request([['CHANGE-REQUEST', { changeIp, changePort }]], true), { socket: s.socket, from: CLIENT });
          const origin = { address: changeIp ? ca : da, port: changePort ? cp : dp };
          assert.equal(transmit.socket, idOf(origin.address, origin.port), label);
          assert.deepEqual(transmit.to, CLIENT, label);
          assert.deepEqual(response.get('RESPONSE-ORIGIN'), origin, label);
          assert.deepEqual(response.get('OTHER-ADDRESS'), { address: ca, port: cp }, `${label}: OTHER-ADDRESS whatever the flags`);
          assert.deepEqual(response.get('XOR-MAPPED-ADDRESS'), CLIENT, label);
          assert.ok(response.fingerprintOffset > 0, `${label}: FINGERPRINT since the request had one`);
        }
      }
    }
    assert.equal(server.rfc5780!.counters.changed, 12);
  });

  it('RESPONSE-PORT: the response goes to the source address at that port, also with CHANGE-REQUEST', () => {
    const server = new StunServer({ rfc5780: { sockets: GRID } });
    const { transmit, response } = one(server, request([['RESPONSE-PORT', 50123]]), { socket: 10, from: CLIENT });
    assert.deepEqual(transmit.to, { address: CLIENT.address, port: 50123 });
    assert.equal(transmit.socket, 10);
    assert.deepEqual(response.get('XOR-MAPPED-ADDRESS'), CLIENT, 'the mapped address is still the source');
    const changed = one(server, request([['RESPONSE-PORT', 50124], ['CHANGE-REQUEST', { changeIp: true, changePort: true }]]), { socket: 10, from: CLIENT });
    assert.equal(changed.transmit.socket, 13);
    assert.deepEqual(changed.transmit.to, { address: CLIENT.address, port: 50124 });
    assert.equal(server.rfc5780!.counters.responsePort, 2);
    const zero = one(server, request([['RESPONSE-PORT', 0]]), { socket: 10, from: CLIENT });
    assert.equal(zero.response.get('ERROR-CODE')?.code, 400);
  });

  it('PADDING: answered with PADDING as long as the request\'s (capped); with RESPONSE-PORT 400; refused with 420 when maxPaddingBytes is 0', () => {
    const server = new StunServer({ rfc5780: { sockets: GRID, maxPaddingBytes: 600 } });
    const padded = one(server, request([['PADDING', new Uint8Array(500)]]), { socket: 11, from: CLIENT });
    assert.equal(padded.response.class, 'success');
    assert.equal(padded.response.get('PADDING')?.length, 500);
    const capped = one(server, request([['PADDING', new Uint8Array(1400)]]), { socket: 11, from: CLIENT });
    assert.equal(capped.response.get('PADDING')?.length, 600);
    const both = one(server, request([['PADDING', new Uint8Array(8)], ['RESPONSE-PORT', 4000]]), { socket: 11, from: CLIENT });
    assert.equal(both.response.get('ERROR-CODE')?.code, 400);
    assert.deepEqual(both.transmit.to, CLIENT, 'errors go back where the request came from');
    const refusing = new StunServer({ rfc5780: { sockets: GRID, maxPaddingBytes: 0 } });
    const refused = one(refusing, request([['PADDING', new Uint8Array(8)]]), { socket: 11, from: CLIENT });
    assert.equal(refused.response.get('ERROR-CODE')?.code, 420);
    assert.deepEqual(refused.response.get('UNKNOWN-ATTRIBUTES'), [StunAttributeType.PADDING]);
  });

  it('RESPONSE-PORT can be switched off: 420', () => {
    const server = new StunServer({ rfc5780: { sockets: GRID, responsePort: false } });
    const r = one(server, request([['RESPONSE-PORT', 4000]]), { socket: 10, from: CLIENT });
    assert.equal(r.response.get('ERROR-CODE')?.code, 420);
    assert.deepEqual(r.response.get('UNKNOWN-ATTRIBUTES'), [StunAttributeType.RESPONSE_PORT]);
  });

  it('a server without RFC 5780 answers CHANGE-REQUEST, RESPONSE-PORT and PADDING with 420, and plain requests without OTHER-ADDRESS', () => {
    const server = new StunServer();
    const source = { socket: 0, from: CLIENT };
    const r = one(server, request([['CHANGE-REQUEST', { changeIp: true, changePort: true }], ['RESPONSE-PORT', 4000]]), source);
    assert.equal(r.response.class, 'error');
    assert.equal(r.response.get('ERROR-CODE')?.code, 420);
    assert.deepEqual(r.response.get('UNKNOWN-ATTRIBUTES'), [StunAttributeType.CHANGE_REQUEST, StunAttributeType.RESPONSE_PORT]);
    assert.equal(server.counters.unknownAttributes, 1);
    const plain = one(server, request(), source).response;
    assert.equal(plain.get('OTHER-ADDRESS'), undefined);
    assert.equal(plain.get('RESPONSE-ORIGIN'), undefined);
  });

  it('on a socket outside the grid: answered plainly, CHANGE-REQUEST refused with 420 (§6)', () => {
    const server = new StunServer({ rfc5780: { sockets: GRID } });
    const source = { socket: 99, from: CLIENT };
    assert.equal(one(server, request(), source).response.get('OTHER-ADDRESS'), undefined);
    const r = one(server, request([['CHANGE-REQUEST', { changeIp: false, changePort: true }]]), source);
    assert.equal(r.response.get('ERROR-CODE')?.code, 420);
    assert.equal(r.transmit.socket, 99);
    // RESPONSE-PORT needs no second address: honoured there too.
    const rp = one(server, request([['RESPONSE-PORT', 4001]]), source);
    assert.equal(rp.response.class, 'success');
    assert.equal(rp.transmit.to.port, 4001);
  });

  it('the direct-written response is byte for byte what the codec would encode', () => {
    const server = new StunServer({ rfc5780: { sockets: GRID } });
    for (const from of [CLIENT, { address: '2001:db8::7', port: 5 }]) {
      for (const fingerprint of [false, true]) {
        for (const change of [undefined, { changeIp: true, changePort: false }]) {
          const bytes = request(change ? [['CHANGE-REQUEST', change]] : [], fingerprint);
          const req = decodeStunMessage(bytes);
          const [t] = feed(server, bytes, { socket: 12, from });
          const origin = change ? { address: A1, port: P1 } : { address: A2, port: P1 };
          const expected = encodeStunMessage(
            createStunMessage({
              method: StunMethod.Binding,
              class: 'success',
              transactionId: req.transactionId,
              attributes: [
                ['XOR-MAPPED-ADDRESS', from],
                ['MAPPED-ADDRESS', from],
                ['RESPONSE-ORIGIN', origin],
                ['OTHER-ADDRESS', { address: A1, port: P2 }],
                ['SOFTWARE', 'icebridge'],
              ],
            }),
            { fingerprint },
          );
          assert.deepEqual([...t.bytes], [...expected], `from ${from.address} fingerprint=${fingerprint} change=${JSON.stringify(change)}`);
        }
      }
    }
    // Without extras the function writes what it always did.
    const req = decodeStunMessage(request());
    const plain = encodeBindingSuccess(req, CLIENT, new TextEncoder().encode('x'), false);
    assert.deepEqual(decodeStunMessage(plain).attributes.map((a) => a.name), ['XOR-MAPPED-ADDRESS', 'SOFTWARE']);
  });

  it('the plain path reuses the prepared additions: no per-request objects', () => {
    const server = new StunServer({ rfc5780: { sockets: GRID } });
    assert.equal(server.rfc5780!.plainExtras(10), server.rfc5780!.plainExtras(10));
    assert.equal(server.rfc5780!.plainExtras(99), undefined);
  });

  it('an RFC 3489 request (no magic cookie) with CHANGE-REQUEST leaves from the changed socket with MAPPED-ADDRESS', () => {
    const server = new StunServer({ rfc5780: { sockets: GRID } });
    const bytes = new Uint8Array(28);
    const view = new DataView(bytes.buffer);
    view.setUint16(0, 0x0001);
    view.setUint16(2, 8);
    bytes.set([0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12], 4);
    view.setUint16(20, StunAttributeType.CHANGE_REQUEST);
    view.setUint16(22, 4);
    bytes[27] = 0x06;
    const { transmit, response } = one(server, bytes, { socket: 10, from: CLIENT });
    assert.equal(transmit.socket, 13);
    assert.deepEqual(response.get('MAPPED-ADDRESS'), CLIENT);
    assert.equal(response.get('XOR-MAPPED-ADDRESS'), undefined);
    assert.equal(response.cookie, 0xdeadbeef);
  });

  it('the TURN server (which contains a STUN server) takes the same option', () => {
    const server = new TurnServer({ rfc5780: { sockets: GRID } });
    const { transmit, response } = one(server, request([['CHANGE-REQUEST', { changeIp: false, changePort: true }]]), { socket: 10, from: CLIENT });
    assert.equal(transmit.socket, 11);
    assert.deepEqual(response.get('RESPONSE-ORIGIN'), { address: A1, port: P2 });
    assert.deepEqual(response.get('OTHER-ADDRESS'), { address: A2, port: P2 });
  });
});
