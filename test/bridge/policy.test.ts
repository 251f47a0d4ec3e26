// Destination policy (CIDR matching, defaults, allow/deny precedence), the token bucket and option validation.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { DEFAULT_DENIED, DestinationPolicy, cidrContains, parseCidr } from '../../bridge/policy.js';
import { watchHostAddresses } from '../../src/node/host-addresses.js';
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
    '240.0.0.1', '247.1.2.3', '192.0.0.8', '192.0.0.170',
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

  it('keeps a reason for every default row', () => {
    for (const row of DEFAULT_DENIED) {
      assert.doesNotThrow(() => parseCidr(row.cidr), row.cidr);
      assert.ok(row.why.length > 0, row.cidr);
    }
    for (const cidr of ['240.0.0.0/4', '192.0.0.0/24']) assert.ok(DEFAULT_DENIED.some((row) => row.cidr === cidr), cidr);
  });
});

/** 169.254.169.254 (cloud metadata) and 203.0.113.5 (a documentation address standing for any public one). */
const embeddingsOf = (v4: string) => {
  const b = parseIp(v4);
  const hex = (hi: number, lo: number) => ((hi << 8) | lo).toString(16);
  const inv = (x: number) => x ^ 0xff;
  return {
    mapped: `::ffff:${v4}`,
    compatible: `::${v4}`,
    siit: `::ffff:0:${v4}`,
    nat64: `64:ff9b::${hex(b[0], b[1])}:${hex(b[2], b[3])}`,
    // RFC 6052 §2.2 with zero padding: /96 the last 32 bits; /64 bits 72..103; /56 bits 56..63 and 72..95; /48 bits 48..63 and 72..87.
    localUse96: `64:ff9b:1::${hex(b[0], b[1])}:${hex(b[2], b[3])}`,
    localUse64: `64:ff9b:1:0:${hex(0, b[0])}:${hex(b[1], b[2])}:${hex(b[3], 0)}:0`,
    localUse56: `64:ff9b:1:${hex(0, b[0])}:${hex(0, b[1])}:${hex(b[2], b[3])}::`,
    localUse48: `64:ff9b:1:${hex(b[0], b[1])}:${hex(0, b[2])}:${hex(b[3], 0)}::`,
    sixToFour: `2002:${hex(b[0], b[1])}:${hex(b[2], b[3])}::1`,
    // Teredo server 203.0.113.1, cone flag, obscured port 1; the client address inverted.
    teredo: `2001:0:cb00:7101:8000:fffe:${hex(inv(b[0]), inv(b[1]))}:${hex(inv(b[2]), inv(b[3]))}`,
    isatap: `2001:db8:1:2:200:5efe:${v4}`,
  };
};

