// The checklist (RFC 8445 §6.1.2) of one component: forming and pruning pairs, their states, the
// triggered-check queue and the choice of the next check (§6.1.4.2). Trickled pairs enter a running
// checklist by RFC 8838 §12's rules. Pure bookkeeping: no I/O, no time.
import type { SocketId } from '../net/engine.js';
import { sameTransportAddress, type TransportAddress } from '../net/transport-address.js';
import type { IceCandidate, IceTcpType } from './candidate.js';
import { CandidatePair, comparePairs, type LocalCandidate } from './candidate-pair.js';
import { canonicalIp } from '../turn/permissions.js';

function sameIp(a: string, b: string): boolean {
  return a === b || (canonicalIp(a) ?? a) === (canonicalIp(b) ?? b);
}

export interface ChecklistOptions {
  /** RFC 8445 §6.1.2.5: the agent SHOULD limit the pairs; default 100. */
  maxPairs?: number;
}

export class Checklist {
  /** Highest priority first. */
  readonly pairs: CandidatePair[] = [];
  private readonly triggered: CandidatePair[] = [];
  private readonly maxPairs: number;
  /** Pairs refused or dropped because of the limit. */
  pairsDroppedByLimit = 0;

  constructor(options: ChecklistOptions = {}) {
    this.maxPairs = options.maxPairs ?? 100;
    if (!Number.isInteger(this.maxPairs) || this.maxPairs < 1) throw new RangeError('maxPairs must be a whole number ≥ 1');
  }

  /**
   * Pairs `local` with `remote` if they can be paired (same component, address family and transport,
   * §6.1.2.2) and the pair is not redundant (§6.1.2.4: same base and remote); returns the new pair. TCP candidates pair by direction (RFC 6544 §6.2): our active
   * with their passive, S-O with S-O; our passive one only `fromCheck` — with the active peer that connected
   * and checked it — since §6.2 prunes pairs whose local candidate is passive: we cannot connect from it.
   */
  add(local: LocalCandidate, remote: IceCandidate, controlling: boolean, fromCheck = false): CandidatePair | undefined {
    const l = local.candidate;
    if (l.component !== remote.component || l.protocol !== remote.protocol) return undefined;
    if (l.protocol === 'tcp' && !tcpDirectionsPair(l.tcpType, remote.tcpType, fromCheck)) return undefined;
    if (l.address.includes(':') !== remote.address.includes(':')) return undefined;
    if (this.find(local.socket, remote)) return undefined;

    const pair = new CandidatePair(local, remote, controlling);
    if (this.pairs.length >= this.maxPairs) {
      // §6.1.2.5: keep the highest-priority pairs. Make room from a failed pair first (dead weight), else
      // from a lower-priority pair not yet checked; otherwise refuse the new one.
      const victim =
        findLast(this.pairs, (p) => p.state === 'failed') ??
        findLast(this.pairs, (p) => (p.state === 'frozen' || p.state === 'waiting') && comparePairs(pair, p) < 0);
      this.pairsDroppedByLimit++;
      if (!victim) return undefined;
      this.remove(victim);
    }
    this.insertSorted(pair);
    pair.state = this.initialState(pair);
    return pair;
  }

  /** The pair from base socket `socket` to the remote transport address, if any. */
  find(socket: SocketId, remote: TransportAddress): CandidatePair | undefined {
    for (const p of this.pairs) {
      if (p.local.socket === socket && p.remote.port === remote.port && p.remote.address === remote.address) return p;
    }
    return undefined;
  }

  /** All pairs towards a remote address (from any base). */
  findByRemote(remote: TransportAddress): CandidatePair[] {
    return this.pairs.filter((p) => sameTransportAddress(p.remoteAddress, remote));
  }

  /**
   * §7.2.5.2.2: a hard ICMP-like error (the way to `remote` is refused) fails every pair from `socket` to
   * it at once — they leave the valid list and the triggered queue too; `anyPort`: to every port of its IP
   * (a TURN permission refused). `reason` is kept as the pairs' failureReason. Returns the pairs failed.
   */
  failTowards(socket: SocketId, remote: TransportAddress, anyPort = false, reason?: string): CandidatePair[] {
    const failed: CandidatePair[] = [];
    for (const p of this.pairs) {
      if (p.local.socket !== socket) continue;
      if (anyPort ? !sameIp(p.remote.address, remote.address) : !sameTransportAddress(p.remoteAddress, remote)) continue;
      this.fail(p, reason);
      failed.push(p);
    }
    return failed;
  }

  /** Fails every pair from `socket`: its address went away, so nothing can be sent or received there. */
  failLocal(socket: SocketId, reason: string): CandidatePair[] {
    const failed = this.pairs.filter((p) => p.local.socket === socket && p.state !== 'failed');
    for (const p of failed) this.fail(p, reason);
    return failed;
  }

  /** Out of the valid list and the triggered queue for good (a later successful check makes it valid again). */
  fail(p: CandidatePair, reason: string | undefined): void {
    p.state = 'failed';
    p.failureReason = reason;
    p.valid = false;
    p.nominated = false;
    p.nominating = false;
    p.inFlight = undefined;
    const t = this.triggered.indexOf(p);
    if (t >= 0) this.triggered.splice(t, 1);
  }

