// The client transaction table of RFC 8489 §6.2: it remembers requests in flight, says when each must be
// retransmitted or has timed out, and matches responses to requests. It does no I/O and reads no clock.
import type { SocketId } from '../net/engine.js';
import { sameTransportAddress, type TransportAddress } from '../net/transport-address.js';
import { STUN_RC, STUN_RELIABLE_TIMEOUT_MS, STUN_RM, STUN_RTO_MS } from '../timing.js';

export interface TransactionOptions {
  /** Initial RTO in ms (RFC 8489 §6.2.1). Default 500. */
  rtoMs?: number;
  /** Requests sent in all over an unreliable transport (Rc). Default 7. */
  rc?: number;
  /** Final wait after the last request, in initial RTOs (Rm). Default 16. */
  rm?: number;
  /** Timeout of a transaction over TCP/TLS, sent once (Ti, RFC 8489 §6.2.2). Default 39 500. */
  reliableTimeoutMs?: number;
  /** How many completed transaction ids are remembered to tell duplicates from strays. Default 256. */
  rememberCompleted?: number;
}

export interface ClientTransaction<Context> {
  readonly key: string;
  readonly transactionId: Uint8Array;
  readonly socket: SocketId;
  readonly to: TransportAddress;
  readonly request: Uint8Array;
  readonly reliable: boolean;
  readonly startedAt: number;
  readonly context: Context;
  /** How many times the request has been sent. */
  sends: number;
  /** Time of the next retransmission, or of the timeout after the last one. */
  deadline: number;
  /** The current (doubled) retransmission timeout. */
  rto: number;
  /** The RTO the transaction started with (Rm multiplies this one). */
  readonly initialRto: number;
}

export type MatchResult<Context> =
  | { kind: 'matched'; transaction: ClientTransaction<Context> }
  | { kind: 'duplicate' }
  | { kind: 'stray' };

export interface TransactionCounters {
  started: number;
  retransmits: number;
  timeouts: number;
  /** Responses to a transaction already answered. */
  duplicates: number;
  /** Responses matching no transaction, or from an address the request did not go to. */
  strays: number;
}

export interface Expired<Context> {
  retransmit: ClientTransaction<Context>[];
  timedOut: ClientTransaction<Context>[];
}

/** The 12-byte transaction id as a short string, usable as a Map key. */
export function transactionKey(transactionId: Uint8Array): string {
  let key = '';
  for (let i = 0; i < transactionId.length; i++) key += String.fromCharCode(transactionId[i]);
  return key;
}

export class TransactionTable<Context = undefined> {
  readonly counters: TransactionCounters = { started: 0, retransmits: 0, timeouts: 0, duplicates: 0, strays: 0 };
  private readonly inFlight = new Map<string, ClientTransaction<Context>>();
  private readonly completed = new Set<string>();
  private readonly rtoMs: number;
  private readonly rc: number;
  private readonly rm: number;
  private readonly reliableTimeoutMs: number;
  private readonly rememberCompleted: number;

  constructor(options: TransactionOptions = {}) {
    this.rtoMs = options.rtoMs ?? STUN_RTO_MS;
    this.rc = options.rc ?? STUN_RC;
    this.rm = options.rm ?? STUN_RM;
    this.reliableTimeoutMs = options.reliableTimeoutMs ?? STUN_RELIABLE_TIMEOUT_MS;
    this.rememberCompleted = options.rememberCompleted ?? 256;
    if (!(this.rtoMs > 0) || !Number.isInteger(this.rc) || this.rc < 1 || !(this.rm > 0)) {
      throw new RangeError('TransactionTable: rtoMs and rm must be > 0 and rc a whole number ≥ 1');
    }
  }

  get size(): number {
    return this.inFlight.size;
  }

  /**
   * Records a request the caller sends now (its first transmission). A reliable transport gets no
   * retransmissions, only the Ti timer. `rtoMs` overrides the table's RTO for this transaction (ICE
   * computes one per check, RFC 8445 §14.3).
   */
  start(
    transactionId: Uint8Array,
    request: Uint8Array,
    to: TransportAddress,
    socket: SocketId,
    now: number,
    context: Context,
    reliable = false,
    rtoMs = this.rtoMs,
  ): ClientTransaction<Context> {
    const key = transactionKey(transactionId);
    if (this.inFlight.has(key)) throw new RangeError('TransactionTable: transaction id already in flight');
    const t: ClientTransaction<Context> = {
      key,
      transactionId,
      socket,
      to,
      request,
      reliable,
      startedAt: now,
      context,
      sends: 1,
      rto: rtoMs,
      initialRto: rtoMs,
      deadline: now + (reliable ? this.reliableTimeoutMs : this.rc === 1 ? this.rm * rtoMs : rtoMs),
    };
    this.inFlight.set(key, t);
    this.counters.started++;
    return t;
  }

