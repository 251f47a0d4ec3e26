// The TURN client engine and TurnRelaySocket on the simulated network and virtual time, against a small
// scripted TURN server written here (it does what each test tells it, including wrong things), and
// against icebridge's own TurnServer engine.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { toHex } from '../../src/crypto/index.js';
import { EngineDriver } from '../../src/net/driver.js';
import type { TransportAddress } from '../../src/net/transport-address.js';
import { StunServer } from '../../src/server/stun-server.js';
import { runTurnServer } from '../../src/server/turn-server-runner.js';
import { TurnServer } from '../../src/server/turn-server.js';
import { SimNetwork, VirtualClock, type SimHost, type SimSocket } from '../../src/sim/index.js';
import type { StunAttributeEntry } from '../../src/stun/attribute-values.js';
import { stunBinding } from '../../src/stun/binding.js';
import { classifyDatagram } from '../../src/stun/classify.js';
import { PasswordAlgorithm, StunMethod } from '../../src/stun/constants.js';
import { decodeStunMessage } from '../../src/stun/decode.js';
import { encodeStunMessage } from '../../src/stun/encode.js';
import { longTermKey, userHash, verifyMessageIntegrity, verifyMessageIntegritySha256 } from '../../src/stun/integrity.js';
import { createStunMessage, type StunMessage } from '../../src/stun/message.js';
import { decodeChannelData, encodeChannelData } from '../../src/turn/channel-data.js';
import { TurnClient } from '../../src/turn/client.js';
import type { TurnClientEvent, TurnClientOptions } from '../../src/turn/client-options.js';
import { TurnError } from '../../src/turn/errors.js';
import { TurnRelaySocket } from '../../src/turn/relay-socket.js';
import { settleOnVirtualTime } from '../support/virtual-time.js';

const SERVER = { address: '192.0.2.1', port: 3478 };
const REALM = 'example.org';
const text = (s: string) => new TextEncoder().encode(s);
const str = (b: Uint8Array) => new TextDecoder().decode(b);
const METHOD_NAME: Record<number, string> = {
  [StunMethod.Allocate]: 'Allocate',
  [StunMethod.Refresh]: 'Refresh',
  [StunMethod.Send]: 'Send',
  [StunMethod.CreatePermission]: 'CreatePermission',
  [StunMethod.ChannelBind]: 'ChannelBind',
};

interface Script {
  /** Offer PASSWORD-ALGORITHMS (MD5 first, then SHA-256) with the nonce cookie bit set. */
  offerSha256?: boolean;
  /** Set the nonce cookie's "Password algorithms" bit but leave PASSWORD-ALGORITHMS out (a bid-down). */
  bidDown?: boolean;
  /** Set the nonce cookie's "Username anonymity" bit: clients must send USERHASH (RFC 8489 §9.2.5). */
  anonymity?: boolean;
  /** Answer the n-th authenticated request (0-based) with 438 and a new nonce. */
  staleAt?: (n: number) => boolean;
  /** Error for a request instead of handling it (authenticated requests only). */
  errorFor?: (method: string, request: StunMessage) => { code: number; reason: string } | undefined;
  /** Answer Allocate with 300 Try Alternate to this server (unauthenticated, as servers do). */
  alternate?: TransportAddress;
  /** Do not answer at all. */
  ignore?: (method: string, request: StunMessage) => boolean;
  lifetime?: number;
}

interface LoggedRequest {
  at: number;
  method: string;
  message: StunMessage;
}

/** A scripted TURN server: enough of RFC 8656 to serve one client, and whatever the test scripts. */
class FakeTurnServer {
  readonly log: LoggedRequest[] = [];
  readonly relay: SimSocket;
  readonly permissions = new Set<string>();
  readonly channels = new Map<number, TransportAddress>();
  readonly fromClient: { kind: 'indication' | 'channel'; data: string }[] = [];
  private client: TransportAddress | undefined;
  private nonceCount = 0;
  private authenticated = 0;

  constructor(
    host: SimHost,
    private readonly socket: SimSocket,
    private readonly clock: VirtualClock,
    private readonly script: Script = {},
  ) {
    this.relay = host.bind();
    socket.ondatagram = (bytes, from) => this.receive(bytes, from);
    this.relay.ondatagram = (bytes, from) => this.fromPeer(bytes, from);
  }

  get address(): TransportAddress {
    return this.socket.localAddress;
  }

  requests(method: string): LoggedRequest[] {
    return this.log.filter((r) => r.method === method);
  }

  private nonce(): string {
    // RFC 8489 §9.2: "obMatJos2" + base64 of the feature bits; gAAA sets bit 0, "Password algorithms".
    // "wAAA" sets bits 0 and 1 (also "Username anonymity").
    const cookie = this.script.anonymity ? 'obMatJos2wAAA' : this.script.offerSha256 || this.script.bidDown ? 'obMatJos2gAAA' : '';
    return `${cookie}nonce-${++this.nonceCount}`;
  }

