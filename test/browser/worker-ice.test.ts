// Two IceAgents in the Worker, their host sockets on the bridge, signalled through the page: they connect
// on host candidates, and relay-only through icebridge's TURN server and through coturn; events, state,
// the selected pair and stats reach the page, data goes both ways transferred; a page agent connects to a Node
// IceAgent over real UDP (ice-peer-plugin.ts). Every scenario runs over both carriers (WebSocket, WebTransport).
import { createIceAgent, IcebridgeWorker, type IceAgentConfig, type WorkerIceAgent, type WorkerIceAgentEvent } from '../../src/worker.js';
import { assert, assertEqual } from './assert.js';
import { bridgeOver, bridgeSessions, CARRIERS, nextEvent, testEnv, until, within, type BrowserTestEnv } from './env.js';
import { connected, signal } from './agent-pair.js';



async function connectPair(config: IceAgentConfig, worker: IcebridgeWorker): Promise<[WorkerIceAgent, WorkerIceAgent]> {
  const a = await createIceAgent({ ...config, role: 'controlling', worker });
  const b = await createIceAgent({ ...config, role: 'controlled', worker });
  await signal(a, b);
  await Promise.all([a.gather(), b.gather()]);
  await within(Promise.all([connected(a), connected(b)]), 20_000, 'both agents connected');
  return [a, b];
}

async function exchange(a: WorkerIceAgent, b: WorkerIceAgent): Promise<void> {
  const atB = nextEvent<WorkerIceAgentEvent>(b, 'data');
  const payload = new TextEncoder().encode('ping from a');
  assert(a.send(payload), 'a has a selected pair to send on');
  assertEqual(payload.byteLength, 0, 'sent bytes transferred to the Worker');
  const got = await within(atB, 5000, 'data at b');
  assertEqual(new TextDecoder().decode(got.data), 'ping from a');
  assertEqual(got.data!.buffer.byteLength, got.data!.byteLength, 'received bytes own their buffer');
  const atA = nextEvent<WorkerIceAgentEvent>(a, 'data');
  assert(b.send('pong from b'), 'b sends a string');
  assertEqual(new TextDecoder().decode((await within(atA, 5000, 'data at a')).data), 'pong from b');
}

