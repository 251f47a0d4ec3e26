// ICE servers given by name, to agents in the Worker on a bridge that resolves names and opens TCP/TLS
// streams (protocol v2; the `named` bridge of node-side.ts): STUN and TURN by name, TURN over TCP and over
// TLS to coturn (its certificate checked against the name), two agents relayed through coturn over TLS, and
// destinations the bridge's policy refuses reported at once as icecandidateerror, not after a timeout. Every
// scenario runs over both carriers (WebSocket, WebTransport).
import { createIceAgent, IcebridgeWorker, type IceAgentConfig, type IceCandidateInit, type WorkerIceAgent, type WorkerIceAgentEvent } from '../../src/worker.js';
import { assert, assertDeepEqual, assertEqual } from './assert.js';
import { bridgeOver, CARRIERS, namedBridgeSessions, nextEvent, testEnv, until, within, type BrowserTestEnv } from './env.js';
import { connected, signal } from './agent-pair.js';

type GatheringError = NonNullable<WorkerIceAgentEvent['error']>;

/** The fields of an `a=candidate` line a user reads (RFC 8839 §5.1). */
interface Candidate {
  type: string;
  address: string;
  port: number;
  priority: number;
  relatedAddress: string | undefined;
  relatedPort: number | undefined;
}

function fieldsOf(init: IceCandidateInit): Candidate {
  const f = init.candidate.replace(/^candidate:/, '').split(' ');
  const after = (key: string) => {
    const i = f.indexOf(key);
    return i < 0 ? undefined : f[i + 1];
  };
  const rport = after('rport');
  return { type: f[7], address: f[4], port: Number(f[5]), priority: Number(f[3]), relatedAddress: after('raddr'), relatedPort: rport === undefined ? undefined : Number(rport) };
}

interface Gathering {
  candidates: Candidate[];
  errors: GatheringError[];
  /** From gather() to its promise settling (after the end-of-candidates event reached the page). */
  ms: number;
  ended: boolean;
}

/** Gathers, recording what the page sees: candidates, icecandidateerror events, the end, and how long it took. */
async function gatherRecorded(agent: WorkerIceAgent, boundMs = 20_000): Promise<Gathering> {
  const g: Gathering = { candidates: [], errors: [], ms: 0, ended: false };
  agent.addEventListener('icecandidate', (e) => {
    const c = (e as WorkerIceAgentEvent).candidate;
    if (c) g.candidates.push(fieldsOf(c));
    else g.ended = true;
  });
  agent.addEventListener('icecandidateerror', (e) => g.errors.push((e as WorkerIceAgentEvent).error!));
  const started = performance.now();
  await within(agent.gather(), boundMs, 'gathering to complete');
  g.ms = performance.now() - started;
  return g;
}

function ofType(g: Gathering, type: string): Candidate[] {
  return g.candidates.filter((c) => c.type === type);
}

function describeErrors(errors: GatheringError[]): string {
  return errors.map((e) => `${e.url}: ${e.errorCode} ${e.errorText}`).join('; ') || 'none';
}



async function exchange(a: WorkerIceAgent, b: WorkerIceAgent): Promise<void> {
  const atB = nextEvent<WorkerIceAgentEvent>(b, 'data');
  assert(a.send('ping from a'), 'a has a selected pair to send on');
  assertEqual(new TextDecoder().decode((await within(atB, 5000, 'data at b')).data), 'ping from a');
  const atA = nextEvent<WorkerIceAgentEvent>(a, 'data');
  assert(b.send('pong from b'), 'b has a selected pair to send on');
  assertEqual(new TextDecoder().decode((await within(atA, 5000, 'data at a')).data), 'pong from b');
}

