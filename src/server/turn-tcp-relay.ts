// RFC 6062 TCP relay allocations, the engine side (sans-I/O): Connect (§5.2), connections arriving at a
// relayed address (§5.3), ConnectionBind (§5.4) and the end of data connections (§5.5). The TurnServer calls
// into it from small hooks; the driver protocol (events out, calls back in) is described in turn-tcp-events.ts.
import type { Millis } from '../net/clock.js';
import type { DatagramSource, SocketId } from '../net/engine.js';
import { familyOf, type TransportAddress } from '../net/transport-address.js';
import { MAGIC_COOKIE, StunMethod } from '../stun/constants.js';
import { encodeStunMessage } from '../stun/encode.js';
import { createStunMessage, type StunMessage } from '../stun/message.js';
import type { PeerPolicy } from './peer-policy.js';
import type { TcpAllocateContext } from './turn-tcp-allocate.js';
import { canonicalIp, peerKey, type TurnAllocation } from './turn-allocation.js';
import type { TurnAuthContext } from './turn-auth.js';
import type { RequestRef, TurnResponder } from './turn-responder.js';
import { createTurnTcpCounters, type TurnTcpCloseReason, type TurnTcpCounters, type TurnTcpEvent } from './turn-tcp-events.js';
import { resolveTurnTcpLimits, type ResolvedTurnTcpLimits, type TurnTcpRelayOptions } from './turn-tcp-options.js';

/** What the TCP relay logic needs of the TurnServer around it. */
export interface TurnTcpHost {
  readonly responder: TurnResponder;
  readonly policy: PeerPolicy;
  /** Queues one message to a client (the StunServer's transmit queue). */
  send(socket: SocketId, to: TransportAddress, bytes: Uint8Array): void;
  emit(event: TurnTcpEvent): void;
  /** Makes sure the engine wakes up by `at`. */
  schedule(at: Millis): void;
  /** Whether `peer` is the relayed transport address of a live allocation (relay to relay). */
  isRelayedAddress(peer: TransportAddress): boolean;
  /** 'tcp' / 'tls' for a stream client connection (interface (a): TurnServer.streamTransportOf). */
  streamTransportOf(socket: SocketId): 'tcp' | 'tls' | undefined;
  /** Whether an allocation's client 5-tuple is on this client socket (it is a control connection). */
  hasAllocationOn(socket: SocketId): boolean;
  /** The allocation whose relay socket (here: TCP listener) is `socket`. */
  allocationOfRelay(socket: SocketId): TurnAllocation | undefined;
}

type ConnectionState = 'connecting' | 'pending' | 'bound';

interface PeerConnection {
  readonly id: number;
  readonly allocation: TurnAllocation;
  readonly peer: TransportAddress;
  /** Set for a Connect (§5.2: at most one per peer transport address); undefined for an incoming one. */
  readonly connectKey: string | undefined;
  state: ConnectionState;
  /** The Connect to answer while connecting. */
  connect: { readonly request: RequestRef; readonly source: DatagramSource; readonly auth: TurnAuthContext } | undefined;
  /** Connect timeout while connecting, ConnectionBind timeout while pending, Infinity once bound. */
  deadline: Millis;
}

export class TurnTcpRelays {
  readonly counters: TurnTcpCounters = createTurnTcpCounters();
  readonly limits: ResolvedTurnTcpLimits;
  private readonly connections = new Map<number, PeerConnection>();
  /** allocation key → its peer connections. */
  private readonly byAllocation = new Map<string, Set<PeerConnection>>();
  /** allocation key + peer → the Connect-made connection to that peer (§5.2: 446). */
  private readonly byConnectKey = new Map<string, PeerConnection>();

  constructor(
    options: TurnTcpRelayOptions,
    private readonly host: TurnTcpHost,
  ) {
    this.limits = resolveTurnTcpLimits(options);
  }

  /**
   * For checkAllocateRequest: undefined (a TCP Allocate is then 442) when TCP relays are off or the request
   * came over UDP. Deliberately 442 rather than RFC 6062 §5.1 item 2's 400 over UDP: UDP clients see the
   * server as RFC 8656 alone, which has them retry over TCP the way a 442 suggests.
   */
  allocateContext(socket: SocketId): TcpAllocateContext | undefined {
    // RFC 6062 §5.1 item 2: over UDP a TCP Allocate is a 400 (checkTcpAllocateRequest); TCP relays off, 442.
    return this.limits.enabled ? { stream: this.host.streamTransportOf(socket) } : undefined;
  }

  /** Whether `allocation` is a TCP one (its relay socket is a listener). */
  isTcp(allocation: TurnAllocation): boolean {
    return this.byAllocation.has(allocation.key);
  }

  get connectionCount(): number {
    return this.connections.size;
  }

  /** The TCP allocation was created (after relayOpened for an open-tcp-relay). */
  allocationCreated(allocation: TurnAllocation): void {
    this.byAllocation.set(allocation.key, new Set());
  }

