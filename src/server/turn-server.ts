// The TURN server engine (RFC 8656 over UDP), sans-I/O. It contains a StunServer, so STUN Binding and TURN
// share one port, and adds allocations keyed by 5-tuple, long-term credential authentication, permissions,
// channels, data relaying, lifetimes, a denied-peer policy and quotas. It never throws on input: what it
// cannot use is counted and dropped.
//
// Relay sockets. The engine cannot open sockets, so a relayed transport address is obtained through its
// driver, asynchronously:
//
//   1. An Allocate passes every check: the engine emits `{ type: 'open-relay', requestId, families, evenPort,
//      reserveNext }` and holds the request (retransmissions of it are ignored meanwhile; quotas count it).
//   2. The driver opens one UDP socket per family in `families` (two for a dual allocation, RFC 8656 §7.2
//      step 9; an even port if `evenPort`; with `reserveNext` — EVEN-PORT R=1 — also the port above it on
//      the same address), attaches each under a SocketId not used for anything else, and calls
//      `relayOpened(requestId, socketId, relayedAddress, now, reserved?, additional?)` — `relayedAddress`
//      being what clients are told (the socket's address, or the public address it is reached at),
//      `reserved` the socket at port + 1, `additional` the second family's — or `relayFailed(requestId,
//      reason, now)` for the whole request. The engine then sends the Allocate success (or 508).
//   3. Datagrams arriving on a relay socket are fed to `handleDatagram` with `source.socket === socketId`;
//      the engine sends to peers with transmits on that socket id. A reserved socket's datagrams are dropped
//      until an Allocate with its RESERVATION-TOKEN makes it an allocation's relay (no new socket needed).
//   4. When an allocation or one family of it ends (expiry, Refresh with LIFETIME 0, the client's TCP/TLS
//      connection closing, `close()`) or a reservation expires, the engine emits `{ type: 'close-relay',
//      socket }` and the driver closes it. If the socket closes by itself the driver calls
//      `relayClosed(socketId, now)` and the allocation (or reservation) is deleted.
//
//   An answer that comes after `relayOpenTimeoutMs` (the Allocate has had its 508) or for an unknown
//   requestId is met with `close-relay` for the sockets it offered.
//
// Stream clients. A driver accepting TCP/TLS control connections (RFC 8656 §3.1) reports each with
// `clientSocketOpened(socket, transport, now)` and its end with `clientSocketClosed(socket, now)`, which
// deletes the allocation made over it: over TCP an allocation lives as long as its connection.
import type { Millis } from '../net/clock.js';
import type { DatagramSource, Engine, SocketId, Transmit } from '../net/engine.js';
import { Queue } from '../net/engine.js';
import type { AddressFamily, TransportAddress } from '../net/transport-address.js';
import { toHex } from '../crypto/index.js';
import { classifyDatagram, readCookie } from '../stun/classify.js';
import { HEADER_LENGTH, MAGIC_COOKIE, StunAttributeType, StunMethod } from '../stun/constants.js';
import { decodeStunMessage } from '../stun/decode.js';
import { StunParseError } from '../stun/errors.js';
import { classOfType, methodOfType } from '../stun/header.js';
import type { StunMessage } from '../stun/message.js';
import { TURN_NONCE_LIFETIME_MS } from '../timing.js';
import { CHANNEL_MAX } from '../turn/channel-data.js';
import { PeerPolicy } from './peer-policy.js';
import { StunServer } from './stun-server.js';
import { allocateSuccessAttributes, checkAllocateRequest } from './turn-allocate.js';
import { canonicalIp, fiveTupleKey, type TurnAllocation } from './turn-allocation.js';
import { AllocationTable } from './turn-allocation-table.js';
import { TurnAllocator } from './turn-allocator.js';
import { TurnTcpRelays } from './turn-tcp-relay.js';
import { TurnAuthenticator, type TurnAuthContext } from './turn-auth.js';
import type { OpenedRelay } from './turn-pending.js';
import { AllocationQuota } from './turn-quota.js';
import { TurnRelay } from './turn-relay.js';
import { TurnResponder } from './turn-responder.js';
import { createTurnServerCounters, type TurnServerCounters } from './turn-server-counters.js';
import { handleChannelBind, handleCreatePermission, handleRefresh, type TurnRequestContext } from './turn-requests.js';
import { resolveTurnLimits, type ResolvedTurnLimits, type TurnServerOptions } from './turn-server-options.js';
import type { TurnAllocationInfo, TurnDeallocationReason, TurnServerEvent } from './turn-server-events.js';

