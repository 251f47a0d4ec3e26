// The W3C RTCIceTransportState of an agent, from what it knows (RFC 8445 §8.1.2, RFC 7675, RFC 8838 §14),
// and keeping the agent in it.
import { ICE_INBOUND_TCP_WAIT_MS } from '../timing.js';
import type { IceParameters, IceTransportState } from './agent-options.js';
import type { IceCandidate } from './candidate.js';
import type { LocalCandidate } from './candidate-pair.js';
import type { ConsentStatus } from './consent.js';
import { failOver, type FailoverContext } from './failover.js';
import type { RoleStrategy } from './roles.js';

export interface TransportFacts {
  current: IceTransportState;
  /** A pair is selected (nominated and valid). */
  selected: boolean;
  /** Consent on the selected pair, while it is being kept. */
  consent: ConsentStatus | undefined;
  /** Both sides have said end-of-candidates. */
  gatheringDone: boolean;
  /** The peer's parameters are known and there are pairs to check. */
  checking: boolean;
  /** No pair is left that could succeed. */
  hopeless: boolean;
  /** This agent runs checks (not lite) and knows the peer's parameters. */
  sendsChecks: boolean;
}

export function nextTransportState(f: TransportFacts): IceTransportState {
  if (f.current === 'closed') return 'closed';
  if (f.consent === 'expired') return 'failed';
  if (f.consent === 'disconnected') return 'disconnected';
  if (f.selected && f.current !== 'failed') return f.gatheringDone ? 'completed' : 'connected';
  if (f.selected) return f.current;
  if (f.hopeless && f.gatheringDone && f.sendsChecks) return 'failed';
  if (f.current === 'new' && f.checking) return 'checking';
  return f.current;
}

/** What keeping the agent's state up to date needs of it. */
export interface TransportContext extends FailoverContext {
  readonly state: IceTransportState;
  readonly localGatheringComplete: boolean;
  readonly remoteEndOfCandidates: boolean;
  readonly remoteParameters: IceParameters | undefined;
  readonly localCandidates: readonly LocalCandidate[];
  readonly remoteCandidates: readonly IceCandidate[];
  readonly strategy: RoleStrategy;
  /** Since when the agent waits for the peer's active TCP candidate to connect (no pair of its own to check). */
  awaitingInboundSince: number | undefined;
  /** Sets the state, telling the application (statechange) if it changed. */
  setState(state: IceTransportState, now: number): void;
}

/** Moves the agent to the state its facts now call for, failing over first if consent on the selected pair is lost. */
export function updateTransportState(ctx: TransportContext, now: number): void {
  if (ctx.state === 'closed') return;
  let consent = ctx.selectedPair && ctx.consent.running ? ctx.consent.status(now) : undefined;
  // RFC 7675 §5.1: consent lost — stop sending on the pair, and carry on over another if one is valid.
  if (consent === 'expired') {
    if (failOver(ctx, ctx.selectedPair!, 'consent expired (RFC 7675 §5.1)', now)) consent = ctx.consent.status(now);
    else ctx.consent.stop();
  }
  const next = nextTransportState({
    current: ctx.state,
    selected: ctx.selectedPair !== undefined,
    consent,
    gatheringDone: ctx.localGatheringComplete && ctx.remoteEndOfCandidates,
    checking: ctx.remoteParameters !== undefined && ctx.checklist.pairs.length > 0,
    hopeless: (ctx.checklist.pairs.length === 0 || ctx.checklist.allFailed) && !awaitingInbound(ctx, now),
    sendsChecks: ctx.strategy.sendsChecks && ctx.remoteParameters !== undefined,
  });
  // A usable pair is 'connected' before it is 'completed' (RTCIceTransportState), even when nomination and
  // the end of candidates land in one step: listeners waiting for 'connected' must see it.
  if (next === 'completed' && (ctx.state === 'new' || ctx.state === 'checking')) ctx.setState('connected', now);
  ctx.setState(next, now);
}

/** RFC 6544 §6.2: our passive TCP candidate and their active one make no pair to check: their connection will. */
function awaitingInbound(ctx: TransportContext, now: number): boolean {
  const waiting =
    ctx.localCandidates.some((l) => l.candidate.protocol === 'tcp' && l.candidate.tcpType === 'passive') &&
    ctx.remoteCandidates.some((r) => r.protocol === 'tcp' && r.tcpType === 'active');
  if (!waiting) {
    ctx.awaitingInboundSince = undefined;
    return false;
  }
  ctx.awaitingInboundSince ??= now;
  return now < ctx.awaitingInboundSince + ICE_INBOUND_TCP_WAIT_MS;
}