  private receive(bytes: Uint8Array, from: TransportAddress): void {
    if (classifyDatagram(bytes) === 'channel-data') {
      const { channel, data } = decodeChannelData(bytes);
      const peer = this.channels.get(channel);
      this.fromClient.push({ kind: 'channel', data: str(data) });
      if (peer) this.relay.send(data, peer);
      return;
    }
    const request = decodeStunMessage(bytes);
    const method = METHOD_NAME[request.method] ?? String(request.method);
    this.log.push({ at: this.clock.now(), method, message: request });
    if (request.class === 'indication') {
      const peer = request.get('XOR-PEER-ADDRESS')!;
      this.fromClient.push({ kind: 'indication', data: str(request.get('DATA')!) });
      if (this.permissions.has(peer.address)) this.relay.send(request.get('DATA')!, peer);
      return;
    }
    this.client = from;
    if (this.script.ignore?.(method, request)) return;
    if (this.script.alternate && request.method === StunMethod.Allocate) {
      return this.answer(request, from, [['ERROR-CODE', { code: 300, reason: 'Try Alternate' }], ['ALTERNATE-SERVER', this.script.alternate]]);
    }
    const offered = [
      { algorithm: PasswordAlgorithm.MD5, parameters: new Uint8Array(0) },
      { algorithm: PasswordAlgorithm.SHA256, parameters: new Uint8Array(0) },
    ];
    const challenge = (code: 401 | 438): void =>
      this.answer(request, from, [
        ['ERROR-CODE', { code, reason: code === 401 ? 'Unauthenticated' : 'Stale Nonce' }],
        ['REALM', REALM],
        ['NONCE', this.nonce()],
        ...(this.script.offerSha256 ? ([['PASSWORD-ALGORITHMS', offered]] as StunAttributeEntry[]) : []),
      ]);
    if (request.integrityOffset < 0 && request.integritySha256Offset < 0) return challenge(401);
    const sha256Key = request.get('PASSWORD-ALGORITHM')?.algorithm === PasswordAlgorithm.SHA256;
    const hashed = request.get('USERHASH');
    const username = hashed && toHex(hashed) === toHex(userHash('alice', REALM)) ? 'alice' : request.get('USERNAME');
    const key = longTermKey(username ?? '', REALM, 'secret', sha256Key ? 'SHA-256' : 'MD5');
    const valid = request.integritySha256Offset >= 0 ? verifyMessageIntegritySha256(request, key) : verifyMessageIntegrity(request, key);
    if (!valid || username !== 'alice') return challenge(401);
    if (this.script.staleAt?.(this.authenticated++)) return challenge(438);
    const protect = { key, sha256: request.integritySha256Offset >= 0 };
    const error = this.script.errorFor?.(method, request);
    if (error) return this.answer(request, from, [['ERROR-CODE', error]], protect);
    const lifetime = this.script.lifetime ?? 600;
    switch (request.method) {
      case StunMethod.Allocate:
        return this.answer(request, from, [['XOR-RELAYED-ADDRESS', this.relay.localAddress], ['XOR-MAPPED-ADDRESS', from], ['LIFETIME', lifetime]], protect);
      case StunMethod.Refresh:
        return this.answer(request, from, [['LIFETIME', request.get('LIFETIME') === 0 ? 0 : lifetime]], protect);
      case StunMethod.CreatePermission:
        for (const peer of request.getAll('XOR-PEER-ADDRESS')) this.permissions.add(peer.address);
        return this.answer(request, from, [], protect);
      case StunMethod.ChannelBind: {
        const peer = request.get('XOR-PEER-ADDRESS')!;
        this.channels.set(request.get('CHANNEL-NUMBER')!, peer);
        this.permissions.add(peer.address);
        return this.answer(request, from, [], protect);
      }
    }
  }

  private answer(request: StunMessage, to: TransportAddress, attributes: StunAttributeEntry[], protect?: { key: Uint8Array; sha256: boolean }): void {
    const cls = attributes.some(([name]) => name === 'ERROR-CODE') ? 'error' : 'success';
    const response = createStunMessage({ method: request.method, class: cls, transactionId: request.transactionId, attributes });
    const bytes = encodeStunMessage(response, {
      integrity: protect && !protect.sha256 ? { key: protect.key } : undefined,
      integritySha256: protect?.sha256 ? { key: protect.key } : undefined,
      fingerprint: true,
    });
    this.socket.send(bytes, to);
  }