export type { TurnServerOptions } from './turn-server-options.js';
export type { TurnServerCounters, TurnDropReason } from './turn-server-counters.js';
export type { TurnAllocationInfo, TurnDeallocationReason, TurnServerEvent } from './turn-server-events.js';
export type { OpenedRelay } from './turn-pending.js';

const TURN_METHODS = [StunMethod.Allocate, StunMethod.Refresh, StunMethod.CreatePermission, StunMethod.ChannelBind, StunMethod.Send, StunMethod.Connect, StunMethod.ConnectionBind] as const;

export class TurnServer implements Engine<TurnServerEvent> {
  readonly counters: TurnServerCounters = createTurnServerCounters();
  /** The STUN server inside: it answers Binding, and its transmit queue carries everything this engine sends. */
  readonly stun: StunServer;
  readonly limits: ResolvedTurnLimits;
  private readonly auth: TurnAuthenticator;
  private readonly policy: PeerPolicy;
  private readonly quota: AllocationQuota;
  private readonly responder: TurnResponder;
  private readonly relay: TurnRelay;
  private readonly allocator: TurnAllocator;
  /** RFC 6062 TCP allocations: Connect, ConnectionBind, peer connections (the driver calls into it: turn-tcp-events.ts). */
  readonly tcp: TurnTcpRelays;
  private readonly events = new Queue<TurnServerEvent>();
  private readonly allocations = new AllocationTable();
  /** Client sockets that are TCP/TLS connections (clientSocketOpened); the others are UDP. */
  private readonly streamSockets = new Map<SocketId, 'tcp' | 'tls'>();
  private readonly requestContext: TurnRequestContext;
  /** Whether ChannelData may start with 0x50..0x7F (channel numbers up to 0x7FFF). */
  private readonly wideChannels: boolean;
  private nextDeadline: Millis | undefined;
  private closed = false;

  constructor(options: TurnServerOptions = {}) {
    this.limits = resolveTurnLimits(options);
    this.auth = new TurnAuthenticator(options, TURN_NONCE_LIFETIME_MS);
    this.policy = new PeerPolicy(options);
    this.quota = new AllocationQuota(this.limits.maxAllocationsPerUser, this.limits.maxAllocations);
    this.stun = new StunServer(options);
    this.responder = new TurnResponder(this.stun, options.software ?? 'icebridge', this.counters);
    const reachable = (ip: string, port: number) => !this.policy.isHostAddress(ip) || this.allocations.isRelayed(ip, port);
    this.relay = new TurnRelay(this.stun, this.counters, reachable, this.limits.channelMax);
    this.wideChannels = this.limits.channelMax > CHANNEL_MAX;
    const schedule = (at: Millis) => this.schedule(at);
    const { limits, counters, responder, events, allocations, quota, policy } = this;
    this.allocator = new TurnAllocator({ limits, counters, responder, events, allocations, quota, schedule });
    this.requestContext = {
      limits,
      policy,
      responder,
      counters,
      schedule,
      deallocate: (a) => this.deallocate(a, 'refresh'),
      removeRelay: (a, family) => this.removeRelay(a, family),
      isRelayedAddress: (peer) => this.allocations.isRelayed(canonicalIp(peer.address), peer.port),
    };
    this.tcp = new TurnTcpRelays(options, {
      responder,
      policy,
      send: (socket, to, bytes) => this.stun.send({ socket, to, bytes }),
      emit: (event) => events.push(event),
      schedule,
      isRelayedAddress: (peer) => this.allocations.isRelayed(canonicalIp(peer.address), peer.port),
      streamTransportOf: (socket) => this.streamTransportOf(socket),
      hasAllocationOn: (socket) => [...this.allocations.values()].some((a) => a.client.socket === socket),
      allocationOfRelay: (socket) => this.allocations.byRelay(socket),
    });
    for (const method of TURN_METHODS) this.stun.setMethodHandler(method, (m, s, now) => this.handleTurnMessage(m, s, now));
  }

