// The TURN server engine (RFC 8656 over UDP), sans-I/O. It contains a StunServer, so STUN Binding and TURN
// share one port, and adds allocations keyed by 5-tuple, long-term credential authentication, permissions,
// channels, data relaying, lifetimes, a denied-peer policy and quotas. It never throws on input: what it
// cannot use is counted and dropped.
//
// Relay sockets. The engine cannot open sockets, so a relayed transport address is obtained through its
// driver, asynchronously:
//
//   1. An Allocate passes every check: the engine emits `{ type: 'open-relay', requestId, family, evenPort }`
//      and holds the request (retransmissions of it are ignored meanwhile; quotas count it already).
//   2. The driver opens a UDP socket of that family (an even port if asked), attaches it under a SocketId of
//      its choosing that is not used for anything else, and calls
//      `relayOpened(requestId, socketId, relayedAddress, now)` — `relayedAddress` being what clients are told
//      (the socket's address, or the public address it is reached at) — or `relayFailed(requestId, reason,
//      now)`. The engine then sends the Allocate success (or 508 Insufficient Capacity).
//   3. Datagrams arriving on that socket are fed to `handleDatagram` with `source.socket === socketId`; the
//      engine sends to peers with transmits on that socket id.
//   4. When the allocation ends (expiry, Refresh with LIFETIME 0, `close()`) the engine emits
//      `{ type: 'close-relay', socket }` and the driver closes it. If the socket closes by itself the driver
//      calls `relayClosed(socketId, now)` and the allocation is deleted.
//
//   An answer that comes after `relayOpenTimeoutMs` (the Allocate has had its 508) or for an unknown
//   requestId is met with `close-relay` for the socket it offered.
import type { Millis } from '../net/clock.js';
import type { DatagramSource, Engine, SocketId, Transmit } from '../net/engine.js';
import { Queue } from '../net/engine.js';
import { isIp } from '../net/ip.js';
import { familyOf, type AddressFamily, type TransportAddress } from '../net/transport-address.js';
import { toHex } from '../crypto/index.js';
import { classifyDatagram, readCookie } from '../stun/classify.js';
import { HEADER_LENGTH, MAGIC_COOKIE, StunAttributeType, StunMethod } from '../stun/constants.js';
import { decodeStunMessage } from '../stun/decode.js';
import { StunParseError } from '../stun/errors.js';
import { classOfType, methodOfType } from '../stun/header.js';
import type { StunMessage } from '../stun/message.js';
import { TURN_NONCE_LIFETIME_MS } from '../timing.js';
import { CountedSet } from '../net/counted-set.js';
import { PeerPolicy } from './peer-policy.js';
import { StunServer } from './stun-server.js';
import { checkAllocateRequest } from './turn-allocate.js';
import { canonicalIp, fiveTupleKey, peerKey, TurnAllocation } from './turn-allocation.js';
import { TurnAuthenticator, type TurnAuthContext } from './turn-auth.js';
import { AllocationQuota, TokenBucket } from './turn-quota.js';
import { TurnRelay } from './turn-relay.js';
import { TurnResponder, type RequestRef } from './turn-responder.js';
import { createTurnServerCounters, type TurnServerCounters } from './turn-server-counters.js';
import { handleChannelBind, handleCreatePermission, handleRefresh, type TurnRequestContext } from './turn-requests.js';
import { resolveTurnLimits, type ResolvedTurnLimits, type TurnServerOptions } from './turn-server-options.js';
import type { TurnAllocationInfo, TurnDeallocationReason, TurnServerEvent } from './turn-server-events.js';

export type { TurnServerOptions } from './turn-server-options.js';
export type { TurnServerCounters, TurnDropReason } from './turn-server-counters.js';
export type { TurnAllocationInfo, TurnDeallocationReason, TurnServerEvent } from './turn-server-events.js';

interface PendingAllocation {
  readonly requestId: number;
  readonly key: string;
  readonly source: DatagramSource;
  readonly request: RequestRef;
  readonly transactionId: string;
  readonly auth: TurnAuthContext;
  readonly family: AddressFamily;
  readonly evenPort: boolean;
  readonly lifetimeS: number;
  readonly addressError: TurnAllocation['addressError'];
  readonly deadline: Millis;
}