  /** §11.3 / §12.7: a datagram from a permitted peer goes to the client as ChannelData or a Data indication. */
  private fromPeer(bytes: Uint8Array, from: TransportAddress): void {
    if (!this.client || !this.permissions.has(from.address)) return;
    for (const [channel, peer] of this.channels) {
      if (peer.address === from.address && peer.port === from.port) return this.socket.send(encodeChannelData(channel, bytes), this.client);
    }
    const indication = createStunMessage({ method: StunMethod.Data, class: 'indication', attributes: [['XOR-PEER-ADDRESS', from], ['DATA', bytes]] });
    this.socket.send(encodeStunMessage(indication), this.client);
  }
}

interface World {
  clock: VirtualClock;
  net: SimNetwork;
  server: FakeTurnServer;
  clientSocket: SimSocket;
  peer: SimSocket;
  peerReceived: string[];
}

function world(script: Script = {}): World {
  const clock = new VirtualClock();
  const net = new SimNetwork({ clock, seed: 11 });
  const serverHost = net.addHost(SERVER.address);
  const server = new FakeTurnServer(serverHost, serverHost.bind(SERVER.port), clock, script);
  const clientSocket = net.addHost('198.51.100.20').bind(40000);
  const peer = net.addHost('192.0.2.50').bind(6000);
  const peerReceived: string[] = [];
  peer.ondatagram = (bytes, from) => {
    peerReceived.push(str(bytes));
    peer.send(text(`echo:${str(bytes)}`), from);
  };
  return { clock, net, server, clientSocket, peer, peerReceived };
}

/** A TurnClient driven directly (for exact timing): events recorded with their virtual time. */
function engine(w: World, options: Partial<TurnClientOptions> = {}) {
  const client = new TurnClient({ server: SERVER, username: 'alice', credential: 'secret', ...options });
  const events: (TurnClientEvent & { at: number })[] = [];
  const driver = new EngineDriver(client, { clock: w.clock, onEvent: (e) => events.push({ ...e, at: w.clock.now() }) });
  driver.attach(0, w.clientSocket);
  const act = (f: (now: number) => void) => {
    f(w.clock.now());
    driver.poll();
  };
  return { client, events, driver, act, of: <T extends TurnClientEvent['type']>(type: T) => events.filter((e) => e.type === type) };
}

function relay(w: World, options: Partial<Parameters<typeof TurnRelaySocket.allocate>[1]> = {}): Promise<TurnRelaySocket> {
  return settleOnVirtualTime(
    w.clock,
    TurnRelaySocket.allocate(w.clientSocket, { server: SERVER, username: 'alice', credential: 'secret', clock: w.clock, ...options }),
  );
}

