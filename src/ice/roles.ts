// Role behaviour as strategies behind one interface (STYLE.md 8): what the controlling agent, the controlled
// agent and a lite agent do when a pair becomes valid, when USE-CANDIDATE arrives, and when to nominate.
import type { CandidatePair } from './candidate-pair.js';
import type { Checklist } from './checklist.js';
import type { IceRole } from './checks.js';

/** What a strategy may do to the agent. */
export interface RoleContext {
  readonly checklist: Checklist;
  readonly remoteLite: boolean;
  readonly nominationDelayMs: number;
  readonly directNominationDelayMs: number;
  /** Both agents support renomination (draft-thatcher-ice-renomination): nominating again is allowed. */
  readonly renominating: boolean;
  /** Our gathering ended, and the peer said end-of-candidates. */
  readonly localGatheringComplete: boolean;
  readonly remoteEndOfCandidates: boolean;
  /** Sends the next check on `pair` with USE-CANDIDATE (regular nomination, RFC 8445 §8.1.1). */
  nominate(pair: CandidatePair, now: number): void;
  /** Makes the highest-priority nominated pair the selected one. */
  selectNominated(now: number): void;
}

export interface RoleStrategy {
  readonly role: IceRole;
  /** Whether this agent sends connectivity checks at all (a lite agent does not, RFC 8445 §2.5). */
  readonly sendsChecks: boolean;
  /** A check on `pair` succeeded; `withUseCandidate` if that check carried USE-CANDIDATE. */
  onValid(ctx: RoleContext, pair: CandidatePair, withUseCandidate: boolean, now: number): void;
  /** An authenticated check request for `pair` arrived, with or without USE-CANDIDATE (and NOMINATION's counter). */
  onRequest(ctx: RoleContext, pair: CandidatePair, useCandidate: boolean, now: number, nomination?: number): void;
  /** Something changed (a pair failed, a timer fired): reconsider nominating. */
  update(ctx: RoleContext, now: number): void;
  /** When `update` must run again at the latest, if anything is pending. */
  deadline(ctx: RoleContext): number | undefined;
}

/**
 * Controlling, regular nomination (RFC 8445 §8.1.1): once a pair is valid, nominate the best valid pair
 * when no higher-priority pair can still succeed — so a relay is not picked while a direct pair is being
 * checked — or when the nomination delay since the first valid pair has passed. A nominated pair that fails
 * is replaced by the next best; with renomination, so is one a better valid pair overtakes.
 */
export class ControllingStrategy implements RoleStrategy {
  readonly role = 'controlling' as const;
  readonly sendsChecks = true;
  private firstValidAt: number | undefined;
  private nominated: CandidatePair | undefined;

  onValid(ctx: RoleContext, pair: CandidatePair, withUseCandidate: boolean, now: number): void {
    this.firstValidAt ??= now;
    if (withUseCandidate) {
      pair.nominated = true;
      ctx.selectNominated(now);
      return;
    }
    this.update(ctx, now);
  }

  onRequest(): void {
    // USE-CANDIDATE in a request to the controlling agent has no meaning (§7.3.1.5 is for the controlled).
  }

  update(ctx: RoleContext, now: number): void {
    const current = this.nominated && ctx.checklist.pairs.includes(this.nominated) && this.nominated.state !== 'failed' ? this.nominated : undefined;
    if (current && !ctx.renominating) return;
    const best = ctx.checklist.bestValid();
    if (!best || best === current || (current && best.priority <= current.priority)) return;
    const waitedEnough = this.firstValidAt !== undefined && now >= this.firstValidAt + delayFor(ctx, best);
    if (ctx.checklist.hasPendingAbove(best) && !waitedEnough) return;
    this.nominated = best;
    ctx.nominate(best, now);
  }

  deadline(ctx: RoleContext): number | undefined {
    const best = ctx.checklist.bestValid();
    if ((this.nominated && !ctx.renominating) || this.firstValidAt === undefined || !best || best === this.nominated) return undefined;
    return this.firstValidAt + delayFor(ctx, best);
  }

