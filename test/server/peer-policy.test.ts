// The denied-peer policy of the TURN server: coturn-like defaults, deny CIDRs, allow overriding them.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DENIED_RANGES } from '../../src/net/address-policy.js';
import { DEFAULT_DENIED } from '../../bridge/policy.js';
import { DEFAULT_DENIED_PEERS, PeerPolicy, parseCidr } from '../../src/server/peer-policy.js';

describe('PeerPolicy', () => {
  it('denies "this network", link-local, multicast, reserved and loopback by default', () => {
    const policy = new PeerPolicy();
    for (const address of ['0.0.0.0', '0.1.2.3', '169.254.169.254', '224.0.0.251', '239.255.255.250', '255.255.255.255', '127.0.0.1', '127.9.9.9', '::1', '::', 'fe80::1', 'febf::1', 'ff02::1', '::ffff:127.0.0.1', '::ffff:169.254.169.254', '240.0.0.1', '192.0.0.8', '192.0.0.255']) {
      assert.equal(policy.permits(address), false, address);
    }
    for (const address of ['192.0.2.1', '10.0.0.1', '8.8.8.8', '2001:db8::1', 'fec0::1', '::ffff:192.0.2.1']) {
      assert.equal(policy.permits(address), true, address);
    }
  });

  it('allowLoopback permits loopback only; deny adds ranges; allow overrides any deny', () => {
    const loopback = new PeerPolicy({ allowLoopback: true });
    assert.equal(loopback.permits('127.0.0.1'), true);
    assert.equal(loopback.permits('::1'), true);
    assert.equal(loopback.permits('169.254.1.1'), false);
    const policy = new PeerPolicy({ deny: ['10.0.0.0/8', '2001:db8::/32'], allow: ['10.1.2.3', '169.254.0.0/16'] });
    assert.equal(policy.permits('10.9.9.9'), false);
    assert.equal(policy.permits('10.1.2.3'), true);
    assert.equal(policy.permits('2001:db8:1::1'), false);
    assert.equal(policy.permits('2001:db9::1'), true);
    assert.equal(policy.permits('169.254.169.254'), true);
    assert.equal(new PeerPolicy({ denyDefaults: false, allowLoopback: true }).permits('224.0.0.1'), true);
  });

  it('refuses text that is not an address, and rejects bad CIDRs at construction', () => {
    const policy = new PeerPolicy();
    for (const bad of ['', 'localhost', '1.2.3', '1.2.3.4.5', '::g']) assert.equal(policy.permits(bad), false, bad);
    assert.deepEqual(parseCidr('10.0.0.0/8'), { text: '10.0.0.0/8', bytes: new Uint8Array([10, 0, 0, 0]), prefix: 8 });
    assert.equal(parseCidr('fe80::/10').prefix, 10);
    assert.equal(parseCidr('192.0.2.7').prefix, 32);
    for (const bad of ['10.0.0.0/33', 'fe80::/129', '10.0.0.0/', 'x/8', '10.0.0.0/-1']) assert.throws(() => parseCidr(bad), TypeError, bad);
    assert.throws(() => new PeerPolicy({ deny: ['nope'] }), TypeError);
  });

  it('shares one default table with the bridge', () => {
    assert.deepEqual(DEFAULT_DENIED_PEERS, DENIED_RANGES.map((r) => r.cidr));
    assert.deepEqual(DEFAULT_DENIED.map((r) => r.cidr), DEFAULT_DENIED_PEERS);
  });

  it('judges every IPv6 form that embeds an IPv4 address as that address', () => {
    const policy = new PeerPolicy();
    const refused = [
      '64:ff9b::a9fe:a9fe', '64:ff9b::127.0.0.1', '64:ff9b:1:a9fe:a9fe::', '64:ff9b:1::a9fe:a9fe', '64:ff9b:1:a9:fe:a9fe::',
      '2002:a9fe:a9fe::1', '2002:7f00:1::', '::169.254.169.254', '::127.0.0.1', '::ffff:0:a9fe:a9fe', '::ffff:0:127.0.0.1',
      '2001:0:cb00:7101::5601:5601', '2001:0:cb00:7101:8000:fffe:80ff:fffe', '2001:0:a9fe:a9fe:8000:fffe:34ff:8efa',
      '::ffff:240.0.0.1', '64:ff9b::c000:8', '2001:db8::200:5efe:a9fe:a9fe',
    ];
    for (const a of refused) assert.equal(policy.permits(a), false, a);
    const allowed = [
      '64:ff9b::cb00:7105', '64:ff9b:1::cb00:7105', '64:ff9b:1:cb00:71:500::', '2002:cb00:7105::1', '::203.0.113.5',
      '::ffff:0:cb00:7105', '2001:0:cb00:7101:8000:fffe:34ff:8efa', '2001:db8::200:5efe:cb00:7105',
    ];
    for (const a of allowed) assert.equal(policy.permits(a), true, a);
  });

  it("refuses the server's own addresses, lifted by allowHostAddresses; loopback is allowLoopback's", () => {
    const own = ['127.0.0.1', '::1', '198.51.100.7', '2001:db8:5::7', 'fe80::1%eth0'];
    const policy = new PeerPolicy({ allowLoopback: true, allow: ['198.51.100.0/24'] });
    assert.equal(policy.setHostAddresses(own), true);
    assert.equal(policy.setHostAddresses([...own].reverse()), false, 'the same set');
    for (const a of ['198.51.100.7', '::ffff:198.51.100.7', '64:ff9b::c633:6407', '2001:db8:5::7', '2001:db8:5:0::7']) {
      assert.equal(policy.permits(a), false, a);
      assert.equal(policy.judge(a), 'host', a);
    }
    assert.equal(policy.judge('169.254.1.1'), 'denied');
    assert.equal(policy.judge('fe80::1'), 'denied', 'refused anyway, not only as a host address');
    assert.equal(policy.judge('198.51.100.8'), 'allowed');
    assert.equal(policy.judge('nonsense'), 'denied');
    assert.equal(policy.permits('127.0.0.1'), true, 'loopback');
    assert.equal(policy.isHostAddress('198.51.100.7'), true);
    assert.equal(policy.isHostAddress('2001:db8:5::7'), true);
    assert.equal(policy.isHostAddress('127.0.0.1'), false);
    assert.deepEqual([...policy.hostAddresses].sort(), ['198.51.100.7', '2001:db8:5::7', 'fe80::1']);
    const noLoopback = new PeerPolicy();
    noLoopback.setHostAddresses(own);
    assert.equal(noLoopback.permits('127.0.0.1'), false);
    const open = new PeerPolicy({ allowHostAddresses: true });
    open.setHostAddresses(own);
    assert.equal(open.permits('198.51.100.7'), true);
    assert.equal(open.isHostAddress('198.51.100.7'), false);
  });
});