describe('TURN client: allocation and the long-term credential', () => {
  it('sends Allocate unauthenticated, answers the 401 with USERNAME/REALM/NONCE/MESSAGE-INTEGRITY, and allocates', async () => {
    const w = world();
    const socket = await relay(w);
    const [first, second] = w.server.requests('Allocate').map((r) => r.message);
    assert.equal(first.has('USERNAME'), false, 'RFC 8489 §9.2.3.1: the first request carries no credentials');
    assert.equal(first.integrityOffset, -1);
    assert.equal(first.get('REQUESTED-TRANSPORT'), 17);
    assert.equal(first.get('LIFETIME'), 600);
    assert.equal(first.get('SOFTWARE'), 'icebridge');
    assert.equal(second.get('USERNAME'), 'alice');
    assert.equal(second.get('REALM'), REALM);
    assert.equal(second.get('NONCE'), 'nonce-1');
    assert.ok(second.integrityOffset >= 0);
    assert.equal(second.has('PASSWORD-ALGORITHM'), false, 'no PASSWORD-ALGORITHMS offered, none chosen');
    assert.deepEqual(socket.localAddress, w.server.relay.localAddress);
    assert.deepEqual(socket.mappedAddress, { address: '198.51.100.20', port: 40000 });
    assert.equal(socket.client.lifetimeSeconds, 600);
  });

  it('retries a 438 Stale Nonce with the new nonce, and gives up after maxStaleNonceRetries', async () => {
    const w = world({ staleAt: (n) => n === 0 });
    await relay(w);
    const nonces = w.server.requests('Allocate').map((r) => r.message.get('NONCE'));
    assert.deepEqual(nonces, [undefined, 'nonce-1', 'nonce-2']);

    const always = world({ staleAt: () => true });
    await assert.rejects(relay(always, { maxStaleNonceRetries: 2 }), (err: unknown) => {
      assert.ok(err instanceof TurnError);
      assert.equal(err.code, 438);
      assert.equal(err.kind, 'limit');
      assert.equal(err.operation, 'allocate');
      return true;
    });
    assert.equal(always.server.requests('Allocate').length, 4, 'unauthenticated, answer to the 401, two 438 retries');
  });

  it('uses SHA-256 when PASSWORD-ALGORITHMS offers it: echoes the list, sends PASSWORD-ALGORITHM and MESSAGE-INTEGRITY-SHA256', async () => {
    const w = world({ offerSha256: true });
    const socket = await relay(w);
    const authed = w.server.requests('Allocate')[1].message;
    assert.deepEqual(authed.get('PASSWORD-ALGORITHMS')?.map((a) => a.algorithm), [PasswordAlgorithm.MD5, PasswordAlgorithm.SHA256]);
    assert.equal(authed.get('PASSWORD-ALGORITHM')?.algorithm, PasswordAlgorithm.SHA256);
    assert.ok(authed.integritySha256Offset >= 0);
    assert.equal(authed.integrityOffset, -1, 'RFC 8489 §9.2.5: MESSAGE-INTEGRITY-SHA256 only');
    assert.equal(socket.client.credentials.algorithm, 'SHA-256');
    // Later requests keep using it, and responses protected with it are accepted.
    await settleOnVirtualTime(w.clock, socket.createPermission(w.peer.localAddress));
    assert.ok(w.server.requests('CreatePermission')[0].message.integritySha256Offset >= 0);
  });

  it('with passwordAlgorithm "server-order" takes the first offered (MD5) and still uses MESSAGE-INTEGRITY-SHA256', async () => {
    const w = world({ offerSha256: true });
    const socket = await relay(w, { passwordAlgorithm: 'server-order' });
    const authed = w.server.requests('Allocate')[1].message;
    assert.equal(authed.get('PASSWORD-ALGORITHM')?.algorithm, PasswordAlgorithm.MD5);
    assert.ok(authed.integritySha256Offset >= 0);
    assert.equal(socket.client.credentials.algorithm, 'MD5');
  });

  it('refuses to answer a nonce that announces PASSWORD-ALGORITHMS when the list was stripped (bid-down, RFC 8489 §9.2.5)', async () => {
    const w = world({ bidDown: true });
    await assert.rejects(relay(w), (err: unknown) => err instanceof TurnError && err.code === 401 && err.kind === 'auth');
    assert.equal(w.server.requests('Allocate').length, 1, 'no authenticated retry was sent');
  });

  it('sends USERHASH instead of USERNAME when the nonce asks for username anonymity', async () => {
    const w = world({ anonymity: true, offerSha256: true });
    await relay(w);
    const authed = w.server.requests('Allocate')[1].message;
    assert.equal(authed.has('USERNAME'), false);
    assert.equal(toHex(authed.get('USERHASH')!), toHex(userHash('alice', REALM)));
  });

  it('fails with a typed 401 when the credentials are wrong, without retrying them', async () => {
    const w = world();
    await assert.rejects(relay(w, { credential: 'wrong' }), (err: unknown) => err instanceof TurnError && err.code === 401 && err.kind === 'auth');
    assert.equal(w.server.requests('Allocate').length, 2);
  });

  it('surfaces 486 Allocation Quota Reached as a typed allocation failure', async () => {
    const w = world({ errorFor: (m) => (m === 'Allocate' ? { code: 486, reason: 'Allocation Quota Reached' } : undefined) });
    const e = engine(w);
    e.act((now) => e.client.allocate(now));
    w.clock.runUntil(1000);
    const failed = e.of('allocation-failed')[0];
    assert.ok(failed && failed.type === 'allocation-failed');
    assert.equal(failed.error.code, 486);
    assert.equal(failed.error.reason, 'Allocation Quota Reached');
    assert.equal(failed.error.operation, 'allocate');
    assert.equal(e.client.state, 'closed');
    assert.deepEqual(e.of('closed').map((c) => c.type === 'closed' && c.reason), ['not-allocated']);
  });

  it('follows 300 ALTERNATE-SERVER to the other server, with fresh authentication there', async () => {
    const w = world({ alternate: { address: '192.0.2.2', port: 3478 } });
    const altHost = w.net.addHost('192.0.2.2');
    const alt = new FakeTurnServer(altHost, altHost.bind(3478), w.clock);
    const socket = await relay(w);
    assert.deepEqual(socket.server, { address: '192.0.2.2', port: 3478 });
    assert.deepEqual(socket.localAddress, alt.relay.localAddress);
    assert.equal(w.server.requests('Allocate').length, 1, 'the first server got one request, answered with 300');
    assert.equal(alt.requests('Allocate')[0].message.has('USERNAME'), false, 'a new server gets a first, unauthenticated request');
    assert.equal(alt.requests('Allocate').length, 2);
  });

  it('does not follow a redirect loop', async () => {
    const w = world({ alternate: { address: '192.0.2.2', port: 3478 } });
    const altHost = w.net.addHost('192.0.2.2');
    new FakeTurnServer(altHost, altHost.bind(3478), w.clock, { alternate: SERVER });
    await assert.rejects(relay(w), (err: unknown) => err instanceof TurnError && err.code === 300 && err.kind === 'protocol');
  });

  it('reports a timeout as 408 after the RFC 8489 schedule', async () => {
    const w = world({ ignore: () => true });
    const started = w.clock.now();
    await assert.rejects(relay(w), (err: unknown) => err instanceof TurnError && err.code === 408 && err.kind === 'timeout');
    assert.equal(w.clock.now() - started, 39_500);
  });
});