for (const carrier of CARRIERS) describe(`IceAgent in a Worker with ICE servers by name (bridge name lookups, TCP and TLS streams), over ${carrier}`, () => {
  let env: BrowserTestEnv;
  /** The named bridge over this suite's carrier. */
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
        await until(async () => (await namedBridgeSessions()) === 0, 5000, 'every named-bridge session closed after the test');
      }
    });

  async function agent(config: Omit<IceAgentConfig, 'bridge'>): Promise<WorkerIceAgent> {
    const a = await createIceAgent({ ...config, bridge, worker });
    agents.push(a);
    assertEqual(a.carrier, carrier, 'the agent is on the carrier asked for');
    return a;
  }

  /** Two agents on the named bridge, signalled to each other, gathered and connected. */
  async function connectPair(configA: Omit<IceAgentConfig, 'bridge'>, configB: Omit<IceAgentConfig, 'bridge'>): Promise<[WorkerIceAgent, WorkerIceAgent]> {
    const a = await agent({ ...configA, role: 'controlling' });
    const b = await agent({ ...configB, role: 'controlled' });
    const errors: GatheringError[] = [];
    for (const x of [a, b]) x.addEventListener('icecandidateerror', (e) => errors.push((e as WorkerIceAgentEvent).error!));
    await signal(a, b);
    await within(Promise.all([a.gather(), b.gather()]), 20_000, 'both agents gathered');
    assertDeepEqual(errors.map((e) => `${e.url}: ${e.errorText}`), [], 'no icecandidateerror while gathering');
    await within(Promise.all([connected(a), connected(b)]), 20_000, 'both agents connected');
    return [a, b];
  }

  before(async () => {
    worker = new IcebridgeWorker();
    env = await testEnv();
    bridge = bridgeOver(carrier, env.named.bridge);
  });

  after(() => worker.terminate());

  test('gathers host, srflx and relay candidates from STUN and TURN servers given by name', async () => {
    const a = await agent({ iceServers: [env.named.stun, env.named.turn] });
    const g = await gatherRecorded(a);
    assertEqual(describeErrors(g.errors), 'none', 'icecandidateerror events');
    assert(g.ended, 'the end-of-candidates (null) icecandidate event');
    assertEqual(a.gatheringState, 'complete');

    const [host, ...moreHosts] = ofType(g, 'host');
    assert(host && moreHosts.length === 0, `one host candidate, got ${JSON.stringify(ofType(g, 'host'))}`);
    assertEqual(host.address, env.named.hostAddress, 'the host candidate is the bridge socket at its announced address');

    const srflx = ofType(g, 'srflx');
    assertEqual(srflx.length, 1, `srflx candidates (from ${env.named.stun.urls})`);
    assertEqual(srflx[0].address, '127.0.0.1', 'the bridge socket as stun.icebridge.test saw it');
    assertEqual(srflx[0].port, host.port, 'same socket, same port');
    assertEqual(`${srflx[0].relatedAddress}:${srflx[0].relatedPort}`, `${host.address}:${host.port}`, 'srflx raddr/rport = its base');

    const relay = ofType(g, 'relay');
    assertEqual(relay.length, 1, `relay candidates (from ${env.named.turn.urls})`);
    assertEqual(relay[0].address, '127.0.0.1', 'relayed on turn.icebridge.test');
    assertEqual(`${relay[0].relatedAddress}:${relay[0].relatedPort}`, `127.0.0.1:${host.port}`, 'relay raddr/rport = the mapped address');
  });

  test('allocates on coturn by name over TCP and over TLS; a certificate not for the address is refused', async () => {
    const a = await agent({ iceServers: [env.named.coturnTcp, env.named.coturnTls, env.named.coturnTlsByAddress], iceTransportPolicy: 'relay' });
    const g = await gatherRecorded(a);
    assert(g.ended, 'the end-of-candidates (null) icecandidate event');
    assertEqual(g.candidates.filter((c) => c.type !== 'relay').length, 0, 'relay policy: relay candidates only');
    // RFC 8445 §5.1.2.1 local preference among relays: UDP > TCP > TLS, a band of 21 845 values each, the top
    // of its band for each transport's first relay (priority = 256 × preference + 255, component 1).
    const relay = g.candidates.sort((x, y) => y.priority - x.priority);
    assertDeepEqual(
      relay.map((c) => [c.address, c.priority]),
      [
        ['127.0.0.1', 43690 * 256 + 255],
        ['127.0.0.1', 21845 * 256 + 255],
      ],
      `one relay over TCP (${env.named.coturnTcp.urls}) and one over TLS (${env.named.coturnTls.urls}); errors: ${describeErrors(g.errors)}`,
    );
    assert(relay[0].port !== relay[1].port, 'two allocations, two relayed ports');
    // coturn's certificate names coturn.icebridge.test: reached as 127.0.0.1, the bridge's TLS check fails.
    assertEqual(g.errors.length, 1, `one icecandidateerror: ${describeErrors(g.errors)}`);
    assertEqual(g.errors[0].url, env.named.coturnTlsByAddress.urls);
    assert(/tls-failed/.test(g.errors[0].errorText), `the error says the TLS check failed: ${g.errors[0].errorText}`);
  });

  for (const which of ['coturnTcp', 'coturnTls'] as const) {
    test(`relays data to a UDP peer through an allocation on ${which === 'coturnTcp' ? 'turn:…?transport=tcp' : 'turns:'} by name`, async () => {
      const turn = env.named[which];
      const relay = await within(
        worker.allocateTurn(turn.urls, { bridge, username: turn.username, credential: turn.credential }),
        10_000,
        `an allocation on ${turn.urls}`,
      );
      try {
        assertEqual(relay.relayedAddress.address, '127.0.0.1', "relayed on coturn's relay address");
        assertEqual(relay.server.address, '127.0.0.1', 'coturn.icebridge.test, resolved on the bridge');
        const received: string[] = [];
        const both = new Promise<void>((resolve) => {
          relay.ondatagram = (bytes, from) => {
            assertDeepEqual(from, env.echo, 'data comes from the peer, through the relay');
            received.push(new TextDecoder().decode(bytes));
            if (received.length === 2) resolve();
          };
        });
        relay.send(new TextEncoder().encode('one'), env.echo); // a permission, then a Send indication
        const channel = await within(relay.bindChannel(env.echo), 5000, 'ChannelBind');
        assert(channel >= 0x4000 && channel <= 0x4fff, `channel ${channel}`);
        relay.send(new TextEncoder().encode('two'), env.echo); // as ChannelData, framed on the stream (RFC 8656 §12.5)
        await within(both, 5000, 'both echoes through the relay');
        assertDeepEqual(received.sort(), ['one', 'two']);
      } finally {
        relay.close();
      }
    });
  }

  test('relays data between an agent on TURN over TCP and one on TURN over TLS', async () => {
    const relayOnly = { iceTransportPolicy: 'relay' } as const;
    const [a, b] = await connectPair({ ...relayOnly, iceServers: [env.named.coturnTcp] }, { ...relayOnly, iceServers: [env.named.coturnTls] });
    const pair = a.getSelectedCandidatePair();
    assertEqual(pair?.local.type, 'relay', 'a sends from its relay (coturn over TCP)');
    assertEqual(pair?.remote.type, 'relay', "to b's relay (coturn over TLS)");
    await exchange(a, b);
  });

  test('connects two agents relay↔relay through coturn over TLS and carries data both ways', async () => {
    const config: Omit<IceAgentConfig, 'bridge'> = { iceTransportPolicy: 'relay', iceServers: [env.named.coturnTls] };
    const [a, b] = await connectPair(config, config);
    for (const [name, x] of [
      ['a', a],
      ['b', b],
    ] as const) {
      const pair = x.getSelectedCandidatePair();
      assert(pair, `${name} has a selected pair`);
      assertEqual(`${pair.local.type}/${pair.remote.type}`, 'relay/relay', `${name}'s selected pair`);
      assertEqual(pair.local.address, '127.0.0.1', `${name}'s relayed address is coturn's`);
    }
    await exchange(a, b);
    const selected = (await a.getStats()).find((s) => s.selected);
    assert(selected && selected.bytesSent > 0 && selected.packetsReceived > 0, 'data counted on the selected pair');
  });

  for (const [which, what] of [
    ['deniedName', 'a name whose only address the policy refuses (DNS answer denied)'],
    ['deniedAddress', 'an address the policy refuses (datagram denied)'],
  ] as const) {
    test(`reports a STUN server at ${what} at once, and gathering completes`, async () => {
      const server = env.named[which];
      // A STUN timeout far above the bound: only the bridge's refusal can end this gathering within 5 s.
      const a = await agent({ iceServers: [server], stunTimeoutMs: 15_000 });
      const g = await gatherRecorded(a, 25_000);
      assert(g.ms < 5000, `gather() with ${server.urls} took ${Math.round(g.ms)} ms: the refusal must end it at once (errors: ${describeErrors(g.errors)})`);
      assertEqual(g.errors.length, 1, `one icecandidateerror: ${describeErrors(g.errors)}`);
      const [error] = g.errors;
      assertEqual(error.url, server.urls, 'the error carries the URL');
      assertEqual(error.errorCode, 701, 'W3C: 701 when no STUN/TURN response arrives');
      assert(/destination-denied/.test(error.errorText), `the text names the bridge's destination policy: ${error.errorText}`);
      assert(g.ended, 'the end-of-candidates (null) icecandidate event');
      assertEqual(a.gatheringState, 'complete');
      assertDeepEqual(
        g.candidates.map((c) => `${c.type} ${c.address}`),
        [`host ${env.named.hostAddress}`],
        'the host candidate, and nothing from the refused server',
      );
    });
  }
});
