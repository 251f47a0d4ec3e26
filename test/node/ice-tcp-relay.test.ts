// Relayed TCP candidates (RFC 6544 §5.5 over RFC 6062 TURN TCP allocations) on real sockets on 127.0.0.1:
// an agent whose only candidates are relayed TCP ones (iceTransportPolicy 'relay') and a peer with host TCP
// candidates connect through icebridge's own TURN server and carry data both ways — over the passive one
// (the peer's active candidate connects to the relayed address, the server hands the connection to the
// allocation) and over the active one (a Connect: the server connects to the peer's passive candidate).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createIceAgent, type NodeIceAgentOptions } from '../../src/node/ice-agent.js';
import type { IceAgent } from '../../src/ice/ice-agent.js';
import { parseCandidate, type IceCandidate } from '../../src/ice/candidate.js';
import { startTurnServer, type RunningTurnServer } from '../../src/node/turn-server.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(done: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(10);
  }
}

/** Which of a's candidates b hears of, and of b's a (all by default); `heldToA`: b's reach a once it settles. */
async function pair(
  aOptions: NodeIceAgentOptions,
  bOptions: NodeIceAgentOptions,
  heard: { toB?: (c: IceCandidate) => boolean; toA?: (c: IceCandidate) => boolean; heldToA?: Promise<void> } = {},
) {
  const a = createIceAgent({ mdns: false, addresses: ['127.0.0.1'], role: 'controlling', ...aOptions });
  const b = createIceAgent({ mdns: false, addresses: ['127.0.0.1'], role: 'controlled', ...bOptions });
  const candidates: { a: IceCandidate[]; b: IceCandidate[] } = { a: [], b: [] };
  const errors: string[] = [];
  for (const [from, to, seen] of [[a, b, candidates.a], [b, a, candidates.b]] as const) {
    void to.setRemoteParameters(from.localParameters);
    from.addEventListener('icecandidate', (e) => {
      const c = e.candidate ? parseCandidate(e.candidate.candidate) : undefined;
      if (c) seen.push(c);
      const heardBy = from === a ? heard.toB : heard.toA;
      if (c && heardBy && !heardBy(c)) return;
      const held = from === b ? heard.heldToA : undefined;
      if (held) void held.then(() => to.addRemoteCandidate(e.candidate));
      else void to.addRemoteCandidate(e.candidate);
    });
    from.addEventListener('icecandidateerror', (e) => errors.push(`${e.url} ${e.errorCode} ${e.errorText}`));
  }
  await Promise.all([a.gather(), b.gather()]);
  return { a, b, candidates, errors };
}

async function echo(from: IceAgent, to: IceAgent, text: string): Promise<void> {
  const got = new Promise<string>((resolve) => to.addEventListener('data', (e) => resolve(new TextDecoder().decode(e.data)), { once: true }));
  assert.ok(from.send(new TextEncoder().encode(text)));
  assert.equal(await Promise.race([got, sleep(5000).then(() => 'nothing')]), text);
}