describe('TURN client: lifetimes', () => {
  it('refreshes the allocation at lifetime − 60 s, again and again', async () => {
    const w = world();
    const e = engine(w);
    e.act((now) => e.client.allocate(now));
    w.clock.runUntil(2_000_000);
    const refreshes = w.server.requests('Refresh').map((r) => r.at);
    assert.deepEqual(refreshes.slice(0, 3), [540_000, 1_080_000, 1_620_000]);
    assert.equal(e.of('refreshed').length, refreshes.length);
    assert.equal(e.client.state, 'allocated');
    for (const r of w.server.requests('Refresh')) assert.equal(r.message.get('LIFETIME'), 600);
  });

  it('refreshes a permission every 240 s and a channel every 540 s', async () => {
    const w = world();
    const e = engine(w);
    e.act((now) => e.client.allocate(now));
    w.clock.runUntil(1000);
    const other = { address: '192.0.2.60', port: 7000 };
    e.act((now) => e.client.createPermission(other, now));
    e.act((now) => e.client.bindChannel(w.peer.localAddress, now));
    w.clock.runUntil(1_100_000);
    const permissionsFor = (ip: string) =>
      w.server.requests('CreatePermission').filter((r) => r.message.get('XOR-PEER-ADDRESS')?.address === ip).map((r) => r.at);
    assert.deepEqual(permissionsFor('192.0.2.60'), [1000, 241_000, 481_000, 721_000, 961_000]);
    // The channel's peer IP has a permission through ChannelBind (§12.3), refreshed with CreatePermission —
    // and the channel refresh at 541 s refreshes it too (§12.1), so the next CreatePermission is 240 s after that.
    assert.deepEqual(permissionsFor('192.0.2.50'), [241_000, 481_000, 781_000, 1_021_000]);
    assert.deepEqual(w.server.requests('ChannelBind').map((r) => r.at), [1000, 541_000, 1_081_000]);
    assert.ok(w.server.requests('ChannelBind').every((r) => r.message.get('CHANNEL-NUMBER') === 0x4000));
    assert.equal(e.of('channel').filter((c) => c.type === 'channel' && c.result === 'refreshed').length, 2);
  });

  it('expires the allocation when refreshes get no answer, retrying them meanwhile', async () => {
    const w = world({ ignore: (m) => m === 'Refresh' });
    const e = engine(w);
    e.act((now) => e.client.allocate(now));
    w.clock.runUntil(700_000);
    const closed = e.of('closed');
    assert.equal(closed.length, 1);
    assert.ok(closed[0].type === 'closed' && closed[0].reason === 'expired');
    assert.equal(closed[0].at, 600_000, 'the allocation ends when its lifetime does');
    const failed = e.of('refresh-failed');
    assert.ok(failed.length >= 1 && failed[0].type === 'refresh-failed' && failed[0].error.code === 408);
    assert.equal(failed[0].at, 540_000 + 39_500);
    const attempts = new Set(w.server.requests('Refresh').map((r) => str(r.message.transactionId)));
    assert.equal(attempts.size, 2, 'a second refresh was tried after the first timed out');
    assert.equal(e.client.state, 'closed');
  });

  it('treats 437 to a Refresh as the allocation being gone', async () => {
    const w = world({ errorFor: (m) => (m === 'Refresh' ? { code: 437, reason: 'Allocation Mismatch' } : undefined) });
    const e = engine(w);
    e.act((now) => e.client.allocate(now));
    w.clock.runUntil(600_000);
    const closed = e.of('closed')[0];
    assert.ok(closed.type === 'closed' && closed.reason === 'allocation-mismatch' && closed.error?.code === 437);
  });

  it('close() sends Refresh with LIFETIME 0 and reports the allocation deleted', async () => {
    const w = world();
    const socket = await relay(w);
    let closedWith: Error | undefined | null = null;
    socket.onclose = (reason) => (closedWith = reason);
    socket.close();
    const reason = await settleOnVirtualTime(w.clock, socket.closed);
    assert.equal(reason, 'deallocated');
    const last = w.server.requests('Refresh').at(-1)!;
    assert.equal(last.message.get('LIFETIME'), 0);
    assert.ok(last.message.integrityOffset >= 0, 'the deleting Refresh is authenticated');
    assert.equal(closedWith, undefined);
    assert.equal(w.clientSocket.closed, false, 'the base socket belongs to the caller');
  });

  it('close() to a server that no longer answers lets go after deallocateTimeoutMs, not a whole transaction', async () => {
    let gone = false;
    const w = world({ ignore: () => gone });
    const e = engine(w, { deallocateTimeoutMs: 1_500 });
    e.act((now) => e.client.allocate(now));
    w.clock.runUntil(w.clock.now() + 1_000);
    assert.equal(e.client.state, 'allocated');
    gone = true;
    const at = w.clock.now();
    e.act((now) => e.client.close(now));
    w.clock.runUntil(at + 1_499);
    assert.equal(e.client.state, 'closing');
    w.clock.runUntil(at + 1_500);
    const closed = e.of('closed')[0];
    assert.ok(closed?.type === 'closed' && closed.reason === 'deallocate-unconfirmed' && closed.error?.kind === 'timeout', JSON.stringify(closed));
    assert.ok(w.server.requests('Refresh').length >= 2, 'the deleting Refresh was retransmitted meanwhile');
    assert.throws(() => engine(w, { deallocateTimeoutMs: 0 }), RangeError);
  });
});

