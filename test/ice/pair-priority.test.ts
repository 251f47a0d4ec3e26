import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { comparePairPriority, pairPriority, pairPriorityForRole } from '../../src/ice/pair-priority.js';
import { LocalPreferences, type LocalPreferenceInput, type LocalPreferenceOptions } from '../../src/ice/local-preference.js';
import { computePriority } from '../../src/ice/candidate.js';
import { formatIp, parseIp } from '../../src/net/ip.js';

/** The formula as werift wrote it: `1 << 32` is 1 in JavaScript, so MIN(G,D) loses its weight. */
/** One set of candidates gathered together: a fresh LocalPreferences' first take. */
const assignLocalPreferences = (inputs: readonly LocalPreferenceInput[], opts?: LocalPreferenceOptions) => new LocalPreferences(opts).take(inputs);

const weriftPairPriority = (g: number, d: number): number => (1 << 32) * Math.min(g, d) + 2 * Math.max(g, d) + (g > d ? 1 : 0);

describe('pairPriority (RFC 8445 §6.1.2.3)', () => {
  it('is 2^32·MIN(G,D) + 2·MAX(G,D) + (G>D ? 1 : 0)', () => {
    assert.equal(pairPriority(1, 2), 2n ** 32n * 1n + 2n * 2n);
    assert.equal(pairPriority(2, 1), 2n ** 32n * 1n + 2n * 2n + 1n);
    // A host (2130706431) and a srflx (1694498815) candidate; values checked with Python's integers.
    assert.equal(pairPriority(2130706431, 1694498815), 7277816997797167103n);
    assert.equal(pairPriority(1694498815, 2130706431), 7277816997797167102n);
  });

  it('handles G = D: no tie-break bit', () => {
    assert.equal(pairPriority(2130706431, 2130706431), 2130706431n * 2n ** 32n + 2n * 2130706431n);
    assert.equal(pairPriority(0, 0), 0n);
  });

  it('stays exact for priorities ≥ 2^31, far beyond 2^53', () => {
    const g = 2 ** 31 + 5;
    const d = 2 ** 31;
    assert.equal(pairPriority(g, d), 0x8000_0000n * 0x1_0000_0000n + 2n * 0x8000_0005n + 1n);
    assert.equal(pairPriority(0xffffffff, 0xffffffff), 0x1_0000_0000_ffff_fffen);
    assert.equal(pairPriority(0xffffffff, 0xfffffffe), 0xffff_fffe_0000_0000n + 0x1_ffff_fffen + 1n);
    // Number would round these two apart-by-one values to the same double.
    assert.notEqual(pairPriority(g, d), pairPriority(d, g));
    assert.equal(Number(pairPriority(g, d)), Number(pairPriority(d, g)));
  });

  it('orders pairs the way werift’s `1 << 32` does not', () => {
    // A: a relay-ish 100 against a huge 2^31 + 1000; B: 200 against 200. MIN decides: B first.
    const a = pairPriority(100, 2 ** 31 + 1000);
    const b = pairPriority(200, 200);
    assert.ok(b > a);
    assert.ok(weriftPairPriority(100, 2 ** 31 + 1000) > weriftPairPriority(200, 200), 'the bug this guards against');
  });

  it('sorts lexicographically by (MIN, MAX, G>D) for RFC priorities, 1..2^31 − 1', () => {
    const priority = fc.oneof(fc.integer({ min: 1, max: 2 ** 31 - 1 }), fc.integer({ min: 2 ** 31 - 8, max: 2 ** 31 - 1 }), fc.integer({ min: 1, max: 8 }));
    fc.assert(
      fc.property(priority, priority, priority, priority, (g1, d1, g2, d2) => {
        const key = (g: number, d: number): [number, number, number] => [Math.min(g, d), Math.max(g, d), g > d ? 1 : 0];
        const [x, y] = [key(g1, d1), key(g2, d2)];
        const expected = x[0] !== y[0] ? Math.sign(x[0] - y[0]) : x[1] !== y[1] ? Math.sign(x[1] - y[1]) : Math.sign(x[2] - y[2]);
        const p1 = pairPriority(g1, d1);
        const p2 = pairPriority(g2, d2);
        assert.equal(p1 > p2 ? 1 : p1 < p2 ? -1 : 0, expected);
      }),
      { numRuns: 3000 },
    );
  });

  it('is exact on the whole uint32 range, and swapping roles moves it by exactly the tie-break bit', () => {
    const uint32 = fc.oneof(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 2 ** 31 - 4, max: 2 ** 31 + 4 }), fc.integer({ min: 0xfffffff0, max: 0xffffffff }));
    fc.assert(
      fc.property(uint32, uint32, (g, d) => {
        const [min, max] = g < d ? [g, d] : [d, g];
        // Decimal strings, not bigint operators: an independent way to the exact value.
        const expected = BigInt(`${min}`) * BigInt('4294967296') + BigInt(`${2 * max + (g > d ? 1 : 0)}`);
        assert.equal(pairPriority(g, d), expected);
        assert.equal(pairPriority(g, d) - pairPriority(d, g), g > d ? 1n : g < d ? -1n : 0n);
      }),
      { numRuns: 3000 },
    );
  });

  it('lets 2·MAX carry into the MIN field above 2^31 − 1, as the formula does (so the RFC caps priorities)', () => {
    // MIN 8 vs MIN 7 with MAX = 2^31 + 8: 7·2^32 + 2^32 + 16 = 8·2^32 + 16.
    assert.equal(pairPriority(8, 8), pairPriority(7, 2 ** 31 + 8));
  });

  it('gives both agents the same value through pairPriorityForRole', () => {
    const mine = 2130706431;
    const theirs = 1694498815;
    assert.equal(pairPriorityForRole(mine, theirs, true), pairPriorityForRole(theirs, mine, false));
    assert.equal(pairPriorityForRole(mine, theirs, true), pairPriority(mine, theirs));
    assert.equal(pairPriorityForRole(mine, theirs, false), pairPriority(theirs, mine));
  });

  it('throws RangeError for priorities that are not uint32', () => {
    for (const [g, d] of [
      [-1, 0],
      [0, 2 ** 32],
      [1.5, 1],
      [Number.NaN, 1],
      [1, Number.POSITIVE_INFINITY],
    ]) {
      assert.throws(() => pairPriority(g, d), RangeError);
    }
  });
});

