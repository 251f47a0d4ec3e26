// Destination policy (CIDR matching, defaults, allow/deny precedence), the token bucket and option validation.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { DestinationPolicy, cidrContains, parseCidr } from '../../bridge/policy.js';
import { TokenBucket } from '../../bridge/rate-limit.js';
import { resolveBridgeOptions } from '../../bridge/options.js';
import { formatIp, parseIp } from '../../src/net/ip.js';

const contains = (cidr: string, address: string) => {
  const bytes = parseIp(address);
  return cidrContains(parseCidr(cidr), bytes, 0, bytes.length);
};

describe('CIDR blocks', () => {
  it('match IPv4 and IPv6 prefixes of any length', () => {
    assert.equal(contains('10.0.0.0/8', '10.255.1.2'), true);
    assert.equal(contains('10.0.0.0/8', '11.0.0.0'), false);
    assert.equal(contains('192.168.1.0/25', '192.168.1.127'), true);
    assert.equal(contains('192.168.1.0/25', '192.168.1.128'), false);
    assert.equal(contains('0.0.0.0/0', '203.0.113.9'), true);
    assert.equal(contains('1.2.3.4', '1.2.3.4'), true);
    assert.equal(contains('1.2.3.4', '1.2.3.5'), false);
    assert.equal(contains('fe80::/10', 'febf::1'), true);
    assert.equal(contains('fe80::/10', 'fec0::1'), false);
    assert.equal(contains('::/0', '2001:db8::1'), true);
    assert.equal(contains('10.0.0.0/8', '::ffff:10.0.0.1'), false, 'families never match each other');
  });

  it('clear host bits and refuse malformed blocks', () => {
    assert.equal(formatIp(parseCidr('10.1.2.3/8').bytes), '10.0.0.0');
    for (const bad of ['', '10.0.0.0/33', '::/129', '10.0.0.0/', '10.0.0.0/-1', '10.0.0.0/8/8', 'example.com/8', 'fe80::1%eth0/64', '10.0.0.0/ 8']) {
      assert.throws(() => parseCidr(bad), TypeError, bad);
    }
  });

  it('agree with a bit-by-bit comparison on random addresses', () => {
    const bits = (b: Uint8Array) => Array.from(b, (x) => x.toString(2).padStart(8, '0')).join('');
    fc.assert(
      fc.property(fc.boolean(), fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.nat(128), (v6, a, b, n) => {
        const length = v6 ? 16 : 4;
        const prefix = n % (length * 8 + 1);
        const block = parseCidr(`${formatIp(a.subarray(0, length))}/${prefix}`);
        const address = b.subarray(0, length);
        assert.equal(cidrContains(block, address, 0, length), bits(a.subarray(0, length)).slice(0, prefix) === bits(address).slice(0, prefix));
      }),
      { numRuns: 1000 },
    );
  });
});