  /** After an ICE restart or a role change, nomination starts over. */
  reset(): void {
    this.firstValidAt = undefined;
    this.nominated = undefined;
  }
}

/**
 * Controlled (RFC 8445 §7.3.1.5): a pair is nominated when a request with USE-CANDIDATE arrives for it and
 * it is (or becomes) valid. Aggressive nomination by the peer (USE-CANDIDATE on every check) is accepted:
 * the highest-priority nominated pair is selected.
 */
export class ControlledStrategy implements RoleStrategy {
  readonly role = 'controlled' as const;
  readonly sendsChecks: boolean = true;

  onValid(ctx: RoleContext, pair: CandidatePair, _withUseCandidate: boolean, now: number): void {
    if (pair.useCandidateReceived) {
      pair.nominated = true;
      ctx.selectNominated(now);
    }
  }

  onRequest(ctx: RoleContext, pair: CandidatePair, useCandidate: boolean, now: number, nomination?: number): void {
    if (!useCandidate) return;
    pair.useCandidateReceived = true;
    // The latest nomination wins (draft-thatcher-ice-renomination §4): counters only rise.
    if (ctx.renominating && nomination !== undefined && nomination > pair.nomination) pair.nomination = nomination;
    if (pair.valid) {
      pair.nominated = true;
      ctx.selectNominated(now);
    }
  }

  update(_ctx: RoleContext, _now: number): void {}

  deadline(_ctx: RoleContext): number | undefined {
    return undefined;
  }
}

/**
 * Lite (RFC 8445 §2.5, §7.3.2, §8.2): no checks of its own; a pair is valid when an authenticated check
 * arrives on it, and nominated with USE-CANDIDATE. A lite agent is always controlled.
 *
 * Facing a lite peer, nobody checks (§6.1.1 "Both lite"): once both candidate lists are complete, §8.2 puts
 * the pair of each component in the valid list and ICE is done. With more than one pair (§8.2 recommends
 * RFC 6724), the pair of highest priority is taken; reconciling a different choice by the peer (the
 * controlling agent's updated candidate list) is the application's signalling.
 */
export class LiteStrategy extends ControlledStrategy {
  override readonly sendsChecks = false;

  override update(ctx: RoleContext, now: number): void {
    if (!this.choosesAlone(ctx)) return;
    const pair = ctx.checklist.pairs[0]!; // the checklist is in priority order
    pair.valid = true;
    pair.state = 'succeeded';
    pair.nominated = true;
    ctx.selectNominated(now);
  }

  override deadline(ctx: RoleContext): number | undefined {
    return this.choosesAlone(ctx) ? 0 : undefined; // at once
  }

  /** Both lite, both lists complete, and no pair chosen yet. */
  private choosesAlone(ctx: RoleContext): boolean {
    const complete = ctx.localGatheringComplete && ctx.remoteEndOfCandidates;
    return ctx.remoteLite && complete && ctx.checklist.pairs.length > 0 && ctx.checklist.bestNominated() === undefined;
  }

  override onRequest(ctx: RoleContext, pair: CandidatePair, useCandidate: boolean, now: number, nomination?: number): void {
    pair.valid = true;
    pair.state = 'succeeded';
    super.onRequest(ctx, pair, useCandidate, now, nomination);
  }
}

/** A relayed best pair waits the long delay (a direct one may still succeed); a direct one the short. */
function delayFor(ctx: RoleContext, best: CandidatePair): number {
  const relayed = best.local.candidate.type === 'relay' || best.remote.type === 'relay';
  return relayed ? ctx.nominationDelayMs : ctx.directNominationDelayMs;
}

export function strategyFor(role: IceRole, lite: boolean): RoleStrategy {
  if (lite) return new LiteStrategy();
  return role === 'controlling' ? new ControllingStrategy() : new ControlledStrategy();
}