  /**
   * The server's own addresses (its listening and relay addresses, every interface, a NAT's public address):
   * refused as peers unless `allowHostAddresses`, but for the relayed addresses of live allocations. The
   * Node driver feeds it from a watcher; call it again whenever they change.
   */
  setHostAddresses(addresses: readonly string[]): void {
    this.policy.setHostAddresses(addresses);
  }

  /** The default realm: the one clients are challenged with. */
  get realm(): string {
    return this.auth.realm;
  }

  /** Every realm served (option `realms`), the default first. */
  get realms(): string[] {
    return this.auth.realmNames;
  }

  /** False without users or a secret: TURN requests are then all answered 401, STUN Binding works. */
  get turnEnabled(): boolean {
    return this.auth.enabled;
  }

  get allocationCount(): number {
    return this.allocations.size;
  }

  /** Port reservations (EVEN-PORT R=1) held now. */
  get reservationCount(): number {
    return this.allocator.reservations.size;
  }

  allocationInfo(): TurnAllocationInfo[] {
    return this.allocations.info((socket) => this.streamSockets.get(socket) ?? 'udp');
  }

  /** The driver attached a TCP or TLS connection from a client as client socket `socket` (RFC 8656 §3.1). */
  clientSocketOpened(socket: SocketId, transport: 'tcp' | 'tls', _now: Millis): void {
    if (this.closed) return;
    this.streamSockets.set(socket, transport === 'tls' ? 'tls' : 'tcp');
  }

  /**
   * That connection closed: the allocation on it is deleted at once (RFC 8656 §3.1: over TCP or TLS an
   * allocation lasts as long as its connection) and an Allocate waiting on it is dropped, its quota freed.
   */
  clientSocketClosed(socket: SocketId, _now: Millis): void {
    this.streamSockets.delete(socket);
    this.allocator.dropClientSocket(socket);
    for (const allocation of this.allocations.onClientSocket(socket)) this.deallocate(allocation, 'connection-closed');
  }

  /** 'tcp' or 'tls' for a client socket the driver reported with clientSocketOpened; undefined otherwise. */
  streamTransportOf(socket: SocketId): 'tcp' | 'tls' | undefined {
    return this.streamSockets.get(socket);
  }

  handleDatagram(bytes: Uint8Array, source: DatagramSource, now: Millis): void {
    if (this.closed) return;
    try {
      const allocation = this.allocations.byRelay(source.socket);
      if (allocation !== undefined) {
        this.relay.fromPeer(allocation, bytes, source.from, now);
        return;
      }
      if (this.allocator.reservations.hasSocket(source.socket)) {
        this.counters.peerDatagrams++;
        this.counters.dropped['reserved-port']++;
        return;
      }
      this.counters.received++;
      const kind = classifyDatagram(bytes, { classicStun: true, wideChannels: this.wideChannels });
      if (kind === 'channel-data') this.relay.fromClientChannel(this.allocations.find(source), bytes, now);
      else if (kind === 'stun' && readCookie(bytes) === MAGIC_COOKIE) this.handleStun(bytes, source, now);
      else this.stun.handleDatagram(bytes, source, now); // RFC 3489 Binding, or not STUN: counted there
    } catch {
      this.counters.dropped['internal-error']++;
    }
  }

  handleTimeout(now: Millis): void {
    if (this.nextDeadline === undefined || now < this.nextDeadline) return;
    let next = Math.min(this.allocator.sweep(now), this.tcp.handleTimeout(now));
    for (const allocation of [...this.allocations.values()]) {
      if (allocation.expiresAt <= now) {
        this.counters.allocations.expired++;
        this.deallocate(allocation, 'expired');
        continue;
      }
      // One family of a dual allocation not refreshed (RFC 8656 §8) ends alone.
      for (const half of [...allocation.relays]) if (half.expiresAt <= now) this.removeRelay(allocation, half.family);
      next = Math.min(next, allocation.sweep(now, this.limits.channelReservationMs));
    }
    this.nextDeadline = next === Infinity ? undefined : next;
  }

  pollTransmit(): Transmit | undefined {
    return this.stun.pollTransmit();
  }

  pollTimeout(): Millis | undefined {
    return this.nextDeadline;
  }

  pollEvent(): TurnServerEvent | undefined {
    return this.events.shift();
  }

