// RFC 6062 in the TURN server engine, on virtual time with no sockets: the client side is the isomorphic
// TurnTcpAllocation / ConnectionBinder, wired to the engine by hand (control connection = client socket 10,
// data connections 11, 12…, the TCP listener = relay socket 100).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { TransportAddress } from '../../src/net/transport-address.js';
import { TurnServer, type TurnServerEvent, type TurnServerOptions } from '../../src/server/turn-server.js';
import { decodeStunMessage } from '../../src/stun/decode.js';
import { TurnTcpAllocation, type TurnTcpAllocationEvent } from '../../src/turn/tcp-allocation.js';
import { ConnectionBinder } from '../../src/turn/tcp-connection-bind.js';
import { LongTermCredentials } from '../../src/turn/credentials.js';
import { StunMethod } from '../../src/stun/constants.js';
import { createStunMessage } from '../../src/stun/message.js';
import { encodeStunMessage } from '../../src/stun/encode.js';

const SERVER: TransportAddress = { address: '192.0.2.1', port: 3478 };
const CLIENT: TransportAddress = { address: '198.51.100.7', port: 40000 };
const RELAYED: TransportAddress = { address: '192.0.2.1', port: 50000 };
const PEER: TransportAddress = { address: '203.0.113.5', port: 7000 };
const CONTROL = 10;
const LISTENER = 100;

class Harness {
  now = 1_000;
  readonly server: TurnServer;
  readonly client: TurnTcpAllocation;
  readonly serverEvents: TurnServerEvent[] = [];
  readonly clientEvents: TurnTcpAllocationEvent[] = [];
  /** Messages the server sent on data connections, by socket. */
  readonly dataReplies = new Map<number, Uint8Array[]>();

  constructor(options: TurnServerOptions = {}, controlTransport: 'tcp' | 'udp' = 'tcp') {
    this.server = new TurnServer({ users: { alice: 'secret' }, realm: 'example.org', ...options });
    if (controlTransport === 'tcp') this.server.clientSocketOpened(CONTROL, 'tcp', this.now);
    this.client = new TurnTcpAllocation({ server: SERVER, username: 'alice', credential: 'secret' });
  }

  /** Moves messages both ways until nothing is left; answers open-tcp-relay with the listener. */
  pump(): void {
    for (let round = 0; round < 50; round++) {
      let moved = false;
      for (let t = this.client.pollTransmit(); t; t = this.client.pollTransmit()) {
        moved = true;
        this.server.handleDatagram(t.bytes, { socket: CONTROL, from: CLIENT }, this.now);
      }
      for (let t = this.server.pollTransmit(); t; t = this.server.pollTransmit()) {
        moved = true;
        if (t.socket === CONTROL && t.to.port === CLIENT.port) this.client.handleDatagram(t.bytes, { socket: 0, from: SERVER }, this.now);
        else this.dataReplies.set(t.socket, [...(this.dataReplies.get(t.socket) ?? []), t.bytes]);
      }
      for (let e = this.server.pollEvent(); e; e = this.server.pollEvent()) {
        moved = true;
        this.serverEvents.push(e);
        if (e.type === 'open-tcp-relay') this.server.relayOpened(e.requestId, LISTENER, RELAYED, this.now);
      }
      for (let e = this.client.pollEvent(); e; e = this.client.pollEvent()) {
        moved = true;
        this.clientEvents.push(e);
      }
      if (!moved) return;
    }
  }

  advance(ms: number): void {
    const end = this.now + ms;
    for (;;) {
      const next = Math.min(this.server.pollTimeout() ?? Infinity, this.client.pollTimeout() ?? Infinity);
      if (next > end) break;
      this.now = Math.max(this.now, next);
      this.server.handleTimeout(this.now);
      this.client.handleTimeout(this.now);
      this.pump();
    }
    this.now = end;
  }

  allocate(): TransportAddress | undefined {
    this.client.allocate(this.now);
    this.pump();
    const allocated = this.clientEvents.find((e) => e.type === 'allocated');
    return allocated?.type === 'allocated' ? allocated.relayed : undefined;
  }

