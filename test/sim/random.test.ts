import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SeededRandom } from '../../src/sim/random.js';

describe('SeededRandom', () => {
  const draw = (random: SeededRandom, n: number): number[] => Array.from({ length: n }, () => random.nextUint32());

  test('the same seed gives the same sequence; another seed another', () => {
    assert.deepEqual(draw(new SeededRandom(7), 100), draw(new SeededRandom(7), 100));
    assert.notDeepEqual(draw(new SeededRandom(7), 100), draw(new SeededRandom(8), 100));
    assert.deepEqual(draw(new SeededRandom('seed'), 10), draw(new SeededRandom('seed'), 10));
  });

  test('forks depend on the seed and label only, not on draws made before', () => {
    const a = new SeededRandom(3);
    const b = new SeededRandom(3);
    draw(b, 1_000);
    assert.deepEqual(draw(a.fork('nat'), 20), draw(b.fork('nat'), 20));
    assert.notDeepEqual(draw(a.fork('nat'), 20), draw(a.fork('link'), 20));
  });

  test('values are in range and roughly uniform', () => {
    const random = new SeededRandom(11);
    const buckets = new Array<number>(10).fill(0);
    for (let i = 0; i < 100_000; i++) {
      const x = random.next();
      assert.ok(x >= 0 && x < 1);
      buckets[Math.floor(x * 10)]++;
    }
    for (const count of buckets) assert.ok(Math.abs(count - 10_000) < 500, `bucket ${count}`);
    for (let i = 0; i < 1_000; i++) {
      const n = random.integer(49152, 65535);
      assert.ok(Number.isInteger(n) && n >= 49152 && n <= 65535);
    }
    assert.equal(random.chance(0), false);
    assert.equal(random.chance(1), true);
  });
});
