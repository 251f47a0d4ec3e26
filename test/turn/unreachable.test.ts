// Refusals in the TURN client: a refused server fails the Allocate (and later requests) at once with a typed
// TurnError naming the refusal; a 403 to CreatePermission/ChannelBind (RFC 8656 §10.2, §12.2) makes the
// TurnRelaySocket report that peer through its own onunreachable.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DestinationUnreachableError } from '../../src/net/datagram-socket.js';
import { runTurnServer } from '../../src/server/turn-server-runner.js';
import { TurnServer } from '../../src/server/turn-server.js';
import { SimNetwork, VirtualClock } from '../../src/sim/index.js';
import { TurnClient } from '../../src/turn/client.js';
import type { TurnClientEvent } from '../../src/turn/client-options.js';
import { TurnError, TurnErrorCode } from '../../src/turn/errors.js';
import { TurnRelaySocket } from '../../src/turn/relay-socket.js';
import { pendingAt, settledAt, settleOnVirtualTime } from '../support/virtual-time.js';

const SERVER = { address: '192.0.2.1', port: 3478 };
const FORBIDDEN = '192.0.2.66';

function world(options: { deny?: string[] } = {}) {
  const clock = new VirtualClock();
  const net = new SimNetwork({ clock, seed: 9, link: { delayMs: 10 } });
  const serverHost = net.addHost(SERVER.address);
  const engine = new TurnServer({ realm: 'example.org', users: { alice: 'secret' }, deny: options.deny });
  runTurnServer({ engine, listen: [serverHost.bind(SERVER.port)], openRelaySocket: async () => serverHost.bind(), clock });
  const client = net.addHost('198.51.100.20');
  const peer = net.addHost('192.0.2.50').bind(6000);
  net.addHost(FORBIDDEN).bind(6000);
  return { clock, net, engine, client, peer };
}

const credentials = { server: SERVER, username: 'alice', credential: 'secret' };



describe('TURN allocation towards a refused server', () => {
  it('rejects at once with an unreachable TurnError naming the refusal; unrefused it would still be waiting', async () => {
    const w = world();
    w.client.refuse(SERVER.address);
    const { at, error } = await settledAt(w.clock, TurnRelaySocket.allocate(w.client.bind(), { ...credentials, clock: w.clock }));
    assert.ok(error instanceof TurnError, String(error));
    assert.deepEqual([error.code, error.operation, error.kind], [TurnErrorCode.ServerUnreachable, 'allocate', 'unreachable']);
    assert.equal(error.reason, 'destination-denied: destination 192.0.2.1 port 3478 is not allowed');
    assert.match(error.message, /^TURN allocate failed: 701 destination-denied: destination 192\.0\.2\.1 port 3478 is not allowed$/);
    assert.ok(error.cause instanceof DestinationUnreachableError);
    assert.ok(at < 5, `rejected at virtual ${at} ms`);
    assert.equal(w.engine.allocationCount, 0);

    // Control: no refusal, a server that never answers — at 1 s the Allocate is still waiting.
    const clock = new VirtualClock();
    const net = new SimNetwork({ clock, seed: 9, link: { delayMs: 10 } });
    net.addHost(SERVER.address).bind(SERVER.port);
    const pending = TurnRelaySocket.allocate(net.addHost('198.51.100.20').bind(), { ...credentials, clock });
    assert.equal(await pendingAt(clock, pending, 1_000), true, 'without the refusal the Allocate is pending at 1 s');
    await assert.rejects(settleOnVirtualTime(clock, pending), (e: unknown) => e instanceof TurnError && e.kind === 'timeout');
  });

  it('a rate-limited refusal names its code and reason too', async () => {
    const w = world();
    w.client.refuse(SERVER.address, { code: 'rate-limited', reason: 'over the packets or bytes per second of this session' });
    const { error } = await settledAt(w.clock, TurnRelaySocket.allocate(w.client.bind(), { ...credentials, clock: w.clock, timeoutMs: 10_000 }));
    assert.ok(error instanceof TurnError && error.kind === 'unreachable');
    assert.equal(error.reason, 'rate-limited: over the packets or bytes per second of this session');
    assert.equal(w.clock.pending, 0, 'the timeoutMs timer is cleared and nothing is left running');
  });

  it('during an allocation, a refused server fails a pending permission at once and reports its peer', async () => {
    const w = world();
    const socket = await settleOnVirtualTime(w.clock, TurnRelaySocket.allocate(w.client.bind(), { ...credentials, clock: w.clock }));
    const refusals: DestinationUnreachableError[] = [];
    socket.onunreachable = (e) => refusals.push(e);
    const lift = w.client.refuse(SERVER.address);
    const started = w.clock.now();
    const { at, error } = await settledAt(w.clock, socket.createPermission(w.peer.localAddress));
    assert.ok(error instanceof TurnError);
    assert.deepEqual([error.operation, error.kind, error.code], ['permission', 'unreachable', 701]);
    assert.ok(at - started < 5);
    assert.deepEqual(
      refusals.map((e) => [e.code, e.destination]),
      [['relay-unreachable', w.peer.localAddress]],
    );
    assert.equal(socket.client.state, 'allocated', 'the allocation itself lives on');
    assert.equal(socket.counters.unreachable, 1);

    // A refresh during the refusal fails at once too (and is retried later, RFC 8656 §8).
    const events: TurnClientEvent[] = [];
    socket.onturnevent = (e) => events.push(e);
    w.clock.runUntil(started + 541_000);
    const failed = events.find((e) => e.type === 'refresh-failed');
    assert.ok(failed && failed.type === 'refresh-failed' && failed.error.kind === 'unreachable');
    lift();
    w.clock.runUntil(w.clock.now() + 20_000);
    assert.ok(events.some((e) => e.type === 'refreshed'), 'refreshed once the refusal is lifted');
    socket.close();
    assert.equal(await settleOnVirtualTime(w.clock, socket.closed), 'deallocated');
  });
});

