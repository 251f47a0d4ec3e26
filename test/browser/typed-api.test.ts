// The page's IceAgent (`import { IceAgent } from 'icebridge'`) as an app meets it (issue 16): the configuration
// checked in the constructor, synchronously and before the Worker is asked, with RTCPeerConnection's error
// names; typed events through on<type> handlers; an RTCIceCandidate made by the browser passed as it is (it
// cannot be structured-cloned); send() over maxDatagramSize throwing an IceSendError, the maximum arriving.
import { BridgeError, DEFAULT_MAX_DATAGRAM_SIZE, IceAgent, IceCandidateEvent, IcebridgeWorker, IceDataEvent, IceSendError, type IceAgentInit } from '../../src/browser.js';
import { assert, assertEqual } from './assert.js';
import { bridgeSessions, nextEvent, testEnv, until, within, type BrowserTestEnv } from './env.js';

function up(agent: IceAgent): Promise<unknown> {
  const ok = () => agent.state === 'connected' || agent.state === 'completed';
  return ok() ? Promise.resolve() : nextEvent(agent, 'statechange', ok);
}

describe('page IceAgent: configuration, typed events, candidates, datagram size', () => {
  let env: BrowserTestEnv;
  let worker: IcebridgeWorker;

  before(async () => {
    worker = new IcebridgeWorker();
    env = await testEnv();
  });

  after(() => worker.terminate());

  it('a bad configuration throws in the constructor with the W3C error name, and the Worker is never asked', async () => {
    let asked = 0;
    const spy = {
      createIceAgent: () => {
        asked++;
        return new Promise<never>(() => {});
      },
    } as unknown as IcebridgeWorker;
    const cases: [Partial<IceAgentInit>, string][] = [
      [{ iceServers: [{ urls: 'stun:' }] }, 'SyntaxError'],
      [{ iceServers: [{ urls: 'https://turn.example' }] }, 'SyntaxError'],
      [{ iceServers: [{ urls: 'turn:127.0.0.1:3478' }] }, 'InvalidAccessError'],
      [{ iceServers: [{ urls: 'turns:127.0.0.1', username: 'u' }] }, 'InvalidAccessError'],
      [{ iceTransportPolicy: 'nohost' as 'all' }, 'TypeError'],
      [{ maxDatagramSize: 0 }, 'RangeError'],
      // Tried as a relative URL in the Worker before: a session that never opened.
      [{ bridge: 5 as unknown as string }, 'TypeError'],
      [{ bridge: new URL('ws://127.0.0.1:1/') as unknown as string }, 'TypeError'],
      [{ bridge: { username: 'u' } as unknown as string }, 'TypeError'],
      // Not absolute: the Worker resolved it against its own script's URL, or could not (a blob: Worker).
      [{ bridge: 'notaurl' }, 'TypeError'],
      [{ bridge: { url: '/bridge', username: 'u', credential: 'c' } }, 'TypeError'],
      [{ bridge: 'ftp://127.0.0.1/bridge' }, 'TypeError'],
      [{ role: 'boss' as 'controlling' }, 'TypeError'],
      [{ gatherPolicy: 'always' as 'once' }, 'TypeError'],
      [{ lite: 'yes' as unknown as boolean }, 'TypeError'],
      [{ worker: {} as unknown as IcebridgeWorker }, 'TypeError'],
    ];
    for (const [config, name] of cases) {
      let caught: unknown;
      try {
        new IceAgent({ bridge: env.bridge.tokenUrl, worker: spy, ...config });
      } catch (err) {
        caught = err;
      }
      assert(caught instanceof Error, `${JSON.stringify(config)} throws synchronously`);
      assertEqual(caught.name, name, `${JSON.stringify(config)}: ${caught.message}`);
      if (name === 'SyntaxError' || name === 'InvalidAccessError') assert(caught instanceof DOMException, 'a DOMException, as RTCPeerConnection throws');
    }
    for (const config of [null, undefined, 'ws://127.0.0.1:1/']) {
      let caught: unknown;
      try {
        new IceAgent(config as unknown as IceAgentInit);
      } catch (err) {
        caught = err;
      }
      assert(caught instanceof TypeError && !/Cannot read properties/.test(caught.message), `new IceAgent(${String(config)}): a TypeError saying what is wrong, got ${String(caught)}`);
    }
    const helper = await worker.stunBinding('127.0.0.1:3478', undefined as never).then(() => 'resolved', (err: Error) => err.message);
    assert(helper.startsWith('bridge must be'), `stunBinding without options: ${helper}`);
    assertEqual(asked, 0, 'no Worker asked for a configuration that cannot work');
    new IceAgent({ bridge: env.bridge.tokenUrl, worker: spy, iceServers: [{ urls: 'turn:127.0.0.1', username: 'u', credential: 'p' }] });
    assertEqual(asked, 1, 'a valid one is handed to the Worker');
  });

  it('a bridge that cannot be reached (wss:// to its plain ws:// port): unreachable, the URL named without its token', async () => {
    const url = env.bridge.tokenUrl.replace(/^ws:/, 'wss:');
    const agent = new IceAgent({ bridge: url, worker });
    const error: unknown = await agent.ready.then(
      () => undefined,
      (err: unknown) => err,
    );
    await agent.close();
    assert(error instanceof BridgeError, `a BridgeError: ${String(error)}`);
    assertEqual(error.code, 'unreachable', error.message);
    const { host, pathname } = new URL(url);
    assert(error.message.includes(`could not reach the bridge at wss://${host}${pathname}: the WebSocket never opened`), error.message);
    assert(!error.message.includes('credential'), `no token in the message: ${error.message}`);
  });

  it('two agents: on<type> handlers with typed events, RTCIceCandidate objects taken, the largest datagram carried, a larger one refused', async () => {
    const bridge = env.bridge.tokenUrl;
    const a = new IceAgent({ bridge, role: 'controlling', worker });
    const b = new IceAgent({ bridge, role: 'controlled', worker });
    try {
      // The size is checked before anything else, even before the agent is ready.
      let early: unknown;
      try {
        a.send(new Uint8Array(70_000));
      } catch (err) {
        early = err;
      }
      assert(early instanceof IceSendError && early instanceof RangeError, `an IceSendError before ready: ${String(early)}`);
      const carriers: string[] = [];
      a.oncarrierchange = () => carriers.push(String(a.carrier));
      const kinds: string[] = [];
      a.onicecandidate = (e) => {
        kinds.push(e instanceof IceCandidateEvent ? 'IceCandidateEvent' : 'another class');
        // What a page holding an RTCPeerConnection has: an RTCIceCandidate, a platform object.
        void b.addRemoteCandidate(e.candidate === null ? null : new RTCIceCandidate({ ...e.candidate, sdpMid: e.candidate.sdpMid ?? '0' }));
      };
      b.onicecandidate = (e) => void a.addRemoteCandidate(e.candidate);
      await Promise.all([a.ready, b.ready]);
      assertEqual(carriers.join(), 'websocket', 'oncarrierchange ran once the carrier was known');
      await a.setRemoteParameters(b.localParameters);
      await b.setRemoteParameters(a.localParameters);
      await Promise.all([a.gather(), b.gather()]);
      assert(kinds.length >= 2 && kinds.every((k) => k === 'IceCandidateEvent'), `typed icecandidate events: ${kinds.join()}`);
      await within(Promise.all([up(a), up(b)]), 20_000, 'both agents connected');
      assertEqual(b.getSelectedCandidatePair()?.remote.type, 'host', 'b took a’s candidates given as RTCIceCandidate objects');

      const sizes: number[] = [];
      const got = new Promise<void>((resolve) => {
        b.ondata = (e) => {
          assert(e instanceof IceDataEvent, 'a typed data event');
          sizes.push(e.data.byteLength);
          if (sizes.length === 2) resolve();
        };
      });
      assertEqual(a.maxDatagramSize, DEFAULT_MAX_DATAGRAM_SIZE);
      assert(a.send(new Uint8Array(DEFAULT_MAX_DATAGRAM_SIZE)), 'the largest datagram is sent');
      assert(a.send('after'), 'then a small one');
      await within(got, 5_000, 'both datagrams at b');
      assertEqual(sizes.join(), `${DEFAULT_MAX_DATAGRAM_SIZE},5`);
      let late: unknown;
      try {
        a.send(new Uint8Array(DEFAULT_MAX_DATAGRAM_SIZE + 1));
      } catch (err) {
        late = err;
      }
      assert(late instanceof IceSendError, `an IceSendError: ${String(late)}`);
      assertEqual(late.code, 'DATAGRAM_TOO_LARGE');
      assertEqual(late.size, DEFAULT_MAX_DATAGRAM_SIZE + 1);
      // What is neither bytes nor text, or no candidate at all: typed errors, as in Node (not end-of-candidates).
      let notBytes: unknown;
      try {
        a.send(5 as unknown as string);
      } catch (err) {
        notBytes = err;
      }
      assert(notBytes instanceof TypeError && /^send\(\) takes a Uint8Array or a string, got number$/.test(notBytes.message), `send(5): ${String(notBytes)}`);
      const refused = await a.addRemoteCandidate(5 as unknown as string).then(() => 'taken', (err: Error) => err.name);
      assertEqual(refused, 'IceCandidateError', 'addRemoteCandidate(5) is refused');
      const again = await a.gather().then(() => undefined, (err: unknown) => err);
      assert(again instanceof DOMException && again.name === 'InvalidStateError', `a second gather(): a DOMException InvalidStateError, as in Node: ${String(again)}`);
    } finally {
      await Promise.all([a.close(), b.close()]);
      await until(async () => (await bridgeSessions()) === 0, 5000, 'every bridge session closed');
    }
  });
});
