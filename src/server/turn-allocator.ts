// How an authenticated, checked Allocate becomes an allocation (RFC 8656 §7.2 from step 5 on): the
// RESERVATION-TOKEN and port-reservation checks, quotas (step 10), then either the reserved socket at once
// or the relay-socket round trip through the driver (steps 1–2 of the protocol in turn-server.ts), and
// the success response. It holds the Allocates waiting for sockets and the port reservations.
import type { Millis } from '../net/clock.js';
import type { DatagramSource, Queue, SocketId } from '../net/engine.js';
import { allocateSuccessAttributes, type AllocatePlan } from './turn-allocate.js';
import { TurnAllocation, type RelayHalf } from './turn-allocation.js';
import type { AllocationTable } from './turn-allocation-table.js';
import type { TurnAuthContext } from './turn-auth.js';
import { checkOpenedRelays, copyRequest, copySource, PendingTable, type OpenedRelay, type PendingAllocation } from './turn-pending.js';
import { TokenBucket, type AllocationQuota } from './turn-quota.js';
import { ReservationTable } from './turn-reservations.js';
import type { RequestRef, TurnResponder } from './turn-responder.js';
import type { TurnServerCounters } from './turn-server-counters.js';
import type { TurnServerEvent } from './turn-server-events.js';
import type { ResolvedTurnLimits } from './turn-server-options.js';

/** What the allocator shares with the engine. */
export interface AllocatorContext {
  readonly limits: ResolvedTurnLimits;
  readonly counters: TurnServerCounters;
  readonly responder: TurnResponder;
  readonly events: Queue<TurnServerEvent>;
  readonly allocations: AllocationTable;
  readonly quota: AllocationQuota;
  /** Makes sure the engine wakes up by `at`. */
  schedule(at: Millis): void;
}

/** An Allocate that passed the stateless checks, about to be allocated. */
export interface AllocateAttempt {
  readonly request: RequestRef;
  readonly source: DatagramSource;
  /** fiveTupleKey(source). */
  readonly key: string;
  /** The request's transaction ID in hex. */
  readonly transactionId: string;
  readonly auth: TurnAuthContext;
  readonly plan: AllocatePlan;
}

const BAD_TOKEN = 'Insufficient Capacity: unknown or expired reservation token';

export class TurnAllocator {
  readonly pending = new PendingTable();
  readonly reservations: ReservationTable;
  private nextRequestId = 1;

  constructor(private readonly ctx: AllocatorContext) {
    this.reservations = new ReservationTable(ctx.limits.maxReservations);
  }

  /** RFC 8656 §7.2 steps 5, 8 (what needs state) and 10, then the relay. Answers at once or once the driver did. */
  allocate(attempt: AllocateAttempt, now: Millis): void {
    const { ctx } = this;
    const { request, source, auth, plan } = attempt;
    // Step 5: the token must name a live reservation; step 8: a new reservation must fit.
    if (plan.token !== undefined && !this.reservations.valid(plan.token, now)) {
      ctx.responder.error(request, source, 508, BAD_TOKEN, auth);
      return;
    }
    if (plan.reserveNext && this.reservations.full) {
      ctx.responder.error(request, source, 508, 'Insufficient Capacity: too many port reservations', auth);
      return;
    }
    const verdict = ctx.quota.check(auth.quotaKey);
    if (verdict !== 'ok') {
      if (verdict === 'user') ctx.responder.error(request, source, 486, 'Allocation Quota Reached', auth);
      else ctx.responder.error(request, source, 508, 'Insufficient Capacity', auth);
      return;
    }
    ctx.quota.acquire(auth.quotaKey);
    const kept: AllocateAttempt = { ...attempt, source: copySource(source), request: copyRequest(request) };
    if (plan.token !== undefined) {
      this.allocateReserved(kept, plan.token, now);
      return;
    }
    const requestId = this.nextRequestId++;
    const entry: PendingAllocation = {
      requestId,
      key: kept.key,
      source: kept.source,
      request: kept.request,
      transactionId: kept.transactionId,
      auth,
      families: plan.families,
      evenPort: plan.evenPort,
      reserveNext: plan.reserveNext,
      tcp: plan.tcp,
      lifetimeS: plan.lifetimeS,
      addressError: plan.addressError,
      deadline: now + ctx.limits.relayOpenTimeoutMs,
    };
    this.pending.add(entry);
    ctx.schedule(entry.deadline);
    if (plan.tcp === true) ctx.events.push({ type: 'open-tcp-relay', requestId, family: plan.families[0] });
    else ctx.events.push({ type: 'open-relay', requestId, family: plan.families[0], families: plan.families, evenPort: plan.evenPort, reserveNext: plan.reserveNext });
  }

