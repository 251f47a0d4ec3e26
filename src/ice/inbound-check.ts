// Answering a connectivity check (RFC 8445 §7.3): authenticate it, repair a role conflict (§7.3.1.1),
// answer with the mapped address, learn a peer-reflexive candidate (§7.3.1.3), trigger a check of the
// pair (§7.3.1.4) and let the role strategy handle USE-CANDIDATE (§7.3.1.5).
import type { HmacSha1 } from '../crypto/index.js';
import type { DatagramSource, SocketId, Transmit } from '../net/engine.js';
import type { TransportAddress } from '../net/transport-address.js';
import type { StunMessage } from '../stun/message.js';
import type { IceAgentEvent } from './agent-options.js';
import type { CandidatePair, LocalCandidate } from './candidate-pair.js';
import type { Checklist } from './checklist.js';
import { encodeCheckError, encodeCheckResponse, validateCheckRequest, type IceRole } from './checks.js';
import type { RemoteCandidates } from './remote-candidates.js';
import type { RoleContext, RoleStrategy } from './roles.js';

/** What answering a check needs of the agent. */
export interface InboundContext {
  readonly role: IceRole;
  readonly lite: boolean;
  readonly tieBreaker: bigint;
  readonly localUfrag: string;
  readonly localKey: HmacSha1;
  readonly checklist: Checklist;
  readonly strategy: RoleStrategy;
  readonly roleContext: RoleContext;
  readonly localCandidates: LocalCandidate[];
  readonly remote: RemoteCandidates;
  readonly selectedPair: CandidatePair | undefined;
  /** Queues an answer. */
  reply(transmit: Transmit): void;
  emit(event: IceAgentEvent): void;
  /** Something changed that may allow an immediate check. */
  touch(now: number): void;
  switchRole(role: IceRole, now: number): void;
  countRejected(): void;
  /** §7.3.1.4: stop retransmitting the pair's check in flight (a late response still counts). */
  quiesce(pair: CandidatePair, now: number): void;
  /** The peer proved itself on `pair`, by data or (here) a check (failover.ts: it may have moved there). */
  heardFrom(pair: CandidatePair, now: number, data: boolean): void;
}

export function answerCheck(ctx: InboundContext, request: StunMessage, source: DatagramSource, now: number): void {
  const reply = (bytes: Uint8Array) => ctx.reply({ socket: source.socket, to: source.from, bytes });
  const check = validateCheckRequest(request, ctx.localUfrag, ctx.localKey);
  if (!check.ok) {
    ctx.countRejected();
    reply(encodeCheckError(request, check.code, check.reason));
    return;
  }

  // §7.3.1.1: both think they are controlling (or controlled): the larger tie-breaker controls.
  if (!ctx.lite) {
    if (ctx.role === 'controlling' && check.controlling !== undefined) {
      if (ctx.tieBreaker >= check.controlling) {
        reply(encodeCheckError(request, 487, 'Role Conflict', ctx.localKey));
        return;
      }
      ctx.switchRole('controlled', now);
    } else if (ctx.role === 'controlled' && check.controlled !== undefined) {
      if (ctx.tieBreaker >= check.controlled) {
        ctx.switchRole('controlling', now);
      } else {
        reply(encodeCheckError(request, 487, 'Role Conflict', ctx.localKey));
        return;
      }
    }
  }

  reply(encodeCheckResponse(request, source.from, ctx.localKey));
  const pair = pairForCheck(ctx, source.socket, source.from, check.priority, now);
  if (!pair) return;
  pair.stats.requestsReceived++;
  pair.stats.responsesSent++;
  pair.stats.lastPacketReceivedTimestamp = now;

  // §7.3.1.4: check the pair back soon. An In-Progress check stops retransmitting (its RTO may have backed
  // off far beyond the round trip the peer just proved) and a new triggered check replaces it.
  const strategy = ctx.strategy;
  if (strategy.sendsChecks && pair.state !== 'succeeded') {
    if (pair.state === 'in-progress') ctx.quiesce(pair, now);
    pair.state = 'waiting';
    ctx.checklist.trigger(pair);
  }
  strategy.onRequest(ctx.roleContext, pair, check.useCandidate, now, check.nomination);
  ctx.heardFrom(pair, now, false);
}

/** §7.3.1.3: the pair for a check from `from` on `socket`, learning a peer-reflexive candidate if needed. */
function pairForCheck(ctx: InboundContext, socket: SocketId, from: TransportAddress, priority: number, now: number): CandidatePair | undefined {
  const existing = ctx.checklist.find(socket, from);
  if (existing) return existing;
  const local = ctx.localCandidates.find((l) => l.socket === socket && l.candidate.type !== 'srflx' && l.candidate.type !== 'prflx');
  if (!local) return undefined;
  const { component, protocol } = local.candidate;
  const learned = ctx.remote.learn(from, priority, component, protocol, ctx.checklist, ctx.selectedPair);
  if (!learned) return undefined;
  if (learned.learned) ctx.emit({ type: 'remotecandidate', candidate: learned.candidate });
  const pair = ctx.checklist.add(local, learned.candidate, ctx.role === 'controlling', true);
  ctx.touch(now);
  return pair;
}