  /** Runs a ConnectionBind on data connection `socket` to the end; returns the final response. */
  bind(socket: number, connectionId: number, transport: 'tcp' | 'none' = 'tcp') {
    if (transport === 'tcp' && this.server.streamTransportOf(socket) === undefined) this.server.clientSocketOpened(socket, 'tcp', this.now);
    const binder = new ConnectionBinder(this.client.credentials, connectionId);
    let bytes: Uint8Array | undefined = binder.start();
    const from = { address: CLIENT.address, port: CLIENT.port + socket };
    for (let i = 0; i < 4 && bytes !== undefined; i++) {
      this.server.handleDatagram(bytes, { socket, from }, this.now);
      this.pump();
      const replies = this.dataReplies.get(socket) ?? [];
      const reply = replies.pop();
      if (reply === undefined) return undefined;
      const step = binder.handle(decodeStunMessage(reply));
      if (step === undefined || step.kind !== 'send') return step;
      bytes = step.bytes;
    }
    return undefined;
  }

  connectResult(peer: TransportAddress) {
    return this.clientEvents.filter((e) => e.type === 'connect' && e.peer.address === peer.address && e.peer.port === peer.port).at(-1);
  }

  eventsOf<T extends TurnServerEvent['type']>(type: T): Extract<TurnServerEvent, { type: T }>[] {
    return this.serverEvents.filter((e): e is Extract<TurnServerEvent, { type: T }> => e.type === type);
  }
}

test('a TCP Allocate over a stream connection gets a listener as its relay (RFC 6062 §5.1)', () => {
  const h = new Harness();
  assert.deepEqual(h.allocate(), RELAYED);
  assert.equal(h.eventsOf('open-tcp-relay').length, 1);
  assert.equal(h.eventsOf('open-relay').length, 0);
});

test('a TCP Allocate over UDP is 400 (RFC 6062 §5.1 item 2); with tcpRelay off it is 442', () => {
  const udp = new Harness({}, 'udp');
  udp.allocate();
  const closed = udp.clientEvents.find((e) => e.type === 'closed');
  assert.equal(closed?.type === 'closed' ? closed.error?.code : undefined, 400);
  const off = new Harness({ tcpRelay: false });
  off.allocate();
  const refused = off.clientEvents.find((e) => e.type === 'closed');
  assert.equal(refused?.type === 'closed' ? refused.error?.code : undefined, 442);
});

test('Connect → connect-tcp-peer → success with CONNECTION-ID; ConnectionBind splices the data connection (§5.2, §5.4)', () => {
  const h = new Harness();
  h.allocate();
  h.client.connect(PEER, h.now);
  h.pump();
  const [connect] = h.eventsOf('connect-tcp-peer');
  assert.ok(connect);
  assert.equal(connect.relaySocket, LISTENER);
  assert.deepEqual(connect.peer, PEER);
  assert.equal(h.connectResult(PEER), undefined, 'no answer before the connection is up');
  h.server.tcp.peerConnected(connect.connectionId, h.now);
  h.pump();
  const result = h.connectResult(PEER);
  assert.equal(result?.type === 'connect' ? result.connectionId : undefined, connect.connectionId);
  const step = h.bind(11, connect.connectionId);
  assert.equal(step?.kind, 'bound');
  assert.deepEqual(h.eventsOf('splice-tcp-peer'), [{ type: 'splice-tcp-peer', connectionId: connect.connectionId, clientSocket: 11 }]);
  assert.equal(h.server.tcp.counters.bound, 1);
  // Bound: no bind timeout closes it.
  h.advance(120_000);
  assert.equal(h.eventsOf('close-tcp-peer').length, 0);
});

