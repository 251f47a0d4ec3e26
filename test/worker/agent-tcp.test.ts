// The page's ICE-TCP candidates (RFC 6544) through the bridge, run by IcebridgeService (what the Worker runs)
// in Node with `ws`'s WebSocket against a real bridge on 127.0.0.1: active candidates over bridge streams
// always, passive ones on bridge listeners only where the operator enabled `allowListen`; two pages connect
// over TCP, one's active candidate to the other's passive listener on the bridge host; and a relay-only page
// whose passive relayed TCP candidate is an RFC 6062 allocation made over bridge streams.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { WebSocket } from 'ws';
import type { RunningBridge } from '../../bridge/server.js';
import { parseCandidate } from '../../src/ice/candidate.js';
import type { WebSocketConstructor } from '../../src/net/bridge-client.js';
import type { AgentEventMessage } from '../../src/worker/protocol.js';
import { IcebridgeService } from '../../src/worker/service.js';
import { createIceAgent } from '../../src/node/ice-agent.js';
import { startTurnServer, type RunningTurnServer } from '../../src/node/turn-server.js';
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
  let turn: RunningTurnServer;

  before(async () => {
    listening = await startTestBridge({ allowListen: true });
    plain = await startTestBridge();
    turn = await startTurnServer({ hosts: ['127.0.0.1'], port: 0, tcpPort: 0, relayAddress: '127.0.0.1', users: { alice: 'secret' }, realm: 'icebridge.test', allowLoopback: true });
  });
  after(async () => {
    await listening.close();
    await plain.close();
    await turn.close();
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

  // Over the passive relayed candidate (the peer's active one connects to the relayed address) and over the
  // active one (a Connect from the page's allocation to the peer's passive one); each side hears only of the
  // candidates that make that path possible.
  for (const path of ['passive', 'active'] as const) {
    it(`a relay-only page gets passive and active relayed TCP candidates (RFC 6062 over bridge streams); a host-TCP Node peer connects through the ${path} one`, { timeout: 30_000 }, async () => {
      const s = new IcebridgeService({ WebSocket: WS });
      const peer = createIceAgent({ mdns: false, addresses: ['127.0.0.1'], role: 'controlled', candidateProtocols: ['tcp'] });
      const events: AgentEventMessage[] = [];
      const active = (candidate: { candidate: string } | null | undefined) => candidate == null || / tcptype active/.test(candidate.candidate);
      try {
        const url = `turn:127.0.0.1:${turn.tcpAddresses[0].port}?transport=tcp`;
        const page = await s.createAgent(
          { bridge: tokenUrl(plain), role: 'controlling', candidateProtocols: ['tcp'], iceTransportPolicy: 'relay', iceServers: [{ urls: url, username: 'alice', credential: 'secret' }] },
          (e) => {
            events.push(e);
            if (e.type === 'icecandidate' && (path === 'passive' || active(e.candidate))) void peer.addRemoteCandidate(e.candidate ?? null);
          },
        );
        peer.addEventListener('icecandidate', (e) => {
          if (path === 'active' || active(e.candidate)) s.agentAddRemoteCandidate(page.id, e.candidate ?? null);
        });
        const received: string[] = [];
        peer.addEventListener('data', (e) => received.push(new TextDecoder().decode(e.data)));
        await peer.setRemoteParameters(page.localParameters);
        s.agentSetRemoteParameters(page.id, peer.localParameters);
        await Promise.all([s.agentGather(page.id), peer.gather()]);
        const candidates = events.filter((e) => e.type === 'icecandidate' && e.candidate).map((e) => parseCandidate(e.candidate!.candidate));
        assert.deepEqual(
          candidates.map((c) => [c.type, c.protocol, c.tcpType]).sort(),
          [['relay', 'tcp', 'active'], ['relay', 'tcp', 'passive']],
          JSON.stringify(events.filter((e) => e.type === 'icecandidateerror')),
        );
        await until(() => peer.state === 'completed' && s.agentGetSelectedCandidatePair(page.id) !== null, 15_000, `connected through the relay (peer ${peer.state})`).catch(async (e: Error) => {
          throw new Error(`${e.message}: peer ${JSON.stringify((await peer.getStats()).map((p) => [p.local.candidate, p.remote.candidate, p.state, p.failureReason]))} page ${JSON.stringify((await s.agentGetStats(page.id)).map((p) => [p.local.candidate, p.remote.candidate, p.state]))}`);
        });
        const selected = s.agentGetSelectedCandidatePair(page.id)!;
        assert.deepEqual([selected.local.type, selected.local.tcpType], ['relay', path]);
        assert.ok(s.agentSend(page.id, 'page through the relay'));
        await until(() => received.includes('page through the relay'), 5000, 'data at the peer');
      } finally {
        s.close();
        await peer.close();
      }
    });
  }
});
