// The IceAgent API as an application meets it (issue 16): typed events by IceAgentEventMap with on<type>
// handlers, a DOM-shaped RTCIceCandidateInit (and an RTCIceCandidate-like object) accepted, promise-returning
// methods that settle at once (virtual-time ordering kept) and reject on a mistake, RTCPeerConnection's
// configuration errors at construction, and send() over maxDatagramSize throwing. Simulated network.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_MAX_DATAGRAM_SIZE, IceSendError } from '../../src/ice/datagram-size.js';
import { IceCandidateError } from '../../src/ice/candidate.js';
import { IceAgent } from '../../src/ice/ice-agent.js';
import { IceCandidateErrorEvent, IceCandidateEvent, IceDataEvent, IceAgentEventObject } from '../../src/ice/ice-agent-events.js';
import { SimWorld } from './sim-world.js';

const connected = (x: IceAgent) => x.state === 'connected' || x.state === 'completed';

function agentWith(options: Partial<ConstructorParameters<typeof IceAgent>[0]>): IceAgent {
  return new IceAgent({ sockets: async () => [], ...options });
}

/** The error thrown by `fn`, which must throw. */
function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof Error, `an Error, got ${String(err)}`);
    return err;
  }
  assert.fail('did not throw');
}

describe('IceAgent events: typed classes, on<type> handlers', () => {
  it('icecandidate, statechange and data reach addEventListener and on<type> alike, as the typed classes', async () => {
    const world = new SimWorld({ stun: false, seed: 31 });
    const a = world.agent(world.host('public', 0), { role: 'controlling' });
    const b = world.agent(world.host('public', 1), { role: 'controlled' });
    const order: string[] = [];
    const candidates: (string | null)[] = [];
    a.addEventListener('icecandidate', (e) => {
      assert.ok(e instanceof IceCandidateEvent && e instanceof IceAgentEventObject && e instanceof Event);
      order.push('listener');
      candidates.push(e.candidate === null ? null : e.candidate.candidate);
    });
    let handlerThis: unknown;
    a.onicecandidate = function (e) {
      handlerThis = this;
      order.push(`handler ${e.candidate === null ? 'end' : 'candidate'}`);
    };
    const states: string[] = [];
    a.onstatechange = () => states.push(a.state);
    const received: string[] = [];
    b.ondata = (e) => {
      assert.ok(e instanceof IceDataEvent);
      received.push(new TextDecoder().decode(e.data));
    };
    world.connect(a, b);
    await Promise.all([a.gather(), b.gather()]);
    assert.equal(handlerThis, a, 'the handler is called with the agent as this');
    assert.deepEqual(order, ['listener', 'handler candidate', 'listener', 'handler end']);
    assert.match(candidates[0] ?? '', /^candidate:\S+ 1 udp \d+ 198\.51\.100\.10 \d+ typ host/);
    assert.equal(candidates[1], null);
    assert.ok(await world.run(() => connected(a) && connected(b), 10_000));
    assert.deepEqual(states.slice(0, 2), ['checking', 'connected']);
    assert.ok(a.send('typed'));
    assert.ok(await world.run(() => received.length === 1, 1_000));
    assert.deepEqual(received, ['typed']);
    // null turns a handler off; a new one takes its place.
    b.ondata = null;
    assert.equal(b.ondata, null);
    const later: string[] = [];
    b.ondata = (e) => later.push(new TextDecoder().decode(e.data));
    assert.ok(a.send('again'));
    assert.ok(await world.run(() => later.length === 1, 1_000));
    assert.deepEqual([received, later], [['typed'], ['again']], 'the handler that was replaced is not called');
    await a.close();
    await b.close();
  });

  it('icecandidateerror carries the W3C fields: url, errorCode, errorText, address, port (and error, as before)', async () => {
    const world = new SimWorld({ deadStun: true, seed: 32 });
    const host = world.host('public', 0);
    const agent = world.agent(host, { stunTimeoutMs: 1_000 });
    const seen: IceCandidateErrorEvent[] = [];
    agent.onicecandidateerror = (e) => seen.push(e);
    void agent.gather();
    assert.ok(await world.run(() => agent.gatheringState === 'complete', 5_000));
    assert.equal(seen.length, 1);
    const [e] = seen;
    assert.ok(e instanceof IceCandidateErrorEvent);
    assert.equal(e.url, 'stun:192.0.2.1:3478');
    assert.equal(e.errorCode, 701);
    assert.match(e.errorText, /^no answer from 192\.0\.2\.1:3478 within 1000 ms$/);
    assert.equal(e.address, host.addresses[0]);
    assert.equal(typeof e.port, 'number');
    assert.deepEqual([e.error.url, e.error.errorCode, e.error.errorText], [e.url, e.errorCode, e.errorText]);
    await agent.close();
  });
});

