// Processing the response to a connectivity check (RFC 8445 §7.2.5): authenticate it, require symmetric
// addresses, repair a role conflict (487), learn a local peer-reflexive candidate, and mark the pair
// valid — or count a consent response (RFC 7675).
import type { HmacSha1 } from '../crypto/index.js';
import type { DatagramSource } from '../net/engine.js';
import { verifyMessageIntegrity } from '../stun/integrity.js';
import type { StunMessage } from '../stun/message.js';
import type { TransactionTable } from '../stun/transactions.js';
import type { CandidatePair, LocalCandidate } from './candidate-pair.js';
import type { Checklist } from './checklist.js';
import type { IceRole } from './checks.js';
import type { ConsentFreshness } from './consent.js';
import { localPeerReflexive } from './local-peer-reflexive.js';
import type { RoleContext, RoleStrategy } from './roles.js';

/** What a check transaction remembers. */
export type CheckTransaction =
  | { kind: 'check'; pair: CandidatePair; useCandidate: boolean; role: IceRole }
  | { kind: 'consent'; pair: CandidatePair };

export interface ResponseContext {
  readonly transactions: TransactionTable<CheckTransaction>;
  readonly checklist: Checklist;
  readonly consent: ConsentFreshness;
  readonly localCandidates: LocalCandidate[];
  readonly roleContext: RoleContext;
  readonly remoteKey: HmacSha1 | undefined;
  readonly selectedPair: CandidatePair | undefined;
  readonly strategy: RoleStrategy;
  switchRole(role: IceRole, now: number): void;
}

export function handleCheckResponse(ctx: ResponseContext, message: StunMessage, source: DatagramSource, now: number): void {
  const pending = ctx.transactions.peek(message.transactionId);
  if (!pending) return;
  const t = pending.context;
  // §7.2.5: authenticate with the peer's password before anything else; a forged response is ignored.
  if (!ctx.remoteKey || message.integrityOffset < 0 || !verifyMessageIntegrity(message, ctx.remoteKey)) return;
  // §7.2.5.2.1: the response must come from where the check went, to the base it left from.
  if (pending.socket !== source.socket || ctx.transactions.match(message.transactionId, source.from).kind !== 'matched') {
    if (t.kind === 'check') {
      t.pair.state = 'failed';
      t.pair.failureReason = 'the response came from another address than the check went to (RFC 8445 §7.2.5.2.1)';
    }
    ctx.transactions.cancel(message.transactionId);
    return;
  }
  const pair = t.pair;
  pair.stats.responsesReceived++;
  pair.stats.lastResponseTimestamp = now;
  pair.stats.lastPacketReceivedTimestamp = now;
  // Karn's algorithm (RFC 8489 §6.2.1): a retransmitted request gives no RTT sample.
  if (pending.sends === 1) {
    const rtt = (now - pending.startedAt) / 1000;
    pair.stats.currentRoundTripTime = rtt;
    pair.stats.totalRoundTripTime += rtt;
  }
  if (t.kind === 'consent') {
    if (message.class === 'success') ctx.consent.onResponse(now);
    return;
  }
  if (pair.inFlight === message.transactionId) pair.inFlight = undefined;

  if (message.class === 'error') {
    const code = message.get('ERROR-CODE')?.code;
    if (code === 487) {
      // §7.2.5.1: role conflict — take the other role and check the pair again.
      // Leave the role this check claimed, whatever the agent has switched to since (no flip-flop).
      ctx.switchRole(t.role === 'controlling' ? 'controlled' : 'controlling', now);
      pair.state = 'waiting';
      ctx.checklist.trigger(pair);
    } else {
      const error = message.get('ERROR-CODE');
      pair.state = 'failed';
      pair.failureReason = `the peer answered the check with ${error ? `${error.code} ${error.reason}` : 'an error'}`;
    }
    return;
  }
  const learned = localPeerReflexive(pair, message.get('XOR-MAPPED-ADDRESS'), ctx.localCandidates);
  if (learned) ctx.localCandidates.push(learned);
  pair.state = 'succeeded';
  pair.valid = true;
  ctx.checklist.unfreeze(pair.foundation);
  if (ctx.selectedPair === pair) ctx.consent.onResponse(now);
  ctx.strategy.onValid(ctx.roleContext, pair, t.useCandidate, now);
}
