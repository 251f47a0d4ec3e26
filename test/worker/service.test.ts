// IcebridgeService — what the Worker runs — in Node with `ws`'s WebSocket, against a real bridge, STUN and
// TURN servers and a UDP echo peer, all on 127.0.0.1: bindings, sockets, relays, agents and their events,
// typed errors that survive the trip to the page, and everything closed when asked or when the bridge goes.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocket } from 'ws';
import type { RunningBridge } from '../../bridge/server.js';
import { NatDiscoveryError } from '../../src/nat/errors.js';
import { BridgeError, type WebSocketConstructor } from '../../src/net/bridge-client.js';
import type { TransportAddress } from '../../src/net/transport-address.js';
import { startStunServer, type RunningStunServer } from '../../src/node/stun-server.js';
import { startTurnServer, type RunningTurnServer } from '../../src/node/turn-server.js';
import { UdpSocket } from '../../src/node/udp-socket.js';
import { StunBindingError } from '../../src/stun/binding.js';
import { TurnError } from '../../src/turn/errors.js';
import { deserializeError, isSerializedError, serializeError } from '../../src/worker/errors.js';
import type { AgentEventMessage } from '../../src/worker/protocol.js';
import { IcebridgeService } from '../../src/worker/service.js';
import { closedUdpPort, startEchoServer, startTestBridge, tokenUrl, within } from '../bridge/helpers.js';
import { startCoturn, type RunningCoturn } from '../interop/support/coturn.js';
import { selfSignedCertificate, zoneResolver } from '../support/test-certificate.js';

const WS = WebSocket as unknown as WebSocketConstructor;

/** The names the test bridges resolve (never the DNS): loopback, and metadata.test at the cloud metadata address. */
const TEST_ZONE: Record<string, string> = {
  'stun.test': '127.0.0.1',
  'turn.test': '127.0.0.1',
  'coturn.test': '127.0.0.1',
  'metadata.test': '169.254.169.254',
};

/** The bridge's `resolve` option: answers from TEST_ZONE (the bridge keeps those of the family asked for). */
const testZone = zoneResolver(TEST_ZONE);


function service(): IcebridgeService {
  return new IcebridgeService({ WebSocket: WS });
}

/** What a listener received, and a bounded wait for the first item that passes a test (no polling). */
class Inbox<T> {
  readonly items: T[] = [];
  private waiters: { test: (item: T) => boolean; resolve: (item: T) => void }[] = [];

  readonly push = (item: T): void => {
    this.items.push(item);
    for (const w of [...this.waiters]) {
      if (!w.test(item)) continue;
      this.waiters.splice(this.waiters.indexOf(w), 1);
      w.resolve(item);
    }
  };

  next(test: (item: T) => boolean, ms: number, what: string): Promise<T> {
    const found = this.items.find(test);
    if (found !== undefined) return Promise.resolve(found);
    return within(new Promise<T>((resolve) => this.waiters.push({ test, resolve })), ms, what);
  }
}

type Datagram = { bytes: Uint8Array; from: TransportAddress };

function datagrams(): Inbox<Datagram> & { listener: (bytes: Uint8Array, from: TransportAddress) => void } {
  const inbox = new Inbox<Datagram>();
  return Object.assign(inbox, { listener: (bytes: Uint8Array, from: TransportAddress) => inbox.push({ bytes: bytes.slice(), from }) });
}

