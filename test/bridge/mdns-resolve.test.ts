// mDNS names through the bridge (a `resolve` frame with the mDNS flag): the codec, the hello's feature bit,
// refusals at once when the operator did not enable it, `.local` names never given to the DNS, only
// `<uuid>.local` names asked, the destination policy on the answers — and a page's agent (the Worker's
// AgentSession on a real bridge connection) resolving a peer's hidden host candidate through the bridge and
// connecting to it. The bridge's mDNS resolver is the test's own: no multicast leaves this machine. Loopback only.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { BridgeMdnsResolver } from '../../bridge/mdns-resolver.js';
import type { RunningBridge } from '../../bridge/server.js';
import type { BridgeResolveFunction } from '../../bridge/resolver.js';
import type { IceAgentEventObject } from '../../src/ice/ice-agent.js';
import { generateMdnsName } from '../../src/mdns/mdns-names.js';
import { MdnsResolveError } from '../../src/mdns/mdns-service.js';
import { BridgeError, type BridgeConnection } from '../../src/net/bridge-client.js';
import { BRIDGE_SUBPROTOCOL_V2, BridgeFeature, BridgeFrameError, decodeBridgeFrame, encodeBridgeFrame, type BridgeFrame } from '../../src/net/bridge-frame.js';
import { connectBridge } from '../../src/node/bridge-client.js';
import { createIceAgent } from '../../src/node/ice-agent.js';
import { AgentSession } from '../../src/worker/agent-session.js';
import { serveOptions } from '../../src/cli/serve.js';
import { RawClient, startTestBridge, tokenUrl, within } from './helpers.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/** The test's mDNS "LAN": names it knows answer, others time out as mDNS does (no negative answers). */
function fakeMdns(names: Map<string, string[]>, asked: string[]): BridgeMdnsResolver & { closed: boolean } {
  const r = {
    closed: false,
    resolve: async (name: string) => {
      asked.push(name);
      const found = names.get(name.toLowerCase());
      if (!found) throw new MdnsResolveError(name, 'timeout');
      return found;
    },
    close: () => {
      r.closed = true;
    },
  };
  return r;
}

/** A DNS that records every name it is asked: `.local` names must never reach it. */
function recordingDns(asked: string[]): BridgeResolveFunction {
  return async (name) => {
    asked.push(name);
    throw Object.assign(new Error(`queryA ENOTFOUND ${name}`), { code: 'ENOTFOUND' });
  };
}

async function rawSession(bridge: RunningBridge): Promise<{ raw: RawClient; hello: BridgeFrame }> {
  const raw = new RawClient(tokenUrl(bridge), { protocols: [BRIDGE_SUBPROTOCOL_V2] });
  await raw.opened;
  return { raw, hello: await raw.frame((f) => f.type === 'hello') };
}

describe('the resolve frame mDNS flag', () => {
  it('is bit 4 of the families byte, round-trips, and is absent when not set', () => {
    const name = 'f81d4fae-7dec-41d0-a765-00a0c91e6bf6.local';
    const bytes = encodeBridgeFrame({ type: 'resolve', requestId: 7, name, families: ['IPv4', 'IPv6'], mdns: true });
    assert.equal(hex(bytes.subarray(0, 7)), '06' + '00000007' + '07' + name.length.toString(16));
    assert.deepEqual(decodeBridgeFrame(bytes), { type: 'resolve', requestId: 7, name, families: ['IPv4', 'IPv6'], mdns: true });
    const plain = encodeBridgeFrame({ type: 'resolve', requestId: 7, name: 'a.test', families: ['IPv4'], mdns: false });
    assert.equal(plain[5], 1);
    assert.deepEqual(decodeBridgeFrame(plain), { type: 'resolve', requestId: 7, name: 'a.test', families: ['IPv4'] });
  });

  it('needs a family beside it, and no other bit is taken', () => {
    for (const bits of ['04', '08', '0f', '84']) {
      assert.throws(() => decodeBridgeFrame(Buffer.from(`0600000001${bits}0161`, 'hex')), (e: unknown) => e instanceof BridgeFrameError && e.code === 'VALUE' && e.offset === 5, bits);
    }
  });
});