describe('IceAgent methods return promises that settle at once', () => {
  it('setRemoteParameters, addRemoteCandidate, getStats, restart and close resolve; the work is done before they return', async () => {
    const world = new SimWorld({ stun: false, seed: 33 });
    const a = world.agent(world.host('public', 0), { role: 'controlling' });
    await a.gather();
    const p = a.setRemoteParameters({ usernameFragment: 'peer', password: 'peerpasswordpeerpassword' });
    assert.ok(p instanceof Promise);
    assert.equal(a.engine.remoteParameters?.usernameFragment, 'peer', 'applied before the promise settles');
    const added = a.addRemoteCandidate('candidate:1 1 udp 2130706431 198.51.100.77 4000 typ host');
    assert.equal(a.remoteCandidates.length, 1, 'added before the promise settles');
    assert.equal(await added, true);
    const stats = await a.getStats();
    assert.equal(stats.length, 1);
    const old = a.localParameters;
    const restarted = await a.restart();
    assert.notEqual(restarted.usernameFragment, old.usernameFragment);
    const closing = a.close();
    assert.equal(a.state, 'closed', 'closed before the promise settles');
    assert.equal(await closing, undefined);
  });

  it('a malformed candidate or bad parameters reject (no synchronous throw)', async () => {
    const agent = agentWith({});
    let promise: Promise<boolean> | undefined;
    assert.doesNotThrow(() => (promise = agent.addRemoteCandidate('candidate:x')));
    await assert.rejects(promise!, IceCandidateError);
    await assert.rejects(agent.addRemoteCandidate({ candidate: 'candidate:1 1 udp 1 192.0.2.1 5000 typ host', usernameFragment: 'a b' }), (e: unknown) => e instanceof IceCandidateError && e.code === 'UFRAG');
    await assert.rejects(agent.setRemoteParameters({ usernameFragment: 'x', password: 'peerpasswordpeerpassword' }), /usernameFragment "x" is not 4 to 256 ice-chars/);
    await assert.rejects(agent.setRemoteParameters({ usernameFragment: 'peer', password: 'short' }), TypeError);
    assert.equal(agent.engine.remoteParameters, undefined, 'nothing applied');
    await agent.close();
  });

  it('takes lib.dom’s RTCIceCandidateInit shape (candidate optional, nulls) and an RTCIceCandidate-like object', async () => {
    const agent = agentWith({});
    await agent.setRemoteParameters({ usernameFragment: 'peer', password: 'peerpasswordpeerpassword' });
    // As a browser's RTCPeerConnection hands one out: an object whose fields are getters on its prototype,
    // with address/port/foundation too (so it must not be taken for a parsed IceCandidate).
    class FakeRtcIceCandidate {
      get candidate() {
        return 'candidate:2 1 udp 2122260223 192.0.2.9 61000 typ host generation 0 ufrag peer';
      }
      get sdpMid() {
        return '0';
      }
      get sdpMLineIndex() {
        return 0;
      }
      get usernameFragment() {
        return 'peer';
      }
      get address() {
        return '192.0.2.9';
      }
      get port() {
        return 61000;
      }
      get foundation() {
        return '2';
      }
    }
    assert.equal(await agent.addRemoteCandidate(new FakeRtcIceCandidate()), true);
    assert.equal(await agent.addRemoteCandidate({ candidate: 'candidate:3 1 udp 2122260222 192.0.2.10 61001 typ host', sdpMid: null, sdpMLineIndex: null, usernameFragment: null }), true);
    assert.deepEqual(
      agent.remoteCandidates.map((c) => c.address),
      ['192.0.2.9', '192.0.2.10'],
    );
    // W3C: an init without `candidate` is end-of-candidates; a candidate after it is refused.
    assert.equal(await agent.addRemoteCandidate({ sdpMid: '0' }), true);
    assert.equal(await agent.addRemoteCandidate({ candidate: 'candidate:4 1 udp 2122260221 192.0.2.11 61002 typ host' }), false);
    await agent.close();
  });
});

