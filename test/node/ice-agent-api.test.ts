// The Node IceAgent's API over real loopback sockets (issue 16): the methods return promises like the page's
// (`addRemoteCandidate(…).catch` works), startTurnServer's defaults match `icebridge serve` (127.0.0.1, loopback
// peers relayed), a relay the TURN server refuses fails the pair within seconds with the reason in getStats()
// and an icecandidateerror naming the server, a refused Allocate is an icecandidateerror at once, and the
// largest datagram send() takes arrives, over a direct pair and a relayed one.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { DEFAULT_MAX_DATAGRAM_SIZE, IceSendError } from '../../src/ice/datagram-size.js';
import type { IceCandidateErrorEvent } from '../../src/ice/ice-agent-events.js';
import { IceAgent } from '../../src/node/node-ice-agent.js';
import { startTurnServer, type RunningTurnServer } from '../../src/node/turn-server.js';

const HOST = '127.0.0.1';
const open: { agents: IceAgent[]; servers: RunningTurnServer[] } = { agents: [], servers: [] };
after(async () => {
  await Promise.all(open.agents.map((a) => a.close()));
  await Promise.all(open.servers.map((s) => s.close()));
});

function agent(options: ConstructorParameters<typeof IceAgent>[0] = {}): IceAgent {
  const a = new IceAgent({ addresses: [HOST], mdns: false, ...options });
  open.agents.push(a);
  return a;
}

/** Signals parameters and trickled candidates both ways, as an app would (promises, errors caught). */
async function wire(a: IceAgent, b: IceAgent): Promise<void> {
  const failures: unknown[] = [];
  a.addEventListener('icecandidate', (e) => b.addRemoteCandidate(e.candidate).catch((err: unknown) => failures.push(err)));
  b.addEventListener('icecandidate', (e) => a.addRemoteCandidate(e.candidate).catch((err: unknown) => failures.push(err)));
  await a.setRemoteParameters(b.localParameters);
  await b.setRemoteParameters(a.localParameters);
  await Promise.all([a.gather(), b.gather()]);
  assert.deepEqual(failures, []);
}

function settled(x: IceAgent, timeoutMs: number): Promise<string> {
  return new Promise((resolve) => {
    const done = () => {
      if (x.state === 'connected' || x.state === 'completed' || x.state === 'failed') {
        clearTimeout(timer);
        resolve(x.state);
      }
    };
    const timer = setTimeout(() => resolve(`still ${x.state} after ${timeoutMs} ms`), timeoutMs);
    x.addEventListener('statechange', done);
    done();
  });
}

function received(x: IceAgent, count: number, timeoutMs: number): Promise<number[]> {
  const sizes: number[] = [];
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(sizes), timeoutMs);
    x.addEventListener('data', (e) => {
      sizes.push(e.data.length);
      if (sizes.length === count) {
        clearTimeout(timer);
        resolve(sizes);
      }
    });
  });
}

const relayOnly = (server: RunningTurnServer, role: 'controlling' | 'controlled', credential = 'p') => ({
  role,
  iceTransportPolicy: 'relay' as const,
  iceServers: [{ urls: `turn:${HOST}:${server.addresses[0]!.port}`, username: 'u', credential }],
});

describe('startTurnServer defaults (as icebridge serve)', () => {
  it('listens on 127.0.0.1 and relays between loopback peers: a relay-only pair connects and carries the largest datagram', async () => {
    const server = await startTurnServer({ port: 0, users: { u: 'p' }, realm: 'r' });
    open.servers.push(server);
    assert.deepEqual(
      server.addresses.map((a) => a.address),
      [HOST],
    );
    assert.deepEqual(server.relayAddresses, [HOST]);
    const a = agent(relayOnly(server, 'controlling'));
    const b = agent(relayOnly(server, 'controlled'));
    await wire(a, b);
    assert.deepEqual(await Promise.all([settled(a, 10_000), settled(b, 10_000)]).then((s) => s.map((x) => x !== 'failed' && !x.startsWith('still'))), [true, true]);
    assert.equal(a.getSelectedCandidatePair()?.local.type, 'relay');
    const arriving = received(b, 1, 5_000);
    assert.equal(a.send(new Uint8Array(DEFAULT_MAX_DATAGRAM_SIZE).fill(7)), true);
    assert.deepEqual(await arriving, [DEFAULT_MAX_DATAGRAM_SIZE], 'the default maximum fits a relayed pair (TURN framing included)');
    await Promise.all([a.close(), b.close()]);
  });
});

