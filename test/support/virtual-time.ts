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
