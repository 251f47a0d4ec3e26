// The TURN server's coturn-level features on the simulated network and virtual time: several realms,
// USERHASH, channel numbers up to 0x7FFF, EVEN-PORT R=1 with RESERVATION-TOKEN, dual allocations
// (ADDITIONAL-ADDRESS-FAMILY) and the stream-client hooks.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AddressFamily, TransportAddress } from '../../src/net/transport-address.js';
import { runTurnServer, type RelaySocketRequest } from '../../src/server/turn-server-runner.js';
import { TurnServer, type TurnServerEvent, type TurnServerOptions } from '../../src/server/turn-server.js';
import { SimNetwork, VirtualClock, type SimSocket } from '../../src/sim/index.js';
import { StunMethod, TRANSPORT_UDP } from '../../src/stun/constants.js';
import { decodeStunMessage } from '../../src/stun/decode.js';
import { encodeStunMessage } from '../../src/stun/encode.js';
import { longTermKey, userHash } from '../../src/stun/integrity.js';
import { createStunMessage } from '../../src/stun/message.js';
import { TestTurnClient, until } from './turn-test-client.js';

const SERVER = { address: '192.0.2.1', port: 3478 };
const SERVER6 = '2001:db8::1';
const text = (s: string) => new TextEncoder().encode(s);
const str = (b: Uint8Array) => new TextDecoder().decode(b);

function setup(options: TurnServerOptions = {}) {
  const clock = new VirtualClock();
  const net = new SimNetwork({ clock, seed: 7 });
  const serverHost = net.addHost({ address: [SERVER.address, SERVER6] });
  const engine = new TurnServer({ realm: 'example.org', users: { alice: 'secret', bob: 'hunter2' }, ...options });
  const relaySockets: SimSocket[] = [];
  const requests: RelaySocketRequest[] = [];
  const events: TurnServerEvent[] = [];
  // Relay ports handed out in order from 50 000, so tests know them: even ones when asked, pairs for R=1.
  let nextPort = 50_000;
  const bind = (family: AddressFamily, port: number) => {
    const socket = serverHost.bind(port, family === 'IPv6' ? SERVER6 : SERVER.address);
    relaySockets.push(socket);
    return socket;
  };
  const running = runTurnServer({
    engine,
    listen: [serverHost.bind(SERVER.port, SERVER.address)],
    openRelaySocket: async (request) => {
      requests.push(request);
      if (request.evenPort && nextPort % 2 === 1) nextPort++;
      const port = nextPort;
      nextPort += request.reserveNext ? 2 : 1;
      const socket = bind(request.family, port);
      return request.reserveNext ? { socket, reserved: bind(request.family, port + 1) } : socket;
    },
    clock,
    onEvent: (e) => events.push(e),
  });
  const peerHost = net.addHost({ address: ['192.0.2.50', '2001:db8::50'] });
  const peerReceived: { data: string; from: TransportAddress; to: string }[] = [];
  const peer4 = peerHost.bind(6000, '192.0.2.50');
  const peer6 = peerHost.bind(6000, '2001:db8::50');
  peer4.ondatagram = (bytes, from) => peerReceived.push({ data: str(bytes), from, to: 'IPv4' });
  peer6.ondatagram = (bytes, from) => peerReceived.push({ data: str(bytes), from, to: 'IPv6' });
  const client = (username = 'alice', password = 'secret') => new TestTurnClient(clock, net.addHost().bind(), SERVER, username, password);
  return { clock, net, engine, running, relaySockets, requests, events, peer4, peer6, peerReceived, client, serverHost };
}

async function allocated(c: TestTurnClient, extra: Parameters<TestTurnClient['allocate']>[0] = [], options: Parameters<TestTurnClient['allocate']>[1] = {}) {
  const r = await c.allocate(extra, options);
  assert.equal(r?.class, 'success', `allocate: ${JSON.stringify(r?.get('ERROR-CODE'))}`);
  return r!;
}