  /**
   * Matches a response by transaction id and source (RFC 8489 §6.3.1: the response must come from where the
   * request went). A match ends the transaction.
   */
  match(transactionId: Uint8Array, from: TransportAddress | undefined): MatchResult<Context> {
    const key = transactionKey(transactionId);
    const t = this.inFlight.get(key);
    if (!t || (from !== undefined && !sameTransportAddress(t.to, from))) {
      if (!t && this.completed.has(key)) {
        this.counters.duplicates++;
        return { kind: 'duplicate' };
      }
      this.counters.strays++;
      return { kind: 'stray' };
    }
    this.finish(t);
    return { kind: 'matched', transaction: t };
  }

  /** The transaction in flight with this id, without ending it (to check a response before accepting it). */
  peek(transactionId: Uint8Array): ClientTransaction<Context> | undefined {
    return this.inFlight.get(transactionKey(transactionId));
  }

  /**
   * Stops retransmitting a transaction but keeps waiting for its response until Rm × RTO from now (RFC 8445
   * §7.3.1.4 "cancels" an In-Progress check this way). Its timeout is still reported.
   */
  stopRetransmitting(transactionId: Uint8Array, now: number): void {
    const t = this.inFlight.get(transactionKey(transactionId));
    if (!t || t.reliable) return;
    t.sends = Math.max(t.sends, this.rc);
    t.deadline = now + this.rm * t.initialRto;
  }

  /** Ends a transaction without a response (the caller gave up on it). */
  cancel(transactionId: Uint8Array): ClientTransaction<Context> | undefined {
    const t = this.inFlight.get(transactionKey(transactionId));
    if (t) this.inFlight.delete(t.key);
    return t;
  }

  /**
   * Ends every transaction sent through `socket` to `to` and returns them: the way there is refused (an
   * ICMP-like error, DatagramSocket.onunreachable), so retransmitting until the timeout would be in vain.
   */
  abandonTo(socket: SocketId, to: TransportAddress): ClientTransaction<Context>[] {
    const ended: ClientTransaction<Context>[] = [];
    for (const t of this.inFlight.values()) {
      if (t.socket === socket && sameTransportAddress(t.to, to)) ended.push(t);
    }
    for (const t of ended) this.inFlight.delete(t.key);
    return ended;
  }

  /**
   * The transactions whose deadline has passed: those to send again (RTO doubled, §6.2.1) and those that
   * timed out (Rm × RTO after the Rc-th request, or Ti on a reliable transport), which are removed.
   */
  expire(now: number): Expired<Context> {
    const result: Expired<Context> = { retransmit: [], timedOut: [] };
    for (const t of this.inFlight.values()) {
      if (t.deadline > now) continue;
      if (t.reliable || t.sends >= this.rc) {
        this.inFlight.delete(t.key);
        this.counters.timeouts++;
        result.timedOut.push(t);
        continue;
      }
      t.sends++;
      t.rto *= 2;
      // After the Rc-th send the wait is Rm times the initial RTO, not the doubled one.
      t.deadline = now + (t.sends >= this.rc ? this.rm * t.initialRto : t.rto);
      this.counters.retransmits++;
      result.retransmit.push(t);
    }
    return result;
  }

  nextDeadline(): number | undefined {
    let next: number | undefined;
    for (const t of this.inFlight.values()) if (next === undefined || t.deadline < next) next = t.deadline;
    return next;
  }

  *[Symbol.iterator](): IterableIterator<ClientTransaction<Context>> {
    yield* this.inFlight.values();
  }

  private finish(t: ClientTransaction<Context>): void {
    this.inFlight.delete(t.key);
    this.completed.add(t.key);
    if (this.completed.size > this.rememberCompleted) {
      const oldest = this.completed.values().next().value;
      if (oldest !== undefined) this.completed.delete(oldest);
    }
  }
}
