// ICE-TCP (RFC 6544) on real sockets: host TCP candidates — active (port 9) and passive (listening) — paired
// by direction, checked and carrying data in RFC 4571 frames; a UDP pair outranks every TCP pair; a TCP
// connection that closes fails its pairs at once.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createIceAgent, type NodeIceAgentOptions } from '../../src/node/ice-agent.js';
import type { IceAgent } from '../../src/ice/ice-agent.js';
import { parseCandidate } from '../../src/ice/candidate.js';
import { IceAgent as CoreIceAgent } from '../../src/ice/ice-agent.js';
import { TcpActiveSocket, TcpPassiveSocket } from '../../src/node/tcp-candidate-sockets.js';
import type { DestinationUnreachableError } from '../../src/net/datagram-socket.js';
import { connect } from 'node:net';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(done: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(10);
  }
}

async function pair(options: NodeIceAgentOptions, bOptions: NodeIceAgentOptions = options) {
  const a = createIceAgent({ mdns: false, addresses: ['127.0.0.1'], role: 'controlling', ...options });
  const b = createIceAgent({ mdns: false, addresses: ['127.0.0.1'], role: 'controlled', ...bOptions });
  const candidates: { a: string[]; b: string[] } = { a: [], b: [] };
  const wire = (from: IceAgent, to: IceAgent, seen: string[]) => {
    void to.setRemoteParameters(from.localParameters);
    from.addEventListener('icecandidate', (e) => {
      if (e.candidate) seen.push(e.candidate.candidate);
      void to.addRemoteCandidate(e.candidate);
    });
  };
  wire(a, b, candidates.a);
  wire(b, a, candidates.b);
  await Promise.all([a.gather(), b.gather()]);
  await until(() => a.state === 'completed' && b.state === 'completed', 10_000, `both completed (a ${a.state}, b ${b.state})`);
  return { a, b, candidates };
}

async function echo(a: IceAgent, b: IceAgent): Promise<void> {
  const got = new Promise<string>((resolve) => b.addEventListener('data', (e) => resolve(new TextDecoder().decode(e.data)), { once: true }));
  a.send(new TextEncoder().encode('over tcp'));
  assert.equal(await Promise.race([got, sleep(5000).then(() => 'nothing')]), 'over tcp');
}

