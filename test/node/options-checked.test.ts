// The Node API's functions refuse options of the wrong shape at the call, with a typed error naming the
// option: a port of -1 was bound as some other port, a timeout of -1 ms waited and then blamed the server
// ("no answer within -1 ms"), and a null or missing options object failed as "Cannot read properties of null".
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  allocateTurn,
  connectBridge,
  discoverNatBehavior,
  startBridge,
  startIcebridgeServer,
  startStunServer,
  startTurnServer,
  stunBinding,
  UdpSocket,
} from '../../src/node.js';

const named = (name: 'RangeError' | 'TypeError', message: RegExp) => ({ name, message });

describe('Node API options, checked at the call', () => {
  it('UdpSocket.bind: a port outside 0..65535, a family that is none, or no options object', async () => {
    await assert.rejects(UdpSocket.bind({ address: '127.0.0.1', port: -1 }), named('RangeError', /^port must be 0\.\.65535, got -1$/));
    await assert.rejects(UdpSocket.bind({ address: '127.0.0.1', port: 65_536 }), named('RangeError', /^port must be 0\.\.65535/));
    await assert.rejects(UdpSocket.bind({ family: 'IPv5' as never }), named('TypeError', /^family must be 'IPv4' or 'IPv6', got "IPv5"$/));
    await assert.rejects(UdpSocket.bind(null as never), named('TypeError', /^UdpSocket\.bind: the options must be an object/));
    const ok = await UdpSocket.bind({ address: '127.0.0.1', port: 0 });
    assert.ok(ok.localAddress.port > 0);
    ok.close();
  });

  it('stunBinding, discoverNatBehavior and allocateTurn: timeouts must be positive milliseconds', async () => {
    const stun = await startStunServer({ port: 0 });
    const server = `stun:127.0.0.1:${stun.addresses[0].port}`;
    const socket = await UdpSocket.bind({ address: '127.0.0.1' });
    try {
      await assert.rejects(stunBinding(server, { timeoutMs: -1 }), named('RangeError', /^timeoutMs must be a positive number of milliseconds, got -1$/));
      await assert.rejects(stunBinding(server, { rtoMs: 'soon' as never }), named('RangeError', /^rtoMs must be a positive number of milliseconds, got "soon"$/));
      await assert.rejects(discoverNatBehavior(server, { socket, timeoutMs: 0 }), named('RangeError', /^timeoutMs must be a positive number/));
      await assert.rejects(allocateTurn('turn:127.0.0.1:9', { username: 'u', credential: 'c', timeoutMs: -1 }), named('RangeError', /^timeoutMs must be a positive number/));
      // The checks take what is right: the same server answers.
      assert.equal((await stunBinding(server, { timeoutMs: 5000 })).mapped.address, '127.0.0.1');
    } finally {
      socket.close();
      await stun.close();
    }
  });

  it('allocateTurn without options says what it needs', async () => {
    await assert.rejects(allocateTurn('turn:127.0.0.1:9', undefined as never), named('TypeError', /^allocateTurn: the options must be an object \{ username, credential, … \}, got undefined$/));
  });

  it('the servers refuse a null options object by name', async () => {
    const cases: [string, () => Promise<unknown>][] = [
      ['startStunServer', () => startStunServer(null as never)],
      ['startTurnServer', () => startTurnServer(null as never)],
      ['startBridge', () => startBridge(null as never)],
      ['startIcebridgeServer', () => startIcebridgeServer(null as never)],
    ];
    for (const [name, start] of cases) await assert.rejects(start(), named('TypeError', new RegExp(`^${name}: the options must be an object .*, got null$`)), name);
  });

  it('connectBridge: a URL that is not a string (the page’s { url, … } form included) is a TypeError', async () => {
    await assert.rejects(connectBridge(5 as never), named('TypeError', /^connect: the bridge URL must be .* string, got number$/));
    await assert.rejects(connectBridge({ url: 'ws://127.0.0.1:1/' } as never), named('TypeError', /got an object \(pass its url, and the other fields as options\)$/));
    await assert.rejects(connectBridge('ws://127.0.0.1:1/', null as never), named('TypeError', /^connect: the options must be an object/));
  });
});
