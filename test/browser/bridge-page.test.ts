// The bridge socket on the page's main thread, no Worker: the isomorphic BridgeConnection over the page's
// own WebSocket, and the core's stunBinding over the socket, against icebridge's server and coturn.
import { BridgeConnection, BridgeError } from '../../src/net/bridge-client.js';
import { stunBinding } from '../../src/stun/binding.js';
import { assert, assertDeepEqual, assertEqual } from './assert.js';
import { bridgeSessions, testEnv, until, within, type BrowserTestEnv } from './env.js';

describe('bridge socket on the main thread', () => {
  let env: BrowserTestEnv;

  before(async () => {
    env = await testEnv();
  });

  it('gives a STUN Binding the bridge socket address from icebridge and coturn, and echoes through a UDP peer', async () => {
    const connection = await BridgeConnection.connect(env.bridge.tokenUrl);
    try {
      const socket = await connection.bind({ family: 'IPv4' });
      assertEqual(socket.localAddress.address, '127.0.0.1');
      for (const server of [env.stun.icebridge, env.stun.coturn]) {
        const r = await within(stunBinding(server, { socket, timeoutMs: 5000 }), 6000, `Binding to ${server}`);
        assertDeepEqual(r.mapped, socket.localAddress, `${server}: mapped = 127.0.0.1:<bound port>`);
      }
      const echoed = new Promise<string>((resolve) => {
        socket.ondatagram = (bytes, from) => {
          assertDeepEqual(from, env.echo);
          resolve(new TextDecoder().decode(bytes));
        };
      });
      socket.send(new TextEncoder().encode('main thread'), env.echo);
      assertEqual(await within(echoed, 5000, 'the echo'), 'main thread');
    } finally {
      connection.close();
    }
    await until(async () => (await bridgeSessions()) === 0, 5000, 'the session closed');
  });

  it('rejects a bad token with a BridgeError carrying close code 4001', async () => {
    let caught: unknown;
    await BridgeConnection.connect(env.bridge.badTokenUrl).catch((e: unknown) => (caught = e));
    assert(caught instanceof BridgeError, `expected a BridgeError, got ${String(caught)}`);
    assertEqual(caught.closeCode, 4001);
  });
});