/** An Allocate with MESSAGE-INTEGRITY keyed for `keyRealm` but naming `realm` in REALM; returns the response. */
async function allocateInRealm(clock: VirtualClock, c: TestTurnClient, realm: string, keyRealm: string) {
  const message = createStunMessage({
    method: StunMethod.Allocate,
    class: 'request',
    attributes: [
      ['REQUESTED-TRANSPORT', TRANSPORT_UDP],
      ['USERNAME', c.username],
      ['REALM', realm],
      ['NONCE', c.nonce!],
    ],
  });
  const start = c.received.length;
  c.sendRaw(encodeStunMessage(message, { integrity: { key: longTermKey(c.username, keyRealm, c.password, 'MD5') } }));
  await until(clock, () => c.received.length > start, 1000);
  return c.received.length > start ? decodeStunMessage(c.received[start].bytes) : undefined;
}

describe('TURN server: realms and USERHASH', () => {
  it('refuses a REALM it does not serve with 401 and a challenge for its own realm', async () => {
    const s = setup();
    const c = s.client();
    const first = await c.request(StunMethod.Allocate, [['REQUESTED-TRANSPORT', TRANSPORT_UDP]], { auth: false });
    c.takeChallenge(first!);
    // Integrity keyed for the server's realm, REALM naming another: the key must be the request's realm's.
    c.realm = 'evil.org';
    const evil = await c.request(StunMethod.Allocate, [['REQUESTED-TRANSPORT', TRANSPORT_UDP]]);
    assert.equal(evil?.get('ERROR-CODE')?.code, 401);
    assert.equal(evil?.get('REALM'), 'example.org');
    assert.equal(s.engine.allocationCount, 0);
    const keyedForOurs = await allocateInRealm(s.clock, c, 'evil.org', 'example.org');
    assert.equal(keyedForOurs?.get('ERROR-CODE')?.code, 401, 'integrity for example.org with REALM evil.org is not accepted');
    assert.equal(keyedForOurs?.get('REALM'), 'example.org');
    assert.equal(s.engine.allocationCount, 0);
    c.realm = 'example.org';
    await allocated(c);
  });

  it('serves a second realm with its own users, and quotas per realm and user', async () => {
    const s = setup({ realms: { 'second.example': { users: { carol: 'pw2', alice: 'other' } } }, maxAllocationsPerUser: 1 });
    assert.deepEqual(s.engine.realms, ['example.org', 'second.example']);
    const carol = s.client('carol', 'pw2');
    const challenge = await carol.request(StunMethod.Allocate, [['REQUESTED-TRANSPORT', TRANSPORT_UDP]], { auth: false });
    carol.takeChallenge(challenge!);
    assert.equal(carol.realm, 'example.org', 'challenges name the default realm');
    // carol is not a user of example.org…
    assert.equal((await carol.allocate())?.get('ERROR-CODE')?.code, 401);
    carol.realm = 'second.example';
    await allocated(carol);
    assert.equal(s.engine.allocationInfo()[0].realm, 'second.example');
    // …and bob (example.org) is not one of second.example: the 401 challenges in second.example.
    const bob = s.client('bob', 'hunter2');
    bob.takeChallenge((await bob.request(StunMethod.Allocate, [['REQUESTED-TRANSPORT', TRANSPORT_UDP]], { auth: false }))!);
    bob.realm = 'second.example';
    const refused = await bob.request(StunMethod.Allocate, [['REQUESTED-TRANSPORT', TRANSPORT_UDP]]);
    assert.equal(refused?.get('ERROR-CODE')?.code, 401);
    assert.equal(refused?.get('REALM'), 'second.example');
    // alice exists in both realms with different passwords: two quota identities.
    const alice1 = s.client('alice', 'secret');
    await allocated(alice1);
    const alice2 = s.client('alice', 'other');
    alice2.takeChallenge((await alice2.request(StunMethod.Allocate, [['REQUESTED-TRANSPORT', TRANSPORT_UDP]], { auth: false }))!);
    alice2.realm = 'second.example';
    await allocated(alice2);
    assert.equal((await s.client('alice', 'secret').allocate())?.get('ERROR-CODE')?.code, 486, 'example.org alice is at her quota');
    assert.equal(s.engine.allocationCount, 3);
  });

  it('announces username anonymity and accepts USERHASH; a wrong hash gets 401', async () => {
    const s = setup();
    const c = s.client();
    const first = await c.request(StunMethod.Allocate, [['REQUESTED-TRANSPORT', TRANSPORT_UDP]], { auth: false });
    assert.match(first?.get('NONCE') ?? '', /^obMatJos2wAAA/, 'RFC 8489 §9.2.1 bits 0 and 1');
    c.takeChallenge(first!);
    const wrong = await c.request(StunMethod.Allocate, [['REQUESTED-TRANSPORT', TRANSPORT_UDP]], { userhash: userHash('mallory', 'example.org') });
    assert.equal(wrong?.get('ERROR-CODE')?.code, 401);
    assert.equal(wrong?.get('REALM'), 'example.org');
    const ok = await c.request(StunMethod.Allocate, [['REQUESTED-TRANSPORT', TRANSPORT_UDP]], { userhash: true, sha256: true });
    assert.equal(ok?.class, 'success', JSON.stringify(ok?.get('ERROR-CODE')));
    assert.equal(s.engine.allocationInfo()[0].username, 'alice');
    // Requests on the allocation may name the user either way.
    assert.equal((await c.request(StunMethod.Refresh, [], { userhash: true }))?.class, 'success');
    assert.equal((await c.request(StunMethod.Refresh, []))?.class, 'success');
  });

  it('does not announce username anonymity with a REST secret (its usernames have no lookup by hash)', async () => {
    const s = setup({ secret: 'rest' });
    const c = s.client();
    const first = await c.request(StunMethod.Allocate, [['REQUESTED-TRANSPORT', TRANSPORT_UDP]], { auth: false });
    assert.match(first?.get('NONCE') ?? '', /^obMatJos2gAAA/);
  });
});

