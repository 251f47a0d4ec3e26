/** Milliseconds on a monotonic clock; engines are handed this, they never read a clock themselves. */
export type Millis = number;

export type TimerHandle = { readonly __timer: unique symbol } | number | object;

/** What a driver needs of time. The real clock wraps the platform timers; the simulated one is virtual. */
export interface Clock {
  now(): Millis;
  /** Calls `callback` once at absolute time `at` (or as soon after as the platform allows). */
  setTimer(callback: () => void, at: Millis): TimerHandle;
  clearTimer(handle: TimerHandle): void;
}

/** Platform timers and `performance.now()`: both exist in Node, in pages and in Workers. */
export const realClock: Clock = {
  now: () => performance.now(),
  setTimer: (callback, at) => setTimeout(callback, Math.max(0, at - performance.now())) as unknown as TimerHandle,
  clearTimer: (handle) => clearTimeout(handle as unknown as ReturnType<typeof setTimeout>),
};
