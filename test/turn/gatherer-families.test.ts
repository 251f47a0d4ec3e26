// Relay gathering per address family (RFC 8445 §5.1.1.2, RFC 8656 §7.1): the relayed family follows the host
// socket's, a 440 brings one try of the other family, a server name is looked up in each family gathered on,
// and a dual allocation (relayDualStack) gives both relayed candidates on sockets of their own. Against
// icebridge's TurnServer engine on the simulated network, virtual time.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { IceGatherer, type GatheredCandidate, type GatheringError } from '../../src/ice/gatherer.js';
import type { AddressFamily } from '../../src/net/transport-address.js';
import { runTurnServer } from '../../src/server/turn-server-runner.js';
import { TurnServer } from '../../src/server/turn-server.js';
import { SimNetwork, VirtualClock, type SimHost } from '../../src/sim/index.js';
import { StunMethod } from '../../src/stun/constants.js';
import { decodeStunOrUndefined } from '../../src/stun/decode.js';
import type { StunMessage } from '../../src/stun/message.js';
import { settleOnVirtualTime } from '../support/virtual-time.js';

const V4 = '192.0.2.1';
const V6 = '2001:db8::1';
const text = (s: string) => new TextEncoder().encode(s);

/** A TURN server host listening on both its addresses, relaying `families`; it logs authenticated Allocates. */
function turnWorld(families: AddressFamily[]) {
  const clock = new VirtualClock();
  const net = new SimNetwork({ clock, seed: 9 });
  const serverHost = net.addHost({ address: [V4, V6] });
  const listen = [serverHost.bind(3478, V4), serverHost.bind(3478, V6)];
  const engine = new TurnServer({ realm: 'example.org', users: { alice: 'secret' }, relayFamilies: families, unixEpochMs: 1_700_000_000_000 });
  const running = runTurnServer({ engine, listen, openRelaySocket: async ({ family }) => serverHost.bind(0, family === 'IPv6' ? V6 : V4), clock });
  const allocates: StunMessage[] = [];
  for (const socket of listen) {
    const handler = socket.ondatagram!;
    socket.ondatagram = (bytes, from) => {
      const m = decodeStunOrUndefined(bytes);
      if (m && m.method === StunMethod.Allocate && m.class === 'request' && (m.integrityOffset >= 0 || m.integritySha256Offset >= 0)) allocates.push(m);
      handler(bytes, from);
    };
  }
  const peers = { v4: net.addHost('192.0.2.50').bind(6000), v6: net.addHost('2001:db8::50').bind(6000) };
  for (const p of [peers.v4, peers.v6]) p.ondatagram = (bytes, from) => p.send(text(`echo:${new TextDecoder().decode(bytes)}`), from);
  return { clock, net, engine, running, allocates, peers };
}

async function gather(w: ReturnType<typeof turnWorld>, host: SimHost, addresses: string[], url: string, extra: { relayDualStack?: boolean } = {}) {
  const candidates: GatheredCandidate[] = [];
  const errors: GatheringError[] = [];
  const gatherer = new IceGatherer({
    clock: w.clock,
    iceServers: [{ urls: url, username: 'alice', credential: 'secret' }],
    iceTransportPolicy: 'relay',
    resolve: async (name, family) => {
      assert.equal(name, 'turn.test');
      return family === 'IPv6' ? V6 : V4;
    },
    onCandidate: (g) => candidates.push(g),
    onError: (e) => errors.push(e),
    ...extra,
  });
  await settleOnVirtualTime(w.clock, gatherer.gather(addresses.map((a) => host.bind(40000, a))));
  return { gatherer, relays: candidates.filter((c) => c.candidate.type === 'relay'), errors };
}

/** Sends through a relayed candidate's socket to `peer` and waits for the echo. */
async function echoes(w: ReturnType<typeof turnWorld>, g: GatheredCandidate, peer: { address: string; port: number }): Promise<string[]> {
  const got: string[] = [];
  g.socket.ondatagram = (bytes, from) => got.push(`${from.address} ${new TextDecoder().decode(bytes)}`);
  g.socket.send(text('hi'), peer);
  await settleOnVirtualTime(w.clock, new Promise<void>((resolve) => w.clock.setTimer(resolve, w.clock.now() + 2000)));
  return got;
}