describe('IPv6 forms that embed an IPv4 address', () => {
  const policy = new DestinationPolicy();

  it('are refused when the IPv4 address is', () => {
    const forms = [
      ...Object.values(embeddingsOf('169.254.169.254')),
      ...Object.values(embeddingsOf('127.0.0.1')),
      ...Object.values(embeddingsOf('240.0.0.1')),
      ...Object.values(embeddingsOf('192.0.0.8')),
      '64:ff9b::a9fe:a9fe', '64:ff9b:1:a9fe:a9fe::', '64:ff9b:1::a9fe:a9fe', '2002:a9fe:a9fe::1', '::169.254.169.254',
      '::ffff:0:a9fe:a9fe', '::127.0.0.1', '2001:0:cb00:7101::5601:5601', '2001:0:cb00:7101:8000:fffe:5601:5601',
      // Teredo with a refused server address, and a public client (203.0.113.5).
      '2001:0:a9fe:a9fe:8000:fffe:34ff:8efa',
      '2001:db8::5efe:7f00:1', 'fe80::5efe:cb00:7105',
    ];
    for (const a of forms) assert.equal(policy.check(a, 3478), 'destination-denied', a);
  });

  it('are allowed when the IPv4 address is', () => {
    for (const [form, a] of Object.entries(embeddingsOf('203.0.113.5'))) assert.equal(policy.check(a, 3478), 'allowed', `${form} ${a}`);
    for (const a of ['2001:0:cb00:7101:8000:fffe:34ff:8efa', '64:ff9b::cb00:7105', '2002:cb00:7105::1']) assert.equal(policy.check(a, 1), 'allowed', a);
  });

  it('leave :: and ::1 what they are, not IPv4-compatible 0.0.0.0 and 0.0.0.1', () => {
    const loopback = new DestinationPolicy({ allowLoopback: true });
    assert.equal(loopback.check('::1', 1), 'allowed');
    assert.equal(loopback.check('::', 1), 'destination-denied');
    assert.equal(loopback.check('::0.0.0.2', 1), 'destination-denied', '0.0.0.0/8');
    assert.equal(loopback.check('::127.0.0.1', 1), 'allowed', 'judged as 127.0.0.1');
  });

  it('get the verdict of the IPv4 address they embed, for any address (property)', () => {
    const policies = [new DestinationPolicy(), new DestinationPolicy({ allowLoopback: true }), new DestinationPolicy({ deny: ['10.0.0.0/8'], allow: ['169.254.0.0/16'] })];
    policies[2].setHostAddresses(['198.51.100.7', '192.0.2.2']);
    const verdict = (p: DestinationPolicy, a: string) => p.check(a, 3478);
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 4, maxLength: 4 }), fc.constantFrom(0, 1, 2), fc.boolean(), (bytes, which, host) => {
        const p = policies[which];
        const v4 = formatIp(host ? parseIp(which === 2 ? '198.51.100.7' : '192.0.2.2') : bytes);
        const zeroNet = parseIp(v4)[0] === 0; // 0.0.0.0/8
        const expected = verdict(p, v4);
        const forms = embeddingsOf(v4);
        const { localUse64, localUse56, localUse48, ...fixed } = forms;
        for (const [form, a] of Object.entries(fixed)) {
          if (form === 'compatible' && (v4 === '0.0.0.0' || v4 === '0.0.0.1')) continue; // '::' and '::1'
          assert.equal(verdict(p, a), expected, `${form} ${a} vs ${v4}`);
        }
        // A local-use address is read at every place RFC 6052 §2.2 gives (/48, /56, /64, /96) and the worst
        // reading wins; readings in 0.0.0.0/8 are padding as long as one reading is not.
        for (const form of ['localUse64', 'localUse56', 'localUse48'] as const) {
          const x = parseIp(forms[form]);
          const readings = [[x[6], x[7], x[9], x[10]], [x[7], x[9], x[10], x[11]], [x[9], x[10], x[11], x[12]], [x[12], x[13], x[14], x[15]]];
          const real = readings.filter((r) => r[0] !== 0);
          const verdicts = (real.length > 0 ? real : readings).map((r) => verdict(p, r.join('.')));
          if (!zeroNet) assert.ok(verdicts.includes(expected), `${form}: ${v4} is one of the readings`);
          const worst = verdicts.includes('destination-denied') ? 'destination-denied' : 'allowed';
          assert.equal(verdict(p, forms[form]), worst, `${form} ${forms[form]} vs ${v4}`);
        }
        // The safe direction holds for every form: what is refused as IPv4 is refused embedded, but in
        // 0.0.0.0/8 at a local-use place where another reading is a real address (padding, see above).
        if (expected === 'destination-denied' && !zeroNet) {
          for (const [form, a] of Object.entries(forms)) assert.equal(verdict(p, a), 'destination-denied', `${form} ${a}`);
        }
      }),
      { numRuns: 2000 },
    );
  });
});