describe('a relay the TURN server refuses', () => {
  it('loopback peers refused (allowLoopback false): failed within 5 s, the 403 in getStats() and an icecandidateerror', async () => {
    const server = await startTurnServer({ port: 0, users: { u: 'p' }, realm: 'r', allowLoopback: false });
    open.servers.push(server);
    const a = agent(relayOnly(server, 'controlling'));
    const b = agent(relayOnly(server, 'controlled'));
    const errors: IceCandidateErrorEvent[] = [];
    a.onicecandidateerror = (e) => errors.push(e);
    const t0 = performance.now();
    await wire(a, b);
    assert.equal(await settled(a, 5_000), 'failed');
    const elapsed = performance.now() - t0;
    assert.ok(elapsed < 5_000, `failed after ${Math.round(elapsed)} ms`);
    const stats = await a.getStats();
    assert.ok(stats.length > 0);
    for (const p of stats) {
      assert.equal(p.state, 'failed');
      assert.match(p.failureReason ?? '', new RegExp(`^peer-forbidden: the TURN server ${HOST}:${server.addresses[0]!.port} does not relay to ${HOST.replace(/\./g, '\\.')}: 403 `));
    }
    assert.equal(errors.length, 1, `one icecandidateerror: ${JSON.stringify(errors.map((e) => e.errorText))}`);
    const [e] = errors;
    assert.equal(e!.url, `turn:${HOST}:${server.addresses[0]!.port}`);
    assert.equal(e!.errorCode, 403);
    assert.equal(e!.address, a.localCandidates[0]!.address);
    assert.equal(e!.port, a.localCandidates[0]!.port);
  });

  it('a refused Allocate (wrong credential) is an icecandidateerror with the TURN code at once, gathering completes', async () => {
    const server = await startTurnServer({ port: 0, users: { u: 'p' }, realm: 'r' });
    open.servers.push(server);
    const a = agent(relayOnly(server, 'controlling', 'wrong'));
    const errors: IceCandidateErrorEvent[] = [];
    a.addEventListener('icecandidateerror', (e) => errors.push(e));
    const t0 = performance.now();
    await a.gather();
    assert.ok(performance.now() - t0 < 2_000, `gathered in ${Math.round(performance.now() - t0)} ms`);
    assert.deepEqual(
      errors.map((e) => [e.url, e.errorCode]),
      [[`turn:${HOST}:${server.addresses[0]!.port}`, 401]],
    );
    assert.equal(a.localCandidates.length, 0);
  });
});