describe('TURN client: permissions, channels and data', () => {
  it('queues data for a peer without permission, creates it, then sends Send indications', async () => {
    const w = world();
    const socket = await relay(w);
    const got: string[] = [];
    socket.ondatagram = (bytes, from) => got.push(`${from.address}:${from.port} ${str(bytes)}`);
    socket.send(text('one'), w.peer.localAddress);
    socket.send(text('two'), w.peer.localAddress);
    w.clock.runUntil(w.clock.now() + 1000);
    assert.equal(w.server.requests('CreatePermission').length, 1, 'one CreatePermission for both datagrams');
    assert.deepEqual(w.peerReceived, ['one', 'two']);
    assert.deepEqual(w.server.fromClient.map((f) => f.kind), ['indication', 'indication']);
    assert.deepEqual(got, ['192.0.2.50:6000 echo:one', '192.0.2.50:6000 echo:two'], 'replies come back as Data indications');
    assert.equal(socket.counters.receivedIndications, 2);
  });

  it('bounds the queue of a peer waiting for its permission', async () => {
    const w = world({ ignore: (m) => m === 'CreatePermission' });
    const e = engine(w, { maxQueuedPerPeer: 3 });
    e.act((now) => e.client.allocate(now));
    w.clock.runUntil(1000);
    const results: string[] = [];
    e.act((now) => {
      for (let i = 0; i < 5; i++) results.push(e.client.send(w.peer.localAddress, text(`d${i}`), now));
    });
    assert.deepEqual(results, ['queued', 'queued', 'queued', 'dropped', 'dropped']);
    assert.equal(e.client.counters.queueOverflows, 2);
    w.clock.runUntil(100_000);
    assert.equal(e.client.counters.droppedQueued, 3, 'the permission timed out: its queue is dropped and counted');
    const failed = e.of('permission')[0];
    assert.ok(failed.type === 'permission' && failed.result === 'failed' && failed.error.code === 408);
  });

  it('switches to ChannelData once the channel is bound, both ways', async () => {
    const w = world();
    const socket = await relay(w);
    const got: { data: string; from: TransportAddress }[] = [];
    socket.ondatagram = (bytes, from) => got.push({ data: str(bytes), from });
    await settleOnVirtualTime(w.clock, socket.createPermission(w.peer.localAddress));
    socket.send(text('before'), w.peer.localAddress);
    w.clock.runUntil(w.clock.now() + 1000);
    const channel = await settleOnVirtualTime(w.clock, socket.bindChannel(w.peer.localAddress));
    assert.equal(channel, 0x4000);
    socket.send(text('after'), w.peer.localAddress);
    w.clock.runUntil(w.clock.now() + 1000);
    assert.deepEqual(w.server.fromClient, [
      { kind: 'indication', data: 'before' },
      { kind: 'channel', data: 'after' },
    ]);
    assert.deepEqual(w.peerReceived, ['before', 'after']);
    assert.deepEqual(got.map((g) => g.data), ['echo:before', 'echo:after']);
    assert.deepEqual(got[1].from, w.peer.localAddress);
    assert.equal(socket.counters.receivedChannelData, 1);
    assert.equal(socket.counters.sentChannelData, 1);
    // A second peer gets the next number.
    const other = w.net.addHost('192.0.2.51').bind(6001);
    assert.equal(await settleOnVirtualTime(w.clock, socket.bindChannel(other.localAddress)), 0x4001);
    assert.equal(await settleOnVirtualTime(w.clock, socket.bindChannel(w.peer.localAddress)), 0x4000, 'a bound peer keeps its channel');
  });

  it('surfaces 403 Forbidden on CreatePermission as a typed error', async () => {
    const w = world({ errorFor: (m) => (m === 'CreatePermission' ? { code: 403, reason: 'Forbidden' } : undefined) });
    const socket = await relay(w);
    await assert.rejects(settleOnVirtualTime(w.clock, socket.createPermission('192.0.2.99')), (err: unknown) => {
      assert.ok(err instanceof TurnError);
      assert.deepEqual([err.code, err.reason, err.operation, err.kind], [403, 'Forbidden', 'permission', 'response']);
      return true;
    });
  });

  it('drops Data indications from IPs without a permission, and ChannelData on unbound channels', async () => {
    const w = world();
    const e = engine(w);
    e.act((now) => e.client.allocate(now));
    w.clock.runUntil(1000);
    const stray = createStunMessage({ method: StunMethod.Data, class: 'indication', attributes: [['XOR-PEER-ADDRESS', { address: '192.0.2.77', port: 1 }], ['DATA', text('x')]] });
    e.act((now) => e.client.handleDatagram(encodeStunMessage(stray), { socket: 0, from: SERVER }, now));
    e.act((now) => e.client.handleDatagram(encodeChannelData(0x4123, text('y')), { socket: 0, from: SERVER }, now));
    e.act((now) => e.client.handleDatagram(encodeChannelData(0x4000, text('z')), { socket: 0, from: { address: '192.0.2.9', port: 3478 } }, now));
    assert.equal(e.of('data').length, 0);
    assert.equal(e.client.counters.droppedDataIndications, 1);
    assert.equal(e.client.counters.droppedChannelData, 1);
    assert.equal(e.client.counters.droppedInbound, 1, 'not from the server');
  });

  it('is a DatagramSocket: stunBinding runs over the relay and sees the relayed address', async () => {
    const w = world();
    const stunHost = w.net.addHost('192.0.2.70');
    new EngineDriver(new StunServer(), { clock: w.clock }).attach(0, stunHost.bind(3478));
    const socket = await relay(w);
    const r = await settleOnVirtualTime(w.clock, stunBinding({ address: '192.0.2.70', port: 3478 }, { socket, clock: w.clock }));
    assert.deepEqual(r.mapped, socket.localAddress, 'the STUN server saw the relayed transport address');
    assert.deepEqual(r.local, socket.localAddress);
    assert.equal(w.server.requests('CreatePermission').length, 1, 'the first send created the permission');
  });

  it('never throws on arbitrary datagrams from the server', () => {
    const w = world();
    const e = engine(w);
    e.act((now) => e.client.allocate(now));
    w.clock.runUntil(1000);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.constantFrom(0x00, 0x01, 0x40, 0x4f, 0x17), (bytes, first) => {
        if (bytes.length > 0) bytes[0] = first;
        e.client.handleDatagram(bytes, { socket: 0, from: SERVER }, w.clock.now());
      }),
      { numRuns: 2000 },
    );
    assert.equal(e.client.state, 'allocated');
  });
});