  /** §5.5: the allocation is gone, so are its peer and data connections. */
  allocationDeleted(allocation: TurnAllocation): void {
    const set = this.byAllocation.get(allocation.key);
    if (set === undefined) return;
    for (const connection of [...set]) this.end(connection, 'deallocated', true);
    this.byAllocation.delete(allocation.key);
  }

  /** RFC 6062 §5.2. The TurnServer has authenticated the request and matched it to `allocation`. */
  handleConnect(request: StunMessage, source: DatagramSource, allocation: TurnAllocation, auth: TurnAuthContext, now: Millis): void {
    this.counters.connectRequests++;
    const { responder } = this.host;
    const set = this.byAllocation.get(allocation.key);
    if (set === undefined) {
      responder.error(request, source, 437, 'Allocation Mismatch: not a TCP allocation', auth);
      return;
    }
    const peer = request.get('XOR-PEER-ADDRESS');
    if (peer === undefined || peer.port === 0) {
      responder.error(request, source, 400, 'Bad Request: XOR-PEER-ADDRESS is missing or has port 0', auth);
      return;
    }
    const ip = canonicalIp(peer.address);
    const connectKey = `${allocation.key}#${peerKey(ip, peer.port)}`;
    // §5.2: one Connect in progress, or one pending or active connection, per peer transport address.
    if (this.byConnectKey.has(connectKey)) {
      responder.error(request, source, 446, 'Connection Already Exists', auth);
      return;
    }
    if (familyOf(peer.address) !== allocation.family) {
      responder.error(request, source, 443, 'Peer Address Family Mismatch', auth);
      return;
    }
    // §5.2 "forbidden by local policy": the same peer policy as CreatePermission. No permission is needed
    // nor installed by a Connect (the RFC asks for none; incoming connections still need one, §5.3).
    const verdict = this.host.policy.judge(peer.address);
    if (verdict === 'denied' || (verdict === 'host' && !this.host.isRelayedAddress(peer))) {
      responder.error(request, source, 403, 'Forbidden: peer address not allowed', auth);
      return;
    }
    if (set.size >= this.limits.maxConnectionsPerAllocation) {
      responder.error(request, source, 508, 'Insufficient Capacity: too many TCP connections on this allocation', auth);
      return;
    }
    const connection: PeerConnection = {
      id: this.newConnectionId(),
      allocation,
      peer: { address: ip, port: peer.port },
      connectKey,
      state: 'connecting',
      connect: {
        request: { method: request.method, transactionId: request.transactionId.slice(), cookie: request.cookie, fingerprintOffset: request.fingerprintOffset },
        source: { socket: source.socket, from: { address: source.from.address, port: source.from.port } },
        auth,
      },
      deadline: now + this.limits.connectTimeoutMs,
    };
    this.add(connection);
    this.host.emit({ type: 'connect-tcp-peer', connectionId: connection.id, relaySocket: allocation.relaySocket, peer: connection.peer });
  }

  /** Driver: the outgoing connection of `connectionId` is established. */
  peerConnected(connectionId: number, now: Millis): void {
    const connection = this.connections.get(connectionId);
    if (connection === undefined || connection.state !== 'connecting' || connection.connect === undefined) {
      // Timed out or deallocated meanwhile: the driver is told to drop it.
      if (connection === undefined) this.host.emit({ type: 'close-tcp-peer', connectionId, reason: 'closed' });
      return;
    }
    const { request, source, auth } = connection.connect;
    connection.connect = undefined;
    connection.state = 'pending';
    connection.deadline = now + this.limits.bindTimeoutMs;
    this.host.schedule(connection.deadline);
    this.counters.connected++;
    this.host.responder.success(request, source, [['CONNECTION-ID', connection.id]], auth);
  }

  /** Driver: the outgoing connection of `connectionId` was refused or failed: the Connect gets 447 at once. */
  peerConnectFailed(connectionId: number, reason: string, _now: Millis): void {
    const connection = this.connections.get(connectionId);
    if (connection === undefined || connection.state !== 'connecting') return;
    this.failConnect(connection, String(reason));
    this.remove(connection);
  }

  /**
   * Driver, §5.3: a connection from `peer` arrived at the listener `relaySocket`. Returns its connection id
   * (a ConnectionAttempt went to the client), or undefined: close it at once (no permission, no such
   * allocation, too many connections).
   */
  peerAccepted(relaySocket: SocketId, peer: TransportAddress, now: Millis): number | undefined {
    const allocation = this.host.allocationOfRelay(relaySocket);
    const set = allocation === undefined ? undefined : this.byAllocation.get(allocation.key);
    const ip = typeof peer?.address === 'string' ? canonicalIp(peer.address) : '';
    if (allocation === undefined || set === undefined || !allocation.hasPermission(ip, now) || set.size >= this.limits.maxConnectionsPerAllocation) {
      this.counters.refused++;
      return undefined;
    }
    const connection: PeerConnection = {
      id: this.newConnectionId(),
      allocation,
      peer: { address: ip, port: peer.port },
      connectKey: undefined,
      state: 'pending',
      connect: undefined,
      deadline: now + this.limits.bindTimeoutMs,
    };
    this.add(connection);
    this.counters.accepted++;
    this.sendConnectionAttempt(connection);
    return connection.id;
  }