const TURN_METHODS = [StunMethod.Allocate, StunMethod.Refresh, StunMethod.CreatePermission, StunMethod.ChannelBind, StunMethod.Send] as const;

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
  private readonly events = new Queue<TurnServerEvent>();
  private readonly allocations = new Map<string, TurnAllocation>();
  private readonly byRelaySocket = new Map<SocketId, TurnAllocation>();
  /** Relayed transport addresses of live allocations (peerKey → how many), the only peers reachable on the server's own addresses. */
  private readonly relayedKeys = new CountedSet<string>();
  private readonly pendingByKey = new Map<string, PendingAllocation>();
  private readonly pendingById = new Map<number, PendingAllocation>();
  private nextRequestId = 1;
  private nextDeadline: Millis | undefined;
  private closed = false;

  constructor(options: TurnServerOptions = {}) {
    this.limits = resolveTurnLimits(options);
    this.auth = new TurnAuthenticator(options, TURN_NONCE_LIFETIME_MS);
    this.policy = new PeerPolicy(options);
    this.quota = new AllocationQuota(this.limits.maxAllocationsPerUser, this.limits.maxAllocations);
    this.stun = new StunServer(options);
    this.responder = new TurnResponder(this.stun, options.software ?? 'icebridge', this.counters);
    this.relay = new TurnRelay(this.stun, this.counters, (ip, port) => !this.policy.isHostAddress(ip) || this.relayedKeys.has(peerKey(ip, port)));
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

  /** The realm clients authenticate in. */
  get realm(): string {
    return this.auth.realm;
  }

  /** False without users or a secret: TURN requests are then all answered 401, STUN Binding works. */
  get turnEnabled(): boolean {
    return this.auth.enabled;
  }

  get allocationCount(): number {
    return this.allocations.size;
  }

  allocationInfo(): TurnAllocationInfo[] {
    return [...this.allocations.values()].map((a) => ({
      client: a.client.from,
      relayed: a.relayed,
      relaySocket: a.relaySocket,
      username: a.auth.username,
      expiresAt: a.expiresAt,
      permissions: a.permissionCount,
      channels: a.channelCount,
      packetsRelayed: a.traffic.packetsToClient + a.traffic.packetsToPeers,
      bytesRelayed: a.traffic.bytesToClient + a.traffic.bytesToPeers,
    }));
  }

  handleDatagram(bytes: Uint8Array, source: DatagramSource, now: Millis): void {
    if (this.closed) return;
    try {
      const allocation = this.byRelaySocket.get(source.socket);
      if (allocation !== undefined) {
        this.relay.fromPeer(allocation, bytes, source.from, now);
        return;
      }
      this.counters.received++;
      const kind = classifyDatagram(bytes, { classicStun: true });
      if (kind === 'channel-data') this.relay.fromClientChannel(this.allocations.get(fiveTupleKey(source)), bytes, now);
      else if (kind === 'stun' && readCookie(bytes) === MAGIC_COOKIE) this.handleStun(bytes, source, now);
      else this.stun.handleDatagram(bytes, source, now); // RFC 3489 Binding, or not STUN: counted there
    } catch {
      this.counters.dropped['internal-error']++;
    }
  }

  handleTimeout(now: Millis): void {
    if (this.nextDeadline === undefined || now < this.nextDeadline) return;
    let next = Infinity;
    for (const pending of this.pendingById.values()) {
      if (pending.deadline <= now) this.failPending(pending, 'relay socket not opened in time');
      else next = Math.min(next, pending.deadline);
    }
    for (const allocation of this.allocations.values()) {
      if (allocation.expiresAt <= now) {
        this.counters.allocations.expired++;
        this.deallocate(allocation, 'expired');
      } else {
        next = Math.min(next, allocation.sweep(now, this.limits.channelReservationMs));
      }
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

  /** Step 2 of the relay protocol: the socket for `requestId` is open and attached as `socket`. */
  relayOpened(requestId: number, socket: SocketId, relayed: TransportAddress, now: Millis): void {
    const pending = this.pendingById.get(requestId);
    if (pending === undefined || this.closed) {
      this.counters.dropped['late-relay']++;
      this.events.push({ type: 'close-relay', socket });
      return;
    }
    if (this.byRelaySocket.has(socket)) {
      // A driver bug: the id is taken. Not closed — it belongs to a live allocation.
      this.failPending(pending, `relay socket id ${socket} is already in use`);
      return;
    }
    const usable =
      relayed !== null &&
      typeof relayed === 'object' &&
      isIp(relayed.address) &&
      familyOf(relayed.address) === pending.family &&
      Number.isInteger(relayed.port) &&
      relayed.port > 0 &&
      relayed.port < 65536 &&
      (!pending.evenPort || relayed.port % 2 === 0);
    if (!usable) {
      this.events.push({ type: 'close-relay', socket });
      this.failPending(pending, 'relay socket does not have the requested properties');
      return;
    }
    this.removePending(pending);
    const expiresAt = now + pending.lifetimeS * 1000;
    const bucket = new TokenBucket(this.limits.bytesPerSecond, this.limits.burstBytes, now);
    const relayedCopy = { address: relayed.address, port: relayed.port };
    const allocation = new TurnAllocation(pending.key, pending.source, socket, relayedCopy, pending.family, pending.auth, pending.transactionId, expiresAt, bucket, pending.addressError);
    this.allocations.set(pending.key, allocation);
    this.byRelaySocket.set(socket, allocation);
    this.relayedKeys.add(relayedKeyOf(allocation));
    this.schedule(expiresAt);
    this.counters.allocations.created++;
    this.events.push({ type: 'allocated', client: pending.source.from, relayed: relayedCopy, username: pending.auth.username, lifetimeS: pending.lifetimeS });
    this.answerAllocate(pending.request, pending.source, allocation, now);
  }

  /** Step 2 of the relay protocol, when no socket could be opened: the Allocate gets 508. */
  relayFailed(requestId: number, reason: string, _now: Millis): void {
    const pending = this.pendingById.get(requestId);
    if (pending === undefined) {
      this.counters.dropped['late-relay']++;
      return;
    }
    this.failPending(pending, String(reason));
  }

  /** The relay socket attached as `socket` closed by itself: its allocation is deleted. */
  relayClosed(socket: SocketId, _now: Millis): void {
    const allocation = this.byRelaySocket.get(socket);
    if (allocation === undefined) return;
    this.byRelaySocket.delete(socket); // already closed: no close-relay for it
    this.deallocate(allocation, 'relay-closed');
  }

  /** Deletes every allocation (emitting close-relay for each) and stops answering. */
  close(): void {
    if (this.closed) return;
    for (const pending of [...this.pendingById.values()]) {
      this.removePending(pending);
      this.quota.release(pending.auth.user);
    }
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
      if (message.class === 'indication') this.relay.fromClientSend(this.allocations.get(fiveTupleKey(source)), message, now);
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
    const allocation = this.allocations.get(fiveTupleKey(source));
    const auth = this.authenticate(message, source, now, allocation?.auth.username);
    if (auth === undefined) return true;
    if (allocation === undefined) {
      this.responder.error(message, source, 437, 'Allocation Mismatch', auth);
      return true;
    }
    // RFC 8656 §5: requests on an allocation must use the username that created it.
    if (auth.username !== allocation.auth.username) {
      this.responder.error(message, source, 441, 'Wrong Credentials', auth);
      return true;
    }
    const context: TurnRequestContext = {
      limits: this.limits,
      policy: this.policy,
      responder: this.responder,
      counters: this.counters,
      schedule: (at) => this.schedule(at),
      deallocate: (a) => this.deallocate(a, 'refresh'),
      isRelayedAddress: (peer) => this.relayedKeys.has(peerKey(canonicalIp(peer.address), peer.port)),
    };
    if (message.method === StunMethod.Refresh) handleRefresh(context, message, source, allocation, auth, now);
    else if (message.method === StunMethod.CreatePermission) handleCreatePermission(context, message, source, allocation, auth, now);
    else handleChannelBind(context, message, source, allocation, auth, now);
    return true;
  }

  /** RFC 8656 §7.2. */
  private handleAllocate(request: StunMessage, source: DatagramSource, now: Millis): void {
    const key = fiveTupleKey(source);
    const transactionId = toHex(request.transactionId);
    const existing = this.allocations.get(key);
    // §7.2 NOTE, the "stateless stack approach": a retransmission of the request that created the
    // allocation gets the success again.
    if (existing !== undefined && existing.transactionId === transactionId) {
      this.counters.allocations.retransmitted++;
      this.answerAllocate(request, source, existing, now);
      return;
    }
    const pending = this.pendingByKey.get(key);
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
    const check = checkAllocateRequest(request, this.limits);
    if (!check.ok) {
      this.responder.error(request, source, check.code, check.reason, auth);
      return;
    }
    const verdict = this.quota.check(auth.user);
    if (verdict !== 'ok') {
      if (verdict === 'user') this.responder.error(request, source, 486, 'Allocation Quota Reached', auth);
      else this.responder.error(request, source, 508, 'Insufficient Capacity', auth);
      return;
    }
    this.quota.acquire(auth.user);
    const { plan } = check;
    const requestId = this.nextRequestId++;
    const entry: PendingAllocation = {
      requestId,
      key,
      source: { socket: source.socket, from: { address: source.from.address, port: source.from.port } },
      request: { method: request.method, transactionId: request.transactionId.slice(), cookie: request.cookie, fingerprintOffset: request.fingerprintOffset },
      transactionId,
      auth,
      family: plan.family,
      evenPort: plan.evenPort,
      lifetimeS: plan.lifetimeS,
      addressError: plan.addressError,
      deadline: now + this.limits.relayOpenTimeoutMs,
    };
    this.pendingByKey.set(key, entry);
    this.pendingById.set(requestId, entry);
    this.schedule(entry.deadline);
    this.events.push({ type: 'open-relay', requestId, family: plan.family, evenPort: plan.evenPort });
  }

  private answerAllocate(request: RequestRef, source: DatagramSource, allocation: TurnAllocation, now: Millis): void {
    const lifetimeS = Math.max(0, Math.floor((allocation.expiresAt - now) / 1000));
    this.responder.success(
      request,
      source,
      [
        ['XOR-RELAYED-ADDRESS', allocation.relayed],
        ['LIFETIME', lifetimeS],
        ['XOR-MAPPED-ADDRESS', source.from],
        ...(allocation.addressError !== undefined ? [['ADDRESS-ERROR-CODE', allocation.addressError] as const] : []),
      ],
      allocation.auth,
    );
  }

  /** Runs the long-term credential checks; on failure answers (401/438 with a challenge, or 400) and returns undefined. */
  private authenticate(request: StunMessage, source: DatagramSource, now: Millis, allocationUsername: string | undefined): TurnAuthContext | undefined {
    const outcome = this.auth.authenticate(request, source.from, now, allocationUsername);
    if (outcome.ok) return outcome.auth;
    const reason = !this.auth.enabled && outcome.code === 401 ? 'Unauthenticated: TURN is disabled (no credentials configured)' : outcome.reason;
    this.responder.error(request, source, outcome.code, reason, undefined, outcome.challenge ? this.auth.challenge(source.from, now) : []);
    return undefined;
  }

  private failPending(pending: PendingAllocation, reason: string): void {
    this.removePending(pending);
    this.quota.release(pending.auth.user);
    this.counters.allocations.failed++;
    this.responder.error(pending.request, pending.source, 508, `Insufficient Capacity: ${reason}`.slice(0, 120), pending.auth);
  }

  private removePending(pending: PendingAllocation): void {
    this.pendingById.delete(pending.requestId);
    if (this.pendingByKey.get(pending.key) === pending) this.pendingByKey.delete(pending.key);
  }

  private deallocate(allocation: TurnAllocation, reason: TurnDeallocationReason): void {
    if (this.allocations.get(allocation.key) !== allocation) return;
    this.allocations.delete(allocation.key);
    this.relayedKeys.delete(relayedKeyOf(allocation));
    if (this.byRelaySocket.get(allocation.relaySocket) === allocation) {
      this.byRelaySocket.delete(allocation.relaySocket);
      this.events.push({ type: 'close-relay', socket: allocation.relaySocket });
    }
    this.quota.release(allocation.auth.user);
    this.counters.allocations.deleted++;
    this.events.push({ type: 'deallocated', client: allocation.client.from, relayed: allocation.relayed, username: allocation.auth.username, reason });
  }

  private schedule(at: Millis): void {
    if (this.nextDeadline === undefined || at < this.nextDeadline) this.nextDeadline = at;
  }
}

function relayedKeyOf(allocation: TurnAllocation): string {
  return peerKey(canonicalIp(allocation.relayed.address), allocation.relayed.port);
}
