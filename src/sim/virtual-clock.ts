import type { Clock, Millis, TimerHandle } from '../net/clock.js';
import { BinaryHeap } from './binary-heap.js';

/**
 * Virtual time for tests: nothing happens until the test moves the clock, and then every due timer runs
 * in order of (deadline, order of `setTimer` calls), with `now()` equal to that timer's deadline. Nothing
 * here reads a real clock, so a 39.5 s retransmission schedule runs in microseconds and the same program
 * always produces the same sequence of events.
 *
 * ```ts
 * const clock = new VirtualClock();
 * clock.setTimer(() => console.log(clock.now()), 500);   // prints 500
 * clock.advance(1_000);                                  // now() === 1000
 * clock.runUntilIdle({ maxTime: 60_000 });               // drains whatever is left, bounded
 * ```
 */

/** A pending timer; `callback` is set to null when cleared or run. */
interface VirtualTimer {
  readonly owner: VirtualClock;
  readonly at: Millis;
  readonly seq: number;
  callback: (() => void) | null;
}

export interface RunLimits {
  /** Do not run timers whose deadline is later than this absolute time (default: no limit). */
  maxTime?: Millis;
  /** Stop after this many callbacks (default 100 000), so a timer that re-arms itself cannot spin forever. */
  maxEvents?: number;
}

export interface RunResult {
  /** Callbacks run. */
  events: number;
  /** Why the run ended: nothing left, the next timer lies after `maxTime`, or `maxEvents` was reached. */
  stoppedBy: 'idle' | 'max-time' | 'max-events';
}

export const DEFAULT_MAX_EVENTS = 100_000;

/** Cleared timers stay in the heap until popped; past this many (and half the heap) it is compacted. */
const COMPACT_THRESHOLD = 256;

export class VirtualClock implements Clock {
  private current: Millis;
  private seq = 0;
  private live = 0;
  private running = false;
  private readonly heap = new BinaryHeap<VirtualTimer>((a, b) => a.at < b.at || (a.at === b.at && a.seq < b.seq));

  constructor(start: Millis = 0) {
    if (!Number.isFinite(start)) throw new RangeError(`VirtualClock start must be finite, got ${start}`);
    this.current = start;
  }

  now(): Millis {
    return this.current;
  }

  /** Timers are one-shot; a deadline in the past runs at the current time, after timers already due. */
  setTimer(callback: () => void, at: Millis): TimerHandle {
    if (Number.isNaN(at)) throw new RangeError('VirtualClock.setTimer: deadline is NaN');
    const timer: VirtualTimer = { owner: this, at: Math.max(at, this.current), seq: this.seq++, callback };
    this.heap.push(timer);
    this.live++;
    return timer;
  }

  /** Cancels a pending timer; a handle already run or cleared, or from another clock, is ignored. */
  clearTimer(handle: TimerHandle): void {
    if (typeof handle !== 'object' || handle === null) return;
    const timer = handle as Partial<VirtualTimer>;
    if (timer.owner !== this || typeof timer.callback !== 'function') return;
    timer.callback = null;
    this.live--;
    const dead = this.heap.size - this.live;
    if (dead > COMPACT_THRESHOLD && dead > this.live) this.heap.retain((t) => t.callback !== null);
  }

  /** Timers set and not yet run or cleared. */
  get pending(): number {
    return this.live;
  }

  /** Deadline of the next timer to run, if any. */
  get nextDeadline(): Millis | undefined {
    return this.peekLive()?.at;
  }

  /** Moves time forward by `ms`, running every timer due on the way. Returns the number run. */
  advance(ms: Millis): number {
    if (!(ms >= 0)) throw new RangeError(`VirtualClock.advance: ms must be >= 0, got ${ms}`);
    return this.runUntil(this.current + ms);
  }

  /** Runs every timer due at or before `time` (including those they set), then sets `now()` to `time`. */
  runUntil(time: Millis): number {
    if (!(time >= this.current)) throw new RangeError(`VirtualClock.runUntil: ${time} is before now (${this.current})`);
    let events = 0;
    this.exclusive(() => {
      for (let next = this.peekLive(); next !== undefined && next.at <= time; next = this.peekLive()) {
        this.runNext();
        events++;
      }
      this.current = time;
    });
    return events;
  }

  /**
   * Runs timers until none is left, the next lies beyond `maxTime` or `maxEvents` have run; it always
   * stops. Time ends at the last timer run (or at `maxTime` when that was the limit).
   */
  runUntilIdle(limits: RunLimits = {}): RunResult {
    const maxTime = limits.maxTime ?? Infinity;
    const maxEvents = limits.maxEvents ?? DEFAULT_MAX_EVENTS;
    if (Number.isNaN(maxTime) || !(maxEvents >= 0)) throw new RangeError('VirtualClock.runUntilIdle: bad limits');
    let events = 0;
    let stoppedBy: RunResult['stoppedBy'] = 'idle';
    this.exclusive(() => {
      for (;;) {
        const next = this.peekLive();
        if (next === undefined) break;
        if (next.at > maxTime) {
          stoppedBy = 'max-time';
          if (maxTime > this.current) this.current = maxTime;
          break;
        }
        if (events >= maxEvents) {
          stoppedBy = 'max-events';
          break;
        }
        this.runNext();
        events++;
      }
    });
    return { events, stoppedBy };
  }

  /** Runs the next timer, if any, moving time to its deadline. Returns whether one ran. */
  step(): boolean {
    let ran = false;
    this.exclusive(() => {
      if (this.peekLive() === undefined) return;
      this.runNext();
      ran = true;
    });
    return ran;
  }

  private peekLive(): VirtualTimer | undefined {
    let top = this.heap.peek();
    while (top !== undefined && top.callback === null) {
      this.heap.pop();
      top = this.heap.peek();
    }
    return top;
  }

  /** Pops the next live timer (the caller has checked there is one) and runs it at its deadline. */
  private runNext(): void {
    const timer = this.heap.pop() as VirtualTimer;
    const callback = timer.callback as () => void;
    timer.callback = null;
    this.live--;
    this.current = timer.at;
    callback();
  }

  /** Driving the clock from inside one of its own callbacks would run timers out of order. */
  private exclusive(run: () => void): void {
    if (this.running) throw new Error('VirtualClock: advance/runUntil/runUntilIdle/step called from inside a timer callback');
    this.running = true;
    try {
      run();
    } finally {
      this.running = false;
    }
  }
}
