import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { canonicalAddress } from '../../src/sim/ip-address.js';

describe('canonicalAddress', () => {
  test('IPv4: strict dotted quads', () => {
    assert.equal(canonicalAddress('192.0.2.1'), '192.0.2.1');
    for (const bad of ['192.0.2', '192.0.2.256', '192.0.2.01', '1.2.3.4.5', '', 'a.b.c.d']) {
      assert.equal(canonicalAddress(bad), undefined, bad);
    }
  });

  test('IPv6: RFC 5952 canonical text', () => {
    const cases: [string, string][] = [
      ['2001:DB8::1', '2001:db8::1'],
      ['2001:0db8:0000:0000:0000:0000:0000:0001', '2001:db8::1'],
      ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
      ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],
      ['::', '::'],
      ['::1', '::1'],
      ['fe80::', 'fe80::'],
      ['::ffff:192.0.2.1', '::ffff:192.0.2.1'],
      ['::FFFF:c000:0201', '::ffff:192.0.2.1'],
    ];
    for (const [input, expected] of cases) assert.equal(canonicalAddress(input), expected, input);
    for (const bad of ['1::2::3', '2001:db8:0:0:0:0:0:0:1', '12345::', 'fe80::1%eth0', ':1', '1:2:3:4:5:6:7::8:9']) {
      assert.equal(canonicalAddress(bad), undefined, bad);
    }
  });
});
