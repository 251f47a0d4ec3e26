// The denied-peer policy of the TURN server: coturn-like defaults, deny CIDRs, allow overriding them.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PeerPolicy, parseCidr } from '../../src/server/peer-policy.js';

describe('PeerPolicy', () => {
  it('denies "this network", link-local, multicast, reserved and loopback by default', () => {
    const policy = new PeerPolicy();
    for (const address of ['0.0.0.0', '0.1.2.3', '169.254.169.254', '224.0.0.251', '239.255.255.250', '255.255.255.255', '127.0.0.1', '127.9.9.9', '::1', '::', 'fe80::1', 'febf::1', 'ff02::1', '::ffff:127.0.0.1', '::ffff:169.254.169.254']) {
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
});