test('a second Connect to the same peer is 446; a refused connection is 447 at once', () => {
  const h = new Harness();
  h.allocate();
  h.client.connect(PEER, h.now);
  h.client.connect(PEER, h.now);
  h.pump();
  const results = h.clientEvents.filter((e) => e.type === 'connect');
  assert.equal(results.length, 1);
  assert.equal(results[0].type === 'connect' ? results[0].error?.code : undefined, 446);
  const [connect] = h.eventsOf('connect-tcp-peer');
  h.server.tcp.peerConnectFailed(connect.connectionId, 'ECONNREFUSED', h.now);
  h.pump();
  const failed = h.connectResult(PEER);
  assert.equal(failed?.type === 'connect' ? failed.error?.code : undefined, 447);
  // After the failure the peer may be tried again (§4.3).
  h.client.connect(PEER, h.now);
  h.pump();
  assert.equal(h.eventsOf('connect-tcp-peer').length, 2);
});

test('Connect to a denied peer is 403 (the peer policy applies to TCP peers)', () => {
  const h = new Harness();
  h.allocate();
  h.client.connect({ address: '169.254.169.254', port: 80 }, h.now);
  h.client.connect({ address: '127.0.0.1', port: 80 }, h.now);
  h.pump();
  const codes = h.clientEvents.filter((e) => e.type === 'connect').map((e) => (e.type === 'connect' ? e.error?.code : 0));
  assert.deepEqual(codes, [403, 403]);
  assert.equal(h.eventsOf('connect-tcp-peer').length, 0);
});

test('the connect timeout answers 447 and closes the attempt; the bind timeout closes the peer connection', () => {
  const h = new Harness({ tcpConnectTimeoutMs: 2_000, tcpBindTimeoutMs: 3_000 });
  h.allocate();
  h.client.connect(PEER, h.now);
  h.pump();
  const [slow] = h.eventsOf('connect-tcp-peer');
  h.advance(1_999);
  assert.equal(h.connectResult(PEER), undefined);
  h.advance(2);
  const timedOut = h.connectResult(PEER);
  assert.equal(timedOut?.type === 'connect' ? timedOut.error?.code : undefined, 447);
  assert.deepEqual(h.eventsOf('close-tcp-peer'), [{ type: 'close-tcp-peer', connectionId: slow.connectionId, reason: 'connect-timeout' }]);
  // A late answer from the driver is met with close-tcp-peer.
  h.server.tcp.peerConnected(slow.connectionId, h.now);
  h.pump();
  assert.equal(h.eventsOf('close-tcp-peer').length, 2);

  const other: TransportAddress = { address: '203.0.113.6', port: 7000 };
  h.client.connect(other, h.now);
  h.pump();
  const [, second] = h.eventsOf('connect-tcp-peer');
  h.server.tcp.peerConnected(second.connectionId, h.now);
  h.pump();
  h.advance(3_001);
  assert.equal(h.eventsOf('close-tcp-peer').at(-1)?.reason, 'bind-timeout');
  assert.equal(h.server.tcp.counters.bindTimeouts, 1);
  assert.equal(h.bind(11, second.connectionId)?.kind, 'failed', 'a closed connection cannot be bound');
});

test('a connection to the relayed address needs a permission; with one the client gets a ConnectionAttempt (§5.3)', () => {
  const h = new Harness();
  h.allocate();
  assert.equal(h.server.tcp.peerAccepted(LISTENER, PEER, h.now), undefined, 'no permission: closed at once');
  h.client.createPermission(PEER.address, h.now);
  h.pump();
  const id = h.server.tcp.peerAccepted(LISTENER, PEER, h.now);
  assert.ok(id !== undefined);
  h.pump();
  const attempt = h.clientEvents.find((e) => e.type === 'connection-attempt');
  assert.deepEqual(attempt, { type: 'connection-attempt', peer: PEER, connectionId: id });
  assert.equal(h.bind(12, id)?.kind, 'bound');
  assert.equal(h.eventsOf('splice-tcp-peer')[0]?.clientSocket, 12);
  assert.equal(h.server.tcp.peerAccepted(999, PEER, h.now), undefined, 'not a listener');
});

