// Names through the bridge (protocol v2 `resolve`): answers judged by the destination policy, the TTL cache,
// the caps on lookups, and every error code — against a real bridge whose `resolve` option is the test's
// zone (no /etc/hosts, no DNS server). Loopback only.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { RunningBridge } from '../../bridge/server.js';
import type { BridgeResolveFunction } from '../../bridge/resolver.js';
import { BridgeError, type BridgeConnection } from '../../src/net/bridge-client.js';
import { BRIDGE_SUBPROTOCOL_V2, encodeBridgeFrame } from '../../src/net/bridge-frame.js';
import { connectBridge } from '../../src/node/bridge-client.js';
import { stunBinding } from '../../src/stun/binding.js';
import { startStunServer, type RunningStunServer } from '../../src/node/stun-server.js';
import { RawClient, startTestBridge, tokenUrl } from './helpers.js';

type Zone = Record<string, { A?: (string | { address: string; ttl: number })[]; AAAA?: string[]; delayMs?: number }>;

const ZONE: Zone = {
  'stun.test': { A: [{ address: '127.0.0.1', ttl: 60 }] },
  'dual.test': { A: ['127.0.0.1'], AAAA: ['::1'] },
  'mixed.test': { A: ['169.254.169.254', '127.0.0.2', '224.0.0.1'] },
  'metadata.test': { A: ['169.254.169.254'], AAAA: ['64:ff9b::a9fe:a9fe'] },
  'slow.test': { A: ['127.0.0.1'], delayMs: 2000 },
};

function zoneResolver(zone: Zone, calls: string[]): BridgeResolveFunction {
  return async (name, family) => {
    calls.push(`${family} ${name}`);
    const entry = zone[name.toLowerCase()];
    if (entry?.delayMs) await new Promise((r) => setTimeout(r, entry.delayMs));
    const list = family === 'IPv6' ? entry?.AAAA : entry?.A;
    if (!list) throw Object.assign(new Error(`queryA ENOTFOUND ${name}`), { code: 'ENOTFOUND' });
    return list;
  };
}

