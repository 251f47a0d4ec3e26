// The bridge tells the page about its own address changes (issue 15): a bridge whose UDP sockets are bound
// to the wildcard announces them at its host addresses; when those change (RunningBridge.setHostAddresses
// here — an interface change takes the same path from the interface watcher) each session hears of every
// socket announced otherwise (`host-addresses`), and a page agent with gatherPolicy 'continual' drops the
// candidate of the address that went, gathers on one at the new address and moves its selected pair there,
// without an ICE restart. IcebridgeService (what the Worker runs) in Node with `ws`, a Node IceAgent as the
// peer, all on 127.0.0.0/8 (every address of it is this host's).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { WebSocket } from 'ws';
import type { RunningBridge } from '../../bridge/server.js';
import { parseCandidate } from '../../src/ice/candidate.js';
import type { WebSocketConstructor } from '../../src/net/bridge-client.js';
import { connectBridge } from '../../src/node/bridge-client.js';
import { createIceAgent } from '../../src/node/ice-agent.js';
import type { AgentEventMessage } from '../../src/worker/protocol.js';
import { IcebridgeService } from '../../src/worker/service.js';
import { startTestBridge, tokenUrl, within } from '../bridge/helpers.js';

const WS = WebSocket as unknown as WebSocketConstructor;

async function until(done: () => boolean, ms: number, what: string): Promise<void> {
  await within(
    (async () => {
      while (!done()) await new Promise((r) => setTimeout(r, 10));
    })(),
    ms,
    what,
  );
}

