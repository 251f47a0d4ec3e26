// The TURN server refuses its own addresses as peers (RFC 8656 §9 403), but relays between two of its own
// allocations (relay to relay: two clients behind symmetric NATs), on the simulated network and virtual time.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { TransportAddress } from '../../src/net/transport-address.js';
import { runTurnServer } from '../../src/server/turn-server-runner.js';
import { TurnServer, type TurnServerOptions } from '../../src/server/turn-server.js';
import { SimNetwork, VirtualClock } from '../../src/sim/index.js';
import type { StunMessage } from '../../src/stun/message.js';
import { TestTurnClient, until } from './turn-test-client.js';

const SERVER = { address: '192.0.2.1', port: 3478 };
const text = (s: string) => new TextEncoder().encode(s);
const str = (b: Uint8Array) => new TextDecoder().decode(b);

function setup(options: TurnServerOptions = {}) {
  const clock = new VirtualClock();
  const net = new SimNetwork({ clock, seed: 7 });
  const serverHost = net.addHost(SERVER.address);
  const engine = new TurnServer({ realm: 'example.org', users: { alice: 'secret', bob: 'hunter2' }, ...options });
  // What the Node driver feeds it: every interface, listening and relay addresses included.
  engine.setHostAddresses([SERVER.address, '127.0.0.1', 'fe80::1%eth0']);
  runTurnServer({ engine, listen: [serverHost.bind(SERVER.port)], openRelaySocket: async () => serverHost.bind(), clock });
  // Another service of the server's host, which no client may reach through a relay.
  const service = serverHost.bind(5353);
  const serviceReceived: string[] = [];
  service.ondatagram = (bytes) => serviceReceived.push(str(bytes));
  const client = (username: string, password: string) => new TestTurnClient(clock, net.addHost().bind(), SERVER, username, password);
  return { clock, engine, service, serviceReceived, alice: client('alice', 'secret'), bob: client('bob', 'hunter2') };
}

async function relayedOf(c: TestTurnClient): Promise<TransportAddress> {
  const r = await c.allocate();
  assert.equal(r?.class, 'success', `allocate: ${JSON.stringify(r?.get('ERROR-CODE'))}`);
  return r!.get('XOR-RELAYED-ADDRESS')!;
}

const code = (r: StunMessage | undefined) => r?.get('ERROR-CODE')?.code;

describe('TURN server: its own addresses as peers', () => {
  it('refuses its listening address, its other ports and its other services (403)', async () => {
    const s = setup();
    await relayedOf(s.alice);
    for (const peer of [SERVER, { address: SERVER.address, port: 5353 }, { address: SERVER.address, port: 49152 }, { address: '::ffff:192.0.2.1', port: 3478 }]) {
      const family = peer.address.includes(':') ? 443 : 403;
      assert.equal(code(await s.alice.createPermission(peer)), family, `${peer.address}:${peer.port}`);
    }
    assert.equal(code(await s.alice.channelBind(0x4000, SERVER)), 403);
    assert.equal(code(await s.alice.channelBind(0x4001, { address: SERVER.address, port: 5353 })), 403);
  });

  it('relays between two of its allocations, both ways, by Send indication and by channel', async () => {
    const s = setup();
    const a = await relayedOf(s.alice);
    const b = await relayedOf(s.bob);
    assert.equal(a.address, SERVER.address);
    assert.equal(b.address, SERVER.address);
    assert.equal((await s.alice.createPermission(b))?.class, 'success');
    assert.equal((await s.bob.createPermission(a))?.class, 'success');

    s.alice.sendIndication(b, text('alice to bob'));
    assert.ok(await until(s.clock, () => s.bob.dataIndications().length === 1));
    const atBob = s.bob.dataIndications()[0];
    assert.deepEqual(atBob.peer, a, "the peer is alice's relayed address");
    assert.equal(str(atBob.data), 'alice to bob');

    assert.equal((await s.bob.channelBind(0x4002, a))?.class, 'success');
    s.bob.sendChannelData(0x4002, text('bob to alice'));
    assert.ok(await until(s.clock, () => s.alice.dataIndications().length === 1));
    assert.equal(str(s.alice.dataIndications()[0].data), 'bob to alice');
    assert.deepEqual(s.alice.dataIndications()[0].peer, b);
  });

  it("holds a permission on its own address to the relayed port: the host's other ports stay out of reach", async () => {
    const s = setup();
    await relayedOf(s.alice);
    const b = await relayedOf(s.bob);
    assert.equal((await s.alice.createPermission(b))?.class, 'success', 'a permission for 192.0.2.1');
    const before = s.engine.counters.dropped['no-permission'];
    s.alice.sendIndication({ address: SERVER.address, port: 5353 }, text('to the service'));
    s.alice.sendIndication(SERVER, text('to the listening port'));
    await until(s.clock, () => false, 1000);
    assert.deepEqual(s.serviceReceived, []);
    assert.equal(s.engine.counters.dropped['no-permission'], before + 2);
  });

  it('stops relaying to a relayed address once its allocation is gone', async () => {
    const s = setup();
    const a = await relayedOf(s.alice);
    const b = await relayedOf(s.bob);
    assert.equal((await s.alice.createPermission(b))?.class, 'success');
    assert.equal((await s.alice.channelBind(0x4003, b))?.class, 'success');
    assert.equal((await s.bob.createPermission(a))?.class, 'success');
    assert.equal((await s.bob.refresh(0))?.class, 'success', 'bob deallocates');
    const before = s.engine.counters.dropped['no-permission'];
    s.alice.sendIndication(b, text('late'));
    s.alice.sendChannelData(0x4003, text('late too'));
    await until(s.clock, () => false, 1000);
    assert.equal(s.engine.counters.dropped['no-permission'], before + 2);
    assert.equal(code(await s.alice.createPermission(b)), 403, 'no longer a relayed address');
  });

  it('allowHostAddresses lifts it; loopback stays allowLoopback’s', async () => {
    const open = setup({ allowHostAddresses: true });
    await relayedOf(open.alice);
    assert.equal((await open.alice.createPermission({ address: SERVER.address, port: 5353 }))?.class, 'success');
    open.alice.sendIndication({ address: SERVER.address, port: 5353 }, text('allowed'));
    assert.ok(await until(open.clock, () => open.serviceReceived.length === 1));
    assert.equal(code(await open.alice.createPermission({ address: '127.0.0.1', port: 1 })), 403);

    const loopback = setup({ allowLoopback: true });
    await relayedOf(loopback.alice);
    assert.equal((await loopback.alice.createPermission({ address: '127.0.0.1', port: 1 }))?.class, 'success', 'a host address, but loopback');
    assert.equal(code(await loopback.alice.createPermission(SERVER)), 403);
  });

  it('without host addresses, as before: its address is an ordinary peer', async () => {
    const s = setup();
    s.engine.setHostAddresses([]);
    await relayedOf(s.alice);
    assert.equal((await s.alice.createPermission({ address: SERVER.address, port: 5353 }))?.class, 'success');
  });
});