describe("the host's own addresses", () => {
  const HOST = ['127.0.0.1', '::1', '192.0.2.2', 'fd00::2', 'fe80::fc:ff:fe00:1%eth0', 'not an address'];

  it('are refused on every port, in every form, loopback left to allowLoopback', () => {
    const policy = new DestinationPolicy({ allowLoopback: true });
    policy.setHostAddresses(HOST);
    assert.deepEqual([...policy.hostAddresses].sort(), ['192.0.2.2', 'fd00::2', 'fe80::fc:ff:fe00:1']);
    for (const a of ['192.0.2.2', 'fd00::2', 'fd00:0::2', '::ffff:192.0.2.2', '64:ff9b::c000:202', '2002:c000:202::1', 'fe80::fc:ff:fe00:1']) {
      for (const port of [1, 22, 3478]) assert.equal(policy.check(a, port), 'destination-denied', `${a}:${port}`);
    }
    for (const a of ['127.0.0.1', '::1', '::ffff:127.0.0.1', '192.0.2.3', 'fd00::3']) assert.equal(policy.check(a, 3478), 'allowed', a);
    assert.equal(policy.checkAnswer('192.0.2.2'), 'destination-denied');
    const noLoopback = new DestinationPolicy();
    noLoopback.setHostAddresses(HOST);
    assert.equal(noLoopback.check('127.0.0.1', 3478), 'destination-denied');
  });

  it('allowHostAddresses lets them through; allow does not', () => {
    const open = new DestinationPolicy({ allowHostAddresses: true });
    open.setHostAddresses(HOST);
    assert.deepEqual(open.hostAddresses, []);
    assert.equal(open.check('192.0.2.2', 22), 'allowed');
    assert.equal(open.check('fd00::2', 22), 'allowed');
    assert.equal(open.check('fe80::fc:ff:fe00:1', 22), 'destination-denied', 'link-local stays refused');
    assert.equal(open.check('127.0.0.1', 22), 'destination-denied', 'loopback is allowLoopback’s');
    const allow = new DestinationPolicy({ allow: ['192.0.2.0/24'] });
    allow.setHostAddresses(HOST);
    assert.equal(allow.check('192.0.2.2', 22), 'destination-denied');
  });

  it('allowHostPorts lets exactly those ports of them through', () => {
    const policy = new DestinationPolicy({ allowHostPorts: [3478, 3479] });
    policy.setHostAddresses(HOST);
    for (const a of ['192.0.2.2', 'fd00::2', '::ffff:192.0.2.2']) {
      assert.equal(policy.check(a, 3478), 'allowed', a);
      assert.equal(policy.check(a, 3479), 'allowed', a);
      for (const port of [1, 22, 3477, 3480, 65535]) assert.equal(policy.check(a, port), 'destination-denied', `${a}:${port}`);
    }
    assert.equal(policy.check('fe80::fc:ff:fe00:1', 3478), 'destination-denied', 'refused anyway: no port lifts it');
    assert.equal(policy.check('169.254.169.254', 3478), 'destination-denied');
    assert.equal(policy.checkAnswer('192.0.2.2'), 'allowed', 'some port of it may be reached');
    assert.throws(() => new DestinationPolicy({ allowHostPorts: [0] }), RangeError);
    assert.throws(() => new DestinationPolicy({ allowHostPorts: [65536] }), RangeError);
  });

  it("a session socket's port opens it for UDP only, a session listener's for TCP only, until released", () => {
    const policy = new DestinationPolicy();
    policy.setHostAddresses(HOST);
    policy.addSessionPort(40000);
    policy.addSessionPort(40001, 'tcp');
    assert.equal(policy.check('192.0.2.2', 40000, 'udp'), 'allowed');
    assert.equal(policy.check('192.0.2.2', 40000, 'tcp'), 'destination-denied');
    assert.equal(policy.check('192.0.2.2', 40001, 'tcp'), 'allowed');
    assert.equal(policy.check('192.0.2.2', 40001, 'udp'), 'destination-denied');
    policy.releaseSessionPort(40001, 'tcp');
    assert.equal(policy.check('192.0.2.2', 40001, 'tcp'), 'destination-denied');
  });

  it('cached verdicts go when the host addresses change', () => {
    const policy = new DestinationPolicy();
    assert.equal(policy.check('192.0.2.2', 3478), 'allowed');
    policy.setHostAddresses(['192.0.2.2']);
    assert.equal(policy.check('192.0.2.2', 3478), 'destination-denied');
    assert.equal(policy.checkAnswer('192.0.2.2'), 'destination-denied');
    policy.setHostAddresses(['192.0.2.2']); // unchanged
    assert.equal(policy.check('192.0.2.2', 3478), 'destination-denied');
    policy.setHostAddresses(['192.0.2.9']);
    assert.equal(policy.check('192.0.2.2', 3478), 'allowed');
    assert.equal(policy.check('192.0.2.9', 3478), 'destination-denied');
  });

  it('are re-read by a watcher that reports changes only, and stops', (t) => {
    t.mock.timers.enable({ apis: ['setInterval'] });
    let current = ['192.0.2.2', '127.0.0.1'];
    let reads = 0;
    const seen: string[][] = [];
    const watcher = watchHostAddresses((list) => seen.push(list), {
      intervalMs: 1000,
      read: () => {
        reads++;
        if (current.length === 0) throw new Error('EMFILE');
        return current;
      },
    });
    assert.deepEqual(seen, [['127.0.0.1', '192.0.2.2']], 'the first list at once, sorted');
    t.mock.timers.tick(1000);
    current = ['127.0.0.1', '192.0.2.2', '127.0.0.1'];
    t.mock.timers.tick(1000);
    assert.equal(seen.length, 1, 'the same set is no change');
    current = ['192.0.2.3'];
    t.mock.timers.tick(1000);
    assert.deepEqual(seen.at(-1), ['192.0.2.3']);
    current = [];
    t.mock.timers.tick(1000);
    assert.deepEqual(watcher.addresses, ['192.0.2.3'], 'a failing read keeps the last list');
    watcher.stop();
    const before = reads;
    current = ['192.0.2.4'];
    t.mock.timers.tick(5000);
    assert.equal(reads, before, 'stopped');
    assert.equal(seen.length, 2);
    assert.throws(() => watchHostAddresses(() => {}, { intervalMs: 0 }), RangeError);
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
    assert.equal(o.allowHostAddresses, false);
    assert.deepEqual(o.allowHostPorts, []);
    assert.deepEqual(resolveBridgeOptions({ secret: 's', allowHostPorts: [3478, 3479, 3478] }).allowHostPorts, [3478, 3479]);
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
    for (const bad of [[0], [65536], [1.5], [Number.NaN]]) assert.throws(() => resolveBridgeOptions({ secret: 's', allowHostPorts: bad }), RangeError, String(bad));
    assert.throws(() => resolveBridgeOptions({ secret: 's', allowHostPorts: 3478 as unknown as number[] }), TypeError);
    // Lists that are no arrays ('….map is not a function'), origins that are none, a logger that would throw at the first line.
    const named = (message: RegExp) => ({ name: 'TypeError', message });
    assert.throws(() => resolveBridgeOptions({ secret: 's', allowOrigins: 'https://app.example' as unknown as string[] }), named(/^bridge option allowOrigins must be an array of strings/));
    assert.throws(() => resolveBridgeOptions({ secret: 's', deny: '10.0.0.0/8' as unknown as string[] }), named(/^bridge option deny must be an array of strings/));
    for (const origin of ['app.example', 'https://app.example/page', 'https://app.example?x=1', ''])
      assert.throws(() => resolveBridgeOptions({ secret: 's', allowOrigins: [origin] }), named(/is not an origin/), origin);
    assert.throws(() => resolveBridgeOptions({ secret: 's', logger: 'stderr' as unknown as () => void }), named(/^bridge option logger must be a function/));
    // As a browser sends them: lowercase, a default port dropped, a trailing slash ignored; other schemes as written.
    const origins = resolveBridgeOptions({ secret: 's', allowOrigins: ['HTTPS://App.Example:443', 'http://a.example:8080/', 'chrome-extension://abcdef'] }).allowOrigins;
    assert.deepEqual([...(origins ?? [])], ['https://app.example', 'http://a.example:8080', 'chrome-extension://abcdef']);
  });
});