test('ConnectionBind: on the control connection, over UDP, or with an unknown CONNECTION-ID it is 400', () => {
  const h = new Harness();
  h.allocate();
  const failed = (step: ReturnType<Harness['bind']>) => (step?.kind === 'failed' ? step.error.code : undefined);
  assert.equal(failed(h.bind(11, 12345)), 400);
  h.client.connect(PEER, h.now);
  h.pump();
  const [connect] = h.eventsOf('connect-tcp-peer');
  h.server.tcp.peerConnected(connect.connectionId, h.now);
  h.pump();
  assert.equal(failed(h.bind(CONTROL, connect.connectionId)), 400);
  assert.equal(failed(h.bind(13, connect.connectionId, 'none')), 400);
  // Still pending after the refusals: a proper data connection binds it.
  assert.equal(h.bind(15, connect.connectionId)?.kind, 'bound');
});

test('ConnectionBind with another user’s credentials is 441', () => {
  const h = new Harness({ users: { alice: 'secret', bob: 'hunter2' } });
  h.allocate();
  h.client.connect(PEER, h.now);
  h.pump();
  const [connect] = h.eventsOf('connect-tcp-peer');
  h.server.tcp.peerConnected(connect.connectionId, h.now);
  h.pump();
  h.server.clientSocketOpened(11, 'tcp', h.now);
  const binder = new ConnectionBinder(new LongTermCredentials('bob', 'hunter2'), connect.connectionId);
  let bytes: Uint8Array | undefined = binder.start();
  let last;
  for (let i = 0; i < 3 && bytes; i++) {
    h.server.handleDatagram(bytes, { socket: 11, from: { address: CLIENT.address, port: 1 } }, h.now);
    h.pump();
    last = binder.handle(decodeStunMessage(h.dataReplies.get(11)!.pop()!));
    bytes = last?.kind === 'send' ? last.bytes : undefined;
  }
  assert.equal(last?.kind === 'failed' ? last.error.code : undefined, 441);
});

test('closing the control connection deletes the allocation, its listener and every peer connection (§5.5)', () => {
  const h = new Harness();
  h.allocate();
  h.client.createPermission(PEER.address, h.now);
  h.client.connect(PEER, h.now);
  h.pump();
  const [connect] = h.eventsOf('connect-tcp-peer');
  h.server.tcp.peerConnected(connect.connectionId, h.now);
  h.pump();
  h.bind(11, connect.connectionId);
  const incoming = h.server.tcp.peerAccepted(LISTENER, { address: PEER.address, port: 7001 }, h.now);
  h.server.clientSocketClosed(CONTROL, h.now);
  h.pump();
  const closed = h.eventsOf('close-tcp-peer').map((e) => [e.connectionId, e.reason]);
  assert.deepEqual(new Set(closed.map((c) => c[0])), new Set([connect.connectionId, incoming]));
  assert.ok(closed.every((c) => c[1] === 'deallocated'));
  assert.deepEqual(h.eventsOf('close-relay'), [{ type: 'close-relay', socket: LISTENER }]);
  assert.equal(h.server.tcp.connectionCount, 0);
  assert.equal(h.server.allocationCount, 0);
});

test('a peer connection closed by the driver is forgotten; Connect on a UDP allocation is 437', () => {
  const h = new Harness();
  h.allocate();
  h.client.connect(PEER, h.now);
  h.pump();
  const [connect] = h.eventsOf('connect-tcp-peer');
  h.server.tcp.peerConnected(connect.connectionId, h.now);
  h.pump();
  h.server.tcp.connectionClosed(connect.connectionId, h.now);
  assert.equal(h.server.tcp.connectionCount, 0);
  // The same peer can be connected again once the first is gone (§5.2's 446 is for live ones).
  h.client.connect(PEER, h.now);
  h.pump();
  assert.equal(h.eventsOf('connect-tcp-peer').length, 2);

  // A Connect request on the 5-tuple of a UDP allocation.
  const server = new TurnServer({ users: { alice: 'secret' }, realm: 'example.org' });
  const request = createStunMessage({ method: StunMethod.Connect, class: 'request', transactionId: new Uint8Array(12).fill(7), attributes: [['XOR-PEER-ADDRESS', PEER]] });
  server.handleDatagram(encodeStunMessage(request), { socket: 0, from: CLIENT }, h.now);
  const reply = decodeStunMessage(server.pollTransmit()!.bytes);
  assert.equal(reply.get('ERROR-CODE')?.code, 401, 'authenticated first, like every TURN request');
});