  /**
   * Step 2 of the relay protocol: the socket for `requestId` is open and attached as `socket`; with
   * EVEN-PORT R=1 `reserved` is the socket at the next port, for a dual allocation `additional` is the
   * second family's (the order of the event's `families`).
   */
  relayOpened(requestId: number, socket: SocketId, relayed: TransportAddress, now: Millis, reserved?: OpenedRelay, additional?: OpenedRelay): void {
    const offered: OpenedRelay[] = [{ socket, relayed }, ...(additional === undefined ? [] : [additional])];
    const tcp = this.allocator.pending.get(requestId)?.tcp === true;
    this.allocator.relayOpened(requestId, offered, reserved, this.closed, now);
    const created = tcp ? this.allocations.byRelay(socket) : undefined;
    if (created !== undefined) this.tcp.allocationCreated(created);
  }

  /** Step 2 of the relay protocol, when the sockets could not be opened: the Allocate gets 508. */
  relayFailed(requestId: number, reason: string, _now: Millis): void {
    this.allocator.relayFailed(requestId, reason);
  }

  /** The relay socket attached as `socket` closed by itself: its allocation (or reservation) is deleted. */
  relayClosed(socket: SocketId, _now: Millis): void {
    this.allocator.reservations.removeSocket(socket);
    const allocation = this.allocations.byRelay(socket);
    if (allocation === undefined) return;
    this.allocations.forgetRelaySocket(socket); // already closed: no close-relay for it
    this.deallocate(allocation, 'relay-closed');
  }

  /** Deletes every allocation and reservation (emitting close-relay for each socket) and stops answering. */
  close(): void {
    if (this.closed) return;
    this.allocator.close();
    for (const allocation of [...this.allocations.values()]) this.deallocate(allocation, 'closed');
    this.closed = true;
    this.nextDeadline = undefined;
  }

  private handleStun(bytes: Uint8Array, source: DatagramSource, now: Millis): void {
    let message: StunMessage;
    try {
      message = decodeStunMessage(bytes);
    } catch (err) {
      if (!(err instanceof StunParseError)) throw err;
      const type = (bytes[0] << 8) | bytes[1];
      const method = methodOfType(type);
      const turnRequest = classOfType(type) === 'request' && (TURN_METHODS as readonly number[]).includes(method);
      const attributable = err.offset >= HEADER_LENGTH && err.code !== 'FINGERPRINT_MISMATCH' && err.code !== 'FINGERPRINT_NOT_LAST';
      if (turnRequest && attributable) {
        // RFC 8656 §7.2 step 3 and the like: a malformed attribute in a TURN request is a 400.
        this.responder.malformed(bytes, source, `Bad Request: ${err.reason}`);
        return;
      }
      this.stun.handleDatagram(bytes, source, now); // Binding's own 400, or counted as malformed
      return;
    }
    this.stun.handleMessage(message, source, now);
  }

  /** Every TURN method arrives here through the StunServer's method handlers. */
  private handleTurnMessage(message: StunMessage, source: DatagramSource, now: Millis): boolean {
    if (message.method === StunMethod.Send) {
      if (message.class === 'indication') this.relay.fromClientSend(this.allocations.find(source), message, now);
      else this.counters.dropped['not-a-request']++;
      return true;
    }
    if (message.class !== 'request') {
      this.counters.dropped['not-a-request']++;
      return true;
    }
    // RFC 8489 §6.3.1 basic processing precedes authentication; DONT-FRAGMENT is unknown to a server that
    // cannot set DF (RFC 8656 §7.2 step 4).
    const unknown = [...message.unknownComprehensionRequired];
    if (message.method === StunMethod.Allocate && message.has('DONT-FRAGMENT')) unknown.push(StunAttributeType.DONT_FRAGMENT);
    if (unknown.length > 0) {
      this.responder.error(message, source, 420, 'Unknown Attribute', undefined, [['UNKNOWN-ATTRIBUTES', unknown]]);
      return true;
    }
    if (message.method === StunMethod.Allocate) {
      this.counters.requests.allocate++;
      this.handleAllocate(message, source, now);
      return true;
    }
    if (message.method === StunMethod.ConnectionBind) {
      // RFC 6062 §5.4: on a new data connection, so no allocation of its own to match.
      const bindAuth = this.authenticate(message, source, now, undefined);
      if (bindAuth !== undefined) this.tcp.handleConnectionBind(message, source, bindAuth, now);
      return true;
    }
    const allocation = this.allocations.find(source);
    const auth = this.authenticate(message, source, now, allocation?.auth.username);
    if (auth === undefined) return true;
    if (allocation === undefined) {
      this.responder.error(message, source, 437, 'Allocation Mismatch', auth);
      return true;
    }
    // RFC 8656 §5: requests on an allocation must use the username (and realm) that created it.
    if (auth.username !== allocation.auth.username || auth.realm !== allocation.auth.realm) {
      this.responder.error(message, source, 441, 'Wrong Credentials', auth);
      return true;
    }
    const context = this.requestContext;
    if (message.method === StunMethod.Refresh) handleRefresh(context, message, source, allocation, auth, now);
    else if (message.method === StunMethod.CreatePermission) handleCreatePermission(context, message, source, allocation, auth, now);
    else if (message.method === StunMethod.Connect) this.tcp.handleConnect(message, source, allocation, auth, now);
    else handleChannelBind(context, message, source, allocation, auth, now);
    return true;
  }

