// The page's ICE-TCP candidates (RFC 6544) through the bridge, run by IcebridgeService (what the Worker runs)
// in Node with `ws`'s WebSocket against a real bridge on 127.0.0.1: active candidates over bridge streams
// always, passive ones on bridge listeners only where the operator enabled `allowListen`; two pages connect
// over TCP, one's active candidate to the other's passive listener on the bridge host.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { WebSocket } from 'ws';
import type { RunningBridge } from '../../bridge/server.js';
import { parseCandidate } from '../../src/ice/candidate.js';
import type { WebSocketConstructor } from '../../src/net/bridge-client.js';
import type { AgentEventMessage } from '../../src/worker/protocol.js';
import { IcebridgeService } from '../../src/worker/service.js';
import { startTestBridge, tokenUrl, within } from '../bridge/helpers.js';

const WS = WebSocket as unknown as WebSocketConstructor;

/** Two page agents on `bridge`, their candidates trickled to each other, gathered. */
async function twoPages(bridge: RunningBridge) {
  const s = new IcebridgeService({ WebSocket: WS });
  const events: { a: AgentEventMessage[]; b: AgentEventMessage[] } = { a: [], b: [] };
  const ids = { a: 0, b: 0 };
  const a = await s.createAgent({ bridge: tokenUrl(bridge), role: 'controlling', candidateProtocols: ['tcp'] }, (e) => {
    events.a.push(e);
    if (e.type === 'icecandidate') s.agentAddRemoteCandidate(ids.b, e.candidate ?? null);
  });
  const b = await s.createAgent({ bridge: tokenUrl(bridge), role: 'controlled', candidateProtocols: ['tcp'] }, (e) => {
    events.b.push(e);
    if (e.type === 'icecandidate') s.agentAddRemoteCandidate(ids.a, e.candidate ?? null);
  });
  ids.a = a.id;
  ids.b = b.id;
  s.agentSetRemoteParameters(a.id, b.localParameters);
  s.agentSetRemoteParameters(b.id, a.localParameters);
  await Promise.all([s.agentGather(a.id), s.agentGather(b.id)]);
  const candidates = (list: AgentEventMessage[]) => list.filter((e) => e.type === 'icecandidate' && e.candidate).map((e) => parseCandidate(e.candidate!.candidate));
  return { s, ids, events, candidates: { a: candidates(events.a), b: candidates(events.b) } };
}

async function until(done: () => boolean, ms: number, what: string): Promise<void> {
  await within(
    (async () => {
      while (!done()) await new Promise((r) => setTimeout(r, 10));
    })(),
    ms,
    what,
  );
}

describe('page ICE-TCP candidates through the bridge', () => {
  let listening: RunningBridge;
  let plain: RunningBridge;

  before(async () => {
    listening = await startTestBridge({ allowListen: true });
    plain = await startTestBridge();
  });
  after(async () => {
    await listening.close();
    await plain.close();
  });

  it('without allowListen a page gathers an active candidate only (port 9, the bridge host address)', async () => {
    const { s, candidates } = await twoPages(plain);
    try {
      assert.deepEqual(candidates.a.map((c) => [c.protocol, c.tcpType, c.port, c.address]), [['tcp', 'active', 9, '127.0.0.1']]);
    } finally {
      s.close();
    }
  });

  it('with allowListen a page also has a passive candidate on a bridge listener; two pages connect over TCP and carry data both ways', async () => {
    const { s, ids, events, candidates } = await twoPages(listening);
    try {
      for (const list of [candidates.a, candidates.b]) {
        assert.deepEqual(list.map((c) => c.tcpType).sort(), ['active', 'passive'], JSON.stringify(list));
        const passive = list.find((c) => c.tcpType === 'passive')!;
        assert.equal(passive.address, '127.0.0.1');
        assert.ok(passive.port !== 9 && passive.port > 0);
      }
      const up = (list: AgentEventMessage[]) => list.some((e) => e.type === 'statechange' && (e.state === 'connected' || e.state === 'completed'));
      await until(() => up(events.a) && up(events.b), 20_000, 'both pages connected over TCP');
      const pair = s.agentGetSelectedCandidatePair(ids.a)!;
      assert.equal(pair.local.protocol, 'tcp');
      // Only active → passive pairs exist (§6.2): one of the two pages' listeners took the connection.
      assert.deepEqual([pair.local.tcpType, pair.remote.tcpType].sort(), ['active', 'passive']);
      const data = (list: AgentEventMessage[], text: string) => list.some((e) => e.type === 'data' && new TextDecoder().decode(e.data) === text);
      assert.ok(s.agentSend(ids.a, 'a to b'));
      await until(() => data(events.b, 'a to b'), 5000, 'data at b');
      assert.ok(s.agentSend(ids.b, 'b to a'));
      await until(() => data(events.a, 'b to a'), 5000, 'data at a');
      assert.ok(listening.sessionCount >= 2);
    } finally {
      s.close();
    }
  });
});
