// Sending connectivity checks (RFC 8445 §7.2.4) and consent checks (RFC 7675 §5.1: the same Binding
// request), retransmitting them and failing the pairs whose check times out (§7.2.5.2.3). The agent and its
// pacer decide when a check goes out; this module builds it and keeps its transaction.
import type { HmacSha1 } from '../crypto/index.js';
import type { Transmit } from '../net/engine.js';
import type { TransactionTable } from '../stun/transactions.js';
import { ICE_MIN_RTO_MS } from '../timing.js';
import type { IceParameters } from './agent-options.js';
import { peerReflexivePriority } from './candidate.js';
import type { CandidatePair } from './candidate-pair.js';
import type { CheckTransaction } from './check-response.js';
import type { Checklist } from './checklist.js';
import { encodeCheckRequest, type IceRole } from './checks.js';
import type { ConsentFreshness } from './consent.js';

/** What sending checks needs of the agent. */
export interface OutboundContext {
  readonly role: IceRole;
  readonly tieBreaker: bigint;
  readonly localUfrag: string;
  readonly remoteParameters: IceParameters | undefined;
  readonly remoteKey: HmacSha1 | undefined;
  readonly renominating: boolean;
  /** Ta (RFC 8445 §14.2): a check's RTO grows with it. */
  readonly taMs: number;
  readonly checklist: Checklist;
  readonly transactions: TransactionTable<CheckTransaction>;
  readonly consent: ConsentFreshness;
  readonly selectedPair: CandidatePair | undefined;
  /** The last NOMINATION counter sent (draft-thatcher-ice-renomination §3). */
  nominationCounter: number;
  /** Queues a datagram. */
  reply(transmit: Transmit): void;
}

/** Starts a check (or a consent check, RFC 7675 §5.1: the same Binding request) on `pair`. */
export function sendCheck(ctx: OutboundContext, pair: CandidatePair, useCandidate: boolean, now: number, consent = false): void {
  if (!ctx.remoteParameters || !ctx.remoteKey) return;
  const local = pair.local.candidate;
  const { transactionId, bytes } = encodeCheckRequest({
    localUfrag: ctx.localUfrag,
    remoteUfrag: ctx.remoteParameters.usernameFragment,
    remoteKey: ctx.remoteKey,
    // §7.1.1: PRIORITY is what a peer-reflexive candidate from this base would get.
    priority: peerReflexivePriority(local),
    role: ctx.role,
    tieBreaker: ctx.tieBreaker,
    useCandidate: useCandidate && ctx.role === 'controlling',
    nomination: useCandidate && ctx.role === 'controlling' && ctx.renominating ? (pair.nomination = ++ctx.nominationCounter) : undefined,
  });
  pair.stats.requestsSent++;
  pair.stats.lastRequestTimestamp = now;
  if (consent) {
    pair.stats.consentRequestsSent++;
    ctx.transactions.start(transactionId, bytes, pair.remoteAddress, pair.local.socket, now, { kind: 'consent', pair });
  } else {
    // §14.3 (the RFC 5245 form): RTO = MAX(500 ms, Ta × (Waiting + In-Progress)).
    const rto = Math.max(ICE_MIN_RTO_MS, ctx.taMs * ctx.checklist.active);
    pair.state = 'in-progress';
    pair.inFlight = transactionId;
    ctx.transactions.start(transactionId, bytes, pair.remoteAddress, pair.local.socket, now, { kind: 'check', pair, useCandidate, role: ctx.role }, false, rto);
  }
  transmit(ctx, pair, bytes, now);
}

/** Queues `bytes` (a check or application data) on `pair`, counting them in its stats. */
export function transmit(ctx: OutboundContext, pair: CandidatePair, bytes: Uint8Array, now: number): void {
  pair.stats.packetsSent++;
  pair.stats.lastPacketSentTimestamp = now;
  ctx.reply({ socket: pair.local.socket, to: pair.remoteAddress, bytes });
}

/** Sends the consent check on the selected pair if one is due. */
export function runConsent(ctx: OutboundContext, now: number): void {
  const pair = ctx.selectedPair;
  if (!pair || !ctx.consent.running) return;
  if (ctx.consent.takeDueCheck(now)) sendCheck(ctx, pair, false, now, true);
}

/** Retransmits the checks that are due and fails the pairs whose check went unanswered; true if any timed out. */
export function expireChecks(ctx: OutboundContext, now: number): boolean {
  const { retransmit, timedOut } = ctx.transactions.expire(now);
  for (const t of retransmit) ctx.reply({ socket: t.socket, to: t.to, bytes: t.request });
  for (const t of timedOut) {
    // §7.2.5.2.3: a check that times out fails its pair; a lost consent check only waits for expiry.
    if (t.context.kind === 'check' && t.context.pair.inFlight === t.transactionId) {
      t.context.pair.inFlight = undefined;
      t.context.pair.state = 'failed';
      t.context.pair.failureReason = `no answer to the check within ${Math.round((now - t.startedAt) / 100) / 10} s (RFC 8489 §6.2.1 retransmissions)`;
    }
  }
  return timedOut.length > 0;
}