describe('TURN client against the icebridge TurnServer engine', () => {
  it('allocates (SHA-256 negotiated), relays through a permission and a channel both ways, and deallocates', async () => {
    const clock = new VirtualClock();
    const net = new SimNetwork({ clock, seed: 5 });
    const serverHost = net.addHost(SERVER.address);
    const engineServer = new TurnServer({ realm: REALM, users: { alice: 'secret' }, unixEpochMs: 1_700_000_000_000 });
    const running = runTurnServer({ engine: engineServer, listen: [serverHost.bind(SERVER.port)], openRelaySocket: async () => serverHost.bind(), clock });
    const peer = net.addHost('192.0.2.50').bind(6000);
    peer.ondatagram = (bytes, from) => peer.send(text(`echo:${str(bytes)}`), from);
    const base = net.addHost('198.51.100.20').bind(40000);
    const socket = await settleOnVirtualTime(clock, TurnRelaySocket.allocate(base, { server: SERVER, username: 'alice', credential: 'secret', clock }));
    assert.equal(socket.client.credentials.algorithm, 'SHA-256');
    assert.equal(socket.localAddress.address, SERVER.address);
    assert.deepEqual(socket.mappedAddress, base.localAddress);
    const got: string[] = [];
    socket.ondatagram = (bytes) => got.push(str(bytes));
    await settleOnVirtualTime(clock, socket.createPermission(peer.localAddress));
    socket.send(text('via-indication'), peer.localAddress);
    clock.runUntil(clock.now() + 500);
    assert.equal(await settleOnVirtualTime(clock, socket.bindChannel(peer.localAddress)), 0x4000);
    socket.send(text('via-channel'), peer.localAddress);
    clock.runUntil(clock.now() + 500);
    assert.deepEqual(got, ['echo:via-indication', 'echo:via-channel']);
    assert.equal(socket.counters.receivedIndications, 1);
    assert.equal(socket.counters.receivedChannelData, 1);
    // Refreshes keep it alive well past the first lifetime.
    clock.runUntil(clock.now() + 1_300_000);
    assert.equal(socket.client.state, 'allocated');
    assert.equal(engineServer.allocationCount, 1);
    socket.send(text('later'), peer.localAddress);
    clock.runUntil(clock.now() + 500);
    assert.equal(got.at(-1), 'echo:later');
    socket.close();
    assert.equal(await settleOnVirtualTime(clock, socket.closed), 'deallocated');
    assert.equal(engineServer.allocationCount, 0);
    running.close();
  });

  it('asks for an IPv6 relay with REQUESTED-ADDRESS-FAMILY and relays IPv4-to-IPv6; a server without one answers 440', async () => {
    const clock = new VirtualClock();
    const net = new SimNetwork({ clock, seed: 6 });
    const serverHost = net.addHost({ address: [SERVER.address, '2001:db8::1'] });
    const v4only = net.addHost('192.0.2.3');
    const start = (host: SimHost, listen: string, families: ('IPv4' | 'IPv6')[]) =>
      runTurnServer({
        engine: new TurnServer({ realm: REALM, users: { alice: 'secret' }, relayFamilies: families, unixEpochMs: 1_700_000_000_000 }),
        listen: [host.bind(3478, listen)],
        openRelaySocket: async ({ family }) => host.bind(0, family === 'IPv6' ? '2001:db8::1' : listen),
        clock,
      });
    const dual = start(serverHost, SERVER.address, ['IPv4', 'IPv6']);
    const single = start(v4only, '192.0.2.3', ['IPv4']);
    const peer = net.addHost('2001:db8::50').bind(6000);
    peer.ondatagram = (bytes, from) => peer.send(text(`echo:${str(bytes)}`), from);
    const base = net.addHost('198.51.100.20').bind(40000);
    const socket = await settleOnVirtualTime(clock, TurnRelaySocket.allocate(base, { server: SERVER, username: 'alice', credential: 'secret', clock, family: 'IPv6' }));
    assert.equal(socket.localAddress.address, '2001:db8::1');
    assert.deepEqual(socket.mappedAddress, base.localAddress, 'the mapped address stays IPv4');
    const got: string[] = [];
    socket.ondatagram = (bytes, from) => got.push(`${from.address} ${str(bytes)}`);
    // A non-canonical spelling of the peer reaches the same permission and channel.
    await settleOnVirtualTime(clock, socket.createPermission({ address: '2001:DB8:0::50', port: 6000 }));
    socket.send(text('v6'), { address: '2001:db8::50', port: 6000 });
    clock.runUntil(clock.now() + 500);
    assert.deepEqual(got, ['2001:db8::50 echo:v6']);
    await assert.rejects(settleOnVirtualTime(clock, socket.createPermission('192.0.2.50')), (err: unknown) => err instanceof TurnError && err.code === 443);
    socket.close();
    await settleOnVirtualTime(clock, socket.closed);

    const refused = net.addHost('198.51.100.22').bind(40002);
    const v4server = { address: '192.0.2.3', port: 3478 };
    await assert.rejects(
      settleOnVirtualTime(clock, TurnRelaySocket.allocate(refused, { server: v4server, username: 'alice', credential: 'secret', clock, family: 'IPv6', familyFallback: false })),
      (err: unknown) => err instanceof TurnError && err.code === 440 && err.operation === 'allocate' && err.kind === 'response',
    );
    // By default the 440 is followed by one Allocate for the other family, which that server grants.
    const fallback = await settleOnVirtualTime(clock, TurnRelaySocket.allocate(net.addHost('198.51.100.23').bind(40003), { server: v4server, username: 'alice', credential: 'secret', clock, family: 'IPv6' }));
    assert.equal(fallback.localAddress.address, '192.0.2.3');
    fallback.close();
    await settleOnVirtualTime(clock, fallback.closed);
    dual.close();
    single.close();
  });

  it('sends REQUESTED-ADDRESS-FAMILY only when a family is asked for', async () => {
    const w = world();
    await relay(w, { family: 'IPv4' });
    assert.equal(w.server.requests('Allocate')[1].message.get('REQUESTED-ADDRESS-FAMILY'), 'IPv4');
    const w2 = world();
    await relay(w2);
    assert.equal(w2.server.requests('Allocate')[1].message.has('REQUESTED-ADDRESS-FAMILY'), false);
    // A relay of the wrong family is refused (RFC 8656 §7.3) and deleted.
    const w3 = world();
    await assert.rejects(relay(w3, { family: 'IPv6' }), (err: unknown) => err instanceof TurnError && err.code === 440 && err.kind === 'protocol');
    w3.clock.runUntil(w3.clock.now() + 1000);
    assert.equal(w3.server.requests('Refresh').at(-1)?.message.get('LIFETIME'), 0, 'the unusable allocation is deleted');
  });
});
