// AllocationTable.find: a datagram's allocation by socket, port and address, the same answer as the
// 5-tuple key (fiveTupleKey) gives, through adds and removals.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { DatagramSource } from '../../src/net/engine.js';
import { AllocationTable } from '../../src/server/turn-allocation-table.js';
import { fiveTupleKey, TurnAllocation } from '../../src/server/turn-allocation.js';
import type { TurnAuthContext } from '../../src/server/turn-auth.js';
import { TokenBucket } from '../../src/server/turn-quota.js';

let nextRelay = 100;
function allocation(client: DatagramSource): TurnAllocation {
  const relay = nextRelay++;
  const relays = [{ socket: relay, relayed: { address: '198.51.100.1', port: 40_000 + relay }, family: 'IPv4' as const, expiresAt: 600_000 }];
  return new TurnAllocation(fiveTupleKey(client), client, relays, {} as TurnAuthContext, `tx${relay}`, new TokenBucket(Infinity, Infinity, 0), undefined);
}

describe('AllocationTable.find', () => {
  it('finds each 5-tuple, tells apart clients that share a socket and port, and forgets removed ones', () => {
    const table = new AllocationTable();
    const sources: DatagramSource[] = [
      { socket: 0, from: { address: '192.0.2.1', port: 5000 } },
      { socket: 0, from: { address: '192.0.2.2', port: 5000 } }, // same socket and port, another IP
      { socket: 0, from: { address: '2001:db8::1', port: 5000 } },
      { socket: 1, from: { address: '192.0.2.1', port: 5000 } }, // same client on another listening socket
      { socket: 7, from: { address: '192.0.2.1', port: 5001 } }, // a TCP connection's 5-tuple
    ];
    const made = sources.map((s) => allocation(s));
    for (const a of made) table.add(a);
    const probe = (s: DatagramSource) => table.find({ socket: s.socket, from: { address: `${s.from.address}`, port: s.from.port } });
    for (const [i, s] of sources.entries()) {
      assert.equal(probe(s), made[i]);
      assert.equal(table.get(fiveTupleKey(s)), made[i]);
    }
    assert.equal(table.find({ socket: 0, from: { address: '192.0.2.3', port: 5000 } }), undefined);
    assert.equal(table.find({ socket: 0, from: { address: '192.0.2.1', port: 5001 } }), undefined);
    assert.equal(table.find({ socket: 2, from: { address: '192.0.2.1', port: 5000 } }), undefined);
    assert.deepEqual(table.onClientSocket(0), made.slice(0, 3));

    assert.deepEqual(table.remove(made[1]), [made[1].relaySocket]);
    assert.equal(probe(sources[1]), undefined);
    assert.equal(probe(sources[0]), made[0]);
    assert.equal(probe(sources[2]), made[2]);
    table.remove(made[0]);
    table.remove(made[2]);
    assert.equal(table.hasClientSocket(0), false);
    assert.deepEqual(table.onClientSocket(0), []);
    assert.equal(probe(sources[3]), made[3]);
    table.remove(made[4]);
    assert.equal(table.hasClientSocket(7), false);
    assert.equal(table.size, 1);

    // Added again after removal: found again.
    const again = allocation(sources[0]);
    table.add(again);
    assert.equal(probe(sources[0]), again);
  });
});