/** A POST to the Node-side ICE agent of ice-peer-plugin.ts. */
async function icePeer<T>(path: string, body: unknown): Promise<T> {
  const response = await fetch(`/__ice/${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const reply = (await response.json()) as T | { error: string };
  if (!response.ok || (reply !== null && typeof reply === 'object' && 'error' in reply)) throw new Error(`/__ice/${path}: ${JSON.stringify(reply)}`);
  return reply as T;
}

for (const carrier of CARRIERS) describe(`IceAgent in a Worker, host sockets on the bridge, over ${carrier}`, () => {
  let env: BrowserTestEnv;
  /** This suite's bridge config: the same bridge over this carrier. */
  let bridge: ReturnType<typeof bridgeOver>;
  let worker: IcebridgeWorker;
  /** Agents of the running test, closed when it ends (pass or fail) so no session outlives it. */
  const agents: WorkerIceAgent[] = [];
  const test = (name: string, body: () => Promise<void>) =>
    it(name, async () => {
      try {
        await body();
      } finally {
        await Promise.all(agents.splice(0).map((a) => a.close()));
        await until(async () => (await bridgeSessions()) === 0, 5000, 'every bridge session closed after the test');
      }
    });

  before(async () => {
    worker = new IcebridgeWorker();
    env = await testEnv();
    bridge = bridgeOver(carrier, env.bridge);
  });

  after(() => worker.terminate());

  test('gathers bridge host candidates as trickled events, in order, then connects and carries data', async () => {
    const a = await createIceAgent({ bridge, worker });
    agents.push(a);
    assertEqual(a.carrier, carrier, 'the agent reports its carrier');
    assertEqual(a.fallbackReason, undefined, 'no fallback');
    assertEqual(a.state, 'new');
    assertEqual(a.gatheringState, 'new');
    assert(a.localParameters.usernameFragment.length >= 4, 'local ufrag known before gathering');
    const seen: string[] = [];
    for (const type of ['gatheringstatechange', 'icecandidate']) {
      a.addEventListener(type, (e) => {
        const c = (e as WorkerIceAgentEvent).candidate;
        seen.push(type === 'icecandidate' ? (c ? `candidate ${c.candidate.split(' ')[4]} ${c.candidate.split(' ')[7]}` : 'end') : `gathering ${a.gatheringState}`);
      });
    }
    await a.gather();
    // gather() resolves only after its events reached the page.
    assertEqual(seen[0], 'gathering gathering');
    assertEqual(seen[1], 'candidate 127.0.0.1 host', 'the host candidate is the bridge socket on loopback');
    assertEqual(seen.at(-2), 'gathering complete');
    assertEqual(seen.at(-1), 'end');
    assertEqual(a.gatheringState, 'complete');
  });

  test('connects two agents over bridge host candidates and exchanges data', async () => {
    const [a, b] = await connectPair({ bridge }, worker);
    agents.push(a, b);
    const pair = a.getSelectedCandidatePair();
    assert(pair, 'a selected pair');
    assertEqual(pair.local.type, 'host');
    assertEqual(pair.local.address, '127.0.0.1');
    assertEqual(pair.remote.address, '127.0.0.1');
    await exchange(a, b);
    const stats = await a.getStats();
    const selected = stats.find((s) => s.selected);
    assert(selected, 'stats flag the selected pair');
    assert(selected.requestsSent > 0 && selected.responsesReceived > 0, 'checks were answered');
    assert(selected.bytesSent > 0 && selected.packetsReceived > 0, 'data counted');
  });

  for (const server of ['icebridge', 'icebridgeRest', 'coturn'] as const) {
    test(`connects relay-only through ${server} TURN`, async () => {
      const turn = env.turn[server];
      const [a, b] = await connectPair({ bridge, iceServers: [turn], iceTransportPolicy: 'relay' }, worker);
      agents.push(a, b);
      const pair = a.getSelectedCandidatePair();
      assertEqual(pair?.local.type, 'relay', 'local relay candidate');
      assertEqual(pair?.remote.type, 'relay', 'remote relay candidate');
      await exchange(a, b);
    });
  }

  test('reports state changes to closed and closes its own bridge session', async () => {
    const [a, b] = await connectPair({ bridge }, worker);
    assertEqual(await bridgeSessions(), 2, 'one session per agent');
    const closedEvent = nextEvent(a, 'statechange', () => a.state === 'closed');
    await a.close();
    await closedEvent;
    assertEqual(a.state, 'closed');
    assertEqual(a.send('late'), false, 'a closed agent sends nothing');
    assertEqual(a.getSelectedCandidatePair(), null, 'no selected pair once closed (RTCIceTransport)');
    assertEqual((await a.getStats()).length, 0, 'a closed agent has no pairs, as in Node');
    // As a closed RTCPeerConnection: signalling rejects with InvalidStateError (the Node agent’s, word for word).
    const refusals = await Promise.all(
      [a.gather(), a.setRemoteParameters(b.localParameters), a.addRemoteCandidate(null), a.restart()].map((p) => p.then(() => 'resolved', (e: Error) => `${e.name}: ${e.message}`)),
    );
    assertEqual(refusals.join(' | '), ['gather', 'setRemoteParameters', 'addRemoteCandidate', 'restart'].map((m) => `InvalidStateError: ${m}() on a closed agent`).join(' | '));
    await b.close();
    await until(async () => (await bridgeSessions()) === 0, 5000, 'both agent sessions closed');
  });

  test('runs agents on a shared connection made in the page', async () => {
    const connection = await worker.connectBridge(bridge);
    assertEqual(connection.carrier, carrier, 'the connection reports its carrier');
    try {
      const a = await connection.createIceAgent({ role: 'controlling' });
      const b = await connection.createIceAgent({ role: 'controlled' });
      agents.push(a, b);
      await signal(a, b);
      await Promise.all([a.gather(), b.gather()]);
      await within(Promise.all([connected(a), connected(b)]), 20_000, 'both connected');
      await exchange(a, b);
    } finally {
      connection.close();
    }
  });

  test('connects to a Node IceAgent over real UDP and carries data both ways', async () => {
    const peer = await icePeer<{ id: string; ufrag: string; pwd: string; candidates: string[] }>('start', { role: 'controlled' });
    try {
      const a = await createIceAgent({ bridge, role: 'controlling', worker });
      agents.push(a);
      const lines: string[] = [];
      a.addEventListener('icecandidate', (e) => {
        const c = (e as WorkerIceAgentEvent).candidate;
        if (c) lines.push(`a=${c.candidate}`);
      });
      await a.setRemoteParameters({ usernameFragment: peer.ufrag, password: peer.pwd });
      for (const line of peer.candidates) await a.addRemoteCandidate(line);
      await a.addRemoteCandidate(null);
      await a.gather();
      const { added } = await icePeer<{ added: string[] }>('remote', { id: peer.id, ufrag: a.localParameters.usernameFragment, pwd: a.localParameters.password, candidates: lines, endOfCandidates: true });
      assert(added.length > 0, `the Node agent took the page's candidates: ${lines.join(' | ')}`);
      await within(connected(a), 20_000, 'the page agent connected to the Node agent');
      assert(a.send('hello node'), 'the page agent has a selected pair');
      await until(
        async () => ((await (await fetch(`/__ice/state?id=${peer.id}`)).json()) as { received: { text?: string }[] }).received.some((r) => r.text === 'hello node'),
        5000,
        'the Node agent received the page data',
      );
      const atA = nextEvent<WorkerIceAgentEvent>(a, 'data');
      assert((await icePeer<{ sent: boolean }>('send', { id: peer.id, text: 'hello page' })).sent, 'the Node agent sends');
      assertEqual(new TextDecoder().decode((await within(atA, 5000, 'data at the page agent')).data), 'hello page');
    } finally {
      await icePeer('close', { id: peer.id });
    }
  });

  test('connects to a Node IceAgent over TCP candidates (RFC 6544): the page active through the bridge’s streams, Node passive', async () => {
    const peer = await icePeer<{ id: string; ufrag: string; pwd: string; candidates: string[] }>('start', { role: 'controlled', protocol: 'tcp' });
    try {
      assert(peer.candidates.length === 1 && / tcp .* tcptype passive/.test(peer.candidates[0]), `Node candidates: ${peer.candidates.join(' | ')}`);
      const a = await createIceAgent({ bridge, role: 'controlling', worker, candidateProtocols: ['tcp'] });
      agents.push(a);
      const lines: string[] = [];
      a.addEventListener('icecandidate', (e) => {
        const c = (e as WorkerIceAgentEvent).candidate;
        if (c) lines.push(`a=${c.candidate}`);
      });
      await a.setRemoteParameters({ usernameFragment: peer.ufrag, password: peer.pwd });
      for (const line of peer.candidates) await a.addRemoteCandidate(line);
      await a.addRemoteCandidate(null);
      await a.gather();
      // Active over bridge streams; passive on a bridge listener, since this bridge listens for pages (allowListen).
      assert(lines.length === 2 && lines.some((l) => / tcp \d+ \S+ 9 typ host tcptype active/.test(l)) && lines.some((l) => / tcptype passive/.test(l)), `page candidates: ${lines.join(' | ')}`);
      await icePeer('remote', { id: peer.id, ufrag: a.localParameters.usernameFragment, pwd: a.localParameters.password, candidates: lines, endOfCandidates: true });
      await within(connected(a), 20_000, 'the page agent connected to the Node agent over TCP');
      assertEqual(a.getSelectedCandidatePair()?.local.protocol, 'tcp', 'selected pair transport');
      assert(a.send('hello over tcp'), 'the page agent has a selected pair');
      await until(
        async () => ((await (await fetch(`/__ice/state?id=${peer.id}`)).json()) as { received: { text?: string }[] }).received.some((r) => r.text === 'hello over tcp'),
        5000,
        'the Node agent received the page data over TCP',
      );
      const atA = nextEvent<WorkerIceAgentEvent>(a, 'data');
      const sent = (await icePeer<{ sent: boolean }>('send', { id: peer.id, text: 'hello page, over tcp' })).sent;
      assert(sent, `the Node agent sends: ${JSON.stringify(await (await fetch(`/__ice/state?id=${peer.id}`)).json())}`);
      assertEqual(new TextDecoder().decode((await within(atA, 5000, 'data at the page agent')).data), 'hello page, over tcp');
    } finally {
      await icePeer('close', { id: peer.id });
    }
  });

  test('connects to a Node IceAgent over TCP the other way: Node active, the page passive on a bridge listener', async () => {
    const peer = await icePeer<{ id: string; ufrag: string; pwd: string; candidates: string[] }>('start', { role: 'controlled', protocol: 'tcp-active' });
    try {
      assert(peer.candidates.length === 1 && / tcp .* 9 typ host tcptype active/.test(peer.candidates[0]), `Node candidates: ${peer.candidates.join(' | ')}`);
      const a = await createIceAgent({ bridge, role: 'controlling', worker, candidateProtocols: ['tcp'] });
      agents.push(a);
      const lines: string[] = [];
      a.addEventListener('icecandidate', (e) => {
        const c = (e as WorkerIceAgentEvent).candidate;
        if (c) lines.push(`a=${c.candidate}`);
      });
      await a.setRemoteParameters({ usernameFragment: peer.ufrag, password: peer.pwd });
      for (const line of peer.candidates) await a.addRemoteCandidate(line);
      await a.addRemoteCandidate(null);
      await a.gather();
      await icePeer('remote', { id: peer.id, ufrag: a.localParameters.usernameFragment, pwd: a.localParameters.password, candidates: lines, endOfCandidates: true });
      await within(connected(a), 20_000, 'the page agent connected: the Node agent reached its bridge listener');
      const pair = a.getSelectedCandidatePair();
      assertEqual(pair?.local.tcpType, 'passive', 'the page end of the selected pair');
      assert(a.send('hello over a listener'), 'the page agent has a selected pair');
      await until(
        async () => ((await (await fetch(`/__ice/state?id=${peer.id}`)).json()) as { received: { text?: string }[] }).received.some((r) => r.text === 'hello over a listener'),
        5000,
        'the Node agent received the page data over TCP',
      );
    } finally {
      await icePeer('close', { id: peer.id });
    }
  });

  test('connects relay-only over a relayed TCP candidate: an RFC 6062 allocation made over bridge streams, a Node active peer', async () => {
    const peer = await icePeer<{ id: string; ufrag: string; pwd: string; candidates: string[] }>('start', { role: 'controlled', protocol: 'tcp-active' });
    try {
      const a = await createIceAgent({ bridge, role: 'controlling', worker, candidateProtocols: ['tcp'], iceTransportPolicy: 'relay', iceServers: [env.turn.icebridgeTcp] });
      agents.push(a);
      const lines: string[] = [];
      a.addEventListener('icecandidate', (e) => {
        const c = (e as WorkerIceAgentEvent).candidate;
        if (c) lines.push(`a=${c.candidate}`);
      });
      await a.setRemoteParameters({ usernameFragment: peer.ufrag, password: peer.pwd });
      for (const line of peer.candidates) await a.addRemoteCandidate(line);
      await a.addRemoteCandidate(null);
      await a.gather();
      // A passive relayed candidate, and an active one (RFC 6062 Connect) the active-only peer cannot pair with.
      assert(
        lines.length === 2 &&
          lines.some((l) => / tcp \d+ 127\.0\.0\.1 \d+ typ relay raddr \S+ rport \d+ tcptype passive/.test(l)) &&
          lines.some((l) => / tcp \d+ 127\.0\.0\.1 9 typ relay raddr \S+ rport \d+ tcptype active/.test(l)),
        `page candidates: ${lines.join(' | ')}`,
      );
      await icePeer('remote', { id: peer.id, ufrag: a.localParameters.usernameFragment, pwd: a.localParameters.password, candidates: lines, endOfCandidates: true });
      await within(connected(a), 20_000, 'the page agent connected through its TCP allocation');
      assertEqual(a.getSelectedCandidatePair()?.local.type, 'relay', 'the page end of the selected pair');
      assertEqual(a.getSelectedCandidatePair()?.local.tcpType, 'passive', 'the page end of the selected pair');
      assert(a.send('hello through the relay'), 'the page agent has a selected pair');
      await until(
        async () => ((await (await fetch(`/__ice/state?id=${peer.id}`)).json()) as { received: { text?: string }[] }).received.some((r) => r.text === 'hello through the relay'),
        5000,
        'the Node agent received the page data through the relay',
      );
    } finally {
      await icePeer('close', { id: peer.id });
    }
  });

  test('rejects a malformed remote candidate with IceCandidateError', async () => {
    const a = await createIceAgent({ bridge, worker });
    agents.push(a);
    let caught: unknown;
    await a.addRemoteCandidate({ candidate: 'candidate:1 1 udp notanumber 127.0.0.1 9 typ host', sdpMid: '0' }).catch((e: unknown) => (caught = e));
    assertEqual((caught as Error | undefined)?.name, 'IceCandidateError');
    assertEqual((caught as { code?: string } | undefined)?.code, 'PRIORITY');
  });

  test('creates an agent on the shared page Worker when none is given', async () => {
    const a = await createIceAgent({ bridge });
    agents.push(a);
    await a.gather();
    assertEqual(a.gatheringState, 'complete');
    IcebridgeWorker.shared().terminate();
    await a.close(); // the Worker took the agent with it: close() is quiet
    assertEqual(a.state, 'closed');
  });
});