describe('TURN server: channel numbers', () => {
  it('binds channel 0x7FFF by default and relays ChannelData both ways', async () => {
    const s = setup();
    const c = s.client();
    const relayed = (await allocated(c)).get('XOR-RELAYED-ADDRESS')!;
    assert.equal((await c.channelBind(0x7fff, s.peer4.localAddress))?.class, 'success');
    c.sendChannelData(0x7fff, text('to peer'));
    await until(s.clock, () => s.peerReceived.length > 0);
    assert.deepEqual(s.peerReceived[0], { data: 'to peer', from: relayed, to: 'IPv4' });
    s.peer4.send(text('to client'), relayed);
    await until(s.clock, () => c.channelData().length > 0);
    assert.deepEqual(c.channelData().map((m) => ({ channel: m.channel, data: str(m.data) })), [{ channel: 0x7fff, data: 'to client' }]);
    assert.equal((await c.channelBind(0x8000, s.peer6.localAddress))?.get('ERROR-CODE')?.code, 400);
  });

  it("answers 400 to 0x5000 with channelNumbers 'rfc8656', and drops ChannelData there", async () => {
    const s = setup({ channelNumbers: 'rfc8656' });
    const c = s.client();
    await allocated(c);
    assert.equal((await c.channelBind(0x5000, s.peer4.localAddress))?.get('ERROR-CODE')?.code, 400);
    assert.equal((await c.channelBind(0x4fff, s.peer4.localAddress))?.class, 'success');
    const received = s.engine.counters.received;
    c.sendChannelData(0x5000, text('x'));
    await until(s.clock, () => s.engine.counters.received > received);
    assert.equal(s.peerReceived.length, 0);
    assert.throws(() => new TurnServer({ channelNumbers: 'wide' as 'rfc5766' }), RangeError);
  });
});

