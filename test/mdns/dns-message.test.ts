// The DNS message codec: byte vectors, round trips, compression on decode, and mutation: random damage is
// either decoded or refused with a DnsParseError, never anything else.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { fromHex } from '../../src/crypto/index.js';
import { formatIp } from '../../src/net/ip.js';
import { DnsParseError } from '../../src/mdns/dns-errors.js';
import { DNS_CLASS_IN, DnsType, decodeDnsMessage, encodeDnsMessage, type DnsMessage, type DnsRecord } from '../../src/mdns/dns-message.js';
import { decodeName, encodeName, sameName } from '../../src/mdns/dns-name.js';

const NAME = '1f4712db-ea17-4bcf-a596-105139dfd8bf.local';

function hex(text: string): Uint8Array {
  return fromHex(text.replace(/#.*$/gm, '').replace(/\s+/g, ''));
}

describe('DNS codec: vectors', () => {
  it('decodes an mDNS response whose second answer names the first by a compression pointer', () => {
    const bytes = hex(`
      0000 8400 0000 0002 0000 0000   # id 0, QR AA, 0 questions, 2 answers
      04 686f7374 05 6c6f63616c 00    # offset 12: host.local
      0001 8001 00000078 0004 c0000201  # A, IN + cache-flush, TTL 120, 192.0.2.1
      c00c                            # pointer to offset 12: host.local
      001c 8001 00000078 0010 20010db8000000000000000000000001  # AAAA 2001:db8::1
    `);
    const m = decodeDnsMessage(bytes);
    assert.equal(m.response, true);
    assert.equal(m.authoritative, true);
    assert.deepEqual(
      m.answers.map((a) => [a.name, a.type, a.class, a.cacheFlush, a.ttl, a.address]),
      [
        ['host.local', DnsType.A, 1, true, 120, '192.0.2.1'],
        ['host.local', DnsType.AAAA, 1, true, 120, '2001:db8::1'],
      ],
    );
  });

  it('encodes a one-shot query with the unicast-response bit (RFC 6762 §5.4) byte for byte', () => {
    const bytes = encodeDnsMessage({ id: 0x1234, questions: [{ name: 'a.local', type: DnsType.A, class: DNS_CLASS_IN, unicastResponse: true }] });
    assert.deepEqual(bytes, hex('1234 0000 0001 0000 0000 0000  01 61 05 6c6f63616c 00  0001 8001'));
  });

  it('refuses a pointer loop, a forward pointer, reserved label types and bad A data with typed errors', () => {
    const header = '0000 8400 0000 0001 0000 0000';
    const cases: [string, string][] = [
      [`${header} c00c 0001 0001 00000078 0004 c0000201`, 'NAME_POINTER'], // points at itself
      [`${header} c00e 0001 0001 00000078 0004 c0000201`, 'NAME_POINTER'], // points forwards
      [`${header} 01 61 c00c 0001 0001 00000078 0004 c0000201`, 'NAME_POINTER'], // label then back to itself
      [`${header} 41 61 00 0001 0001 00000078 0004 c0000201`, 'LABEL_TYPE'],
      [`${header} 01 61 00 0001 0001 00000078 0003 c00002`, 'RDATA_LENGTH'],
      [`${header} 01 61 00 0001 0001 00000078 0004 c000`, 'TRUNCATED'],
      ['0000 8400 0000', 'TRUNCATED'],
      ['0000 8400 ffff 0000 0000 0000', 'TOO_MANY_RECORDS'],
    ];
    for (const [text, code] of cases) {
      assert.throws(() => decodeDnsMessage(hex(text)), (e: unknown) => e instanceof DnsParseError && e.code === code, `${code}: ${text}`);
    }
    assert.throws(() => decodeDnsMessage(new Uint8Array(9001)), (e: unknown) => e instanceof DnsParseError && e.code === 'MESSAGE_SIZE');
  });

  it('refuses names it cannot encode, and compares names case-insensitively', () => {
    assert.throws(() => encodeName(`${'a'.repeat(64)}.local`), (e: unknown) => e instanceof DnsParseError && e.code === 'LABEL_LENGTH');
    assert.throws(() => encodeName(`${'abcdefgh.'.repeat(29)}local`), (e: unknown) => e instanceof DnsParseError && e.code === 'NAME_LENGTH');
    assert.throws(() => encodeName('a..local'), (e: unknown) => e instanceof DnsParseError && e.code === 'ENCODE');
    assert.throws(
      () => encodeDnsMessage({ answers: [{ name: NAME, type: DnsType.A, class: 1, cacheFlush: false, ttl: 1, address: '2001:db8::1' }] }),
      (e: unknown) => e instanceof DnsParseError && e.code === 'ENCODE',
    );
    assert.ok(sameName('ABC.Local.', 'abc.local'));
    assert.deepEqual(decodeName(encodeName('.'), 0), { name: '', end: 1 });
  });
});

const plain = { noNullPrototype: true } as const;
const label = fc.stringMatching(/^[a-z0-9][a-z0-9-]{0,20}$/);
const name = fc.array(label, { minLength: 1, maxLength: 4 }).map((l) => l.join('.'));
const ttl = fc.integer({ min: 0, max: 0xffffffff });
const record: fc.Arbitrary<DnsRecord> = fc.oneof(
  fc.record({ name, type: fc.constant<number>(DnsType.A), class: fc.constant(1), cacheFlush: fc.boolean(), ttl, address: fc.uint8Array({ minLength: 4, maxLength: 4 }).map(formatIp) }, plain),
  fc.record({ name, type: fc.constant<number>(DnsType.AAAA), class: fc.constant(1), cacheFlush: fc.boolean(), ttl, address: fc.uint8Array({ minLength: 16, maxLength: 16 }).map(formatIp) }, plain),
  fc.record({ name, type: fc.constantFrom<number>(DnsType.TXT, DnsType.NSEC, 99), class: fc.integer({ min: 0, max: 0x7fff }), cacheFlush: fc.boolean(), ttl, data: fc.uint8Array({ maxLength: 40 }) }, plain),
);
const message: fc.Arbitrary<DnsMessage> = fc.record({
  id: fc.integer({ min: 0, max: 0xffff }),
  response: fc.boolean(),
  opcode: fc.integer({ min: 0, max: 15 }),
  authoritative: fc.boolean(),
  truncated: fc.boolean(),
  rcode: fc.integer({ min: 0, max: 15 }),
  questions: fc.array(fc.record({ name, type: fc.constantFrom(1, 28, 255), class: fc.integer({ min: 0, max: 0x7fff }), unicastResponse: fc.boolean() }, plain), { maxLength: 4 }),
  answers: fc.array(record, { maxLength: 6 }),
  authorities: fc.array(record, { maxLength: 2 }),
  additionals: fc.array(record, { maxLength: 4 }),
}, plain);

describe('DNS codec: properties', () => {
  it('decode(encode(m)) is m', () => {
    fc.assert(
      fc.property(message, (m) => {
        assert.deepEqual(decodeDnsMessage(encodeDnsMessage(m)), m);
      }),
      { numRuns: 500 },
    );
  });

  it('random byte flips, truncations and garbage decode or throw DnsParseError, nothing else', () => {
    const damaged = fc.tuple(message, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }), fc.nat());
    fc.assert(
      fc.property(damaged, ([m, flips, cut]) => {
        const bytes = encodeDnsMessage(m);
        for (const [at, value] of flips) bytes[at % bytes.length] = value;
        for (const b of [bytes, bytes.subarray(0, cut % (bytes.length + 1))]) {
          try {
            decodeDnsMessage(b);
          } catch (err) {
            if (!(err instanceof DnsParseError)) throw err;
          }
        }
      }),
      { numRuns: 3000 },
    );
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (b) => {
        try {
          decodeDnsMessage(b);
        } catch (err) {
          if (!(err instanceof DnsParseError)) throw err;
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('a long chain of backward pointers ends: a name past 255 bytes is refused, a shorter one decodes', () => {
    // The chain sits in a first record's data; the second record's name points at its last link.
    const build = (links: number): Uint8Array => {
      const head = [0, 0, 0x84, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 99, 0, 1, 0, 0, 0, 1];
      const chain: number[] = [];
      let previous = -1;
      for (let i = 0; i < links; i++) {
        const here = head.length + 2 + chain.length;
        chain.push(1, 0x61);
        if (previous < 0) chain.push(0);
        else chain.push(0xc0 | (previous >> 8), previous & 0xff);
        previous = here;
      }
      return new Uint8Array([...head, chain.length >> 8, chain.length & 0xff, ...chain, 0xc0 | (previous >> 8), previous & 0xff, 0, 1, 0, 1, 0, 0, 0, 1, 0, 4, 1, 2, 3, 4]);
    };
    assert.equal(decodeDnsMessage(build(100)).answers[1].name, Array(100).fill('a').join('.'));
    assert.throws(() => decodeDnsMessage(build(200)), (e: unknown) => e instanceof DnsParseError && e.code === 'NAME_LENGTH');
  });
});