describe('destination policy', () => {
  const refusedByDefault = [
    '0.0.0.0', '0.1.2.3', '127.0.0.1', '127.255.0.1', '169.254.169.254', '169.254.0.1', '224.0.0.251', '239.255.255.250',
    '255.255.255.255', '::1', '::', 'fe80::1', 'febf::1', 'ff02::1', 'fd00:ec2::254', '100.100.100.200',
    // IPv4-mapped IPv6 is judged as the IPv4 host it reaches.
    '::ffff:127.0.0.1', '::ffff:169.254.169.254',
  ];
  const allowedByDefault = ['192.0.2.1', '10.0.0.1', '192.168.1.1', '172.16.0.1', '8.8.8.8', '2001:db8::1', 'fd00::1', '::ffff:192.0.2.1'];

  it('refuses loopback, link-local, metadata, multicast and broadcast by default', () => {
    const policy = new DestinationPolicy();
    for (const a of refusedByDefault) assert.equal(policy.check(a, 3478), 'destination-denied', a);
    for (const a of allowedByDefault) assert.equal(policy.check(a, 3478), 'allowed', a);
  });

  it('refuses what is not a destination at all', () => {
    const policy = new DestinationPolicy();
    for (const [a, p] of [['192.0.2.1', 0], ['192.0.2.1', 65536], ['192.0.2.1', 1.5], ['example.com', 80], ['', 80], ['1.2.3', 80]] as const) {
      assert.equal(policy.check(a, p), 'invalid-destination', `${a}:${p}`);
    }
  });

  it('allowLoopback lets loopback through and nothing else', () => {
    const policy = new DestinationPolicy({ allowLoopback: true });
    for (const a of ['127.0.0.1', '127.1.2.3', '::1', '::ffff:127.0.0.1']) assert.equal(policy.check(a, 1), 'allowed', a);
    for (const a of ['169.254.169.254', '0.0.0.0', 'fe80::1', '224.0.0.1']) assert.equal(policy.check(a, 1), 'destination-denied', a);
  });

  it('allow overrides a default deny; an explicit deny wins over allow', () => {
    const policy = new DestinationPolicy({ allow: ['169.254.0.0/16', '10.0.0.0/8'], deny: ['169.254.169.254/32', '10.1.0.0/16', '2001:db8::/32'] });
    assert.equal(policy.check('169.254.1.1', 1), 'allowed');
    assert.equal(policy.check('169.254.169.254', 1), 'destination-denied');
    assert.equal(policy.check('10.2.0.1', 1), 'allowed');
    assert.equal(policy.check('10.1.0.1', 1), 'destination-denied');
    assert.equal(policy.check('2001:db8::5', 1), 'destination-denied');
    assert.equal(policy.check('2001:db9::5', 1), 'allowed');
  });

  it('fails at construction on a malformed block', () => {
    assert.throws(() => new DestinationPolicy({ deny: ['10.0.0.0/40'] }), TypeError);
  });
});

describe('token bucket', () => {
  it('allows a burst, then the rate, and never more than the burst after a pause', () => {
    const bucket = new TokenBucket(10, 5, 0);
    let passed = 0;
    for (let i = 0; i < 20; i++) if (bucket.take(1, 0)) passed++;
    assert.equal(passed, 5);
    assert.equal(bucket.take(1, 50), false, 'half a token after 50 ms');
    assert.equal(bucket.take(1, 100), true);
    passed = 0;
    for (let i = 0; i < 20; i++) if (bucket.take(1, 10_000)) passed++;
    assert.equal(passed, 5);
  });

  it('takes nothing when it cannot take all', () => {
    const bucket = new TokenBucket(1000, 1000, 0);
    assert.equal(bucket.take(1500, 0), false);
    assert.equal(bucket.take(1000, 0), true);
  });
});

describe('bridge options', () => {
  it('documents its defaults by applying them', () => {
    const o = resolveBridgeOptions({ secret: 's' });
    assert.equal(o.host, '127.0.0.1');
    assert.equal(o.port, 8787);
    assert.equal(o.maxSockets, 8);
    assert.equal(o.maxPayload, 65507);
    assert.equal(o.packetsPerSecond, 2000);
    assert.equal(o.bytesPerSecond, 2_000_000);
    assert.equal(o.idleTimeoutMs, 60_000);
    assert.equal(o.maxBufferedBytes, 1_048_576);
    assert.equal(o.maxSessions, 1000);
    assert.equal(o.allowMissingOrigin, true);
    assert.equal(o.allowLoopback, false);
  });

  it('refuses bad values at start', () => {
    assert.throws(() => resolveBridgeOptions({}), /allowAnonymous/);
    assert.throws(() => resolveBridgeOptions({ secret: '' }), TypeError);
    assert.throws(() => resolveBridgeOptions({ secret: 's', maxPayload: 70_000 }), RangeError);
    assert.throws(() => resolveBridgeOptions({ secret: 's', maxSockets: 0 }), RangeError);
    assert.throws(() => resolveBridgeOptions({ secret: 's', maxMessageBytes: 1000 }), RangeError);
    assert.throws(() => resolveBridgeOptions({ secret: 's', udpBindAddress: { IPv4: '::1' } }), TypeError);
    assert.throws(() => resolveBridgeOptions({ secret: 's', path: 'bridge' }), TypeError);
    assert.throws(() => resolveBridgeOptions({ secret: 's', allow: ['nonsense'] }), TypeError);
    assert.throws(() => resolveBridgeOptions({ secret: 's', bindPortRange: [5000, 4000] }), RangeError);
  });
});