describe('bridge name lookups', () => {
  const calls: string[] = [];
  let bridge: RunningBridge;
  let connection: BridgeConnection;
  let stun: RunningStunServer;

  before(async () => {
    bridge = await startTestBridge({ resolve: zoneResolver(ZONE, calls), resolveTimeoutMs: 300, lookupsPerSecond: 1000, maxConcurrentLookups: 2 });
    connection = await connectBridge(tokenUrl(bridge));
    stun = await startStunServer({ port: 0, hosts: ['127.0.0.1'] });
  });
  after(async () => {
    connection?.close();
    await bridge?.close();
    await stun?.close();
  });

  it('answers a name with its addresses, and a STUN server named so is reached through the bridge', async () => {
    assert.deepEqual(await connection.resolve('stun.test'), [{ address: '127.0.0.1', ttl: 60 }]);
    const socket = await connection.bind();
    try {
      const address = await connection.resolveHost('stun.test');
      const r = await stunBinding({ address, port: stun.addresses[0].port }, { socket, timeoutMs: 3000 });
      assert.equal(r.server.address, '127.0.0.1');
    } finally {
      socket.close();
    }
  });

  it('asks for both families when told to, and one family only when told so', async () => {
    const both = await connection.resolve('dual.test', { families: ['IPv4', 'IPv6'] });
    assert.deepEqual(both.map((a) => a.address).sort(), ['127.0.0.1', '::1']);
    assert.deepEqual((await connection.resolve('dual.test', { families: ['IPv6'] })).map((a) => a.address), ['::1']);
  });

  it('serves a name again from the cache within its TTL, and asks again for an answer of TTL 0', async () => {
    const before = calls.filter((c) => c === 'IPv4 stun.test').length;
    await connection.resolve('STUN.test.');
    assert.equal(calls.filter((c) => c === 'IPv4 stun.test').length, before, 'case and a final dot do not matter, the cache answers');
    assert.ok((bridge.metrics.snapshot().lookups.cached ?? 0) >= 1);
    const asked = calls.filter((c) => c === 'IPv4 dual.test').length;
    await connection.resolve('dual.test', { families: ['IPv4'] });
    assert.equal(calls.filter((c) => c === 'IPv4 dual.test').length, asked + 1, 'TTL 0: not cached');
  });

  it('removes denied answers before the client sees them, and counts them', async () => {
    const deniedBefore = bridge.metrics.snapshot().answersDenied;
    assert.deepEqual((await connection.resolve('mixed.test')).map((a) => a.address), ['127.0.0.2']);
    assert.equal(bridge.metrics.snapshot().answersDenied - deniedBefore, 2);
  });

  it('refuses a name whose every answer is denied with destination-denied, not an empty success', async () => {
    await assert.rejects(connection.resolve('metadata.test', { families: ['IPv4', 'IPv6'] }), (e: unknown) => e instanceof BridgeError && e.code === 'destination-denied' && /metadata\.test/.test(e.reason));
  });

  it('names a missing name name-not-found and a slow one resolve-timeout', async () => {
    await assert.rejects(connection.resolve('nowhere.test'), (e: unknown) => e instanceof BridgeError && e.code === 'name-not-found');
    const t0 = performance.now();
    await assert.rejects(connection.resolve('slow.test'), (e: unknown) => e instanceof BridgeError && e.code === 'resolve-timeout');
    assert.ok(performance.now() - t0 < 1900, 'the bridge gave up at its resolveTimeoutMs, before the resolver answered');
  });

  it('caps lookups in flight per session (rate-limited), and the metrics say how each ended', async () => {
    // Concurrent lookups of one name share one request in the client: raw frames reach the cap.
    const raw = new RawClient(tokenUrl(bridge), { protocols: [BRIDGE_SUBPROTOCOL_V2] });
    try {
      await raw.opened;
      await raw.frame((f) => f.type === 'hello');
      for (let id = 1; id <= 3; id++) raw.send(encodeBridgeFrame({ type: 'resolve', requestId: id, name: 'slow.test', families: ['IPv4'] }));
      const limited = await raw.frame((f) => f.type === 'error' && f.code === 'rate-limited');
      assert.ok(limited.type === 'error' && limited.requestId === 3 && /at most 2 lookups at once/.test(limited.reason));
    } finally {
      raw.close();
    }
    const text = bridge.metrics.text();
    for (const outcome of ['answered', 'cached', 'name-not-found', 'resolve-timeout', 'destination-denied', 'rate-limited']) {
      assert.match(text, new RegExp(`icebridge_bridge_lookups_total\\{outcome="${outcome}"\\} [1-9]`), outcome);
    }
    assert.match(text, /icebridge_bridge_answers_denied_total [1-9]/);
  });
});

describe('bridge name lookups: per-second cap and turned off', () => {
  it('limits names per second per session', async () => {
    const bridge = await startTestBridge({ resolve: zoneResolver(ZONE, []), lookupsPerSecond: 2 });
    const connection = await connectBridge(tokenUrl(bridge));
    try {
      const results = await Promise.allSettled(['a', 'b', 'c', 'd'].map((n) => connection.resolve(`${n}.test`)));
      const codes = results.map((r) => (r.status === 'rejected' && r.reason instanceof BridgeError ? r.reason.code : 'ok'));
      assert.deepEqual(codes, ['name-not-found', 'name-not-found', 'rate-limited', 'rate-limited']);
    } finally {
      connection.close();
      await bridge.close();
    }
  });

  it('answers not-supported when the operator turned lookups off', async () => {
    const bridge = await startTestBridge({ resolve: zoneResolver(ZONE, []), allowResolve: false });
    const connection = await connectBridge(tokenUrl(bridge));
    try {
      assert.equal(connection.limits.lookupsPerSecond, 0);
      await assert.rejects(connection.resolve('stun.test'), (e: unknown) => e instanceof BridgeError && e.code === 'not-supported');
    } finally {
      connection.close();
      await bridge.close();
    }
  });
});
