// Name lookups of one bridge session (protocol v2 `resolve`): bounded in flight and per second, answered
// from the bridge's shared cache when it can, every answer judged by the destination policy before the
// client sees it — a name is a way to learn addresses, so it must not be a way around the policy.
// `.local` names go to multicast DNS only, never to the DNS (RFC 6762 §3), and only where the operator
// enabled mDNS: the answer is about the bridge's LAN.
import { MAX_RESOLVED_ADDRESSES, type ErrorFrame, type ResolveFrame, type ResolvedAddress } from '../net/bridge-frame.js';
import { encodeBridgeFrame } from '../net/bridge-frame.js';
import type { AddressFamily } from '../net/transport-address.js';
import { isUuidLocalName } from '../mdns/mdns-names.js';
import type { LookupOutcome } from './metrics.js';
import { TokenBucket } from './rate-limit.js';
import type { LookupAnswer, LookupFailure, SessionAction, SessionContext } from './session-types.js';

/** What the lookups need of their session. */
export interface LookupHost {
  readonly ctx: SessionContext;
  sendFrame(frame: Uint8Array): void;
  sendError(frame: ErrorFrame): void;
  act(action: SessionAction): void;
}

interface Lookup {
  readonly requestId: number;
  readonly name: string;
  readonly families: AddressFamily[];
  readonly deadline: number;
}

/** A name in the `.local` domain (RFC 6762 §3), a final dot or not, any case. */
export function isLocalDomainName(name: string): boolean {
  return /(^|\.)local\.?$/i.test(name);
}

export class SessionLookups {
  private readonly pending = new Map<number, Lookup>();
  private readonly bucket: TokenBucket;
  private nextLookupId = 1;

  constructor(
    private readonly host: LookupHost,
    now: number,
  ) {
    const rate = host.ctx.limits.lookupsPerSecond;
    this.bucket = new TokenBucket(Math.max(rate, 1), Math.max(rate, 1), now);
  }

  get inFlight(): number {
    return this.pending.size;
  }

  handleResolve(frame: ResolveFrame, now: number): void {
    const { limits, resolveCache } = this.host.ctx;
    const refuse = (code: LookupOutcome, reason: string) => this.fail(frame.requestId, code, reason);
    if (!limits.resolve || limits.lookupsPerSecond === 0) return refuse('not-supported', 'this bridge does not resolve names');
    const mdns = frame.mdns === true;
    // Refused at once, before any limit is spent: none of these could ever be answered.
    if (mdns !== isLocalDomainName(frame.name)) {
      return refuse('not-supported', mdns ? `mDNS resolves .local names only, not ${frame.name} (RFC 6762 §3)` : `${frame.name} is a .local name: ask with the mDNS flag (RFC 6762 §3: never the DNS)`);
    }
    if (mdns && !limits.mdns) return refuse('not-supported', "this bridge does not resolve mDNS names (its operator has not enabled mdns)");
    // draft-ietf-mmusic-mdns-ice-candidates §3.2.2: only the names ICE agents make, or a page could look for
    // the printers and NAS boxes on the bridge's LAN by their well-known names.
    if (mdns && !isUuidLocalName(frame.name)) return refuse('not-supported', `only <uuid>.local names are resolved by mDNS, not ${frame.name}`);
    if (this.pending.size >= limits.maxConcurrentLookups) return refuse('rate-limited', `at most ${limits.maxConcurrentLookups} lookups at once per session`);
    if (!this.bucket.take(1, now)) return refuse('rate-limited', `at most ${limits.lookupsPerSecond} lookups per second per session`);
    const cached = resolveCache.get(frame.name, frame.families, now);
    if (cached === null) return refuse('name-not-found', `${frame.name} does not resolve`);
    if (cached !== undefined) {
      this.host.ctx.metrics.lookup('cached');
      return this.answer(frame.requestId, frame.name, cached);
    }
    let lookupId = this.nextLookupId;
    while (this.pending.has(lookupId)) lookupId = lookupId === 0xffffffff ? 1 : lookupId + 1;
    this.nextLookupId = lookupId === 0xffffffff ? 1 : lookupId + 1;
    this.pending.set(lookupId, { requestId: frame.requestId, name: frame.name, families: frame.families, deadline: now + limits.resolveTimeoutMs });
    this.host.act({ type: 'resolve', lookupId, name: frame.name, families: frame.families, mdns });
  }

  handleAnswered(lookupId: number, answers: LookupAnswer[], now: number): void {
    const lookup = this.pending.get(lookupId);
    if (!lookup) return; // timed out, or the session ended
    this.pending.delete(lookupId);
    this.host.ctx.resolveCache.put(lookup.name, lookup.families, answers, now);
    this.answer(lookup.requestId, lookup.name, answers);
  }

  handleFailed(lookupId: number, failure: LookupFailure, reason: string, now: number): void {
    const lookup = this.pending.get(lookupId);
    if (!lookup) return;
    this.pending.delete(lookupId);
    if (failure === 'name-not-found') this.host.ctx.resolveCache.putFailure(lookup.name, lookup.families, now);
    this.fail(lookup.requestId, failure, reason);
  }

  handleTimeout(now: number): void {
    for (const [id, lookup] of this.pending) {
      if (lookup.deadline > now) continue;
      this.pending.delete(id);
      this.fail(lookup.requestId, 'resolve-timeout', `no answer for ${lookup.name} within ${this.host.ctx.limits.resolveTimeoutMs} ms`);
    }
  }

  pollTimeout(): number | undefined {
    let at: number | undefined;
    for (const l of this.pending.values()) if (at === undefined || l.deadline < at) at = l.deadline;
    return at;
  }

  clear(): void {
    this.pending.clear();
  }

  private answer(requestId: number, name: string, answers: LookupAnswer[]): void {
    const { policy, metrics } = this.host.ctx;
    const allowed: ResolvedAddress[] = [];
    let denied = 0;
    for (const a of answers) {
      if (policy.checkAnswer(a.address) === 'allowed') {
        if (allowed.length < MAX_RESOLVED_ADDRESSES) allowed.push({ address: a.address, ttl: Math.max(0, Math.min(Math.floor(a.ttl), 0xffffffff)) });
      } else {
        denied++;
      }
    }
    metrics.answersDenied += denied;
    if (allowed.length === 0) {
      // All answers denied is a refusal, not an empty success: the client must learn why it cannot go there.
      if (denied > 0) return this.fail(requestId, 'destination-denied', `every address of ${name} is refused by the bridge's destination policy`);
      return this.fail(requestId, 'name-not-found', `${name} has no address of the families asked for`);
    }
    metrics.lookup('answered');
    this.host.sendFrame(encodeBridgeFrame({ type: 'resolved', requestId, addresses: allowed }));
  }

  private fail(requestId: number, code: LookupOutcome, reason: string): void {
    this.host.ctx.metrics.lookup(code);
    this.host.sendError({ type: 'error', code, reason, requestId });
  }
}
