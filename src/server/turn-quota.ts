// Quotas of a TURN server (RFC 8656 §5: "it is RECOMMENDED that the server impose limits on both the number
// of allocations active at one time for a given username and on the amount of bandwidth those allocations
// can use"): allocation counts per user and in total, and a token bucket of bytes per allocation.
import type { Millis } from '../net/clock.js';

/**
 * A token bucket: `rate` bytes per second, holding at most `burst`. A datagram that finds too few tokens
 * is dropped whole (UDP has no congestion control; RFC 8656 §5 says to discard what exceeds the quota).
 * `rate` Infinity never drops.
 */
export class TokenBucket {
  private tokens: number;
  private last: Millis;

  constructor(
    private readonly rate: number,
    private readonly burst: number,
    now: Millis,
  ) {
    this.tokens = burst;
    this.last = now;
  }

  /** Takes `bytes` tokens if there are that many; false (and nothing taken) otherwise. */
  take(bytes: number, now: Millis): boolean {
    if (this.rate === Infinity) return true;
    if (now > this.last) {
      this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) * this.rate) / 1000);
      this.last = now;
    }
    if (this.tokens < bytes) return false;
    this.tokens -= bytes;
    return true;
  }
}

export type AllocationQuotaVerdict = 'ok' | 'user' | 'total';

/** Counts allocations (pending ones included) per quota identity and in total. */
export class AllocationQuota {
  private readonly perUser = new Map<string, number>();
  private total = 0;

  constructor(
    private readonly maxPerUser: number,
    private readonly maxTotal: number,
  ) {}

  get count(): number {
    return this.total;
  }

  /** 'user' → 486 Allocation Quota Reached, 'total' → 508 Insufficient Capacity (RFC 8656 §7.2 steps 10, 9). */
  check(user: string): AllocationQuotaVerdict {
    if ((this.perUser.get(user) ?? 0) >= this.maxPerUser) return 'user';
    if (this.total >= this.maxTotal) return 'total';
    return 'ok';
  }

  acquire(user: string): void {
    this.perUser.set(user, (this.perUser.get(user) ?? 0) + 1);
    this.total++;
  }

  release(user: string): void {
    const n = (this.perUser.get(user) ?? 0) - 1;
    if (n > 0) this.perUser.set(user, n);
    else this.perUser.delete(user);
    if (this.total > 0) this.total--;
  }
}