describe('ICE-TCP (RFC 6544) on loopback', () => {
  it("candidateProtocols ['tcp']: an active (port 9) and a passive candidate each; connected over TCP with data both ways", { timeout: 20_000 }, async () => {
    const { a, b, candidates } = await pair({ candidateProtocols: ['tcp'] });
    try {
      for (const list of [candidates.a, candidates.b]) {
        const parsed = list.map((c) => parseCandidate(c));
        assert.deepEqual(parsed.map((c) => [c.protocol, c.tcpType]).sort(), [['tcp', 'active'], ['tcp', 'passive']], list.join(' | '));
        const active = parsed.find((c) => c.tcpType === 'active')!;
        const passive = parsed.find((c) => c.tcpType === 'passive')!;
        assert.equal(active.port, 9);
        assert.ok(active.priority > passive.priority, 'RFC 6544 §4.2: active 6 over passive 4 for host candidates');
      }
      const selected = a.getSelectedCandidatePair()!;
      assert.equal(selected.local.protocol, 'tcp');
      await echo(a, b);
      await echo(b, a);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it("with ['udp', 'tcp'] the UDP pair wins though the TCP pairs work", { timeout: 20_000 }, async () => {
    const { a, b } = await pair({ candidateProtocols: ['udp', 'tcp'] });
    try {
      assert.equal(a.getSelectedCandidatePair()!.local.protocol, 'udp');
      assert.equal(b.getSelectedCandidatePair()!.local.protocol, 'udp');
      await until(async () => (await a.getStats()).some((s) => s.local.protocol === 'tcp' && s.state === 'succeeded'), 10_000, 'a TCP pair checked too');
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('a TCP connection that closes fails its pairs at once: the agent says why, not after consent expiry', { timeout: 20_000 }, async () => {
    const { a, b } = await pair({ candidateProtocols: ['tcp'] });
    try {
      const closedAt = Date.now();
      await b.close();
      await until(() => a.state === 'failed' || a.state === 'disconnected', 5_000, `a to notice (a ${a.state})`);
      assert.ok(Date.now() - closedAt < 5_000);
      const stats = await a.getStats();
      assert.ok(stats.some((s) => s.state === 'failed' && /TCP to 127\.0\.0\.1:\d+/.test(s.failureReason ?? '')), JSON.stringify(stats.map((s) => [s.state, s.failureReason])));
    } finally {
      await a.close();
    }
  });

  it('an agent with only a passive candidate, facing only an active one, waits for the connection (RFC 6544 §6.2) instead of failing', { timeout: 20_000 }, async () => {
    // What a page behind the bridge (active only) and a Node peer (passive) are.
    const passive = new CoreIceAgent({ role: 'controlled', sockets: async () => [], tcpSockets: async () => [{ socket: await TcpPassiveSocket.listen('127.0.0.1'), tcpType: 'passive' }] });
    const active = new CoreIceAgent({ role: 'controlling', sockets: async () => [], tcpSockets: async () => [{ socket: new TcpActiveSocket('127.0.0.1'), tcpType: 'active' }] });
    for (const [from, to] of [[passive, active], [active, passive]] as const) {
      void to.setRemoteParameters(from.localParameters);
      from.addEventListener('icecandidate', (e) => void to.addRemoteCandidate(e.candidate));
    }
    const states: string[] = [];
    passive.addEventListener('statechange', () => states.push(passive.state));
    try {
      await Promise.all([passive.gather(), active.gather()]);
      await until(() => passive.state === 'completed' && active.state === 'completed', 10_000, `both completed (passive ${passive.state}, active ${active.state})`);
      assert.ok(!states.includes('failed'), states.join(' '));
      await echo(active, passive);
      await echo(passive, active);
    } finally {
      await passive.close();
      await active.close();
    }
  });

  it('maxConnections bounds both kinds: an active socket refuses a further remote at once, a passive one closes a further connection', { timeout: 10_000 }, async () => {
    const passive = await TcpPassiveSocket.listen('127.0.0.1', { maxConnections: 1 });
    const other = await TcpPassiveSocket.listen('127.0.0.1');
    const active = new TcpActiveSocket('127.0.0.1', { maxConnections: 1 });
    const refused: DestinationUnreachableError[] = [];
    active.onunreachable = (e) => refused.push(e);
    try {
      active.send(new Uint8Array([1]), passive.localAddress);
      active.send(new Uint8Array([2]), other.localAddress);
      assert.equal(refused.length, 1);
      assert.match(refused[0]!.message, /more than maxConnections 1/);
      assert.deepEqual(refused[0]!.destination, other.localAddress);
      // The passive side holds the active socket's connection once its first frame is in: a second is closed on accept.
      const first = new Promise<number>((resolve) => (passive.ondatagram = (bytes) => resolve(bytes[0]!)));
      assert.equal(await first, 1);
      const closed = await new Promise<boolean>((resolve) => {
        const s = connect({ host: '127.0.0.1', port: passive.localAddress.port });
        s.on('error', () => resolve(true));
        s.on('close', () => resolve(true));
        setTimeout(() => resolve(false), 3000);
      });
      assert.ok(closed, 'the second connection was closed by the passive socket');
    } finally {
      active.close();
      passive.close();
      other.close();
    }
  });

  it('candidateProtocols must name udp and/or tcp', () => {
    assert.throws(() => createIceAgent({ candidateProtocols: [] }), TypeError);
    assert.throws(() => createIceAgent({ candidateProtocols: ['sctp' as 'udp'] }), TypeError);
  });
});