describe('bridge mDNS lookups, not enabled (the default)', () => {
  const dnsAsked: string[] = [];
  let bridge: RunningBridge;
  let connection: BridgeConnection;
  before(async () => {
    bridge = await startTestBridge({ resolve: recordingDns(dnsAsked) });
    connection = await connectBridge(tokenUrl(bridge));
  });
  after(async () => {
    connection?.close();
    await bridge?.close();
  });

  it('does not announce it, and the client refuses a .local name at once without asking', async () => {
    assert.equal(connection.limits.features & BridgeFeature.mdns, 0);
    assert.equal(connection.mdns, false);
    const t0 = performance.now();
    await assert.rejects(connection.resolve(generateMdnsName()), (e: unknown) => e instanceof BridgeError && e.code === 'not-supported' && /mDNS/.test(e.reason));
    assert.ok(performance.now() - t0 < 100);
    assert.deepEqual(bridge.metrics.snapshot().lookups, {}, 'no frame went to the bridge');
  });

  it('answers a raw mDNS-flagged resolve with not-supported at once, and a .local name is never given to the DNS', async () => {
    const { raw } = await rawSession(bridge);
    try {
      const name = generateMdnsName();
      raw.send(encodeBridgeFrame({ type: 'resolve', requestId: 1, name, families: ['IPv4'], mdns: true }));
      const e1 = await raw.frame((f) => f.type === 'error' && f.requestId === 1, 1000);
      assert.ok(e1.type === 'error' && e1.code === 'not-supported' && /not enabled mdns/.test(e1.reason), JSON.stringify(e1));
      // An older client asking for a .local name without the flag: refused, not sent to the DNS (RFC 6762 §3).
      raw.send(encodeBridgeFrame({ type: 'resolve', requestId: 2, name: 'printer.local', families: ['IPv4'] }));
      const e2 = await raw.frame((f) => f.type === 'error' && f.requestId === 2, 1000);
      assert.ok(e2.type === 'error' && e2.code === 'not-supported' && /mDNS flag/.test(e2.reason), JSON.stringify(e2));
      assert.deepEqual(dnsAsked, []);
      assert.equal(bridge.metrics.snapshot().malformedFrames, 0);
    } finally {
      raw.close();
    }
  });
});