describe('relay gathering per address family', () => {
  it('an IPv6-only base asks an IPv6 server for an IPv6 relay (REQUESTED-ADDRESS-FAMILY), where the default got 440', async () => {
    const w = turnWorld(['IPv6']);
    const host = w.net.addHost('2001:db8::20');
    const { gatherer, relays, errors } = await gather(w, host, ['2001:db8::20'], `turn:[${V6}]:3478`);
    assert.deepEqual(errors, []);
    assert.equal(relays.length, 1);
    assert.equal(relays[0].candidate.address, V6);
    assert.equal(w.allocates[0].get('REQUESTED-ADDRESS-FAMILY'), 'IPv6', 'asked for at once, no 440 first');
    assert.equal(w.allocates.length, 1);
    assert.deepEqual(await echoes(w, relays[0], w.peers.v6.localAddress), ['2001:db8::50 echo:hi']);
    gatherer.close();
    w.running.close();
  });

  it('an IPv4 base on a server that relays IPv6 only: the 440 is followed by an IPv6 Allocate and an IPv6 relay', async () => {
    const w = turnWorld(['IPv6']);
    const host = w.net.addHost('198.51.100.20');
    const { gatherer, relays, errors } = await gather(w, host, ['198.51.100.20'], `turn:${V4}:3478`);
    assert.deepEqual(errors, []);
    assert.deepEqual(relays.map((r) => r.candidate.address), [V6]);
    assert.deepEqual(w.allocates.map((m) => m.get('REQUESTED-ADDRESS-FAMILY')), [undefined, 'IPv6']);
    gatherer.close();
    w.running.close();
  });

  it('with host sockets of both families a server name is looked up in each: an IPv4 and an IPv6 relay, one per base', async () => {
    const w = turnWorld(['IPv4', 'IPv6']);
    const host = w.net.addHost({ address: ['198.51.100.20', '2001:db8::20'] });
    const { gatherer, relays, errors } = await gather(w, host, ['198.51.100.20', '2001:db8::20'], 'turn:turn.test:3478');
    assert.deepEqual(errors, []);
    assert.deepEqual(relays.map((r) => r.candidate.address).sort(), [V4, V6].sort());
    const v6 = relays.find((r) => r.candidate.address === V6)!;
    assert.equal(v6.candidate.relatedAddress, '2001:db8::20', 'the IPv6 relay was allocated from the IPv6 base');
    assert.deepEqual(await echoes(w, v6, w.peers.v6.localAddress), ['2001:db8::50 echo:hi']);
    assert.equal(w.engine.allocationCount, 2);
    gatherer.close();
    w.running.close();
  });

  it('with host sockets of both families and an IPv4 server literal: one IPv4 relay (no second IPv4 socket to ask from)', async () => {
    const w = turnWorld(['IPv4', 'IPv6']);
    const host = w.net.addHost({ address: ['198.51.100.20', '2001:db8::20'] });
    const { gatherer, relays, errors } = await gather(w, host, ['198.51.100.20', '2001:db8::20'], `turn:${V4}:3478`);
    assert.deepEqual(errors, []);
    assert.deepEqual(relays.map((r) => r.candidate.address), [V4]);
    gatherer.close();
    w.running.close();
  });

  it('relayDualStack: one dual allocation, two relayed candidates on sockets of their own, each reaching its family', async () => {
    const w = turnWorld(['IPv4', 'IPv6']);
    const host = w.net.addHost({ address: ['198.51.100.20', '2001:db8::20'] });
    const { gatherer, relays, errors } = await gather(w, host, ['198.51.100.20', '2001:db8::20'], `turn:${V4}:3478`, { relayDualStack: true });
    assert.deepEqual(errors, []);
    assert.equal(w.allocates.length, 1);
    assert.equal(w.allocates[0].get('ADDITIONAL-ADDRESS-FAMILY'), 'IPv6');
    assert.deepEqual(relays.map((r) => r.candidate.address), [V4, V6]);
    assert.notEqual(relays[0].socket, relays[1].socket);
    assert.deepEqual(await echoes(w, relays[0], w.peers.v4.localAddress), ['192.0.2.50 echo:hi']);
    assert.deepEqual(await echoes(w, relays[1], w.peers.v6.localAddress), ['2001:db8::50 echo:hi']);
    assert.equal(w.engine.allocationCount, 1);
    gatherer.close();
    await settleOnVirtualTime(w.clock, new Promise<void>((resolve) => w.clock.setTimer(resolve, w.clock.now() + 1000)));
    assert.equal(w.engine.allocationCount, 0, 'closing the gatherer deletes the dual allocation');
    w.running.close();
  });
});
