// The TURN server engine on the simulated network and virtual time, driven by a scripted client.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { mintRestCredential } from '../../src/net/rest-credentials.js';
import type { TransportAddress } from '../../src/net/transport-address.js';
import { runTurnServer } from '../../src/server/turn-server-runner.js';
import { TurnServer, type TurnServerEvent, type TurnServerOptions } from '../../src/server/turn-server.js';
import { SimNetwork, VirtualClock, type SimSocket } from '../../src/sim/index.js';
import { StunMethod } from '../../src/stun/constants.js';
import { stunBinding } from '../../src/stun/binding.js';
import { decodeStunMessage } from '../../src/stun/decode.js';
import { TurnRelaySocket } from '../../src/turn/relay-socket.js';
import { settleOnVirtualTime } from '../support/virtual-time.js';
import { TestTurnClient, until } from './turn-test-client.js';

const SERVER = { address: '192.0.2.1', port: 3478 };
const UNIX_EPOCH_MS = 1_700_000_000_000;
const text = (s: string) => new TextEncoder().encode(s);
const str = (b: Uint8Array) => new TextDecoder().decode(b);

function setup(options: TurnServerOptions = {}, openFails = false) {
  const clock = new VirtualClock();
  const net = new SimNetwork({ clock, seed: 1 });
  const serverHost = net.addHost(SERVER.address);
  const engine = new TurnServer({ realm: 'example.org', users: { alice: 'secret', bob: 'hunter2' }, unixEpochMs: UNIX_EPOCH_MS, ...options });
  const relaySockets: SimSocket[] = [];
  const events: TurnServerEvent[] = [];
  const running = runTurnServer({
    engine,
    listen: [serverHost.bind(SERVER.port)],
    openRelaySocket: async () => {
      if (openFails) throw new Error('no ports left');
      const socket = serverHost.bind();
      relaySockets.push(socket);
      return socket;
    },
    clock,
    onEvent: (e) => events.push(e),
  });
  const peerHost = net.addHost('192.0.2.50');
  const peerSocket = peerHost.bind(6000);
  const peerReceived: { data: string; from: TransportAddress }[] = [];
  peerSocket.ondatagram = (bytes, from) => peerReceived.push({ data: str(bytes), from });
  const peer = peerSocket.localAddress;
  const client = (username = 'alice', password = 'secret') => new TestTurnClient(clock, net.addHost().bind(), SERVER, username, password);
  return { clock, net, engine, running, relaySockets, events, peerHost, peerSocket, peer, peerReceived, client, serverHost };
}

async function allocated(c: TestTurnClient, extra: Parameters<TestTurnClient['allocate']>[0] = []) {
  const r = await c.allocate(extra);
  assert.equal(r?.class, 'success', `allocate: ${JSON.stringify(r?.get('ERROR-CODE'))}`);
  return r!.get('XOR-RELAYED-ADDRESS')!;
}