describe('comparePairPriority', () => {
  it('sorts a checklist highest first, exactly even above 2^53', () => {
    const ps = [pairPriority(1, 1), pairPriority(2 ** 31, 2 ** 31 + 1), pairPriority(2 ** 31 + 1, 2 ** 31), pairPriority(5, 7)];
    const sorted = [...ps].sort(comparePairPriority);
    assert.deepEqual(sorted, [ps[2], ps[1], ps[3], ps[0]]);
    assert.equal(comparePairPriority(3n, 3n), 0);
    assert.ok(comparePairPriority(4n, 3n) < 0);
    assert.ok(comparePairPriority(3n, 4n) > 0);
  });
});

const v4 = (n: number): string => `192.0.2.${n}`;
const v6 = (n: number): string => `2001:db8::${n}`;
const family = (a: string): '4' | '6' => (a.includes(':') ? '6' : '4');

/** Addresses sorted by descending local preference, as their host candidates' priorities order them. */
function byPreference(addresses: string[], prefs: number[]): string[] {
  return addresses
    .map((address, i) => ({ address, priority: computePriority('host', prefs[i], 1) }))
    .sort((a, b) => b.priority - a.priority)
    .map((x) => x.address);
}

describe('assignLocalPreferences (RFC 8421 §4)', () => {
  it('puts an IPv4 address after four IPv6 addresses with two IPv4 and six IPv6 (Hi = 8/2)', () => {
    const addresses = [v4(1), v4(2), v6(1), v6(2), v6(3), v6(4), v6(5), v6(6)];
    const prefs = assignLocalPreferences(addresses.map((address) => ({ address })));
    assert.deepEqual(prefs, [65531, 65528, 65535, 65534, 65533, 65532, 65530, 65529]);
    assert.equal(byPreference(addresses, prefs).map(family).join(''), '66664664');
  });

  it('gives a single address 65535 (RFC 8445 §5.1.2.1)', () => {
    assert.deepEqual(assignLocalPreferences([{ address: '10.0.0.1' }]), [65535]);
    assert.deepEqual(assignLocalPreferences([{ address: '::1' }]), [65535]);
    assert.deepEqual(assignLocalPreferences([]), []);
  });

  it('intermingles from the head start on: 3 IPv4 and 3 IPv6 alternate after 2 IPv6', () => {
    const addresses = [v4(1), v4(2), v4(3), v6(1), v6(2), v6(3)];
    const order = byPreference(addresses, assignLocalPreferences(addresses.map((address) => ({ address }))));
    assert.deepEqual(order, [v6(1), v6(2), v4(1), v6(3), v4(2), v4(3)]);
  });

  it('keeps input order within one family', () => {
    assert.deepEqual(assignLocalPreferences([{ address: v4(9) }, { address: v4(3) }, { address: v4(5) }]), [65535, 65534, 65533]);
  });

  it('gives one value per base address, however it is written, and keeps zones apart', () => {
    const prefs = assignLocalPreferences([
      { address: '2001:db8::1' },
      { address: '10.0.0.1' },
      { address: '2001:DB8:0::1' },
      { address: '10.0.0.1' },
      { address: 'fe80::1%eth0' },
      { address: 'fe80::1%eth1' },
    ]);
    assert.equal(prefs[0], prefs[2]);
    assert.equal(prefs[1], prefs[3]);
    assert.notEqual(prefs[4], prefs[5]);
    assert.equal(new Set(prefs).size, 4);
  });

  it('is deterministic and honours max and step', () => {
    const input = [v4(1), v6(1), v6(2)].map((address) => ({ address }));
    assert.deepEqual(assignLocalPreferences(input), assignLocalPreferences(input));
    assert.deepEqual(assignLocalPreferences(input, { max: 8191, step: 1000 }), [6191, 8191, 7191]);
    assert.throws(() => assignLocalPreferences(input, { max: 1500, step: 1000 }), RangeError);
    assert.throws(() => assignLocalPreferences(input, { max: 65536 }), RangeError);
    assert.throws(() => assignLocalPreferences(input, { step: 0 }), RangeError);
    assert.throws(() => assignLocalPreferences([{ address: 'host.local' }]), TypeError);
  });

  it('ranks relayed candidates UDP > TCP > TLS, intermingling families within each transport', () => {
    const relays = [
      { address: '198.51.100.1', port: 5000, relayTransport: 'tls' as const },
      { address: '198.51.100.1', port: 5001, relayTransport: 'tcp' as const },
      { address: '198.51.100.1', port: 5002, relayTransport: 'udp' as const },
      { address: '2001:db8::7', port: 5003, relayTransport: 'udp' as const },
      { address: '198.51.100.1', port: 5004 }, // udp by default
    ];
    const prefs = assignLocalPreferences(relays, { relayed: true });
    // A band of 21 845 values per transport: udp (one IPv6 then IPv4 in input order, Hi = 3/2 → 1), tcp, tls.
    assert.deepEqual(prefs, [21845, 43690, 65534, 65535, 65533]);
    // Without `relayed`, the same IP is one base: one value.
    assert.deepEqual(new Set(assignLocalPreferences(relays.filter((r) => !r.address.includes(':')))).size, 1);
  });

  it('stays unique over an agent\'s life: later addresses take values below those in use, released ones come back', () => {
    const prefs = new LocalPreferences();
    assert.deepEqual(prefs.take([{ address: v4(1) }, { address: v6(1) }]), [65534, 65535]);
    // An address that appears later (continual gathering) ties with none; one already held keeps its value.
    assert.deepEqual(prefs.take([{ address: v4(2) }, { address: v6(1) }]), [65533, 65535]);
    // v6(1) was taken twice: one release keeps it held.
    prefs.release({ address: v6(1) });
    assert.deepEqual(prefs.take([{ address: v4(3) }]), [65532]);
    prefs.release({ address: v6(1) });
    prefs.release({ address: v6(1) });
    // Freed at last; below the lowest in use there is still room, so that is taken first.
    assert.deepEqual(prefs.take([{ address: v4(4) }]), [65531]);
  });

  it('reuses freed values when the range runs out, and refuses only when every value is held', () => {
    const prefs = new LocalPreferences({ max: 2 });
    assert.deepEqual(prefs.take([{ address: v4(1) }, { address: v4(2) }, { address: v4(3) }]), [2, 1, 0]);
    prefs.release({ address: v4(1) });
    assert.deepEqual(prefs.take([{ address: v4(4) }]), [2]);
    assert.throws(() => prefs.take([{ address: v4(5) }]), RangeError);
    // Nothing was held by the refused call.
    prefs.release({ address: v4(2) });
    assert.deepEqual(prefs.take([{ address: v4(5) }]), [1]);
  });

  it('keeps relays in their transport band whatever order they are gathered in', () => {
    const prefs = new LocalPreferences({ max: 8191, relayed: ['tcp', 'tls'] });
    const tls = prefs.take([{ address: '198.51.100.1', port: 1, relayTransport: 'tls' }]);
    const tcp = prefs.take([{ address: '198.51.100.1', port: 2, relayTransport: 'tcp' }]);
    const tcp2 = prefs.take([{ address: '198.51.100.2', port: 3, relayTransport: 'tcp' }]);
    assert.deepEqual([tcp[0], tcp2[0], tls[0]], [8191, 8190, 4095]);
    assert.throws(() => prefs.take([{ address: '198.51.100.1', relayTransport: 'udp' }]), TypeError);
  });

  it('satisfies RFC 8421 on random address sets', () => {
    const ip = fc.oneof(fc.ipV4(), fc.ipV6()).map((a) => formatIp(parseIp(a)));
    fc.assert(
      fc.property(fc.array(ip, { maxLength: 40 }), (addresses) => {
        const prefs = assignLocalPreferences(addresses.map((address) => ({ address })));
        const distinct = [...new Set(addresses)];
        const prefOf = new Map(addresses.map((a, i) => [a, prefs[i]]));
        assert.equal(new Set(prefOf.values()).size, distinct.length, 'one distinct value per distinct address');
        for (const p of prefs) assert.ok(Number.isInteger(p) && p >= 0 && p <= 65535);
        const order = distinct.sort((a, b) => (prefOf.get(b) as number) - (prefOf.get(a) as number)).map(family).join('');
        const n4 = order.split('').filter((f) => f === '4').length;
        const n6 = order.length - n4;
        if (n6 > 0) assert.equal(order[0], '6', 'IPv6 first');
        if (n4 > 0 && n6 > 0) {
          const hi = Math.floor((n4 + n6) / n4);
          // Before the last IPv4 address, no run of IPv6 is longer than the head start.
          const beforeLastV4 = order.slice(0, order.lastIndexOf('4'));
          for (const run of beforeLastV4.split('4')) assert.ok(run.length <= hi, `${order}: run ${run.length} > Hi ${hi}`);
          assert.ok(order.startsWith('6'.repeat(Math.min(hi, n6))), `${order}: head start ${hi}`);
        }
      }),
      { numRuns: 500 },
    );
  });
});