describe('bridge mDNS lookups, enabled with the operator resolver', () => {
  const names = new Map<string, string[]>();
  const mdnsAsked: string[] = [];
  const dnsAsked: string[] = [];
  const resolver = fakeMdns(names, mdnsAsked);
  let bridge: RunningBridge;
  let connection: BridgeConnection;
  before(async () => {
    bridge = await startTestBridge({ resolve: recordingDns(dnsAsked), mdns: resolver, resolveTimeoutMs: 400, lookupsPerSecond: 1000 });
    connection = await connectBridge(tokenUrl(bridge));
  });
  after(async () => {
    connection?.close();
    await bridge?.close();
  });

  it('announces it in the hello, and answers a <uuid>.local name with its address (of the families asked)', async () => {
    assert.notEqual(connection.limits.features & BridgeFeature.mdns, 0);
    assert.equal(connection.mdns, true);
    const name = generateMdnsName();
    names.set(name, ['127.0.0.1', '::1']);
    assert.deepEqual(await connection.resolve(name, { families: ['IPv4'] }), [{ address: '127.0.0.1', ttl: 0 }]);
    assert.deepEqual((await connection.resolve(name.toUpperCase())).map((a) => a.address).sort(), ['127.0.0.1', '::1']);
    assert.deepEqual(dnsAsked, [], 'the DNS is never asked about .local');
    assert.ok(mdnsAsked.includes(name));
  });

  it('asks mDNS for <uuid>.local names only: other .local names and flagged DNS names are refused unasked', async () => {
    const asked = mdnsAsked.length;
    await assert.rejects(connection.resolve('printer.local'), (e: unknown) => e instanceof BridgeError && e.code === 'not-supported' && /<uuid>\.local/.test(e.reason));
    const { raw } = await rawSession(bridge);
    try {
      raw.send(encodeBridgeFrame({ type: 'resolve', requestId: 5, name: 'stun.example.org', families: ['IPv4'], mdns: true }));
      const e = await raw.frame((f) => f.type === 'error' && f.requestId === 5, 1000);
      assert.ok(e.type === 'error' && e.code === 'not-supported' && /\.local names only/.test(e.reason), JSON.stringify(e));
    } finally {
      raw.close();
    }
    assert.equal(mdnsAsked.length, asked);
    assert.deepEqual(dnsAsked, []);
  });

  it('judges the answers by the destination policy, and a name nobody answers is resolve-timeout', async () => {
    const linkLocal = generateMdnsName();
    names.set(linkLocal, ['169.254.10.20']);
    await assert.rejects(connection.resolve(linkLocal), (e: unknown) => e instanceof BridgeError && e.code === 'destination-denied');
    const t0 = performance.now();
    await assert.rejects(connection.resolve(generateMdnsName()), (e: unknown) => e instanceof BridgeError && e.code === 'resolve-timeout');
    assert.ok(performance.now() - t0 < 2000);
  });

  it("resolves a peer's hidden host candidate for the page's agent, which connects host↔host", async () => {
    const page = new AgentSession(connection, false, { role: 'controlling' }, () => {});
    const node = createIceAgent({ addressFilter: (a) => a === '127.0.0.1', mdns: false, role: 'controlled' });
    const nodeErrors: string[] = [];
    const pageErrors: string[] = [];
    page.agent.addEventListener('icecandidateerror', (e) => pageErrors.push(String((e as IceAgentEventObject).error?.errorText)));
    node.addEventListener('icecandidateerror', (e) => nodeErrors.push(String((e as IceAgentEventObject).error?.errorText)));
    let hidden = '';
    try {
      page.agent.setRemoteParameters(node.localParameters);
      node.setRemoteParameters(page.agent.localParameters);
      page.agent.addEventListener('icecandidate', (e) => node.addRemoteCandidate((e as IceAgentEventObject).candidate ?? null));
      // The Node peer hides its host address as a browser does: the page sees only the name.
      node.addEventListener('icecandidate', (e) => {
        const c = (e as IceAgentEventObject).candidate;
        if (c && typeof c === 'object' && c.candidate && / typ host\b/.test(c.candidate)) {
          hidden = generateMdnsName();
          names.set(hidden, ['127.0.0.1']);
          page.agent.addRemoteCandidate({ ...c, candidate: c.candidate.replace(' 127.0.0.1 ', ` ${hidden} `) });
        } else {
          page.agent.addRemoteCandidate(c ?? null);
        }
      });
      await Promise.all([page.agent.gather(), node.gather()]);
      await within(
        new Promise<void>((resolve) => {
          const check = () => {
            if (['connected', 'completed'].includes(page.agent.state) && ['connected', 'completed'].includes(node.state)) resolve();
          };
          page.agent.addEventListener('statechange', check);
          node.addEventListener('statechange', check);
          check();
        }),
        10_000,
        'both agents connected',
      );
      assert.ok(hidden !== '' && mdnsAsked.includes(hidden), 'the page asked the bridge for the name');
      const pair = page.agent.getSelectedCandidatePair()!;
      assert.equal(pair.remote.type, 'host');
      assert.equal(pair.remote.address, hidden, 'shown by its name (draft §3.3.1)');
      assert.equal(page.agent.remoteCandidates.find((c) => c.mdnsName === hidden)?.address, '127.0.0.1');
      assert.deepEqual(pageErrors, []);
      assert.deepEqual(dnsAsked, []);
    } finally {
      page.close();
      node.close();
    }
  });

  it('lets the resolver go when the bridge closes', async () => {
    const r = fakeMdns(new Map(), []);
    const b = await startTestBridge({ mdns: r });
    await b.close();
    assert.equal(r.closed, true);
  });
});

describe('bridge mDNS option', () => {
  it('is `icebridge serve --mdns` (off without the flag)', () => {
    const on = serveOptions({ mdns: true }, {});
    const off = serveOptions({}, {});
    assert.ok(typeof on === 'object' && typeof on.bridge === 'object' && on.bridge.mdns === true);
    assert.ok(typeof off === 'object' && typeof off.bridge === 'object' && off.bridge.mdns === false);
  });

  it('is refused when it is not true, false or a resolver', async () => {
    await assert.rejects(startTestBridge({ mdns: 'yes' as unknown as boolean }), TypeError);
  });

  it('is not announced when the bridge resolves no names', async () => {
    const bridge = await startTestBridge({ mdns: fakeMdns(new Map(), []), allowResolve: false });
    try {
      const { raw, hello } = await rawSession(bridge);
      raw.close();
      assert.ok(hello.type === 'hello' && ((hello.limits.features ?? 0) & BridgeFeature.mdns) === 0);
    } finally {
      await bridge.close();
    }
  });
});