  /** Step 2 of the relay protocol (see TurnServer.relayOpened). */
  relayOpened(requestId: number, offered: readonly OpenedRelay[], reserved: OpenedRelay | undefined, closed: boolean, now: Millis): void {
    const { ctx } = this;
    const all = [...offered, ...(reserved === undefined ? [] : [reserved])];
    const pending = this.pending.get(requestId);
    if (pending === undefined || closed) {
      ctx.counters.dropped['late-relay']++;
      for (const relay of all) ctx.events.push({ type: 'close-relay', socket: relay.socket });
      return;
    }
    const inUse = (id: SocketId) => ctx.allocations.hasRelaySocket(id) || this.reservations.hasSocket(id);
    const check = checkOpenedRelays(pending, offered, reserved, inUse, now + pending.lifetimeS * 1000);
    if (!check.ok) {
      // A socket id already taken belongs to something live: only the others are closed.
      for (const relay of all) if (!inUse(relay.socket)) ctx.events.push({ type: 'close-relay', socket: relay.socket });
      this.fail(pending, check.reason);
      return;
    }
    this.pending.remove(pending);
    let token: Uint8Array | undefined;
    if (check.reserved !== undefined) {
      const expiresAt = now + ctx.limits.reservationLifetimeMs;
      token = this.reservations.add(check.reserved.socket, check.reserved.relayed, check.relays[0].family, pending.auth.username, expiresAt);
      ctx.counters.reservations.created++;
      ctx.schedule(expiresAt);
    }
    this.create(pending, check.relays, pending.addressError, token, now);
  }

  /** Step 2 of the relay protocol, when the sockets could not be opened: the Allocate gets 508. */
  relayFailed(requestId: number, reason: string): void {
    const pending = this.pending.get(requestId);
    if (pending === undefined) {
      this.ctx.counters.dropped['late-relay']++;
      return;
    }
    this.fail(pending, String(reason));
  }

  /** Fails the Allocates that waited too long and ends expired reservations; returns the next deadline. */
  sweep(now: Millis): Millis {
    let next = Infinity;
    for (const pending of this.pending.values()) {
      if (pending.deadline <= now) this.fail(pending, 'relay socket not opened in time');
      else next = Math.min(next, pending.deadline);
    }
    const reservations = this.reservations.expire(now);
    for (const reservation of reservations.expired) {
      this.ctx.counters.reservations.expired++;
      this.ctx.events.push({ type: 'close-relay', socket: reservation.socket });
    }
    return Math.min(next, reservations.next);
  }

  /** Drops the Allocates waiting on client socket `socket` (its connection closed), freeing their quota. */
  dropClientSocket(socket: SocketId): void {
    for (const pending of this.pending.values()) {
      if (pending.source.socket !== socket) continue;
      this.pending.remove(pending);
      this.ctx.quota.release(pending.auth.quotaKey);
    }
  }

  /** Drops every waiting Allocate and closes every reservation's socket. */
  close(): void {
    for (const pending of this.pending.values()) {
      this.pending.remove(pending);
      this.ctx.quota.release(pending.auth.quotaKey);
    }
    for (const reservation of this.reservations.clear()) this.ctx.events.push({ type: 'close-relay', socket: reservation.socket });
  }

  /** RFC 8656 §7.2: an Allocate with a valid RESERVATION-TOKEN gets the reserved socket, at once. */
  private allocateReserved(attempt: AllocateAttempt, token: Uint8Array, now: Millis): void {
    const reservation = this.reservations.take(token, now);
    if (reservation === undefined) {
      this.ctx.quota.release(attempt.auth.quotaKey);
      this.ctx.responder.error(attempt.request, attempt.source, 508, BAD_TOKEN, attempt.auth);
      return;
    }
    this.ctx.counters.reservations.used++;
    const half: RelayHalf = { socket: reservation.socket, relayed: reservation.relayed, family: reservation.family, expiresAt: now + attempt.plan.lifetimeS * 1000 };
    this.create(attempt, [half], undefined, undefined, now);
  }

  private create(
    from: Pick<AllocateAttempt, 'key' | 'source' | 'request' | 'transactionId' | 'auth'>,
    relays: RelayHalf[],
    addressError: TurnAllocation['addressError'],
    token: Uint8Array | undefined,
    now: Millis,
  ): void {
    const { ctx } = this;
    const bucket = new TokenBucket(ctx.limits.bytesPerSecond, ctx.limits.burstBytes, now);
    const allocation = new TurnAllocation(from.key, from.source, relays, from.auth, from.transactionId, bucket, addressError, token);
    ctx.allocations.add(allocation);
    ctx.schedule(allocation.expiresAt);
    ctx.counters.allocations.created++;
    const relayedAddresses = relays.map((h) => h.relayed);
    const lifetimeS = Math.round((allocation.expiresAt - now) / 1000);
    ctx.events.push({ type: 'allocated', client: from.source.from, relayed: relayedAddresses[0], relayedAddresses, username: from.auth.username, lifetimeS });
    ctx.responder.success(from.request, from.source, allocateSuccessAttributes(allocation, from.source.from, now), from.auth);
  }

  private fail(pending: PendingAllocation, reason: string): void {
    this.pending.remove(pending);
    this.ctx.quota.release(pending.auth.quotaKey);
    this.ctx.counters.allocations.failed++;
    this.ctx.responder.error(pending.request, pending.source, 508, `Insufficient Capacity: ${reason}`.slice(0, 120), pending.auth);
  }
}