describe('IcebridgeService (the Worker side) in Node', () => {
  let bridge: RunningBridge;
  let stun: RunningStunServer;
  let turn: RunningTurnServer;
  let echo: Awaited<ReturnType<typeof startEchoServer>>;
  let stunAddress: string;
  let turnUri: string;

  before(async () => {
    bridge = await startTestBridge({ resolve: testZone });
    stun = await startStunServer({ hosts: ['127.0.0.1'], port: 0 });
    turn = await startTurnServer({ hosts: ['127.0.0.1'], port: 0, realm: 'r', users: { u: 'p' }, allowLoopback: true });
    echo = await startEchoServer();
    stunAddress = `127.0.0.1:${stun.addresses[0].port}`;
    turnUri = `turn:127.0.0.1:${turn.addresses[0].port}`;
  });

  after(async () => {
    await bridge.close();
    await stun.close();
    await turn.close();
    await echo.close();
  });

  it('runs a STUN Binding from a bridge socket: the mapped address is that socket', async () => {
    const s = service();
    const { id, limits } = await s.connect(tokenUrl(bridge));
    assert.ok(limits.maxSockets >= 1);
    const r = await s.stunBinding(id, stunAddress);
    assert.equal(r.local.address, '127.0.0.1');
    assert.deepEqual(r.mapped, r.local);
    const viaUri = await s.stunBinding(id, `stun:${stunAddress}`);
    assert.deepEqual(viaUri.mapped, viaUri.local);
    assert.deepEqual(s.counts, { connections: 1, sockets: 0, relays: 0, agents: 0 }, 'the Binding socket is closed after');
    s.close();
    assert.deepEqual(s.counts, { connections: 0, sockets: 0, relays: 0, agents: 0 });
  });

  it('takes the bridge as { url, username, credential }', async () => {
    const s = service();
    const url = new URL(tokenUrl(bridge));
    const { id } = await s.connect({ url: bridge.url, username: url.searchParams.get('username')!, credential: url.searchParams.get('credential')! });
    const r = await s.stunBinding(id, { address: '127.0.0.1', port: stun.addresses[0].port });
    assert.deepEqual(r.mapped, r.local);
    s.close();
  });

  it('rejects a bad token with a BridgeError that survives serialization to the page', async () => {
    const s = service();
    const error = await s.connect(tokenUrl(bridge, { secret: 'wrong' })).then(
      () => assert.fail('connected with a bad token'),
      (e: unknown) => e,
    );
    assert.ok(error instanceof BridgeError);
    assert.equal(error.closeCode, 4001);
    // What worker.ts throws is plain data (structured-cloneable); the page rebuilds the class.
    const wire = structuredClone(serializeError(error));
    assert.ok(isSerializedError(wire));
    const again = deserializeError(wire);
    assert.ok(again instanceof BridgeError);
    assert.deepEqual([again.code, again.reason, again.closeCode, again.message], [error.code, error.reason, error.closeCode, error.message]);
  });

  it('rebuilds TurnError, StunBindingError and plain errors after a structured clone', () => {
    const turnError = new TurnError(441, 'Wrong Credentials', 'allocate', 'auth');
    const t = deserializeError(structuredClone(serializeError(turnError)));
    assert.ok(t instanceof TurnError);
    assert.deepEqual([t.code, t.reason, t.operation, t.kind, t.message], [441, 'Wrong Credentials', 'allocate', 'auth', turnError.message]);
    const s = deserializeError(structuredClone(serializeError(new StunBindingError('TIMEOUT', 'no answer'))));
    assert.ok(s instanceof StunBindingError && s.code === 'TIMEOUT' && s.message === 'no answer');
    const r = deserializeError(structuredClone(serializeError(new RangeError('out of range'))));
    assert.ok(r instanceof RangeError && r.message === 'out of range');
    const odd = deserializeError(structuredClone(serializeError('a string was thrown')));
    assert.equal(odd.message, 'a string was thrown');
  });

  it('sends through a bridge socket to a UDP peer and delivers the answer', async () => {
    const s = service();
    const { id } = await s.connect(tokenUrl(bridge));
    const d = datagrams();
    const socket = await s.bindSocket(id, { family: 'IPv4' }, d.listener);
    assert.equal(socket.localAddress.address, '127.0.0.1');
    s.socketSend(socket.id, new TextEncoder().encode('hello'), echo.address);
    const got = await d.next(() => true, 5000, 'the echo');
    assert.equal(new TextDecoder().decode(got.bytes), 'hello');
    assert.deepEqual(got.from, echo.address);
    s.closeSocket(socket.id);
    assert.throws(() => s.socketSend(socket.id, new Uint8Array(1), echo.address), RangeError);
    s.close();
  });

  it('allocates on a TURN server through the bridge; data goes through the relay and back', async () => {
    const s = service();
    const { id } = await s.connect(tokenUrl(bridge));
    const d = datagrams();
    const relay = await s.allocateTurn(id, turnUri, { username: 'u', credential: 'p' }, d.listener);
    assert.equal(relay.relayedAddress.address, '127.0.0.1');
    assert.equal(relay.mappedAddress?.address, '127.0.0.1');
    s.relaySend(relay.id, new TextEncoder().encode('via relay'), echo.address);
    const got = await d.next(() => true, 5000, 'the echo through the relay');
    assert.equal(new TextDecoder().decode(got.bytes), 'via relay');
    assert.deepEqual(got.from, echo.address);
    const channel = await s.relayBindChannel(relay.id, echo.address);
    assert.ok(channel >= 0x4000);
    s.closeRelay(relay.id);
    assert.equal(s.counts.relays, 0);
    s.close();
  });

  it('rejects what the bridge cannot reach, and wrong TURN credentials, with typed errors', async () => {
    const s = service();
    const { id } = await s.connect(tokenUrl(bridge));
    await assert.rejects(s.stunBinding(id, 'nowhere.test:3478'), (e: unknown) => e instanceof BridgeError && e.code === 'name-not-found');
    // icebridge's TURN server listens on UDP only: the bridge's TCP connect to that port is refused.
    await assert.rejects(
      s.allocateTurn(id, `${turnUri}?transport=tcp`, { username: 'u', credential: 'p' }, () => {}),
      (e: unknown) => e instanceof BridgeError && e.code === 'connect-failed',
    );
    await assert.rejects(s.allocateTurn(id, stunAddress.replace(/^/, 'stun:'), { username: 'u', credential: 'p' }, () => {}), /not a turn/);
    await assert.rejects(
      s.allocateTurn(id, turnUri, { username: 'u', credential: 'wrong' }, () => {}),
      (e: unknown) => e instanceof TurnError && e.code === 401,
    );
    await assert.rejects(s.stunBinding(id, `127.0.0.1:${echo.address.port}`, { timeoutMs: 200 }), (e: unknown) => e instanceof StunBindingError && e.code === 'TIMEOUT');
    assert.throws(() => s.agentSend(999, 'x'), RangeError);
    await assert.rejects(s.stunBinding(999, stunAddress), RangeError);
    assert.deepEqual(s.counts, { connections: 1, sockets: 0, relays: 0, agents: 0 }, 'failed operations leave no sockets behind');
    s.close();
  });

  it('connects two agents on bridge sockets; events carry the state the page mirrors', async () => {
    const s = service();
    const inboxA = new Inbox<AgentEventMessage>();
    const inboxB = new Inbox<AgentEventMessage>();
    const eventsA = inboxA.items;
    let b = 0;
    const a = await s.createAgent({ bridge: tokenUrl(bridge), role: 'controlling' }, (e) => {
      inboxA.push(e);
      if (e.type === 'icecandidate') s.agentAddRemoteCandidate(b, e.candidate ?? null);
    });
    const infoB = await s.createAgent({ bridge: tokenUrl(bridge), role: 'controlled' }, (e) => {
      inboxB.push(e);
      if (e.type === 'icecandidate') s.agentAddRemoteCandidate(a.id, e.candidate ?? null);
    });
    b = infoB.id;
    assert.equal(bridge.sessionCount, 2, 'one bridge session per agent');
    assert.equal(a.state, 'new');
    assert.equal(a.role, 'controlling');
    s.agentSetRemoteParameters(a.id, infoB.localParameters);
    s.agentSetRemoteParameters(b, a.localParameters);
    await Promise.all([s.agentGather(a.id), s.agentGather(b)]);
    const host = eventsA.find((e) => e.type === 'icecandidate' && e.candidate);
    assert.match(host?.candidate?.candidate ?? '', / 127\.0\.0\.1 \d+ typ host/);
    assert.equal(eventsA.filter((e) => e.type === 'icecandidate' && e.candidate === null).length, 1, 'one end-of-candidates');
    const up = (e: AgentEventMessage) => e.type === 'statechange' && (e.state === 'connected' || e.state === 'completed');
    await inboxA.next(up, 10_000, 'a connected');
    await inboxB.next(up, 10_000, 'b connected');
    const selected = eventsA.find((e) => e.type === 'selectedcandidatepairchange');
    assert.equal(selected?.selectedPair?.local.address, '127.0.0.1', 'the snapshot carries the selected pair');
    assert.ok(s.agentSend(a.id, 'over ICE'));
    const data = await inboxB.next((e) => e.type === 'data', 5000, 'data at b');
    assert.equal(new TextDecoder().decode(data.data), 'over ICE');
    assert.ok((await s.agentGetStats(a.id)).some((p) => p.selected && p.responsesReceived > 0));
    assert.deepEqual(s.agentGetSelectedCandidatePair(a.id), selected?.selectedPair);
    const restarted = await s.agentRestart(a.id);
    assert.notEqual(restarted.usernameFragment, a.localParameters.usernameFragment);
    s.agentClose(a.id);
    assert.equal(eventsA.at(-1)?.state, 'closed', 'the last event says closed');
    s.close();
    // The bridge learns of the close from the WebSocket close handshake: wait for it, bounded.
    await within(
      new Promise<void>((resolve) => {
        const check = () => (bridge.sessionCount === 0 ? resolve() : setTimeout(check, 10));
        check();
      }),
      5000,
      "the agents' sessions to close",
    );
  });

  it('announces a wildcard-bound bridge socket at the bridge host address', async () => {
    const wildcard = await startTestBridge({ udpBindAddress: { IPv4: '0.0.0.0', IPv6: '::' }, hostAddresses: ['127.0.0.1'] });
    try {
      const s = service();
      const events: AgentEventMessage[] = [];
      const a = await s.createAgent({ bridge: tokenUrl(wildcard) }, (e) => events.push(e));
      await s.agentGather(a.id);
      const candidates = events.filter((e) => e.type === 'icecandidate' && e.candidate).map((e) => e.candidate!.candidate);
      assert.equal(candidates.length, 1);
      assert.match(candidates[0], / 127\.0\.0\.1 \d+ typ host/, 'not 0.0.0.0');
      s.close();
    } finally {
      await wildcard.close();
    }
  });

  it('tells the listener when the bridge goes away, and closes the agents on that connection', async () => {
    const doomed = await startTestBridge();
    const s = service();
    const closes = new Inbox<Error | undefined>();
    const { id } = await s.connect(tokenUrl(doomed), closes.push);
    const events: AgentEventMessage[] = [];
    const agent = await s.createAgent({}, (e) => events.push(e), id);
    await s.agentGather(agent.id);
    await doomed.close();
    const closed = await closes.next(() => true, 5000, 'the close listener');
    assert.ok(closed instanceof BridgeError && closed.closeCode === 1001, `got ${String(closed)}`);
    assert.equal(events.at(-1)?.state, 'closed');
    assert.deepEqual(s.counts, { connections: 0, sockets: 0, relays: 0, agents: 0 });
  });
});