describe("the bridge's own address changes reach the page", () => {
  let bridge: RunningBridge;

  before(async () => {
    bridge = await startTestBridge({ udpBindAddress: { IPv4: '0.0.0.0', IPv6: '::' }, hostAddresses: ['127.0.0.2'] });
  });
  after(() => bridge.close());

  it('a bridge socket hears of its new host addresses; a listener-less v2 client is told once per change, not when nothing changed', async () => {
    const connection = await connectBridge(tokenUrl(bridge));
    try {
      const socket = await connection.bind();
      assert.deepEqual(socket.hostAddresses, ['127.0.0.2']);
      const seen: (readonly string[])[] = [];
      socket.onhostaddresseschange = (list) => seen.push(list);
      bridge.setHostAddresses(['127.0.0.4', '::1']);
      await until(() => seen.length === 1, 5000, 'the host-addresses notice');
      assert.deepEqual(seen[0], ['127.0.0.4'], 'only the addresses of the socket’s family');
      assert.deepEqual(socket.hostAddresses, ['127.0.0.4']);
      bridge.setHostAddresses(['127.0.0.4', '::2']); // the IPv4 list is the same: no notice for an IPv4 socket
      bridge.setHostAddresses(['127.0.0.2']);
      await until(() => seen.length === 2, 5000, 'the second notice');
      assert.deepEqual(seen[1], ['127.0.0.2']);
      assert.throws(() => bridge.setHostAddresses(['not an address']), TypeError);
    } finally {
      connection.close();
      bridge.setHostAddresses(['127.0.0.2']);
    }
  });

  it("with gatherPolicy 'continual' the page moves its host candidate and its selected pair to the bridge's new address, no restart", { timeout: 30_000 }, async (t) => {
    const s = new IcebridgeService({ WebSocket: WS });
    const peer = createIceAgent({ mdns: false, addresses: ['127.0.0.1'], role: 'controlled' });
    const events: AgentEventMessage[] = [];
    try {
      const page = await s.createAgent({ bridge: tokenUrl(bridge), role: 'controlling', gatherPolicy: 'continual' }, (e) => {
        events.push(e);
        if (e.type === 'icecandidate' && e.candidate) void peer.addRemoteCandidate(e.candidate);
      });
      peer.addEventListener('icecandidate', (e) => s.agentAddRemoteCandidate(page.id, e.candidate ?? null));
      const received: string[] = [];
      peer.addEventListener('data', (e) => received.push(new TextDecoder().decode(e.data)));
      await peer.setRemoteParameters(page.localParameters);
      s.agentSetRemoteParameters(page.id, peer.localParameters);
      await Promise.all([s.agentGather(page.id), peer.gather()]);
      const selectedAt = (address: string) => s.agentGetSelectedCandidatePair(page.id)?.local.address === address;
      await until(() => selectedAt('127.0.0.2'), 10_000, 'a pair on 127.0.0.2 selected');

      const changedAt = Date.now();
      bridge.setHostAddresses(['127.0.0.3']);
      await until(() => selectedAt('127.0.0.3'), 10_000, "the selected pair on the bridge's new address").catch(async (e: Error) => {
        throw new Error(`${e.message}: ${JSON.stringify(events.map((x) => [x.type, x.state, x.selectedPair?.local.address]))}`);
      });
      const switchMs = Date.now() - changedAt;
      const hosts = events.filter((e) => e.type === 'icecandidate' && e.candidate).map((e) => parseCandidate(e.candidate!.candidate));
      assert.deepEqual(hosts.map((c) => c.address), ['127.0.0.2', '127.0.0.3'], 'the new host candidate was trickled');
      const stats = await s.agentGetStats(page.id);
      assert.ok(stats.filter((p) => p.local.address === '127.0.0.2').every((p) => p.state === 'failed'), 'the old address’s pairs failed');
      // No ICE restart: every event since the start carries the same local ufrag.
      assert.deepEqual([...new Set(events.map((e) => e.localParameters.usernameFragment))], [page.localParameters.usernameFragment]);
      assert.equal(s.agentGetSelectedCandidatePair(page.id)?.local.address, '127.0.0.3');
      const states = events.filter((e) => e.type === 'statechange').map((e) => e.state);
      assert.ok(!states.includes('failed'), `the agent never failed: ${states.join(' ')}`);
      assert.ok(s.agentSend(page.id, 'after the move'));
      await until(() => received.includes('after the move'), 5000, 'data from the new address at the peer');
      t.diagnostic(`selected pair moved ${switchMs} ms after setHostAddresses`);
    } finally {
      s.close();
      await peer.close();
      bridge.setHostAddresses(['127.0.0.2']);
    }
  });

  for (const allowListen of [true, false]) {
    it(`TCP candidates follow too (${allowListen ? 'active and passive: the listener hears of the change' : 'active only: a kept UDP socket hears of it'}); the selected TCP pair moves, no restart`, { timeout: 30_000 }, async (t) => {
      const tcpBridge = await startTestBridge({ udpBindAddress: { IPv4: '0.0.0.0', IPv6: '::' }, hostAddresses: ['127.0.0.2'], allowListen, listenPortRange: [1024, 65535] });
      const s = new IcebridgeService({ WebSocket: WS });
      const peer = createIceAgent({ mdns: false, addresses: ['127.0.0.1'], role: 'controlled', candidateProtocols: ['tcp'] });
      const events: AgentEventMessage[] = [];
      try {
        const page = await s.createAgent({ bridge: tokenUrl(tcpBridge), role: 'controlling', gatherPolicy: 'continual', candidateProtocols: ['tcp'] }, (e) => {
          events.push(e);
          if (e.type === 'icecandidate' && e.candidate) void peer.addRemoteCandidate(e.candidate);
        });
        peer.addEventListener('icecandidate', (e) => s.agentAddRemoteCandidate(page.id, e.candidate ?? null));
        const received: string[] = [];
        peer.addEventListener('data', (e) => received.push(new TextDecoder().decode(e.data)));
        await peer.setRemoteParameters(page.localParameters);
        s.agentSetRemoteParameters(page.id, peer.localParameters);
        await Promise.all([s.agentGather(page.id), peer.gather()]);
        const selectedAt = (address: string) => {
          const pair = s.agentGetSelectedCandidatePair(page.id);
          return pair?.local.protocol === 'tcp' && pair.local.address === address;
        };
        await until(() => selectedAt('127.0.0.2'), 10_000, 'a TCP pair on 127.0.0.2 selected');

        const changedAt = Date.now();
        tcpBridge.setHostAddresses(['127.0.0.3']);
        await until(() => selectedAt('127.0.0.3'), 10_000, "the selected TCP pair on the bridge's new address").catch(async (e: Error) => {
          throw new Error(`${e.message}: ${JSON.stringify(events.map((x) => [x.type, x.state, x.selectedPair?.local.address]))}`);
        });
        const switchMs = Date.now() - changedAt;
        const candidates = events.filter((e) => e.type === 'icecandidate' && e.candidate).map((e) => parseCandidate(e.candidate!.candidate));
        const want = (address: string) => (allowListen ? [`${address} active`, `${address} passive`] : [`${address} active`]);
        assert.deepEqual(candidates.map((c) => `${c.address} ${c.tcpType}`).sort(), [...want('127.0.0.2'), ...want('127.0.0.3')].sort(), 'the new address’s TCP candidates were trickled');
        const stats = await s.agentGetStats(page.id);
        assert.ok(stats.filter((p) => p.local.address === '127.0.0.2').every((p) => p.state === 'failed'), 'the old address’s pairs failed');
        assert.deepEqual([...new Set(events.map((e) => e.localParameters.usernameFragment))], [page.localParameters.usernameFragment], 'no ICE restart');
        assert.ok(s.agentSend(page.id, 'after the move'));
        await until(() => received.includes('after the move'), 5000, 'data over the new TCP pair at the peer');
        t.diagnostic(`selected TCP pair moved ${switchMs} ms after setHostAddresses`);
      } finally {
        s.close();
        await peer.close();
        await tcpBridge.close();
      }
    });
  }
});