describe('relayed TCP candidates (RFC 6062 allocations)', () => {
  let turn: RunningTurnServer;
  let url: string;

  before(async () => {
    turn = await startTurnServer({ hosts: ['127.0.0.1'], port: 0, tcpPort: 0, relayAddress: '127.0.0.1', users: { alice: 'secret' }, realm: 'icebridge.test', allowLoopback: true });
    url = `turn:127.0.0.1:${turn.tcpAddresses[0].port}?transport=tcp`;
  });
  after(() => turn.close());

  it('a relay-only agent gathers a passive and an active relayed TCP candidate and connects to a host-TCP peer through the passive one', { timeout: 30_000 }, async () => {
    const { a, b, candidates, errors } = await pair(
      { candidateProtocols: ['tcp'], iceTransportPolicy: 'relay', iceServers: [{ urls: url, username: 'alice', credential: 'secret' }] },
      { candidateProtocols: ['tcp'] },
      // a hears only of b's active candidate: its active relayed one has nothing to Connect to.
      { toA: (c) => c.tcpType === 'active' },
    );
    try {
      assert.deepEqual(errors, []);
      assert.equal(candidates.a.length, 2, JSON.stringify(candidates.a));
      const relayed = candidates.a.find((c) => c.tcpType === 'passive')!;
      const active = candidates.a.find((c) => c.tcpType === 'active')!;
      assert.deepEqual([relayed.type, relayed.protocol, relayed.tcpType], ['relay', 'tcp', 'passive']);
      assert.deepEqual([active.type, active.address, active.port], ['relay', relayed.address, 9], 'RFC 6544 §4.5: the active one at the relayed IP, port 9');
      assert.equal(active.foundation, relayed.foundation);
      assert.equal(relayed.address, '127.0.0.1');
      assert.ok(relayed.relatedAddress !== undefined, 'the mapped address is the related one');
      const hostPassive = candidates.b.find((c) => c.tcpType === 'passive')!;
      assert.ok(relayed.priority < hostPassive.priority, 'RFC 6544 §4.2: a relayed TCP candidate is below every host one');
      await until(() => a.state === 'completed' && b.state === 'completed', 15_000, `both completed (a ${a.state}, b ${b.state})`);
      const selected = a.getSelectedCandidatePair()!;
      assert.deepEqual([selected.local.type, selected.local.protocol], ['relay', 'tcp']);
      assert.equal(selected.local.port, relayed.port);
      await echo(a, b, 'a through the relay');
      await echo(b, a, 'b through the relay');
    } finally {
      await a.close();
      await b.close();
    }
  });

  it("over the active relayed candidate: a Connect from the relayed address reaches a peer that only listens", { timeout: 30_000 }, async () => {
    // b hears only of a's active relayed candidate: b's active candidate has nothing to connect to, and the
    // one pair that can work is a's active relay → b's passive host candidate (the TURN server connects).
    const { a, b, candidates, errors } = await pair(
      { candidateProtocols: ['tcp'], iceTransportPolicy: 'relay', iceServers: [{ urls: url, username: 'alice', credential: 'secret' }] },
      { candidateProtocols: ['tcp'] },
      { toB: (c) => c.tcpType === 'active' },
    );
    try {
      assert.deepEqual(errors, []);
      await until(() => a.state === 'completed' && b.state === 'completed', 15_000, `both completed (a ${a.state}, b ${b.state})`);
      const selected = a.getSelectedCandidatePair()!;
      assert.deepEqual([selected.local.type, selected.local.tcpType, selected.local.port], ['relay', 'active', 9]);
      assert.equal(selected.remote.tcpType, 'passive');
      const relayed = candidates.a.find((c) => c.tcpType === 'passive')!;
      const atB = b.getSelectedCandidatePair()!;
      // The connection comes from the relayed address (RFC 6062 §5.2; from another port with icebridge's server
      // on Node 20, see node/turn-tcp-relay.ts): b learns it as a peer-reflexive active candidate.
      assert.deepEqual([atB.remote.type, atB.remote.tcpType, atB.remote.address], ['prflx', 'active', relayed.address]);
      await echo(a, b, 'a through its Connect');
      await echo(b, a, 'b back on it');
    } finally {
      await a.close();
      await b.close();
    }
  });

  it("a peer that connects before its candidates reached the relaying agent: refused for want of a permission, it connects again and gets through", { timeout: 30_000 }, async () => {
    // b's candidates reach a only once the TURN server has refused a connection: b's active candidate connected
    // to a's passive relayed address before a had a permission for b's IP, and the server closed it at once
    // (RFC 6062 §5.3). a hears only of b's active candidate, so that is the one path; b's early-close retries
    // carry it.
    const refusedBefore = turn.engine.tcp.counters.refused;
    const refused = (async () => {
      const deadline = Date.now() + 10_000;
      while (turn.engine.tcp.counters.refused === refusedBefore && Date.now() < deadline) await sleep(5);
    })();
    const { a, b, errors } = await pair(
      { candidateProtocols: ['tcp'], iceTransportPolicy: 'relay', iceServers: [{ urls: url, username: 'alice', credential: 'secret' }] },
      { candidateProtocols: ['tcp'] },
      { toA: (c) => c.tcpType === 'active', heldToA: refused },
    );
    try {
      assert.deepEqual(errors, []);
      await until(() => a.state === 'completed' && b.state === 'completed', 15_000, `both completed (a ${a.state}, b ${b.state})`);
      assert.deepEqual([a.getSelectedCandidatePair()!.local.type, a.getSelectedCandidatePair()!.local.tcpType], ['relay', 'passive']);
      assert.ok(turn.engine.tcp.counters.refused > refusedBefore, 'the first connection was refused (no permission)');
      await echo(b, a, 'b after its retry');
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('a TURN server that refuses (wrong credential) is an icecandidateerror naming it, and no candidate', { timeout: 20_000 }, async () => {
    const agent = createIceAgent({ mdns: false, addresses: ['127.0.0.1'], candidateProtocols: ['tcp'], iceTransportPolicy: 'relay', iceServers: [{ urls: url, username: 'alice', credential: 'wrong' }] });
    const errors: { url: string; errorCode: number }[] = [];
    const seen: string[] = [];
    agent.addEventListener('icecandidateerror', (e) => errors.push({ url: e.url, errorCode: e.errorCode }));
    agent.addEventListener('icecandidate', (e) => e.candidate && seen.push(e.candidate.candidate));
    try {
      await agent.gather();
      assert.deepEqual(seen, []);
      assert.ok(errors.some((e) => e.url === url && e.errorCode === 401), JSON.stringify(errors));
    } finally {
      await agent.close();
    }
  });
});
