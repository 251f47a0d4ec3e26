// A token bucket: `ratePerSecond` tokens accrue continuously up to `burst`; taking more than are left fails
// and takes nothing. Time is passed in (milliseconds, monotonic), so tests need no clock.

export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    readonly ratePerSecond: number,
    readonly burst: number,
    nowMs: number,
  ) {
    if (!(ratePerSecond > 0) || !(burst > 0)) throw new RangeError('a token bucket needs a positive rate and burst');
    this.tokens = burst;
    this.last = nowMs;
  }

  /** Takes `amount` tokens if that many are available at `nowMs`; false (and nothing taken) if not. */
  take(amount: number, nowMs: number): boolean {
    if (nowMs > this.last) {
      this.tokens = Math.min(this.burst, this.tokens + ((nowMs - this.last) * this.ratePerSecond) / 1000);
      this.last = nowMs;
    }
    if (this.tokens < amount) return false;
    this.tokens -= amount;
    return true;
  }
}