  /** RFC 8656 §7.2 steps 1–4 and the stateless checks; the rest is the allocator's. */
  private handleAllocate(request: StunMessage, source: DatagramSource, now: Millis): void {
    const key = fiveTupleKey(source);
    const transactionId = toHex(request.transactionId);
    const existing = this.allocations.get(key);
    // §7.2 NOTE, the "stateless stack approach": a retransmission of the request that created the
    // allocation gets the success again.
    if (existing !== undefined && existing.transactionId === transactionId) {
      this.counters.allocations.retransmitted++;
      this.responder.success(request, source, allocateSuccessAttributes(existing, source.from, now), existing.auth);
      return;
    }
    const pending = this.allocator.pending.forKey(key);
    if (pending !== undefined && pending.transactionId === transactionId) {
      this.counters.dropped['allocate-in-progress']++;
      return;
    }
    const auth = this.authenticate(request, source, now, undefined);
    if (auth === undefined) return;
    if (existing !== undefined || pending !== undefined) {
      this.responder.error(request, source, 437, 'Allocation Mismatch', auth);
      return;
    }
    const check = checkAllocateRequest(request, this.limits, this.tcp.allocateContext(source.socket));
    if (!check.ok) {
      this.responder.error(request, source, check.code, check.reason, auth);
      return;
    }
    this.allocator.allocate({ request, source, key, transactionId, auth, plan: check.plan }, now);
  }

  /** Runs the long-term credential checks; on failure answers (401/438 with a challenge, or 400) and returns undefined. */
  private authenticate(request: StunMessage, source: DatagramSource, now: Millis, allocationUsername: string | undefined): TurnAuthContext | undefined {
    const outcome = this.auth.authenticate(request, source.from, now, allocationUsername);
    if (outcome.ok) return outcome.auth;
    const reason = !this.auth.enabled && outcome.code === 401 ? 'Unauthenticated: TURN is disabled (no credentials configured)' : outcome.reason;
    this.responder.error(request, source, outcome.code, reason, undefined, outcome.challenge ? this.auth.challenge(source.from, now, outcome.realm) : []);
    return undefined;
  }

  /** Ends one family's relay of a dual allocation (its Refresh to 0, or its expiry), keeping the other. */
  private removeRelay(allocation: TurnAllocation, family: AddressFamily): void {
    const half = allocation.removeRelay(family);
    if (half !== undefined && this.allocations.releaseRelay(allocation, half)) this.events.push({ type: 'close-relay', socket: half.socket });
  }

  private deallocate(allocation: TurnAllocation, reason: TurnDeallocationReason): void {
    if (!this.allocations.isLive(allocation)) return;
    this.tcp.allocationDeleted(allocation);
    for (const socket of this.allocations.remove(allocation)) this.events.push({ type: 'close-relay', socket });
    this.quota.release(allocation.auth.quotaKey);
    this.counters.allocations.deleted++;
    this.events.push({ type: 'deallocated', client: allocation.client.from, relayed: allocation.relayed, username: allocation.auth.username, reason });
  }

  private schedule(at: Millis): void {
    if (this.nextDeadline === undefined || at < this.nextDeadline) this.nextDeadline = at;
  }
}
