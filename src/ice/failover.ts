// When the selected pair can carry no more — its local address went away, its remote is refused, or consent
// expired (RFC 7675 §5.1) — the agent moves to its best remaining valid pair at once, without an ICE restart:
// nominated ones first (the peer agreed to them), then any valid one. The controlling agent then nominates
// it (again, with renomination: draft-thatcher-ice-renomination), so the peer follows; a peer that does not
// still receives on it, since data is accepted on any valid pair (RFC 8445 §12.2).
import type { CandidatePair } from './candidate-pair.js';
import type { Checklist } from './checklist.js';
import type { ConsentFreshness } from './consent.js';

export interface FailoverContext {
  readonly checklist: Checklist;
  readonly consent: ConsentFreshness;
  selectedPair: CandidatePair | undefined;
  /** Tells the application (selectedcandidatepairchange). */
  selected(pair: CandidatePair): void;
}

/**
 * Fails `dead` (the selected pair) if it is not already, and selects the best remaining valid pair with fresh
 * consent. Returns the new pair, or undefined when none is left (the state machine then says
 * disconnected, and failed once consent is gone).
 */
export function failOver(ctx: FailoverContext, dead: CandidatePair, reason: string, now: number): CandidatePair | undefined {
  if (dead.state !== 'failed') ctx.checklist.fail(dead, reason);
  if (ctx.selectedPair !== dead) return undefined;
  const next = ctx.checklist.bestNominated() ?? ctx.checklist.bestValid();
  if (!next) return undefined;
  ctx.selectedPair = next;
  // It answered a check recently enough to be valid: consent starts fresh, as at the first selection, and
  // is checked at once — which also shows the peer, on the new pair, that we moved.
  ctx.consent.start(now);
  ctx.consent.checkNow(now);
  ctx.selected(next);
  return next;
}

/**
 * The peer proved itself (data, or a check it sent) on `pair`, a valid pair other than the selected one,
 * while the selected pair has heard nothing for `silenceMs`: the peer moved — its address went away, or it
 * failed over itself — so the selected pair is failed and replaced as above. Returns whether it was.
 */
export function followPeer(ctx: FailoverContext, pair: CandidatePair, silenceMs: number, now: number): boolean {
  const selected = ctx.selectedPair;
  if (!selected || pair === selected || !pair.valid) return false;
  const silent = now - (selected.stats.lastPacketReceivedTimestamp ?? Number.NEGATIVE_INFINITY);
  if (silent < silenceMs) return false;
  return failOver(ctx, selected, `nothing received for ${Math.round(silent)} ms while the peer sent on another pair`, now) !== undefined;
}
