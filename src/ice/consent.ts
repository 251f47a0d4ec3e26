// Consent freshness (RFC 7675) on the selected pair: a check every 5 s ± 20 %, consent lost 30 s after the
// last authenticated response. Before that, a shorter silence reports 'disconnected' (W3C).
import {
  CONSENT_CHECK_INTERVAL_MS,
  CONSENT_CHECK_JITTER,
  CONSENT_TIMEOUT_MS,
  ICE_DISCONNECTED_AFTER_MS,
} from '../timing.js';

export interface ConsentOptions {
  /** Mean interval between consent checks; default 5 000 ms (RFC 7675 §5.1). */
  consentIntervalMs?: number;
  /** Consent expires this long after the last response; default 30 000 ms (RFC 7675 §5.1). */
  consentTimeoutMs?: number;
  /** Silence after which the state is 'disconnected'; default 7 500 ms. */
  disconnectedAfterMs?: number;
}

export type ConsentStatus = 'fresh' | 'disconnected' | 'expired';

export class ConsentFreshness {
  private readonly intervalMs: number;
  private readonly timeoutMs: number;
  readonly disconnectedAfterMs: number;
  private lastResponseAt = 0;
  private nextCheckAt: number | undefined;

  constructor(
    options: ConsentOptions,
    private readonly random: () => number,
  ) {
    this.intervalMs = options.consentIntervalMs ?? CONSENT_CHECK_INTERVAL_MS;
    this.timeoutMs = options.consentTimeoutMs ?? CONSENT_TIMEOUT_MS;
    this.disconnectedAfterMs = options.disconnectedAfterMs ?? ICE_DISCONNECTED_AFTER_MS;
    if (!(this.intervalMs > 0 && this.timeoutMs > this.intervalMs && this.disconnectedAfterMs > 0)) {
      throw new RangeError('consent: need 0 < consentIntervalMs < consentTimeoutMs and disconnectedAfterMs > 0');
    }
  }

  get running(): boolean {
    return this.nextCheckAt !== undefined;
  }

  /** Consent starts fresh when a pair is selected: it has just answered a check. */
  start(now: number): void {
    this.lastResponseAt = now;
    this.nextCheckAt = now + this.interval();
  }

  stop(): void {
    this.nextCheckAt = undefined;
  }

  /** The next consent check goes out now (a pair just selected by failover). */
  checkNow(now: number): void {
    if (this.running) this.nextCheckAt = now;
  }

  onResponse(now: number): void {
    this.lastResponseAt = now;
  }

  /** The selected pair's remote is refused (ICMP-like): consent is lost now, not 30 s from now (RFC 7675 §5.1). */
  expire(now: number): void {
    if (this.running) this.lastResponseAt = Math.min(this.lastResponseAt, now - this.timeoutMs);
  }

  /** True when a consent check is due now; schedules the next one. */
  takeDueCheck(now: number): boolean {
    if (this.nextCheckAt === undefined || now < this.nextCheckAt) return false;
    this.nextCheckAt = now + this.interval();
    return true;
  }

  status(now: number): ConsentStatus {
    const silence = now - this.lastResponseAt;
    if (silence >= this.timeoutMs) return 'expired';
    return silence >= this.disconnectedAfterMs ? 'disconnected' : 'fresh';
  }

  deadline(now: number): number | undefined {
    if (this.nextCheckAt === undefined) return undefined;
    let next = Math.min(this.nextCheckAt, this.lastResponseAt + this.timeoutMs);
    const disconnectAt = this.lastResponseAt + this.disconnectedAfterMs;
    if (disconnectAt > now) next = Math.min(next, disconnectAt);
    return next;
  }

  /** RFC 7675 §5.1: uniformly in [0.8, 1.2] × the interval, so checks of many agents do not align. */
  private interval(): number {
    return this.intervalMs * (1 - CONSENT_CHECK_JITTER + 2 * CONSENT_CHECK_JITTER * this.random());
  }
}