describe('IcebridgeService.discoverNat (RFC 5780 through the bridge, as the inspector runs it)', { timeout: 30_000 }, () => {
  let bridge: RunningBridge;
  let rfc5780: RunningStunServer;
  let plain: RunningStunServer;

  before(async () => {
    bridge = await startTestBridge({ resolve: testZone });
    // Two addresses × two ports on loopback: 127.0.0.1 and 127.0.0.2 (all of 127/8 is this host's on Linux).
    rfc5780 = await startStunServer({ hosts: ['127.0.0.1'], altAddress: '127.0.0.2', port: 0 });
    plain = await startStunServer({ hosts: ['127.0.0.1'], port: 0 });
  });

  after(async () => {
    await bridge?.close();
    await rfc5780?.close();
    await plain?.close();
  });

  it('classifies the bridge host (no NAT on loopback): endpoint-independent, open internet, as plain data', async () => {
    const s = service();
    const { id } = await s.connect(tokenUrl(bridge));
    // By name: the bridge resolves stun.test (its test zone) to the server's first address.
    const r = await s.discoverNat(id, `stun:stun.test:${rfc5780.addresses[0].port}`, { timeoutMs: 1500, rtoMs: 100 });
    assert.equal(r.natted, false, JSON.stringify(r.details));
    assert.equal(r.mapping, 'endpoint-independent');
    assert.equal(r.filtering, 'endpoint-independent', 'the answer from the other address and port came in through the bridge');
    assert.equal(r.classic, 'open internet');
    assert.equal(r.ice, 'direct');
    assert.deepEqual(r.server, { address: '127.0.0.1', port: rfc5780.addresses[0].port });
    assert.equal(r.hairpinning, undefined, 'no NAT: nothing to hairpin');
    assert.deepEqual(r.mappedAddress, r.localAddress);
    assert.deepEqual(r.otherAddress, { address: '127.0.0.2', port: rfc5780.addresses[3].port });
    assert.deepEqual(
      r.details.tests.map((t) => [t.test, t.outcome]),
      [
        ['I', 'response'],
        ['filtering II (change IP and port)', 'response'],
      ],
    );
    assert.equal(r.details.tests[1].from?.address, '127.0.0.2');
    // What worker.ts hands comlink: structured-cloneable, unchanged by the trip.
    assert.deepEqual(structuredClone(r), r);
    assert.deepEqual(s.counts, { connections: 1, sockets: 0, relays: 0, agents: 0 }, 'its sockets are closed after');
    s.close();
  });

  it('sees a NAT where the bridge announces another address than the server sees (a 1:1 NAT): full cone, hairpinning', async () => {
    const natted = await startTestBridge({ udpBindAddress: { IPv4: '0.0.0.0', IPv6: '::' }, hostAddresses: ['127.0.0.2'] });
    try {
      const s = service();
      const { id } = await s.connect(tokenUrl(natted));
      const r = await s.discoverNat(id, { address: '127.0.0.1', port: rfc5780.addresses[0].port }, { timeoutMs: 1500, rtoMs: 100 });
      assert.equal(r.natted, true, JSON.stringify(r.details));
      assert.deepEqual([r.mapping, r.filtering, r.classic, r.ice], ['endpoint-independent', 'endpoint-independent', 'full cone', 'direct likely']);
      assert.equal(r.hairpinning, true, 'the second bridge socket reached the first at its mapped address');
      assert.ok(r.details.tests.some((t) => t.test.startsWith('mapping II') && t.outcome === 'response'), 'the mapping tests ran');
      s.close();
    } finally {
      await natted.close();
    }
  });

  it('rejects a server without RFC 5780 with NatDiscoveryError NO_RFC5780, typed again in the page', async () => {
    const s = service();
    const { id } = await s.connect(tokenUrl(bridge));
    const error = await s.discoverNat(id, `127.0.0.1:${plain.addresses[0].port}`, { timeoutMs: 1000, rtoMs: 100 }).then(
      () => assert.fail('classified with a server that has no OTHER-ADDRESS'),
      (e: unknown) => e,
    );
    assert.ok(error instanceof NatDiscoveryError, String(error));
    assert.equal(error.code, 'NO_RFC5780');
    assert.match(error.message, /OTHER-ADDRESS/);
    const again = deserializeError(structuredClone(serializeError(error)));
    assert.ok(again instanceof NatDiscoveryError && again.code === 'NO_RFC5780' && again.message === error.message);
    // No answer at all (a UDP socket that never replies), and what the bridge cannot carry.
    const silent = await UdpSocket.bind({ address: '127.0.0.1' });
    try {
      await assert.rejects(
        s.discoverNat(id, silent.localAddress, { timeoutMs: 300, rtoMs: 100 }),
        (e: unknown) => e instanceof NatDiscoveryError && e.code === 'NO_RESPONSE',
      );
    } finally {
      silent.close();
    }
    await assert.rejects(s.discoverNat(id, 'stun:nowhere.test'), (e: unknown) => e instanceof BridgeError && e.code === 'name-not-found');
    await assert.rejects(s.discoverNat(id, `stuns:127.0.0.1:${plain.addresses[0].port}`), (e: unknown) => e instanceof TypeError && /over UDP/.test(e.message));
    await assert.rejects(s.discoverNat(id, `turn:127.0.0.1:${plain.addresses[0].port}`), /not a stun/);
    await assert.rejects(s.discoverNat(999, `127.0.0.1:${plain.addresses[0].port}`), RangeError);
    assert.deepEqual(s.counts, { connections: 1, sockets: 0, relays: 0, agents: 0 }, 'failed discoveries leave no sockets behind');
    s.close();
  });
});

