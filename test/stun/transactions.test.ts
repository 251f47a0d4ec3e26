import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TransactionTable } from '../../src/stun/transactions.js';

const server = { address: '192.0.2.1', port: 3478 };
const id = (n: number) => new Uint8Array(12).fill(n);

/** Runs the table alone on its own wake-up times and records when the request goes out. */
function schedule(table: TransactionTable, until: number) {
  const sends = [0];
  let timedOutAt: number | undefined;
  for (let now = table.nextDeadline(); now !== undefined && now <= until; now = table.nextDeadline()) {
    const { retransmit, timedOut } = table.expire(now);
    if (retransmit.length) sends.push(now);
    if (timedOut.length) timedOutAt = now;
  }
  return { sends, timedOutAt };
}

describe('TransactionTable (RFC 8489 §6.2.1)', () => {
  it('retransmits at 0, 500, 1500, 3500, 7500, 15500, 31500 ms and times out at 39 500 ms', () => {
    const table = new TransactionTable();
    table.start(id(1), new Uint8Array(20), server, 0, 0, undefined);
    const { sends, timedOutAt } = schedule(table, 100_000);
    assert.deepEqual(sends, [0, 500, 1500, 3500, 7500, 15500, 31500]);
    assert.equal(timedOutAt, 39_500);
    assert.equal(table.size, 0);
    assert.equal(table.counters.retransmits, 6);
    assert.equal(table.counters.timeouts, 1);
  });

  it('follows a configured RTO and Rc', () => {
    const table = new TransactionTable({ rtoMs: 100, rc: 3, rm: 4 });
    table.start(id(1), new Uint8Array(20), server, 0, 1000, undefined);
    const { sends, timedOutAt } = schedule(table, 100_000);
    assert.deepEqual(sends, [0, 1100, 1300]);
    assert.equal(timedOutAt, 1700);
  });

  it('sends once and waits Ti = 39.5 s on a reliable transport', () => {
    const table = new TransactionTable();
    table.start(id(1), new Uint8Array(20), server, 0, 0, undefined, true);
    const { sends, timedOutAt } = schedule(table, 100_000);
    assert.deepEqual(sends, [0]);
    assert.equal(timedOutAt, 39_500);
  });

  it('matches by id and source, counts duplicates and strays', () => {
    const table = new TransactionTable<string>();
    table.start(id(1), new Uint8Array(20), server, 0, 0, 'ctx');
    assert.equal(table.match(id(1), { address: '192.0.2.9', port: 3478 }).kind, 'stray');
    assert.equal(table.match(id(2), server).kind, 'stray');
    const m = table.match(id(1), server);
    assert.equal(m.kind, 'matched');
    assert.equal(m.kind === 'matched' && m.transaction.context, 'ctx');
    assert.equal(table.match(id(1), server).kind, 'duplicate');
    assert.deepEqual(table.counters, { started: 1, retransmits: 0, timeouts: 0, duplicates: 1, strays: 2 });
    assert.equal(table.nextDeadline(), undefined);
  });

  it('refuses a transaction id already in flight and invalid options', () => {
    const table = new TransactionTable();
    table.start(id(1), new Uint8Array(20), server, 0, 0, undefined);
    assert.throws(() => table.start(id(1), new Uint8Array(20), server, 0, 0, undefined), RangeError);
    assert.throws(() => new TransactionTable({ rc: 0 }), RangeError);
  });

  it('forgets old completed ids beyond its bound', () => {
    const table = new TransactionTable({ rememberCompleted: 2 });
    for (let i = 0; i < 3; i++) {
      table.start(id(i), new Uint8Array(20), server, 0, 0, undefined);
      table.match(id(i), server);
    }
    assert.equal(table.match(id(0), server).kind, 'stray');
    assert.equal(table.match(id(2), server).kind, 'duplicate');
  });
});