describe('TURN server: EVEN-PORT R=1 and RESERVATION-TOKEN', () => {
  it('reserves port N+1 under a token; an Allocate with the token gets it at once, once', async () => {
    const s = setup();
    const a = s.client();
    const first = await allocated(a, [['EVEN-PORT', { reservePort: true }]]);
    const relayed = first.get('XOR-RELAYED-ADDRESS')!;
    const token = first.get('RESERVATION-TOKEN');
    assert.equal(relayed.port % 2, 0);
    assert.equal(token?.length, 8);
    assert.deepEqual(s.requests, [{ family: 'IPv4', evenPort: true, reserveNext: true }]);
    assert.equal(s.engine.reservationCount, 1);
    // Datagrams to the reserved port are dropped until it is allocated.
    s.peer4.send(text('early'), { address: relayed.address, port: relayed.port + 1 });
    await until(s.clock, () => s.engine.counters.dropped['reserved-port'] > 0);
    assert.equal(s.engine.counters.dropped['reserved-port'], 1);

    const b = s.client('bob', 'hunter2');
    const second = await allocated(b, [['RESERVATION-TOKEN', token!]]);
    assert.deepEqual(second.get('XOR-RELAYED-ADDRESS'), { address: relayed.address, port: relayed.port + 1 });
    assert.equal(s.requests.length, 1, 'no new socket for the reserved port');
    assert.equal(s.engine.reservationCount, 0);
    assert.equal(s.engine.counters.reservations.used, 1);
    // The reserved socket now relays like any other.
    assert.equal((await b.createPermission(s.peer4.localAddress))?.class, 'success');
    b.sendIndication(s.peer4.localAddress, text('rtcp'));
    await until(s.clock, () => s.peerReceived.length > 0);
    assert.deepEqual(s.peerReceived[0].from, { address: relayed.address, port: relayed.port + 1 });

    const again = await s.client().allocate([['RESERVATION-TOKEN', token!]]);
    assert.equal(again?.get('ERROR-CODE')?.code, 508, 'a token is good for one Allocate');
    const unknown = await s.client().allocate([['RESERVATION-TOKEN', new Uint8Array(8)]]);
    assert.equal(unknown?.get('ERROR-CODE')?.code, 508);
    const mixed = await s.client().allocate([['RESERVATION-TOKEN', token!], ['EVEN-PORT', { reservePort: false }]]);
    assert.equal(mixed?.get('ERROR-CODE')?.code, 400);
    assert.equal((await s.client().allocate([['EVEN-PORT', { reservePort: true }], ['ADDITIONAL-ADDRESS-FAMILY', 'IPv6']]))?.get('ERROR-CODE')?.code, 400);
  });

  it('expires an unused reservation after 30 s: its socket closes and the token gets 508', async () => {
    const s = setup();
    const first = await allocated(s.client(), [['EVEN-PORT', { reservePort: true }]]);
    const token = first.get('RESERVATION-TOKEN')!;
    const reserved = s.relaySockets[1];
    assert.equal(reserved.localAddress.port, first.get('XOR-RELAYED-ADDRESS')!.port + 1);
    s.clock.advance(29_000);
    assert.equal(reserved.closed, false, 'held for at least 30 s');
    s.clock.advance(1_500);
    await until(s.clock, () => reserved.closed, 100);
    assert.equal(reserved.closed, true);
    assert.equal(s.engine.counters.reservations.expired, 1);
    assert.equal((await s.client('bob', 'hunter2').allocate([['RESERVATION-TOKEN', token]]))?.get('ERROR-CODE')?.code, 508);
    assert.equal(s.running.relaySocketCount, 1, 'only the first allocation is left');
  });

  it('keeps EVEN-PORT R=0 working, closes reservations on close(), and bounds them', async () => {
    const s = setup({ maxReservations: 1 });
    const even = await allocated(s.client(), [['EVEN-PORT', { reservePort: false }]]);
    assert.equal(even.get('XOR-RELAYED-ADDRESS')!.port % 2, 0);
    assert.equal(even.get('RESERVATION-TOKEN'), undefined);
    await allocated(s.client(), [['EVEN-PORT', { reservePort: true }]]);
    const full = await s.client('bob', 'hunter2').allocate([['EVEN-PORT', { reservePort: true }]]);
    assert.equal(full?.get('ERROR-CODE')?.code, 508);
    s.running.close();
    assert.ok(s.relaySockets.every((socket) => socket.closed), 'the reserved socket is closed too');
  });

  it('fails the Allocate with 508 when the driver offers no pair, closing what it offered', async () => {
    const clock = new VirtualClock();
    const net = new SimNetwork({ clock, seed: 3 });
    const host = net.addHost(SERVER.address);
    const engine = new TurnServer({ users: { alice: 'secret' } });
    const offered: SimSocket[] = [];
    runTurnServer({
      engine,
      listen: [host.bind(SERVER.port)],
      clock,
      openRelaySocket: async () => {
        const socket = host.bind(50_001); // odd, and no pair
        offered.push(socket);
        return socket;
      },
    });
    const c = new TestTurnClient(clock, net.addHost().bind(), SERVER);
    assert.equal((await c.allocate([['EVEN-PORT', { reservePort: true }]]))?.get('ERROR-CODE')?.code, 508);
    await until(clock, () => offered[0].closed, 100);
    assert.equal(offered[0].closed, true);
    assert.equal(engine.allocationCount, 0);
  });
});