describe('IcebridgeService: names, TCP and TLS through the bridge (protocol v2)', { timeout: 60_000 }, () => {
  let bridge: RunningBridge;
  let stun: RunningStunServer;
  let coturn: RunningCoturn;
  let echo: Awaited<ReturnType<typeof startEchoServer>>;
  let certDir: string;
  const user = { username: 'u', credential: 'p' };

  before(async () => {
    certDir = mkdtempSync(join(tmpdir(), 'icebridge-service-cert-'));
    const tls = selfSignedCertificate(certDir, 'coturn.test');
    // TURN over UDP and TCP on coturn's port, over TLS on its tlsPort, with a certificate for coturn.test.
    coturn = await startCoturn({
      args: ['--lt-cred-mech', '--realm=r', '--user=u:p', '--allow-loopback-peers', '--relay-ip=127.0.0.1', '--no-tcp-relay'],
      tls,
    });
    stun = await startStunServer({ hosts: ['127.0.0.1'], port: 0 });
    echo = await startEchoServer();
    // As behind a 1:1 NAT on loopback: wildcard sockets announced at 127.0.0.2, seen from 127.0.0.1 by the
    // servers, so a server-reflexive candidate differs from its base (RFC 8445 §5.1.3).
    bridge = await startTestBridge({
      resolve: testZone,
      tlsCa: readFileSync(tls.cert, 'utf8'),
      udpBindAddress: { IPv4: '0.0.0.0', IPv6: '::' },
      hostAddresses: ['127.0.0.2'],
    });
  });

  after(async () => {
    await bridge?.close();
    await stun?.close();
    await coturn?.stop();
    await echo?.close();
    if (certDir) rmSync(certDir, { recursive: true, force: true });
  });

  it('resolves names on the bridge host; a name that does not resolve, or only to denied addresses, is a BridgeError', async () => {
    const s = service();
    const { id } = await s.connect(tokenUrl(bridge));
    assert.deepEqual((await s.resolve(id, 'stun.test')).map((a) => a.address), ['127.0.0.1']);
    assert.deepEqual((await s.resolve(id, 'STUN.test.', ['IPv4'])).map((a) => a.address), ['127.0.0.1'], 'case and a final dot change nothing');
    assert.deepEqual((await s.resolve(id, '127.0.0.9')).map((a) => a.address), ['127.0.0.9'], 'an IP literal answers itself');
    const notFound = (e: unknown) => e instanceof BridgeError && e.code === 'name-not-found';
    await assert.rejects(s.resolve(id, 'stun.test', ['IPv6']), notFound);
    await assert.rejects(s.resolve(id, 'nowhere.test'), notFound);
    const denied = await s.resolve(id, 'metadata.test').then(
      () => assert.fail('resolved to the metadata address'),
      (e: unknown) => e,
    );
    assert.ok(denied instanceof BridgeError && denied.code === 'destination-denied', String(denied));
    const again = deserializeError(structuredClone(serializeError(denied)));
    assert.ok(again instanceof BridgeError && again.code === 'destination-denied', 'typed again in the page');
    await assert.rejects(s.resolve(999, 'stun.test'), RangeError);
    s.close();
  });

  it('runs a STUN Binding to a server by name, over UDP and over TLS (stuns:)', async () => {
    const s = service();
    const { id } = await s.connect(tokenUrl(bridge));
    const port = stun.addresses[0].port;
    for (const server of [`stun.test:${port}`, `stun:stun.test:${port}`]) {
      const r = await s.stunBinding(id, server);
      assert.deepEqual(r.server, { address: '127.0.0.1', port }, server);
      assert.equal(r.mapped.address, '127.0.0.1', 'the servers see the bridge socket from loopback');
    }
    const tls = await s.stunBinding(id, `stuns:coturn.test:${coturn.tlsPort}`);
    assert.deepEqual(tls.server, { address: '127.0.0.1', port: coturn.tlsPort });
    assert.equal(tls.mapped.address, '127.0.0.1', 'the bridge stream as coturn sees it');
    assert.deepEqual(s.counts, { connections: 1, sockets: 0, relays: 0, agents: 0 });
    s.close();
  });

  it('a STUN or TURN server port where nothing listens is refused at once (connected bridge sockets), not after the timeout', async () => {
    const s = service();
    const { id } = await s.connect(tokenUrl(bridge));
    const port = await closedUdpPort();
    const refused: [() => Promise<unknown>, (e: unknown) => boolean][] = [
      [() => s.stunBinding(id, `127.0.0.1:${port}`), (e) => e instanceof StunBindingError && e.code === 'UNREACHABLE'],
      [() => s.allocateTurn(id, `turn:127.0.0.1:${port}`, user, () => {}), (e) => e instanceof TurnError && e.kind === 'unreachable'],
    ];
    for (const [call, expected] of refused) {
      const started = Date.now();
      const error: unknown = await call().then(() => undefined, (e: unknown) => e);
      assert.ok(expected(error) && /nothing listens at 127\.0\.0\.1/.test((error as Error).message), String(error));
      assert.ok(Date.now() - started < 5000, `refused in ${Date.now() - started} ms, not after the 39.5 s default`);
    }
    assert.deepEqual(s.counts, { connections: 1, sockets: 0, relays: 0, agents: 0 }, 'nothing left behind');
    s.close();
  });

  it('refuses a denied server at once: by name (the lookup) and by address (the connected socket\'s bind)', async () => {
    const s = service();
    const { id } = await s.connect(tokenUrl(bridge));
    await assert.rejects(s.stunBinding(id, 'stun:metadata.test:3478'), (e: unknown) => e instanceof BridgeError && e.code === 'destination-denied');
    const started = Date.now();
    const error = await s.stunBinding(id, '169.254.169.254:3478').then(
      () => assert.fail('a Binding to the metadata address succeeded'),
      (e: unknown) => e,
    );
    assert.ok(error instanceof BridgeError && error.code === 'destination-denied', String(error));
    assert.ok(Date.now() - started < 2000, `refused in ${Date.now() - started} ms, not after the timeout`);
    await assert.rejects(
      s.allocateTurn(id, 'turn:metadata.test:3478?transport=tcp', user, () => {}),
      (e: unknown) => e instanceof BridgeError && e.code === 'destination-denied',
    );
    assert.deepEqual(s.counts, { connections: 1, sockets: 0, relays: 0, agents: 0 }, 'nothing left behind');
    s.close();
  });

  for (const transport of ['tcp', 'tls'] as const) {
    it(`allocates on coturn by name over ${transport.toUpperCase()}; data goes through the relay and back`, async () => {
      const s = service();
      const { id } = await s.connect(tokenUrl(bridge));
      const uri = transport === 'tcp' ? `turn:coturn.test:${coturn.port}?transport=tcp` : `turns:coturn.test:${coturn.tlsPort}`;
      const d = datagrams();
      const relay = await s.allocateTurn(id, uri, user, d.listener);
      assert.deepEqual(relay.server, { address: '127.0.0.1', port: transport === 'tcp' ? coturn.port : coturn.tlsPort });
      assert.equal(relay.relayedAddress.address, '127.0.0.1', "coturn's relay address");
      s.relaySend(relay.id, new TextEncoder().encode('one'), echo.address);
      const first = await d.next(() => true, 5000, 'the first echo through the relay');
      assert.equal(new TextDecoder().decode(first.bytes), 'one');
      assert.deepEqual(first.from, echo.address);
      const channel = await s.relayBindChannel(relay.id, echo.address);
      assert.ok(channel >= 0x4000 && channel <= 0x4fff);
      // As ChannelData, framed on the stream and padded to 4 bytes (RFC 8656 §12.5).
      s.relaySend(relay.id, new TextEncoder().encode('two'), echo.address);
      await d.next((g) => new TextDecoder().decode(g.bytes) === 'two', 5000, 'the echo over the channel');
      s.closeRelay(relay.id);
      assert.equal(s.counts.relays, 0);
      s.close();
    });
  }

  it("rejects a TLS server whose certificate is not for the name used (the bridge's check) with tls-failed", async () => {
    const s = service();
    const { id } = await s.connect(tokenUrl(bridge));
    await assert.rejects(
      s.allocateTurn(id, `turns:127.0.0.1:${coturn.tlsPort}`, user, () => {}),
      (e: unknown) => e instanceof BridgeError && e.code === 'tls-failed',
    );
    assert.deepEqual(s.counts, { connections: 1, sockets: 0, relays: 0, agents: 0 });
    s.close();
  });

  it('gathers srflx and relay candidates from servers by name, over UDP, TCP and TLS; a denied name is an icecandidateerror', async () => {
    const s = service();
    const events: AgentEventMessage[] = [];
    const a = await s.createAgent(
      {
        bridge: tokenUrl(bridge),
        iceServers: [
          { urls: `stun:stun.test:${stun.addresses[0].port}` },
          { urls: `turn:coturn.test:${coturn.port}?transport=tcp`, ...user },
          { urls: `turns:coturn.test:${coturn.tlsPort}`, ...user },
          { urls: 'stun:metadata.test:3478' },
        ],
      },
      (e) => events.push(e),
    );
    await within(s.agentGather(a.id), 20_000, 'gathering');
    const lines = events.filter((e) => e.type === 'icecandidate' && e.candidate).map((e) => e.candidate!.candidate);
    const typed = (type: string) => lines.filter((l) => l.includes(` typ ${type}`));
    assert.equal(typed('host').length, 1, lines.join('\n'));
    assert.match(typed('host')[0], / 127\.0\.0\.2 \d+ typ host/);
    assert.equal(typed('srflx').length, 1, lines.join('\n'));
    assert.match(typed('srflx')[0], / 127\.0\.0\.1 \d+ typ srflx raddr 127\.0\.0\.2 /);
    assert.equal(typed('relay').length, 2, `a relay over TCP and one over TLS:\n${lines.join('\n')}`);
    const errors = events.filter((e) => e.type === 'icecandidateerror').map((e) => e.error!);
    assert.equal(errors.length, 1, JSON.stringify(errors));
    assert.equal(errors[0].url, 'stun:metadata.test:3478');
    assert.equal(errors[0].errorCode, 701);
    assert.match(errors[0].errorText, /destination-denied/);
    s.close();
  });
});
