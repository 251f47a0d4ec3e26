// The isomorphic discoverNatBehavior() over bridge sockets, as a page or Worker runs it (the inspector's NAT
// panel): icebridge's bridge and RFC 5780 server on loopback. The bridge's UDP sockets see no NAT, so the
// answer is "open internet" — what matters is that the change-IP/port answers come back through the bridge.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { RunningBridge } from '../../bridge/server.js';
import { discoverNatBehavior } from '../../src/index.js';
import { connectBridge } from '../../src/node/bridge-client.js';
import { startStunServer, type RunningStunServer } from '../../src/node/stun-server.js';
import { startTestBridge, tokenUrl } from '../bridge/helpers.js';

describe('NAT behaviour discovery through the bridge', { timeout: 30_000 }, () => {
  let bridge: RunningBridge;
  let server: RunningStunServer;
  before(async () => {
    bridge = await startTestBridge();
    server = await startStunServer({ hosts: ['127.0.0.1'], altAddress: '127.0.0.2', port: 0 });
  });
  after(async () => {
    await server?.close();
    await bridge?.close();
  });

  it('classifies the bridge host\'s UDP (no NAT on loopback) with bridge sockets, hairpin socket included', async () => {
    const connection = await connectBridge(tokenUrl(bridge));
    try {
      const socket = await connection.bind({ family: 'IPv4' });
      const r = await discoverNatBehavior(server.addresses[0], {
        socket,
        openSocket: () => connection.bind({ family: 'IPv4' }),
        timeoutMs: 1500,
        rtoMs: 100,
      });
      assert.equal(r.classic, 'open internet', JSON.stringify(r.details));
      assert.deepEqual(r.otherAddress, server.addresses[3]);
      assert.equal(r.details.tests[1].outcome, 'response', 'the answer from the other address and port came through the bridge');
    } finally {
      connection.close();
    }
  });
});