describe('TURN server: dual allocations (ADDITIONAL-ADDRESS-FAMILY)', () => {
  it('allocates IPv4 and IPv6 relays, relays to a peer of each family, refreshes and deletes one family', async () => {
    const s = setup({ relayFamilies: ['IPv4', 'IPv6'] });
    const c = s.client();
    const r = await allocated(c, [['ADDITIONAL-ADDRESS-FAMILY', 'IPv6']]);
    const relays = r.getAll('XOR-RELAYED-ADDRESS');
    assert.equal(relays.length, 2);
    assert.equal(relays[0].address, SERVER.address);
    assert.equal(relays[1].address, SERVER6);
    assert.equal(r.get('ADDRESS-ERROR-CODE'), undefined);
    assert.deepEqual(s.requests.map((q) => q.family), ['IPv4', 'IPv6']);
    const info = s.engine.allocationInfo()[0];
    assert.deepEqual(info.relayed, relays[0]);
    assert.deepEqual(info.relays.map((h) => h.relayed), relays);

    assert.equal((await c.createPermission(s.peer4.localAddress, s.peer6.localAddress))?.class, 'success');
    c.sendIndication(s.peer4.localAddress, text('four'));
    c.sendIndication(s.peer6.localAddress, text('six'));
    await until(s.clock, () => s.peerReceived.length >= 2);
    const byFamily = Object.fromEntries(s.peerReceived.map((p) => [p.to, p]));
    assert.deepEqual(byFamily.IPv4.from, relays[0]);
    assert.deepEqual(byFamily.IPv6.from, relays[1]);
    s.peer6.send(text('back'), relays[1]);
    await until(s.clock, () => c.dataIndications().length > 0);
    assert.deepEqual(c.dataIndications().map((d) => str(d.data)), ['back']);

    // Refresh of the IPv6 half only: the IPv4 one expires on its own schedule, the IPv6 one lives on.
    s.clock.advance(500_000);
    const refreshed = await c.authed(StunMethod.Refresh, [['REQUESTED-ADDRESS-FAMILY', 'IPv6'], ['LIFETIME', 600]]);
    assert.equal(refreshed?.get('LIFETIME'), 600);
    s.clock.advance(101_000);
    await until(s.clock, () => s.relaySockets[0].closed, 100);
    assert.equal(s.relaySockets[0].closed, true, 'the IPv4 relay expired');
    assert.equal(s.relaySockets[1].closed, false);
    assert.equal(s.engine.allocationCount, 1);
    assert.deepEqual(s.engine.allocationInfo()[0].relayed, relays[1]);
    assert.equal((await c.authed(StunMethod.Refresh, [['REQUESTED-ADDRESS-FAMILY', 'IPv4']]))?.get('ERROR-CODE')?.code, 443);
    assert.equal((await c.createPermission(s.peer4.localAddress))?.get('ERROR-CODE')?.code, 443);
    // LIFETIME 0 naming the last family deletes the allocation.
    assert.equal((await c.authed(StunMethod.Refresh, [['REQUESTED-ADDRESS-FAMILY', 'IPv6'], ['LIFETIME', 0]]))?.get('LIFETIME'), 0);
    assert.equal(s.engine.allocationCount, 0);
    await until(s.clock, () => s.relaySockets[1].closed, 100);
    assert.equal(s.relaySockets[1].closed, true);
  });

  it('deletes one family with LIFETIME 0 and REQUESTED-ADDRESS-FAMILY, keeping the other and its permissions', async () => {
    const s = setup({ relayFamilies: ['IPv4', 'IPv6'] });
    const c = s.client();
    const relays = (await allocated(c, [['ADDITIONAL-ADDRESS-FAMILY', 'IPv6']])).getAll('XOR-RELAYED-ADDRESS');
    assert.equal((await c.createPermission(s.peer4.localAddress))?.class, 'success');
    assert.equal((await c.createPermission(s.peer6.localAddress))?.class, 'success');
    assert.equal((await c.authed(StunMethod.Refresh, [['REQUESTED-ADDRESS-FAMILY', 'IPv6'], ['LIFETIME', 0]]))?.get('LIFETIME'), 0);
    assert.equal(s.engine.allocationCount, 1);
    await until(s.clock, () => s.relaySockets[1].closed, 100);
    assert.equal(s.relaySockets[1].closed, true);
    assert.equal(s.engine.allocationInfo()[0].permissions, 1, 'the IPv6 permission went with its relay');
    c.sendIndication(s.peer4.localAddress, text('still'));
    await until(s.clock, () => s.peerReceived.length > 0);
    assert.deepEqual(s.peerReceived[0].from, relays[0]);
  });

  it('grants IPv4 with ADDRESS-ERROR-CODE 440 for IPv6 when the server relays IPv4 only', async () => {
    const s = setup();
    const r = await allocated(s.client(), [['ADDITIONAL-ADDRESS-FAMILY', 'IPv6']]);
    assert.equal(r.getAll('XOR-RELAYED-ADDRESS').length, 1);
    assert.equal(r.get('ADDRESS-ERROR-CODE')?.code, 440);
    assert.equal(r.get('ADDRESS-ERROR-CODE')?.family, 'IPv6');
    assert.equal((await s.client().allocate([['ADDITIONAL-ADDRESS-FAMILY', 'IPv4']]))?.get('ERROR-CODE')?.code, 400);
  });

  it('fails a dual Allocate whole (508) when one family cannot be opened, closing the other socket', async () => {
    const clock = new VirtualClock();
    const net = new SimNetwork({ clock, seed: 4 });
    const host = net.addHost({ address: [SERVER.address, SERVER6] });
    const engine = new TurnServer({ users: { alice: 'secret' }, relayFamilies: ['IPv4', 'IPv6'] });
    const opened: SimSocket[] = [];
    const running = runTurnServer({
      engine,
      listen: [host.bind(SERVER.port, SERVER.address)],
      clock,
      openRelaySocket: async (request) => {
        if (request.family === 'IPv6') throw new Error('no IPv6 ports');
        const socket = host.bind(0, SERVER.address);
        opened.push(socket);
        return socket;
      },
    });
    const c = new TestTurnClient(clock, net.addHost().bind(), SERVER);
    assert.equal((await c.allocate([['ADDITIONAL-ADDRESS-FAMILY', 'IPv6']]))?.get('ERROR-CODE')?.code, 508);
    assert.equal(opened[0].closed, true);
    assert.equal(running.relaySocketCount, 0);
    assert.equal(engine.allocationCount, 0);
  });
});