describe('Node IceAgent: the page’s API', () => {
  it('promises with .catch (the README’s flow), send() over the maximum throws, the maximum arrives on a host pair', async () => {
    const a = agent({ role: 'controlling' });
    const b = agent({ role: 'controlled' });
    // The report: `to.addRemoteCandidate(...).catch is not a function`.
    const fresh = agent();
    assert.equal(typeof fresh.addRemoteCandidate('candidate:1 1 udp 1 192.0.2.1 9 typ host').catch, 'function');
    await assert.rejects(fresh.addRemoteCandidate('candidate:garbage'), { name: 'IceCandidateError' });
    await wire(a, b);
    assert.match(await settled(a, 10_000), /^(connected|completed)$/);
    assert.throws(() => a.send(new Uint8Array(70_000)), (err: unknown) => err instanceof IceSendError && err.code === 'DATAGRAM_TOO_LARGE' && err.size === 70_000);
    const arriving = received(b, 2, 5_000);
    assert.equal(a.send(new Uint8Array(DEFAULT_MAX_DATAGRAM_SIZE)), true);
    assert.equal(a.send('small'), true);
    assert.throws(() => a.send(5 as unknown as string), { name: 'TypeError', message: 'send() takes a Uint8Array or a string, got number' });
    assert.throws(() => a.send(new ArrayBuffer(4) as unknown as string), { name: 'TypeError', message: 'send() takes a Uint8Array or a string, got ArrayBuffer' });
    await assert.rejects(a.addRemoteCandidate(5 as unknown as string), { name: 'IceCandidateError' });
    assert.deepEqual(await arriving, [DEFAULT_MAX_DATAGRAM_SIZE, 5]);
    await a.close();
    assert.equal(a.getSelectedCandidatePair(), null, 'no selected pair once closed (RTCIceTransport)');
    assert.deepEqual(await a.getStats(), []);
  });

  it('a second gather() and signalling after close() reject with InvalidStateError, as a closed RTCPeerConnection does', async () => {
    const a = agent();
    await a.gather();
    await assert.rejects(a.gather(), { name: 'InvalidStateError', message: /gathering state complete/ });
    // A string 'false' was truthy: the agent took the peer for lite and itself for controlling (RFC 8445 §6.1.1).
    const remote = { usernameFragment: 'abcd', password: 'abcdefghijklmnopqrstuv' };
    await assert.rejects(a.setRemoteParameters({ ...remote, iceLite: 'false' as unknown as boolean }), { name: 'TypeError', message: 'iceLite must be true or false, got "false"' });
    await assert.rejects(a.setRemoteParameters({ ...remote, iceOptions: 'trickle' as unknown as string[] }), { name: 'TypeError', message: /^iceOptions must be an array/ });
    await assert.rejects(a.setRemoteParameters(null as never), { name: 'TypeError', message: /^usernameFragment undefined is not/ });
    await a.close();
    const closed = (method: string) => ({ name: 'InvalidStateError', message: `${method}() on a closed agent` });
    await assert.rejects(a.setRemoteParameters({ usernameFragment: 'abcd', password: 'abcdefghijklmnopqrstuv' }), closed('setRemoteParameters'));
    await assert.rejects(a.addRemoteCandidate('candidate:1 1 udp 1 192.0.2.1 9 typ host'), closed('addRemoteCandidate'));
    await assert.rejects(a.restart(), closed('restart'));
    assert.equal(a.state, 'closed', 'restart() did not bring a closed agent back');
    const never = agent();
    await never.close();
    await assert.rejects(never.gather(), closed('gather'));
    assert.equal(never.gatheringState, 'new', 'a closed agent opened no sockets and says it never gathered');
  });

  it('configuration errors at construction: SyntaxError, InvalidAccessError, TypeError', () => {
    assert.throws(() => new IceAgent({ iceServers: [{ urls: 'stun:' }] }), (e: unknown) => e instanceof DOMException && e.name === 'SyntaxError');
    assert.throws(() => new IceAgent({ iceServers: [{ urls: `turn:${HOST}` }] }), (e: unknown) => e instanceof DOMException && e.name === 'InvalidAccessError');
    assert.throws(() => new IceAgent({ iceTransportPolicy: 'public' as 'all' }), TypeError);
    // icebridge's own options, checked as WebIDL checks an enum or a boolean (they were taken as they came).
    const own: [object, RegExp][] = [
      [{ role: 'boss' }, /^role "boss" is not 'controlling' or 'controlled'$/],
      [{ gatherPolicy: 'always' }, /^gatherPolicy "always" is not 'once' or 'continual'$/],
      [{ lite: 'true' }, /^lite must be true or false, got "true"$/],
      [{ renomination: 1 }, /^renomination must be true or false, got 1$/],
      [{ addresses: HOST }, /^addresses must be an array of IP addresses/],
      [{ addresses: [HOST, 7] }, /^addresses: 7 is not an IP address$/],
      [{ candidateProtocols: 'udp' }, /^candidateProtocols must list 'udp' and\/or 'tcp', got "udp"$/],
      [{ addressFilter: '127.0.0.1' }, /^addressFilter must be a function/],
      // RFC 8445 §5.3: credentials no peer's check could match were advertised as they came.
      [{ usernameFragment: 'abc' }, /^usernameFragment "abc" is not 4 to 256 ice-chars/],
      [{ password: 'short' }, /^password is not 22 to 256 ice-chars/],
    ];
    for (const [options, message] of own) assert.throws(() => new IceAgent(options as never), { name: 'TypeError', message }, JSON.stringify(options));
    assert.throws(() => new IceAgent(null as never), { name: 'TypeError', message: /^the configuration must be an object/ });
    for (const [options, name] of [[{ stunTimeoutMs: 0 }, 'stunTimeoutMs'], [{ turnTimeoutMs: -1 }, 'turnTimeoutMs'], [{ connectTimeoutMs: -1 }, 'connectTimeoutMs']] as const) {
      assert.throws(() => new IceAgent(options), { name: 'RangeError', message: new RegExp(`^${name} must be a positive number of milliseconds`) });
    }
  });
});
