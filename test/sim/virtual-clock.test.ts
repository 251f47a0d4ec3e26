import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { VirtualClock } from '../../src/sim/virtual-clock.js';

describe('VirtualClock', () => {
  test('starts at 0 or at the given time and only moves when told', () => {
    assert.equal(new VirtualClock().now(), 0);
    const clock = new VirtualClock(1_000);
    assert.equal(clock.now(), 1_000);
    clock.advance(250);
    assert.equal(clock.now(), 1_250);
  });

  test('runs timers in deadline order, ties in the order they were set, each at its own deadline', () => {
    const clock = new VirtualClock();
    const seen: string[] = [];
    const at = (name: string, time: number) => clock.setTimer(() => seen.push(`${name}@${clock.now()}`), time);
    at('c', 30);
    at('a', 10);
    at('b1', 20);
    at('b2', 20);
    at('b3', 20);
    assert.equal(clock.pending, 5);
    assert.equal(clock.advance(25), 4);
    assert.deepEqual(seen, ['a@10', 'b1@20', 'b2@20', 'b3@20']);
    assert.equal(clock.now(), 25);
    clock.runUntil(30);
    assert.deepEqual(seen.at(-1), 'c@30');
    assert.equal(clock.pending, 0);
  });

  test('a timer set in the past runs at the current time, after those already due now', () => {
    const clock = new VirtualClock(100);
    const seen: string[] = [];
    clock.setTimer(() => seen.push(`now@${clock.now()}`), 100);
    clock.setTimer(() => seen.push(`past@${clock.now()}`), 50);
    clock.advance(0);
    assert.deepEqual(seen, ['now@100', 'past@100']);
  });

  test('timers set by callbacks run in the same advance when due', () => {
    const clock = new VirtualClock();
    const seen: number[] = [];
    clock.setTimer(() => {
      seen.push(clock.now());
      clock.setTimer(() => seen.push(clock.now()), clock.now() + 5);
      clock.setTimer(() => seen.push(clock.now()), clock.now() + 500);
    }, 10);
    clock.advance(100);
    assert.deepEqual(seen, [10, 15]);
    assert.equal(clock.pending, 1);
    assert.equal(clock.nextDeadline, 510);
  });

  test('clearTimer cancels; clearing twice or a foreign handle is harmless', () => {
    const clock = new VirtualClock();
    let ran = 0;
    const handle = clock.setTimer(() => ran++, 10);
    clock.setTimer(() => ran++, 20);
    clock.clearTimer(handle);
    clock.clearTimer(handle);
    clock.clearTimer(42);
    const other = new VirtualClock();
    other.clearTimer(clock.setTimer(() => ran++, 30)); // not other's timer: ignored
    assert.equal(clock.pending, 2);
    clock.advance(100);
    assert.equal(ran, 2);
  });

  test('many cleared timers are compacted away without losing live ones', () => {
    const clock = new VirtualClock();
    const fired: number[] = [];
    for (let i = 0; i < 2_000; i++) {
      const handle = clock.setTimer(() => fired.push(i), 1_000 + i);
      if (i % 100 !== 0) clock.clearTimer(handle);
    }
    assert.equal(clock.pending, 20);
    clock.runUntilIdle();
    assert.deepEqual(fired, Array.from({ length: 20 }, (_, k) => k * 100));
  });

  test('runUntilIdle drains everything and leaves time at the last deadline', () => {
    const clock = new VirtualClock();
    let count = 0;
    for (const t of [5, 50, 500]) clock.setTimer(() => count++, t);
    assert.deepEqual(clock.runUntilIdle(), { events: 3, stoppedBy: 'idle' });
    assert.equal(clock.now(), 500);
    assert.equal(count, 3);
  });

  test('runUntilIdle is bounded by maxEvents even against a timer that re-arms itself', () => {
    const clock = new VirtualClock();
    const tick = (): void => void clock.setTimer(tick, clock.now() + 1_000);
    tick();
    assert.deepEqual(clock.runUntilIdle({ maxEvents: 50 }), { events: 50, stoppedBy: 'max-events' });
    assert.equal(clock.now(), 50_000);
    // The default bound stops it too.
    const result = clock.runUntilIdle();
    assert.equal(result.stoppedBy, 'max-events');
  });

  test('runUntilIdle is bounded by maxTime and then sits at maxTime', () => {
    const clock = new VirtualClock();
    const tick = (): void => void clock.setTimer(tick, clock.now() + 1_000);
    tick();
    assert.deepEqual(clock.runUntilIdle({ maxTime: 10_500 }), { events: 10, stoppedBy: 'max-time' });
    assert.equal(clock.now(), 10_500);
    assert.equal(clock.nextDeadline, 11_000);
  });

  test('step runs exactly one timer', () => {
    const clock = new VirtualClock();
    let count = 0;
    clock.setTimer(() => count++, 7);
    clock.setTimer(() => count++, 9);
    assert.equal(clock.step(), true);
    assert.equal(clock.now(), 7);
    assert.equal(count, 1);
    assert.equal(clock.step(), true);
    assert.equal(clock.step(), false);
  });

  test('refuses to go backwards or to be driven from inside a callback', () => {
    const clock = new VirtualClock(100);
    assert.throws(() => clock.runUntil(50), RangeError);
    assert.throws(() => clock.advance(-1), RangeError);
    let inner: unknown;
    clock.setTimer(() => {
      try {
        clock.advance(1);
      } catch (error) {
        inner = error;
      }
    }, 110);
    clock.advance(20);
    assert.match(String(inner), /inside a timer callback/);
  });

  test('is deterministic: the same program gives the same trace', () => {
    const run = (): string[] => {
      const clock = new VirtualClock();
      const trace: string[] = [];
      for (let i = 0; i < 50; i++) {
        const at = (i * 37) % 11;
        clock.setTimer(() => {
          trace.push(`${i}@${clock.now()}`);
          if (i % 3 === 0) clock.setTimer(() => trace.push(`child${i}@${clock.now()}`), clock.now() + (i % 4));
        }, at);
      }
      clock.runUntilIdle();
      return trace;
    };
    const first = run();
    assert.equal(first.length, 50 + 17);
    assert.deepEqual(run(), first);
  });
});
