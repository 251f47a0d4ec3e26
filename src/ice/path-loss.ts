// Paths that are gone before consent says so: a local socket (its address went away, or it closed) or a
// destination that refuses our datagrams (RFC 8445 §7.2.5.2.2). Their pairs fail now, and the selected pair
// among them is replaced (failover.ts); the agent then reconsiders nominations and its state.
import type { DestinationUnreachableError } from '../net/datagram-socket.js';
import type { DatagramSource, SocketId } from '../net/engine.js';
import type { TransactionTable } from '../stun/transactions.js';
import type { IceAgentCounters, IceAgentEvent, IceTransportState } from './agent-options.js';
import type { CandidatePair, LocalCandidate } from './candidate-pair.js';
import type { CheckTransaction } from './check-response.js';
import { failOver, type FailoverContext } from './failover.js';

/** What losing a path needs of the agent. */
export interface PathLossContext extends FailoverContext {
  readonly localCandidates: LocalCandidate[];
  readonly transactions: TransactionTable<CheckTransaction>;
  readonly localGatheringComplete: boolean;
  readonly counters: IceAgentCounters;
  emit(event: IceAgentEvent): void;
  setState(state: IceTransportState, now: number): void;
}

/** Drops the candidates of `socket` and fails their pairs; returns those pairs. */
export function dropLocalCandidates(ctx: PathLossContext, socket: SocketId, reason: string, now: number): CandidatePair[] {
  for (let i = ctx.localCandidates.length - 1; i >= 0; i--) if (ctx.localCandidates[i].socket === socket) ctx.localCandidates.splice(i, 1);
  for (const t of [...ctx.transactions]) if (t.socket === socket) ctx.transactions.cancel(t.transactionId);
  const failed = ctx.checklist.failLocal(socket, reason);
  if (ctx.selectedPair && failed.includes(ctx.selectedPair) && !failOver(ctx, ctx.selectedPair, reason, now)) {
    if (ctx.localGatheringComplete) ctx.consent.expire(now);
    else {
      // RFC 8838 §8: while candidates may still come (continual gathering: a new address is being gathered
      // on) this is no failure: disconnected, checks go on, and a pair of the new candidates is selected.
      ctx.selectedPair = undefined;
      ctx.consent.stop();
      ctx.setState('disconnected', now);
    }
  }
  return failed;
}

/** Ends the checks in flight from `source.socket` to `source.from` and fails the pairs between them. */
export function refuseDestination(ctx: PathLossContext, error: DestinationUnreachableError, source: DatagramSource, now: number): void {
  ctx.counters.unreachable++;
  // A TURN permission is per IP (RFC 8656 §9): the server refuses every port of a forbidden peer.
  const anyPort = error.code === 'peer-forbidden';
  ctx.transactions.abandonTo(source.socket, source.from);
  if (anyPort) {
    const refused = [...ctx.transactions].filter((t) => t.socket === source.socket && t.to.address === source.from.address);
    for (const t of refused) ctx.transactions.cancel(t.transactionId);
  }
  const failed = ctx.checklist.failTowards(source.socket, source.from, anyPort, error.message);
  ctx.emit({ type: 'unreachable', error, socket: source.socket, pairs: failed });
  if (ctx.selectedPair && failed.includes(ctx.selectedPair) && !failOver(ctx, ctx.selectedPair, error.message, now)) ctx.consent.expire(now);
}