  /**
   * The pair the nominations point at: valid and nominated, the highest renomination counter first
   * (draft-thatcher-ice-renomination: the latest nomination wins), then the highest priority (RFC 8445 §8.1.1).
   */
  bestNominated(): CandidatePair | undefined {
    let best: CandidatePair | undefined;
    for (const p of this.pairs) if (p.valid && p.nominated && (best === undefined || p.nomination > best.nomination)) best = p;
    return best;
  }

  /** §7.3.1.4: queue a triggered check (once). */
  trigger(pair: CandidatePair): void {
    if (!this.triggered.includes(pair)) this.triggered.push(pair);
  }

  get hasTriggered(): boolean {
    return this.triggered.length > 0;
  }

  /** §6.1.4.2 step 1: the next pair of the triggered-check queue. */
  takeTriggered(): CandidatePair | undefined {
    while (this.triggered.length > 0) {
      const pair = this.triggered.shift()!;
      if (this.pairs.includes(pair)) return pair;
    }
    return undefined;
  }

  /**
   * §6.1.4.2 steps 2–3: the highest-priority Waiting pair not already queued for a triggered check,
   * unfreezing one Frozen pair per foundation that has none Waiting or In-Progress.
   */
  takeOrdinary(): CandidatePair | undefined {
    const ordinary = (p: CandidatePair) => p.state === 'waiting' && !this.triggered.includes(p);
    let waiting = this.pairs.find(ordinary);
    if (!waiting) {
      const busy = new Set(this.pairs.filter((p) => p.state === 'waiting' || p.state === 'in-progress').map((p) => p.foundation));
      for (const p of this.pairs) {
        if (p.state === 'frozen' && !busy.has(p.foundation)) {
          p.state = 'waiting';
          busy.add(p.foundation);
        }
      }
      waiting = this.pairs.find(ordinary);
    }
    return waiting;
  }

  /** §7.2.5.3.3: a success unfreezes the pairs of the same foundation. */
  unfreeze(foundation: string): void {
    for (const p of this.pairs) if (p.foundation === foundation && p.state === 'frozen') p.state = 'waiting';
  }

  /** After a role change the pair priorities change (§7.2.5.1, §7.3.1.1). */
  reprioritize(controlling: boolean): void {
    for (const p of this.pairs) p.updatePriority(controlling);
    this.pairs.sort(comparePairs);
  }

  /** The highest-priority valid pair, optionally only among nominated ones. */
  bestValid(nominatedOnly = false): CandidatePair | undefined {
    return this.pairs.find((p) => p.valid && (!nominatedOnly || p.nominated));
  }

  /** Pairs still to be checked or being checked. */
  get pending(): number {
    let n = 0;
    for (const p of this.pairs) if (p.state === 'frozen' || p.state === 'waiting' || p.state === 'in-progress') n++;
    return n;
  }

  /** Number of Waiting plus In-Progress pairs, for the RTO of §14.3. */
  get active(): number {
    let n = 0;
    for (const p of this.pairs) if (p.state === 'waiting' || p.state === 'in-progress') n++;
    return n;
  }

  /** Any pair with a higher priority than `pair` that may still succeed. */
  hasPendingAbove(pair: CandidatePair): boolean {
    for (const p of this.pairs) {
      if (p === pair) return false;
      if (p.state === 'frozen' || p.state === 'waiting' || p.state === 'in-progress') return true;
    }
    return false;
  }

  get allFailed(): boolean {
    return this.pairs.length > 0 && this.pairs.every((p) => p.state === 'failed');
  }

  /** Drops every pair towards `remote` (a forgotten peer-reflexive candidate). */
  removeRemote(remote: IceCandidate): void {
    for (const p of this.pairs.filter((p) => p.remote === remote)) this.remove(p);
  }

  clear(): void {
    this.pairs.length = 0;
    this.triggered.length = 0;
  }

  /** RFC 8838 §12: Waiting if topmost of its foundation or the foundation already succeeded; else Frozen. */
  private initialState(pair: CandidatePair): 'waiting' | 'frozen' {
    for (const p of this.pairs) {
      if (p === pair || p.foundation !== pair.foundation) continue;
      if (p.state === 'succeeded') return 'waiting';
    }
    const top = this.pairs.find((p) => p.foundation === pair.foundation);
    return top === pair ? 'waiting' : 'frozen';
  }

  private insertSorted(pair: CandidatePair): void {
    let i = this.pairs.length;
    while (i > 0 && comparePairs(pair, this.pairs[i - 1]) < 0) i--;
    this.pairs.splice(i, 0, pair);
  }

  private remove(pair: CandidatePair): void {
    const i = this.pairs.indexOf(pair);
    if (i >= 0) this.pairs.splice(i, 1);
    const t = this.triggered.indexOf(pair);
    if (t >= 0) this.triggered.splice(t, 1);
  }
}

function findLast<T>(items: readonly T[], predicate: (item: T) => boolean): T | undefined {
  for (let i = items.length - 1; i >= 0; i--) if (predicate(items[i])) return items[i];
  return undefined;
}

function tcpDirectionsPair(local: IceTcpType | undefined, remote: IceTcpType | undefined, fromCheck: boolean): boolean {
  if (local === 'active') return remote === 'passive';
  if (local === 'so') return remote === 'so';
  return fromCheck && local === 'passive' && remote === 'active';
}