  /**
   * RFC 6062 §5.4, authenticated by the TurnServer (no allocation lookup: the request comes on a new
   * connection). On success the response is queued before the splice event, so it is written first.
   */
  handleConnectionBind(request: StunMessage, source: DatagramSource, auth: TurnAuthContext, _now: Millis): void {
    this.counters.connectionBindRequests++;
    const { responder } = this.host;
    if (this.host.streamTransportOf(source.socket) === undefined) {
      responder.error(request, source, 400, 'Bad Request: ConnectionBind needs a TCP or TLS connection', auth);
      return;
    }
    // §4.3: the data connection is a new one; the control connection stays for TURN messages.
    if (this.host.hasAllocationOn(source.socket)) {
      responder.error(request, source, 400, 'Bad Request: ConnectionBind on a control connection', auth);
      return;
    }
    const id = request.get('CONNECTION-ID');
    const connection = id === undefined ? undefined : this.connections.get(id);
    if (connection === undefined || connection.state !== 'pending') {
      responder.error(request, source, 400, 'Bad Request: CONNECTION-ID is missing or not a pending connection', auth);
      return;
    }
    // §4.3/§4.4: "the same method and credentials as for the control connection".
    if (auth.username !== connection.allocation.auth.username || auth.realm !== connection.allocation.auth.realm) {
      responder.error(request, source, 441, 'Wrong Credentials', auth);
      return;
    }
    connection.state = 'bound';
    connection.deadline = Infinity;
    this.counters.bound++;
    responder.success(request, source, [], auth);
    this.host.emit({ type: 'splice-tcp-peer', connectionId: connection.id, clientSocket: source.socket });
  }

  /** Driver: the peer connection (or, once spliced, either side of it) closed by itself. */
  connectionClosed(connectionId: number, _now: Millis): void {
    const connection = this.connections.get(connectionId);
    if (connection === undefined) return;
    if (connection.state === 'connecting') this.failConnect(connection, 'the connection closed');
    this.remove(connection);
  }

  /** Ends what is due; returns the next deadline (Infinity for none). */
  handleTimeout(now: Millis): Millis {
    let next = Infinity;
    for (const connection of [...this.connections.values()]) {
      if (connection.deadline <= now) {
        if (connection.state === 'connecting') this.end(connection, 'connect-timeout', true);
        else {
          this.counters.bindTimeouts++;
          this.end(connection, 'bind-timeout', true);
        }
      } else if (connection.deadline < next) {
        next = connection.deadline;
      }
    }
    return next;
  }

  private sendConnectionAttempt(connection: PeerConnection): void {
    const client = connection.allocation.client;
    const transactionId = new Uint8Array(12);
    crypto.getRandomValues(transactionId);
    const message = createStunMessage({
      method: StunMethod.ConnectionAttempt,
      class: 'indication',
      transactionId,
      cookie: MAGIC_COOKIE,
      attributes: [
        ['XOR-PEER-ADDRESS', connection.peer],
        ['CONNECTION-ID', connection.id],
      ],
    });
    this.host.send(client.socket, client.from, encodeStunMessage(message, { fingerprint: true }));
  }

  /** 447 to a Connect still waiting for its connection. */
  private failConnect(connection: PeerConnection, reason: string): void {
    const pending = connection.connect;
    if (pending === undefined) return;
    connection.connect = undefined;
    this.counters.connectFailed++;
    this.host.responder.error(pending.request, pending.source, 447, `Connection Timeout or Failure: ${reason}`, pending.auth);
  }

  /** Removes the connection and tells the driver to close it (and its data connection). */
  private end(connection: PeerConnection, reason: TurnTcpCloseReason, tellDriver: boolean): void {
    if (connection.state === 'connecting') this.failConnect(connection, reason === 'connect-timeout' ? 'timed out' : reason);
    this.remove(connection);
    if (tellDriver) this.host.emit({ type: 'close-tcp-peer', connectionId: connection.id, reason });
  }

  private add(connection: PeerConnection): void {
    this.connections.set(connection.id, connection);
    this.byAllocation.get(connection.allocation.key)?.add(connection);
    if (connection.connectKey !== undefined) this.byConnectKey.set(connection.connectKey, connection);
    this.host.schedule(connection.deadline);
  }

  private remove(connection: PeerConnection): void {
    if (this.connections.get(connection.id) !== connection) return;
    this.connections.delete(connection.id);
    this.byAllocation.get(connection.allocation.key)?.delete(connection);
    if (connection.connectKey !== undefined && this.byConnectKey.get(connection.connectKey) === connection) this.byConnectKey.delete(connection.connectKey);
    this.counters.closed++;
  }

  /** §5.2: "MUST uniquely identify the peer data connection"; random, so ids are not guessable in sequence. */
  private newConnectionId(): number {
    const word = new Uint32Array(1);
    do crypto.getRandomValues(word);
    while (word[0] === 0 || this.connections.has(word[0]));
    return word[0];
  }
}