describe('TURN 403 Forbidden surfaces as an unreachable peer', () => {
  it('a 403 to CreatePermission rejects the permission and reports the peer through onunreachable', async () => {
    const w = world({ deny: [FORBIDDEN] });
    const socket = await settleOnVirtualTime(w.clock, TurnRelaySocket.allocate(w.client.bind(), { ...credentials, clock: w.clock }));
    const refusals: DestinationUnreachableError[] = [];
    socket.onunreachable = (e) => refusals.push(e);
    const forbidden = { address: FORBIDDEN, port: 6000 };
    await assert.rejects(settleOnVirtualTime(w.clock, socket.createPermission(forbidden)), (e: unknown) => e instanceof TurnError && e.code === 403 && e.kind === 'response');
    assert.equal(refusals.length, 1);
    assert.equal(refusals[0].code, 'peer-forbidden');
    assert.deepEqual(refusals[0].destination, forbidden);
    assert.match(refusals[0].reason, /does not relay to 192\.0\.2\.66: 403/);

    // Data to another port of that IP waits for a new CreatePermission, which gets 403 again: that port is reported.
    socket.send(new Uint8Array([1, 2, 3]), { address: FORBIDDEN, port: 7000 });
    w.clock.runUntil(w.clock.now() + 200);
    assert.deepEqual(refusals.at(-1)?.destination, { address: FORBIDDEN, port: 7000 });

    // A permitted peer is not affected.
    await settleOnVirtualTime(w.clock, socket.createPermission(w.peer.localAddress));
    assert.equal(refusals.length, 2);
  });

  it('a 403 to ChannelBind reports the peer too', async () => {
    const w = world({ deny: [FORBIDDEN] });
    const socket = await settleOnVirtualTime(w.clock, TurnRelaySocket.allocate(w.client.bind(), { ...credentials, clock: w.clock }));
    const refusals: DestinationUnreachableError[] = [];
    socket.onunreachable = (e) => refusals.push(e);
    await assert.rejects(settleOnVirtualTime(w.clock, socket.bindChannel({ address: FORBIDDEN, port: 6000 })), (e: unknown) => e instanceof TurnError && e.code === 403);
    assert.deepEqual(
      refusals.map((e) => [e.code, e.destination]),
      [['peer-forbidden', { address: FORBIDDEN, port: 6000 }]],
    );
  });
});

describe('TurnClient.handleUnreachable', () => {
  it('ignores refusals of anything but its server on its socket', () => {
    const client = new TurnClient({ ...credentials, socket: 2 });
    client.allocate(0);
    client.pollTransmit();
    const error = (to: { address: string; port: number }) => new DestinationUnreachableError('destination-denied', to, 'no');
    client.handleUnreachable(error({ address: '192.0.2.9', port: 3478 }), { socket: 2, from: { address: '192.0.2.9', port: 3478 } }, 1);
    client.handleUnreachable(error(SERVER), { socket: 0, from: SERVER }, 1);
    assert.equal(client.state, 'allocating');
    assert.equal(client.pollEvent(), undefined);
    client.handleUnreachable(error(SERVER), { socket: 2, from: SERVER }, 1);
    const failed = client.pollEvent();
    assert.ok(failed?.type === 'allocation-failed' && failed.error.kind === 'unreachable');
    assert.equal(client.state, 'closed');
    assert.equal(client.transactions.size, 0);
  });
});