describe('IceAgent configuration is validated at construction (RTCPeerConnection’s errors)', () => {
  const cases: [string, Partial<ConstructorParameters<typeof IceAgent>[0]>, string, RegExp][] = [
    ['stun: with no host', { iceServers: [{ urls: 'stun:' }] }, 'SyntaxError', /"stun:" is not a valid STUN\/TURN URL: no host/],
    ['an http: URL', { iceServers: [{ urls: ['stun:192.0.2.1', 'http://example.com'] }] }, 'SyntaxError', /iceServers\[0\]: "http:\/\/example.com" is not a valid STUN\/TURN URL/],
    ['a query on stun:', { iceServers: [{ urls: 'stun:192.0.2.1?transport=tcp' }] }, 'SyntaxError', /take no query/],
    ['an empty urls list', { iceServers: [{ urls: [] }] }, 'SyntaxError', /urls is empty/],
    ['turn: without credential', { iceServers: [{ urls: 'stun:192.0.2.1' }, { urls: 'turn:192.0.2.1', username: 'u' }] }, 'InvalidAccessError', /iceServers\[1\]: "turn:192.0.2.1" is a TURN server and needs credential/],
    ['turns: without either', { iceServers: [{ urls: 'turns:turn.example' }] }, 'InvalidAccessError', /needs username and credential/],
    ['a bad iceTransportPolicy', { iceTransportPolicy: 'none' as 'all' }, 'TypeError', /iceTransportPolicy "none" is not 'all' or 'relay'/],
    ['iceServers not an array', { iceServers: { urls: 'stun:192.0.2.1' } as never }, 'TypeError', /iceServers must be an array/],
    ['maxDatagramSize over the UDP limit', { maxDatagramSize: 70_000 }, 'RangeError', /maxDatagramSize must be an integer from 1 to 65507, got 70000/],
  ];
  for (const [name, options, errorName, message] of cases) {
    it(`${name} → ${errorName}`, () => {
      const error = thrown(() => agentWith(options));
      assert.equal(error.name, errorName);
      assert.match(error.message, message);
      if (errorName === 'SyntaxError' || errorName === 'InvalidAccessError') assert.ok(error instanceof DOMException, 'a DOMException, as RTCPeerConnection throws');
      if (errorName === 'TypeError') assert.ok(error instanceof TypeError);
    });
  }

  it('valid servers (STUN without credentials, TURN with them, IPv6, a name) are accepted', () => {
    const agent = agentWith({
      iceServers: [{ urls: ['stun:192.0.2.1', 'stun:[2001:db8::1]:3479'] }, { urls: 'turn:turn.example?transport=tcp', username: 'u', credential: '' }],
      iceTransportPolicy: 'relay',
      maxDatagramSize: 1200,
    });
    assert.equal(agent.maxDatagramSize, 1200);
    void agent.close();
  });
});

describe('send() over maxDatagramSize', () => {
  it('70 000 bytes throw an IceSendError (a RangeError, DATAGRAM_TOO_LARGE); the default maximum is sent', async () => {
    const world = new SimWorld({ stun: false, seed: 34 });
    const a = world.agent(world.host('public', 0), { role: 'controlling' });
    const b = world.agent(world.host('public', 1), { role: 'controlled' });
    const sizes: number[] = [];
    b.ondata = (e) => sizes.push(e.data.length);
    // Before any pair too: the size is the caller's mistake, whatever the state.
    const early = thrown(() => a.send(new Uint8Array(70_000)));
    assert.ok(early instanceof IceSendError && early instanceof RangeError);
    world.connect(a, b);
    await Promise.all([a.gather(), b.gather()]);
    assert.ok(await world.run(() => connected(a) && connected(b), 10_000));
    const error = thrown(() => a.send(new Uint8Array(70_000)));
    assert.ok(error instanceof IceSendError);
    assert.equal(error.code, 'DATAGRAM_TOO_LARGE');
    assert.equal(error.size, 70_000);
    assert.equal(error.maxSize, DEFAULT_MAX_DATAGRAM_SIZE);
    assert.equal(error.message, `cannot send 70000 bytes in one datagram: the most is ${DEFAULT_MAX_DATAGRAM_SIZE} (maxDatagramSize)`);
    // Text counts in UTF-8 bytes.
    assert.throws(() => a.send('é'.repeat(DEFAULT_MAX_DATAGRAM_SIZE / 2 + 1)), IceSendError);
    assert.equal(a.send(new Uint8Array(DEFAULT_MAX_DATAGRAM_SIZE)), true);
    assert.ok(await world.run(() => sizes.length === 1, 1_000));
    assert.deepEqual(sizes, [DEFAULT_MAX_DATAGRAM_SIZE]);
    await a.close();
    await b.close();
  });

  it('a smaller maxDatagramSize is the limit', () => {
    const agent = agentWith({ maxDatagramSize: 1200 });
    assert.equal(agent.send(new Uint8Array(1200)), false, 'no pair yet: false, not an error');
    const error = thrown(() => agent.send(new Uint8Array(1201)));
    assert.ok(error instanceof IceSendError && error.maxSize === 1200);
    void agent.close();
  });
});