describe('TURN server on the simulated network', () => {
  it('challenges with 401 (REALM, NONCE, PASSWORD-ALGORITHMS), then allocates with MESSAGE-INTEGRITY', async () => {
    const s = setup();
    const c = s.client();
    const first = await c.request(StunMethod.Allocate, [['REQUESTED-TRANSPORT', 17]], { auth: false });
    assert.equal(first?.get('ERROR-CODE')?.code, 401);
    assert.equal(first?.get('REALM'), 'example.org');
    // RFC 8489 §9.2.1 bits 0 and 1: PASSWORD-ALGORITHMS and username anonymity (static users only).
    assert.match(first?.get('NONCE') ?? '', /^obMatJos2wAAA/);
    assert.deepEqual(first?.get('PASSWORD-ALGORITHMS')?.map((a) => a.algorithm), [2, 1]);
    assert.equal(first?.integrityOffset, -1, 'a 401 carries no integrity');
    c.takeChallenge(first!);
    const ok = await c.request(StunMethod.Allocate, [['REQUESTED-TRANSPORT', 17]]);
    assert.equal(ok?.class, 'success');
    assert.ok(ok!.integrityOffset >= 0, 'the success is protected with MESSAGE-INTEGRITY');
    assert.deepEqual(ok?.get('XOR-RELAYED-ADDRESS'), s.relaySockets[0].localAddress);
    assert.deepEqual(ok?.get('XOR-MAPPED-ADDRESS'), c.socket.localAddress);
    assert.equal(ok?.get('LIFETIME'), 600);
    assert.equal(ok?.get('SOFTWARE'), 'icebridge');
    assert.equal(s.engine.allocationCount, 1);
    assert.ok(s.events.some((e) => e.type === 'allocated' && e.username === 'alice'));
  });

  it('negotiates SHA-256 and answers with MESSAGE-INTEGRITY-SHA256', async () => {
    const s = setup();
    const c = s.client();
    const r = await c.allocate([], { sha256: true });
    assert.equal(r?.class, 'success');
    assert.ok(r!.integritySha256Offset >= 0);
    assert.equal(r!.integrityOffset, -1);
  });

  it('refuses a wrong password (401) and an unknown user (401), and a second Allocate on the 5-tuple (437)', async () => {
    const s = setup();
    const wrong = s.client('alice', 'nope');
    assert.equal((await wrong.allocate())?.get('ERROR-CODE')?.code, 401);
    const unknown = s.client('mallory', 'x');
    assert.equal((await unknown.allocate())?.get('ERROR-CODE')?.code, 401);
    const c = s.client();
    await allocated(c);
    assert.equal((await c.allocate())?.get('ERROR-CODE')?.code, 437);
    assert.equal(s.engine.allocationCount, 1);
  });

  it('answers a retransmitted Allocate with the same allocation', async () => {
    const s = setup();
    const c = s.client();
    const sent: Uint8Array[] = [];
    const send = c.socket.send.bind(c.socket);
    c.socket.send = (bytes, to) => {
      sent.push(bytes.slice());
      send(bytes, to);
    };
    const first = await c.allocate();
    const before = c.received.length;
    c.sendRaw(sent[sent.length - 1]); // the authenticated request, byte for byte
    await until(s.clock, () => c.received.length > before);
    const again = decodeStunMessage(c.received[before].bytes);
    assert.equal(again.class, 'success');
    assert.deepEqual(again.get('XOR-RELAYED-ADDRESS'), first?.get('XOR-RELAYED-ADDRESS'));
    assert.equal(s.engine.allocationCount, 1);
    assert.equal(s.relaySockets.length, 1);
    assert.equal(s.engine.counters.allocations.retransmitted, 1);
  });

  it('answers 438 with a fresh nonce once the nonce expires, and the retry succeeds', async () => {
    const s = setup({ nonceLifetimeMs: 30_000 });
    const c = s.client();
    await allocated(c);
    s.clock.advance(31_000);
    const stale = await c.request(StunMethod.Refresh, []);
    assert.equal(stale?.get('ERROR-CODE')?.code, 438);
    assert.ok(stale?.get('NONCE') !== c.nonce);
    assert.equal(stale?.get('REALM'), 'example.org');
    c.takeChallenge(stale!);
    assert.equal((await c.request(StunMethod.Refresh, []))?.class, 'success');
  });

  it('clamps LIFETIME, deletes on LIFETIME 0 and closes the relay socket', async () => {
    const s = setup();
    const c = s.client();
    assert.equal((await c.allocate([['LIFETIME', 1200]]))?.get('LIFETIME'), 1200);
    assert.equal((await c.refresh(30))?.get('LIFETIME'), 600, 'never below the default');
    assert.equal((await c.refresh(99_999))?.get('LIFETIME'), 3600, 'never above the maximum');
    const gone = await c.refresh(0);
    assert.equal(gone?.class, 'success');
    assert.equal(gone?.get('LIFETIME'), 0);
    assert.equal(s.engine.allocationCount, 0);
    assert.equal(s.relaySockets[0].closed, true);
    assert.equal((await c.refresh(0))?.get('ERROR-CODE')?.code, 437, 'a repeated delete finds nothing');
  });

  it('expires an allocation when refreshes stop: allocation gone, relay socket closed', async () => {
    const s = setup();
    const c = s.client();
    await allocated(c);
    s.clock.advance(500_000);
    assert.equal((await c.refresh())?.get('LIFETIME'), 600);
    const refreshedAt = s.clock.now();
    s.clock.runUntil(refreshedAt + 599_000);
    assert.equal(s.engine.allocationCount, 1);
    s.clock.runUntil(refreshedAt + 600_000);
    assert.equal(s.engine.allocationCount, 0);
    assert.equal(s.relaySockets[0].closed, true);
    assert.ok(s.events.some((e) => e.type === 'deallocated' && e.reason === 'expired'));
    assert.equal(s.engine.counters.allocations.expired, 1);
    assert.equal((await c.refresh())?.get('ERROR-CODE')?.code, 437);
  });

  it('relays both ways with Send and Data indications', async () => {
    const s = setup();
    const c = s.client();
    const relayed = await allocated(c);
    assert.equal((await c.createPermission(s.peer))?.class, 'success');
    c.sendIndication(s.peer, text('hello peer'));
    await until(s.clock, () => s.peerReceived.length === 1);
    assert.deepEqual(s.peerReceived[0], { data: 'hello peer', from: relayed });
    s.peerSocket.send(text('hello client'), relayed);
    await until(s.clock, () => c.dataIndications().length === 1);
    const [data] = c.dataIndications();
    assert.deepEqual(data.peer, s.peer);
    assert.equal(str(data.data), 'hello client');
  });

  it('relays both ways with ChannelData once a channel is bound', async () => {
    const s = setup();
    const c = s.client();
    const relayed = await allocated(c);
    assert.equal((await c.channelBind(0x4001, s.peer))?.class, 'success');
    c.sendChannelData(0x4001, text('over the channel'));
    await until(s.clock, () => s.peerReceived.length === 1);
    assert.deepEqual(s.peerReceived[0], { data: 'over the channel', from: relayed });
    s.peerSocket.send(text('back'), relayed);
    await until(s.clock, () => c.channelData().length === 1);
    assert.deepEqual(c.channelData().map((m) => [m.channel, str(m.data)]), [[0x4001, 'back']]);
    assert.equal(c.dataIndications().length, 0);
    // Unbound channel, and the peer on another port without a channel: Data indication.
    c.sendChannelData(0x4002, text('nowhere'));
    const other = s.peerHost.bind(6001);
    other.send(text('other port'), relayed);
    await until(s.clock, () => c.dataIndications().length === 1);
    assert.equal(str(c.dataIndications()[0].data), 'other port');
    assert.equal(s.engine.counters.dropped['no-channel'], 1);
  });

  it('drops data from a peer without a permission, and Send indications to one', async () => {
    const s = setup();
    const c = s.client();
    const relayed = await allocated(c);
    s.peerSocket.send(text('unsolicited'), relayed);
    c.sendIndication(s.peer, text('not permitted'));
    await until(s.clock, () => false, 1000);
    assert.equal(c.dataIndications().length, 0);
    assert.equal(s.peerReceived.length, 0);
    assert.equal(s.engine.counters.dropped['no-permission'], 2);
  });

  it('expires permissions after 5 minutes and channels after 10, keeping channel numbers reserved 5 more', async () => {
    const s = setup();
    const c = s.client();
    const relayed = await allocated(c);
    await c.channelBind(0x4000, s.peer);
    const t0 = s.clock.now();
    s.clock.runUntil(t0 + 299_000);
    s.peerSocket.send(text('a'), relayed);
    await until(s.clock, () => c.channelData().length === 1);
    s.clock.runUntil(t0 + 301_000);
    s.peerSocket.send(text('b'), relayed);
    await until(s.clock, () => false, 500);
    assert.equal(c.channelData().length, 1, 'permission expired: dropped although the channel is bound');
    assert.equal(s.engine.counters.dropped['no-permission'], 1);
    c.sendChannelData(0x4000, text('still bound'));
    await until(s.clock, () => s.peerReceived.length === 1);
    await c.createPermission(s.peer); // permission again, until ~t0 + 601 s
    await c.refresh(); // the allocation itself would expire at t0 + 600 s
    s.clock.runUntil(t0 + 601_000); // the channel expired at t0 + 600 s
    const tc = s.clock.now();
    s.peerSocket.send(text('c'), relayed);
    await until(s.clock, () => c.dataIndications().length === 1);
    assert.equal(str(c.dataIndications()[0].data), 'c', 'channel expired: a Data indication instead');
    s.clock.runUntil(tc + 1000);
    const other = { address: s.peer.address, port: 7000 };
    assert.equal((await c.channelBind(0x4000, other))?.get('ERROR-CODE')?.code, 400, 'number reserved for 5 min');
    assert.equal((await c.channelBind(0x4000, s.peer))?.class, 'success', 'rebinding the same pair is fine');
    assert.equal((await c.channelBind(0x4000, other))?.get('ERROR-CODE')?.code, 400, 'bound to another peer');
    assert.equal((await c.channelBind(0x4001, s.peer))?.get('ERROR-CODE')?.code, 400, 'peer bound to another number');
    assert.equal((await c.channelBind(0x3fff, other))?.get('ERROR-CODE')?.code, 400, 'outside 0x4000-0x4FFF');
  });

  it('refuses peers the policy denies with 403: loopback by default, and deny CIDRs', async () => {
    const s = setup({ deny: ['192.0.2.128/25'] });
    const c = s.client();
    await allocated(c);
    assert.equal((await c.createPermission({ address: '127.0.0.1', port: 1 }))?.get('ERROR-CODE')?.code, 403);
    assert.equal((await c.createPermission({ address: '169.254.169.254', port: 80 }))?.get('ERROR-CODE')?.code, 403);
    assert.equal((await c.createPermission({ address: '192.0.2.200', port: 1 }))?.get('ERROR-CODE')?.code, 403);
    assert.equal((await c.channelBind(0x4000, { address: '192.0.2.200', port: 1 }))?.get('ERROR-CODE')?.code, 403);
    assert.equal((await c.createPermission(s.peer, { address: '192.0.2.200', port: 1 }))?.get('ERROR-CODE')?.code, 403, 'all or nothing');
    assert.equal((await c.createPermission({ address: '2001:db8::1', port: 1 }))?.get('ERROR-CODE')?.code, 443);
    assert.equal((await c.createPermission(s.peer))?.class, 'success');
    const allowed = setup({ allowLoopback: true, deny: ['192.0.2.0/24'], allow: ['192.0.2.50/32'] });
    const d = allowed.client();
    await allocated(d);
    assert.equal((await d.createPermission({ address: '127.0.0.1', port: 1 }))?.class, 'success');
    assert.equal((await d.createPermission(allowed.peer))?.class, 'success', 'allow overrides deny');
    assert.equal((await d.createPermission({ address: '192.0.2.51', port: 1 }))?.get('ERROR-CODE')?.code, 403);
  });

  it('enforces quotas: 486 per user, 508 in total', async () => {
    const s = setup({ maxAllocationsPerUser: 1, maxAllocations: 2 });
    const first = s.client('alice', 'secret');
    await allocated(first);
    const second = s.client('alice', 'secret');
    assert.equal((await second.allocate())?.get('ERROR-CODE')?.code, 486);
    await allocated(s.client('bob', 'hunter2'));
    await first.refresh(0);
    await allocated(second); // deleting one freed the user's slot
    const s2 = setup({ maxAllocations: 1 });
    await allocated(s2.client('alice', 'secret'));
    assert.equal((await s2.client('bob', 'hunter2').allocate())?.get('ERROR-CODE')?.code, 508);
  });

  it('answers 508 when no relay socket can be opened, and frees the quota', async () => {
    const s = setup({ maxAllocationsPerUser: 1 }, true);
    const c = s.client();
    assert.equal((await c.allocate())?.get('ERROR-CODE')?.code, 508);
    assert.equal((await c.allocate())?.get('ERROR-CODE')?.code, 508, 'not 486: the failed one was released');
    assert.equal(s.engine.counters.allocations.failed, 2);
  });

  it('answers 508 when the driver does not open the relay socket in time, and closes a late one', async () => {
    const clock = new VirtualClock();
    const net = new SimNetwork({ clock, seed: 1 });
    const host = net.addHost(SERVER.address);
    const engine = new TurnServer({ users: { alice: 'secret' }, relayOpenTimeoutMs: 3000 });
    const opens: ((socket: SimSocket) => void)[] = [];
    const running = runTurnServer({ engine, listen: [host.bind(SERVER.port)], clock, openRelaySocket: () => new Promise((resolve) => opens.push(resolve)) });
    const c = new TestTurnClient(clock, net.addHost().bind(), SERVER);
    const r = await c.allocate([], { withinMs: 5000 });
    assert.equal(r?.get('ERROR-CODE')?.code, 508);
    assert.ok(r!.integrityOffset >= 0);
    assert.equal(opens.length, 1);
    const late = host.bind();
    opens[0](late);
    await until(clock, () => late.closed, 100);
    assert.equal(late.closed, true, 'a socket offered too late is closed');
    assert.equal(engine.counters.dropped['late-relay'], 1);
    assert.equal(running.relaySocketCount, 0);
  });

  it('rejects REQUESTED-TRANSPORT TCP over UDP (400, RFC 6062 §5.1), other transports (442) and unsupported families (440)', async () => {
    const s = setup();
    const c = s.client();
    assert.equal((await c.authed(StunMethod.Allocate, [['REQUESTED-TRANSPORT', 6]]))?.get('ERROR-CODE')?.code, 400);
    assert.equal((await c.authed(StunMethod.Allocate, [['REQUESTED-TRANSPORT', 132]]))?.get('ERROR-CODE')?.code, 442);
    assert.equal((await c.authed(StunMethod.Allocate, []))?.get('ERROR-CODE')?.code, 400);
    assert.equal((await c.allocate([['REQUESTED-ADDRESS-FAMILY', 'IPv6']]))?.get('ERROR-CODE')?.code, 440);
    assert.equal((await c.allocate([['DONT-FRAGMENT', true]]))?.get('ERROR-CODE')?.code, 420);
  });

  it('accepts TURN REST credentials; refuses expired ones for new allocations but not for the existing one', async () => {
    const secret = 'north-wind';
    const s = setup({ users: {}, secret });
    const nowSeconds = UNIX_EPOCH_MS / 1000;
    const valid = mintRestCredential({ secret, user: 'carol', ttlSeconds: 1800, nowSeconds });
    const c = s.client(valid.username, valid.credential);
    await allocated(c, [['LIFETIME', 3600]]);
    const expired = mintRestCredential({ secret, user: 'dave', ttlSeconds: 60, nowSeconds: nowSeconds - 120 });
    assert.equal((await s.client(expired.username, expired.credential).allocate())?.get('ERROR-CODE')?.code, 401);
    const forged = s.client(`${nowSeconds + 3600}:eve`, 'AAAAAAAAAAAAAAAAAAAAAAAAAAA=');
    assert.equal((await forged.allocate())?.get('ERROR-CODE')?.code, 401);
    s.clock.advance(1_900_000); // past the credential's expiry
    assert.equal((await c.refresh())?.class, 'success', 'the allocation it created lives on');
    assert.equal((await s.client(valid.username, valid.credential).allocate())?.get('ERROR-CODE')?.code, 401);
  });

  it('refuses TURN without configured credentials (401) while answering STUN Binding', async () => {
    const s = setup({ users: {} });
    assert.equal(s.engine.turnEnabled, false);
    const c = s.client();
    const r = await c.allocate();
    assert.equal(r?.get('ERROR-CODE')?.code, 401);
    assert.match(r?.get('ERROR-CODE')?.reason ?? '', /TURN is disabled/);
    const binding = stunBinding(SERVER, { socket: s.net.addHost().bind(), clock: s.clock });
    let mapped: TransportAddress | undefined;
    void binding.then((b) => (mapped = b.mapped));
    await until(s.clock, () => mapped !== undefined);
    assert.ok(mapped);
  });

  it('drops relayed bytes beyond the per-allocation rate and counts them', async () => {
    const s = setup({ bytesPerSecond: 1000, burstBytes: 1000 });
    const c = s.client();
    const relayed = await allocated(c);
    await c.createPermission(s.peer);
    for (let i = 0; i < 10; i++) c.sendIndication(s.peer, new Uint8Array(300));
    await until(s.clock, () => false, 100);
    assert.equal(s.peerReceived.length, 3);
    assert.equal(s.engine.counters.dropped['rate-limited'], 7);
    s.clock.advance(1000);
    s.peerSocket.send(new Uint8Array(900), relayed);
    await until(s.clock, () => c.dataIndications().length === 1);
  });

  it('deletes every allocation and closes relay sockets on close()', async () => {
    const s = setup();
    await allocated(s.client());
    await allocated(s.client('bob', 'hunter2'));
    assert.equal(s.running.relaySocketCount, 2);
    s.running.close();
    assert.equal(s.running.relaySocketCount, 0);
    assert.ok(s.relaySockets.every((r) => r.closed));
    assert.equal(s.events.filter((e) => e.type === 'deallocated' && e.reason === 'closed').length, 2);
  });

  it("serves icebridge's own TURN client for 25 minutes: SHA-256, stale nonces, refreshes, channels, close", async () => {
    const s = setup({ nonceLifetimeMs: 120_000 });
    const base = s.net.addHost().bind();
    const relay = await settleOnVirtualTime(s.clock, TurnRelaySocket.allocate(base, { server: SERVER, username: 'alice', credential: 'secret', clock: s.clock }));
    assert.deepEqual(relay.localAddress, s.relaySockets[0].localAddress);
    const received: string[] = [];
    relay.ondatagram = (bytes) => received.push(str(bytes));
    s.peerSocket.ondatagram = (bytes, from) => s.peerSocket.send(text(`echo ${str(bytes)}`), from);
    const channel = await settleOnVirtualTime(s.clock, relay.bindChannel(s.peer));
    assert.ok(channel >= 0x4000 && channel <= 0x4fff);
    for (let minute = 0; minute < 25; minute++) {
      relay.send(text(`m${minute}`), s.peer);
      await until(s.clock, () => received.length === minute + 1, 60_000);
      s.clock.runUntil(s.clock.now() + 60_000 - (s.clock.now() % 60_000));
    }
    assert.deepEqual(received, Array.from({ length: 25 }, (_, i) => `echo m${i}`));
    assert.equal(s.engine.allocationCount, 1, 'kept alive by refreshes');
    assert.ok((s.engine.counters.errorResponses[438] ?? 0) > 0, 'nonces went stale and were renewed');
    assert.ok(s.engine.counters.requests.refresh > 0 && s.engine.counters.requests.channelBind > 1);
    assert.equal(s.engine.counters.dropped['no-permission'], 0);
    assert.ok(s.engine.counters.relayed.packetsToPeers >= 25);
    relay.close();
    await settleOnVirtualTime(s.clock, relay.closed);
    assert.equal(s.engine.allocationCount, 0);
    assert.equal(s.relaySockets[0].closed, true);
  });
});
