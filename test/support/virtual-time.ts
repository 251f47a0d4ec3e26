// Drives a promise-returning API over the VirtualClock: flush microtasks, fire the next virtual timer, repeat.
import type { VirtualClock } from '../../src/sim/index.js';

export async function settleOnVirtualTime<T>(clock: VirtualClock, promise: Promise<T>, maxSteps = 100_000): Promise<T> {
  let done = false;
  promise.then(
    () => (done = true),
    () => (done = true),
  );
  for (let i = 0; i < maxSteps && !done; i++) {
    await new Promise<void>((resolve) => setImmediate(resolve));
    if (done) break;
    if (!clock.step()) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (!done) throw new Error(`stalled at virtual ${clock.now()} ms: nothing scheduled and the promise is pending`);
    }
  }
  return promise;
}

/** Settles `promise` on virtual time and says when (virtual ms) it settled, with its value or error. */
export async function settledAt<T>(clock: VirtualClock, promise: Promise<T>): Promise<{ at: number; value?: T; error?: unknown }> {
  try {
    const value = await settleOnVirtualTime(clock, promise);
    return { at: clock.now(), value };
  } catch (error) {
    return { at: clock.now(), error };
  }
}

/** Runs virtual time to `until` (flushing microtasks) and reports whether `promise` is still pending then. */
export async function pendingAt(clock: VirtualClock, promise: Promise<unknown>, until: number): Promise<boolean> {
  let settled = false;
  promise.then(
    () => (settled = true),
    () => (settled = true),
  );
  while (!settled) {
    await new Promise<void>((resolve) => setImmediate(resolve));
    const next = clock.nextDeadline;
    if (next === undefined || next > until) break;
    clock.step();
  }
  await new Promise<void>((resolve) => setImmediate(resolve));
  return !settled;
}
