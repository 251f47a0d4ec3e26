// icebridge's NAT behaviour discovery client against coturn on loopback. coturn turns RFC 5780 on by itself
// when it has two listening addresses of one family (`turnserver --help`: --no-rfc5780 turns it off); its
// alternate port is --alt-listening-port (default the port + 1). With one address it is a plain STUN server,
// and discovery must say so. Nothing leaves the loopback interface.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { discoverNatBehavior } from '../../src/node/nat-discovery.js';
import { NatDiscoveryError } from '../../src/nat/index.js';
import { freeUdpTcpPort, startCoturn, type RunningCoturn } from '../interop/support/coturn.js';

const TIMEOUT = { timeout: 60_000 };

describe('NAT behaviour discovery against coturn in RFC 5780 mode (127.0.0.1 + 127.0.0.2)', TIMEOUT, () => {
  let coturn: RunningCoturn;
  let altPort: number;
  before(async () => {
    altPort = await freeUdpTcpPort('127.0.0.2');
    coturn = await startCoturn({ args: ['--listening-ip=127.0.0.2', `--alt-listening-port=${altPort}`, '--stun-only'] });
  });
  after(async () => {
    await coturn?.stop();
  });

  it('classifies loopback as no NAT ("open internet"), with coturn\'s OTHER-ADDRESS and changed responses', async () => {
    const r = await discoverNatBehavior(`stun:127.0.0.1:${coturn.port}`, { timeoutMs: 1500, rtoMs: 100 });
    assert.equal(r.natted, false, JSON.stringify(r.details));
    assert.equal(r.mapping, 'endpoint-independent');
    assert.equal(r.filtering, 'endpoint-independent');
    assert.equal(r.classic, 'open internet');
    assert.equal(r.ice, 'direct');
    assert.deepEqual(r.otherAddress, { address: '127.0.0.2', port: altPort });
    const changed = r.details.tests.find((t) => t.test.startsWith('filtering II'));
    assert.deepEqual(changed?.from, { address: '127.0.0.2', port: altPort }, 'coturn answered change-IP-and-port from its other address and port');
    assert.equal(r.details.serverBehindNat, false, 'coturn\'s RESPONSE-ORIGIN is the address asked');
  });

  it('from a socket bound to 127.0.0.1 the answer is the same', async () => {
    const r = await discoverNatBehavior({ address: '127.0.0.1', port: coturn.port }, { timeoutMs: 1500, rtoMs: 100, localAddress: '127.0.0.1' });
    assert.equal(r.classic, 'open internet');
  });

  it('the binding lifetime probe runs against coturn\'s RESPONSE-PORT (short bounds)', async () => {
    const r = await discoverNatBehavior(`127.0.0.1:${coturn.port}`, {
      timeoutMs: 1000,
      rtoMs: 100,
      hairpinning: false,
      bindingLifetime: { minMs: 200, maxMs: 400, precisionMs: 200 },
    });
    // No NAT: every binding "lives"; the probe says at least the longest idle time tried.
    assert.deepEqual(r.bindingLifetime?.trials.map((t) => t.alive), [true, true]);
    assert.equal(r.bindingLifetime?.atLeastMs, 400);
    assert.equal(r.bindingLifetime?.lessThanMs, undefined);
  });
});

describe('NAT behaviour discovery against coturn with one address (no RFC 5780)', TIMEOUT, () => {
  let coturn: RunningCoturn;
  before(async () => {
    coturn = await startCoturn({ args: ['--stun-only'] });
  });
  after(async () => {
    await coturn?.stop();
  });

  it('fails with NO_RFC5780, saying why', async () => {
    await assert.rejects(discoverNatBehavior(`127.0.0.1:${coturn.port}`, { timeoutMs: 1500, rtoMs: 100 }), (err: unknown) => {
      assert.ok(err instanceof NatDiscoveryError, String(err));
      assert.equal(err.code, 'NO_RFC5780');
      assert.match(err.message, /no OTHER-ADDRESS/);
      return true;
    });
  });
});
