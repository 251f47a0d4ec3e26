import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isIP } from 'node:net';
import fc from 'fast-check';
import { formatIp, isIp, parseIp } from '../../src/net/ip.js';

const hex = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');

describe('parseIp', () => {
  it('parses IPv4 dotted quads', () => {
    assert.equal(hex(parseIp('192.0.2.1')), 'c0000201');
    assert.equal(hex(parseIp('0.0.0.0')), '00000000');
    assert.equal(hex(parseIp('255.255.255.255')), 'ffffffff');
  });

  it('parses IPv6 with and without compression', () => {
    assert.equal(hex(parseIp('2001:db8:1234:5678:11:2233:4455:6677')), '20010db8123456780011223344556677');
    assert.equal(hex(parseIp('::')), '0'.repeat(32));
    assert.equal(hex(parseIp('::1')), '0'.repeat(31) + '1');
    assert.equal(hex(parseIp('1::')), '0001' + '0'.repeat(28));
    assert.equal(hex(parseIp('2001:DB8::8:800:200C:417A')), '20010db80000000000080800200c417a');
    assert.equal(hex(parseIp('1:2:3:4:5:6:7::')), '00010002000300040005000600070000');
    assert.equal(hex(parseIp('::2:3:4:5:6:7:8')), '00000002000300040005000600070008');
  });

  it('parses embedded IPv4 and strips a zone', () => {
    assert.equal(hex(parseIp('::ffff:1.2.3.4')), '00000000000000000000ffff01020304');
    assert.equal(hex(parseIp('64:ff9b::192.0.2.33')), '0064ff9b0000000000000000c0000221');
    assert.equal(hex(parseIp('1:2:3:4:5:6:1.2.3.4')), '00010002000300040005000601020304');
    assert.equal(hex(parseIp('fe80::1%eth0')), 'fe80' + '0'.repeat(27) + '1');
  });

  const invalid = [
    '', '1.2.3', '1.2.3.4.5', '256.1.1.1', '01.2.3.4', '1.2.3.4 ', ' 1.2.3.4', '1..2.3', '1.2.3.-4', 'a.b.c.d',
    ':', ':::', '1:::2', '1::2::3', ':1::2', '1::2:', '1:2:3:4:5:6:7', '1:2:3:4:5:6:7:8:9', '1:2:3:4:5:6:7::8',
    '12345::', 'g::', '::1.2.3', '::1.2.3.4:5', '1:2:3:4:5:6:7:1.2.3.4', 'fe80::1%', '%eth0', '[::1]', '1.2.3.4%eth0',
  ];
  for (const text of invalid) {
    it(`rejects ${JSON.stringify(text)} with a TypeError`, () => {
      assert.throws(() => parseIp(text), (e: unknown) => e instanceof TypeError && e.message.includes('invalid IP address'));
      assert.equal(isIp(text), false);
    });
  }

  it('agrees with node:net isIP on random text', () => {
    const alphabet = fc.constantFrom(...'0123456789abcdefABCDEF:.'.split(''));
    fc.assert(
      fc.property(fc.string({ unit: alphabet, maxLength: 45 }), (text) => {
        assert.equal(isIp(text), isIP(text) !== 0, text);
      }),
      { numRuns: 20000 },
    );
  });
});

describe('formatIp', () => {
  const cases: [string, string][] = [
    ['2001:db8:0:0:0:0:2:1', '2001:db8::2:1'],
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'], // RFC 5952 §4.2.2: one zero group is not compressed
    ['2001:0:0:1:0:0:0:1', '2001:0:0:1::1'], // §4.2.3: the longest run
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'], // §4.2.3: the first of equal runs
    ['2001:DB8::AAAA', '2001:db8::aaaa'], // §4.3: lowercase
    ['0:0:0:0:0:0:0:0', '::'],
    ['0:0:0:0:0:0:0:1', '::1'],
    ['1:0:0:0:0:0:0:0', '1::'],
    ['::ffff:192.0.2.1', '::ffff:192.0.2.1'], // §5: IPv4-mapped in mixed notation
    ['::ffff:c000:201', '::ffff:192.0.2.1'],
    ['192.0.2.1', '192.0.2.1'],
  ];
  for (const [input, expected] of cases) {
    it(`${input} -> ${expected}`, () => assert.equal(formatIp(parseIp(input)), expected));
  }

  it('rejects byte arrays of the wrong length', () => {
    assert.throws(() => formatIp(new Uint8Array(5)), TypeError);
  });

  it('round-trips random addresses and matches the WHATWG URL serializer', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.integer({ min: 0, max: 7 }), fc.integer({ min: 0, max: 8 }), (bytes, at, zeros) => {
        bytes.fill(0, 2 * at, Math.min(16, 2 * (at + zeros))); // make zero runs common
        const text = formatIp(bytes);
        assert.deepEqual(parseIp(text), bytes);
        if (!text.startsWith('::ffff:') || text.includes('::ffff:0:')) {
          assert.equal(text, new URL(`http://[${text}]/`).hostname.slice(1, -1));
        }
      }),
      { numRuns: 20000 },
    );
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 4, maxLength: 4 }), (bytes) => {
        assert.deepEqual(parseIp(formatIp(bytes)), bytes);
      }),
    );
  });
});
