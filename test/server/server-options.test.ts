// startStunServer and startTurnServer refuse options of the wrong shape with an error that names the option,
// before anything is bound: node:dgram would bind port -1 as some other port, a `users` string would spread
// into users '0', '1', … with one-character passwords, an address that is not one would fail only when a
// client allocates, and a SOFTWARE of 128 characters or more breaks an RFC 8489 MUST in every response.
// And close() may be called again: it settles (it waited for a 'close' event that had come already).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { startStunServer } from '../../src/node/stun-server.js';
import { startTurnServer } from '../../src/node/turn-server.js';
import { TurnServer } from '../../src/server/turn-server.js';

const named = (name: 'RangeError' | 'TypeError', message: RegExp) => ({ name, message });

describe('STUN and TURN server options, checked at start', () => {
  it('a port that is not 0..65535 is a RangeError naming the option', async () => {
    const port = (option: string) => named('RangeError', new RegExp(`^${option} must be 0\\.\\.65535`));
    await assert.rejects(startStunServer({ hosts: ['127.0.0.1'], port: -1 }), port('port'));
    await assert.rejects(startStunServer({ hosts: ['127.0.0.1'], port: 70_000 }), port('port'));
    await assert.rejects(startTurnServer({ port: -1 }), port('port'));
    await assert.rejects(startTurnServer({ port: 'abc' as unknown as number }), port('port'));
    await assert.rejects(startTurnServer({ port: 0, tcpPort: 1.5 }), port('tcpPort'));
    await assert.rejects(startStunServer({ hosts: ['127.0.0.1'], altAddress: '127.0.0.2', port: 0, altPort: 65_536 }), port('altPort'));
  });

  it('credentials of another shape are TypeErrors naming where they are', () => {
    const cases: [object, RegExp][] = [
      [{ users: 'u:p' }, /^TURN server option users must be an object of username → password$/],
      [{ users: { u: 5 } }, /^TURN server option users: "u" needs a non-empty name and a string password$/],
      [{ users: { '': 'p' } }, /needs a non-empty name/],
      [{ secret: 5 }, /^TURN server option secret must be a string or a Uint8Array$/],
      [{ realms: { other: { users: ['u'] } } }, /^TURN server option realms\["other"\]\.users must be an object/],
    ];
    for (const [options, message] of cases) assert.throws(() => new TurnServer(options as never), named('TypeError', message), JSON.stringify(options));
    assert.doesNotThrow(() => new TurnServer({ users: { u: 'p' }, secret: new Uint8Array([1]), realms: { other: { secret: 's' } } }));
  });

  it('relay, external and listening addresses that are none are TypeErrors', async () => {
    await assert.rejects(startTurnServer({ port: 0, relayAddress: 'relay.example' }), named('TypeError', /^relayAddress: "relay\.example" is not an IP address$/));
    await assert.rejects(startTurnServer({ port: 0, relayAddress: 5 as unknown as string }), named('TypeError', /^relayAddress must be an IP address or a list of them/));
    await assert.rejects(startTurnServer({ port: 0, externalAddress: ['203.0.113.9', 'x'] }), named('TypeError', /^externalAddress: "x" is not an IP address$/));
    await assert.rejects(startTurnServer({ port: 0, hosts: '127.0.0.1' as unknown as string[] }), named('TypeError', /^hosts must be an array of addresses/));
    await assert.rejects(startStunServer({ port: 0, hosts: '127.0.0.1' as unknown as string[] }), named('TypeError', /^hosts must be an array of addresses/));
  });

  it('without hosts, the STUN server listens on this machine only, as the TURN server and serve do', async () => {
    const stun = await startStunServer({ port: 0 });
    const turn = await startTurnServer({ port: 0 });
    try {
      assert.deepEqual(stun.addresses.map((a) => a.address), ['127.0.0.1']);
      assert.deepEqual(turn.addresses.map((a) => a.address), ['127.0.0.1']);
    } finally {
      await Promise.all([stun.close(), turn.close()]);
    }
  });

  it('SOFTWARE has fewer than 128 characters (RFC 8489 §14.14)', async () => {
    await assert.rejects(startStunServer({ hosts: ['127.0.0.1'], port: 0, software: 'x'.repeat(128) }), named('RangeError', /fewer than 128 characters/));
    assert.throws(() => new TurnServer({ software: 'é'.repeat(128) }), named('RangeError', /fewer than 128 characters/));
    const ok = await startStunServer({ hosts: ['127.0.0.1'], port: 0, software: 'é'.repeat(127) });
    await ok.close();
  });
});

describe('STUN and TURN servers closed twice', () => {
  it('a second close() settles, at once or with the first, for each kind of server', async () => {
    const settles = async (label: string, close: () => Promise<void>) => {
      const timeout = new Promise<string>((resolve) => setTimeout(() => resolve(`${label}: the second close() never settled`), 5000).unref());
      assert.equal(await Promise.race([close().then(() => 'settled'), timeout]), 'settled', label);
    };
    const turn = await startTurnServer({ port: 0, tcpPort: 0 });
    await turn.close();
    await settles('TURN', () => turn.close());
    const stun = await startStunServer({ hosts: ['127.0.0.1'], port: 0 });
    await stun.close();
    await settles('STUN', () => stun.close());
    const grid = await startStunServer({ hosts: ['127.0.0.1'], altAddress: '127.0.0.2', port: 0 });
    await Promise.all([grid.close(), settles('RFC 5780 STUN, both at once', () => grid.close())]);
  });
});