describe('TURN server: stream-client hooks', () => {
  it('deletes the allocation when its connection closes, releasing the quota; tells stream transports', async () => {
    const s = setup({ maxAllocationsPerUser: 1 });
    const c = s.client();
    await allocated(c);
    // The listening socket (id 0) plays the stream connection here: the engine only sees ids.
    s.engine.clientSocketOpened(0, 'tls', s.clock.now());
    assert.equal(s.engine.streamTransportOf(0), 'tls');
    assert.equal(s.engine.streamTransportOf(1), undefined);
    assert.equal(s.engine.allocationInfo()[0].transport, 'tls');
    assert.equal((await s.client().allocate())?.get('ERROR-CODE')?.code, 486);
    s.engine.clientSocketClosed(0, s.clock.now());
    s.running.driver.poll();
    assert.equal(s.engine.allocationCount, 0);
    assert.equal(s.engine.streamTransportOf(0), undefined);
    assert.ok(s.events.some((e) => e.type === 'deallocated' && e.reason === 'connection-closed'));
    await until(s.clock, () => s.relaySockets[0].closed, 100);
    assert.equal(s.relaySockets[0].closed, true);
    await allocated(s.client());
  });

  it('drops an Allocate waiting for its relay socket when the connection closes, and closes the late socket', async () => {
    const clock = new VirtualClock();
    const net = new SimNetwork({ clock, seed: 5 });
    const host = net.addHost(SERVER.address);
    const engine = new TurnServer({ users: { alice: 'secret' }, maxAllocationsPerUser: 1 });
    const opens: ((socket: SimSocket) => void)[] = [];
    runTurnServer({ engine, listen: [host.bind(SERVER.port)], clock, openRelaySocket: () => new Promise((resolve) => opens.push(resolve)) });
    engine.clientSocketOpened(0, 'tcp', clock.now());
    const c = new TestTurnClient(clock, net.addHost().bind(), SERVER);
    void c.allocate([], { withinMs: 100 });
    await until(clock, () => opens.length > 0, 1000);
    engine.clientSocketClosed(0, clock.now());
    const late = host.bind();
    opens[0](late);
    await until(clock, () => late.closed, 100);
    assert.equal(late.closed, true);
    assert.equal(engine.allocationCount, 0);
    assert.equal(engine.counters.dropped['late-relay'], 1);
  });
});
