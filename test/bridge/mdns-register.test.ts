// A page's own `<uuid>.local` names answered by the bridge (`mdns-register` / `mdns-unregister`): the codec,
// the hello bit the operator sets (mdnsHostCandidates), refusals at once (no mDNS, an address that is not one
// of the session's sockets', a name not of the §3.1 form, a name held already, the per-session limit), the
// goodbyes on unregister and at the session's end — and a page AgentSession, defaulting to the hello's bit,
// whose `.local` host candidate a Node agent resolves through the same fake LAN and connects to. The
// bridge's mDNS is the test's own object: no multicast leaves this machine. Loopback only.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { nodeBridgeMdns, type BridgeMdnsResolver } from '../../bridge/mdns-resolver.js';
import type { RunningBridge } from '../../bridge/server.js';
import type { IceAgentEventObject } from '../../src/ice/ice-agent.js';
import { generateMdnsName } from '../../src/mdns/mdns-names.js';
import { MdnsResolveError, type MdnsHostNames } from '../../src/mdns/mdns-service.js';
import { BridgeError } from '../../src/net/bridge-client.js';
import { BRIDGE_SUBPROTOCOL_V2, BridgeFeature, BridgeFrameError, decodeBridgeFrame, encodeBridgeFrame, type BridgeFrame } from '../../src/net/bridge-frame.js';
import { connectBridge } from '../../src/node/bridge-client.js';
import { createIceAgent } from '../../src/node/ice-agent.js';
import { AgentSession } from '../../src/worker/agent-session.js';
import { RawClient, startTestBridge, tokenUrl, within } from './helpers.js';

/** The test's LAN: what the bridge registers answers resolve(); every call is recorded. */
function fakeLan() {
  const names = new Map<string, string>();
  const calls: string[] = [];
  const resolver: BridgeMdnsResolver = {
    // Like a querier's retries: a name registered a moment later still resolves (the page's register frame
    // and its candidate race), a name nobody registers times out.
    resolve: async (name) => {
      for (let tries = 0; tries < 20 && !names.has(name.toLowerCase()); tries++) await new Promise((r) => setTimeout(r, 25));
      const found = names.get(name.toLowerCase());
      if (!found) throw new MdnsResolveError(name, 'timeout');
      return [found];
    },
    register: (name, address) => {
      calls.push(`register ${name} ${address}`);
      names.set(name.toLowerCase(), address);
    },
    unregister: (name) => {
      calls.push(`unregister ${name}`);
      names.delete(name.toLowerCase());
    },
  };
  // A Node agent on the same LAN resolves through it too.
  const peer: MdnsHostNames = {
    resolve: (name) => resolver.resolve(name).then((a) => [...a]),
    register: () => {
      throw new Error('the Node peer registers nothing here');
    },
    unregister: () => {},
  };
  return { names, calls, resolver, peer };
}

const code = (c: string) => (e: unknown) => e instanceof BridgeError && e.code === c;

async function until(check: () => boolean, what: string): Promise<void> {
  const t0 = Date.now();
  while (!check()) {
    if (Date.now() - t0 > 3000) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('mdns-register frames', () => {
  const name = 'f81d4fae-7dec-41d0-a765-00a0c91e6bf6.local';
  it('round-trip, with exact layouts', () => {
    const frames: BridgeFrame[] = [
      { type: 'mdns-register', requestId: 9, address: '127.0.0.1', name },
      { type: 'mdns-register', requestId: 0xffffffff, address: '::1', name },
      { type: 'mdns-registered', requestId: 9 },
      { type: 'mdns-unregister', name },
    ];
    for (const f of frames) assert.deepEqual(decodeBridgeFrame(encodeBridgeFrame(f)), f);
    assert.equal(Buffer.from(encodeBridgeFrame(frames[0])).subarray(0, 11).toString('hex'), '0d' + '00000009' + '047f000001' + name.length.toString(16));
    assert.equal(Buffer.from(encodeBridgeFrame(frames[2])).toString('hex'), '0e00000009');
  });

  it('refuse trailing bytes and names that are no host names', () => {
    const registered = encodeBridgeFrame({ type: 'mdns-registered', requestId: 1 });
    assert.throws(() => decodeBridgeFrame(Uint8Array.from([...registered, 0])), (e: unknown) => e instanceof BridgeFrameError && e.code === 'LENGTH');
    assert.throws(() => decodeBridgeFrame(Uint8Array.from([0x0f, 2, 0x2e, 0x2e])), (e: unknown) => e instanceof BridgeFrameError && e.code === 'VALUE');
    assert.throws(() => encodeBridgeFrame({ type: 'mdns-unregister', name: 'not a name' }), TypeError);
  });
});

describe('a bridge without mDNS', () => {
  let bridge: RunningBridge;
  before(async () => {
    bridge = await startTestBridge();
  });
  after(() => bridge.close());

  it('announces neither bit; the client refuses at once; a raw request is refused not-supported', async () => {
    const connection = await connectBridge(tokenUrl(bridge));
    try {
      assert.equal(connection.mdns, false);
      assert.equal(connection.mdnsHostCandidates, false);
      await assert.rejects(connection.registerMdnsName('127.0.0.1'), code('not-supported'));
    } finally {
      connection.close();
    }
    const raw = new RawClient(tokenUrl(bridge), { protocols: [BRIDGE_SUBPROTOCOL_V2] });
    await raw.opened;
    raw.send(encodeBridgeFrame({ type: 'mdns-register', requestId: 5, address: '127.0.0.1', name: generateMdnsName() }));
    const error = await raw.frame((f) => f.type === 'error' && f.requestId === 5);
    assert.equal(error.type === 'error' && error.code, 'not-supported');
    raw.close();
  });

  it('refuses registration with a resolver that cannot register, and hides no candidates', async () => {
    const b = await startTestBridge({ mdns: { resolve: async () => [] }, mdnsHostCandidates: 'on' });
    const connection = await connectBridge(tokenUrl(b));
    try {
      assert.equal(connection.mdns, true);
      assert.equal(connection.mdnsHostCandidates, false, 'the bit needs a responder');
      const socket = await connection.bind();
      await assert.rejects(connection.registerMdnsName(socket.localAddress.address), code('not-supported'));
    } finally {
      connection.close();
      await b.close();
    }
  });

  it('takes mdnsHostCandidates only as on or off', async () => {
    await assert.rejects(startTestBridge({ mdnsHostCandidates: 'yes' as 'on' }), TypeError);
    await assert.rejects(startTestBridge({ maxMdnsNames: -1 }), RangeError);
  });
});

describe('a bridge with mDNS answering for pages', () => {
  const lan = fakeLan();
  let bridge: RunningBridge;
  before(async () => {
    bridge = await startTestBridge({ mdns: lan.resolver, mdnsHostCandidates: 'on', maxMdnsNames: 2 });
  });
  after(() => bridge.close());

  it('announces the mdnsHostCandidates bit (16) beside mdns (8)', async () => {
    const raw = new RawClient(tokenUrl(bridge), { protocols: [BRIDGE_SUBPROTOCOL_V2] });
    await raw.opened;
    const hello = await raw.frame((f) => f.type === 'hello');
    assert.ok(hello.type === 'hello');
    assert.equal((hello.limits.features ?? 0) & (BridgeFeature.mdns | BridgeFeature.mdnsHostCandidates), 24);
    raw.close();
    const off = await startTestBridge({ mdns: lan.resolver });
    const c = await connectBridge(tokenUrl(off));
    assert.equal(c.mdns, true);
    assert.equal(c.mdnsHostCandidates, false, "default 'off'");
    c.close();
    await off.close();
  });

  it("registers only the session's own socket addresses, names of the §3.1 form, each once, at most maxMdnsNames", async () => {
    const connection = await connectBridge(tokenUrl(bridge));
    const other = await connectBridge(tokenUrl(bridge));
    try {
      // No socket yet: no address is this session's.
      await assert.rejects(connection.registerMdnsName('127.0.0.1'), code('address-not-owned'));
      const socket = await connection.bind();
      const own = socket.localAddress.address;
      assert.equal(own, '127.0.0.1');
      await assert.rejects(connection.registerMdnsName('127.0.0.2'), code('address-not-owned'));
      await assert.rejects(connection.registerMdnsName('192.168.1.1'), code('address-not-owned'));
      await assert.rejects(connection.registerMdnsName(own, 'printer.local'), TypeError);
      const first = await connection.registerMdnsName(own);
      assert.match(first, /^[0-9a-f-]{36}\.local$/);
      assert.ok(lan.calls.includes(`register ${first} ${own}`));
      await assert.rejects(connection.registerMdnsName(own, first), code('name-in-use'));
      // Another session's socket has the same address here, but the name is held by this one.
      await other.bind();
      await assert.rejects(other.registerMdnsName(own, first), code('mdns-register-failed'));
      const second = await connection.registerMdnsName(own);
      await assert.rejects(connection.registerMdnsName(own), code('mdns-name-limit'));
      // Withdrawn: a goodbye, and room for one more.
      connection.unregisterMdnsName(second);
      await until(() => lan.calls.includes(`unregister ${second}`), 'the goodbye');
      const third = await connection.registerMdnsName(own);
      assert.deepEqual(await lan.resolver.resolve(third), [own]);
      // The session ends: every name it holds goes.
      connection.close();
      await until(() => lan.calls.includes(`unregister ${first}`) && lan.calls.includes(`unregister ${third}`), 'goodbyes at the session end');
      assert.equal(lan.names.size, 0);
    } finally {
      connection.close();
      other.close();
    }
  });

  it('ignores an unregister of a name the session does not hold', async () => {
    const a = await connectBridge(tokenUrl(bridge));
    const b = await connectBridge(tokenUrl(bridge));
    try {
      const socket = await a.bind();
      const name = await a.registerMdnsName(socket.localAddress.address);
      b.unregisterMdnsName(name);
      await b.bind(); // a round trip after the unregister: it was handled
      assert.ok(!lan.calls.includes(`unregister ${name}`));
      assert.equal(lan.names.get(name), '127.0.0.1');
    } finally {
      a.close();
      b.close();
    }
  });

  it("hides a page agent's host candidates as the hello says, and a Node agent resolves and connects to them", async () => {
    const connection = await connectBridge(tokenUrl(bridge));
    const page = new AgentSession(connection, true, { role: 'controlling' }, () => {});
    const node = createIceAgent({ addressFilter: (a) => a === '127.0.0.1', mdns: lan.peer, role: 'controlled' });
    const hostNames: string[] = [];
    try {
      page.agent.setRemoteParameters(node.localParameters);
      node.setRemoteParameters(page.agent.localParameters);
      page.agent.addEventListener('icecandidate', (e) => {
        const c = (e as IceAgentEventObject).candidate;
        const host = c && typeof c === 'object' && c.candidate ? / ([0-9a-f-]{36}\.local) \d+ typ host\b/.exec(c.candidate) : null;
        if (host) hostNames.push(host[1]);
        node.addRemoteCandidate(c ?? null);
      });
      node.addEventListener('icecandidate', (e) => page.agent.addRemoteCandidate((e as IceAgentEventObject).candidate ?? null));
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
      assert.equal(hostNames.length, 1, 'one host candidate, by its name');
      assert.ok(lan.calls.some((c) => c.startsWith(`register ${hostNames[0]} 127.0.0.1`)));
      // The Node agent resolved the page's name on the (fake) LAN to the bridge socket's address. Its selected
      // remote may be the prflx the page's first check made, learned before the name resolved (RFC 8445 §7.3.1.3).
      await until(() => node.remoteCandidates.some((c) => c.mdnsName === hostNames[0] && c.address === '127.0.0.1'), "the page's name resolved");
      assert.ok([hostNames[0], '127.0.0.1'].includes(node.getSelectedCandidatePair()!.remote.address));
    } finally {
      page.close();
      node.close();
    }
    await until(() => lan.calls.includes(`unregister ${hostNames[0]}`), 'the goodbye on close');
  });

  it("lets the page say 'off' explicitly over the hello's bit", async () => {
    const connection = await connectBridge(tokenUrl(bridge));
    const page = new AgentSession(connection, true, { mdnsHostCandidates: 'off' }, () => {});
    const candidates: string[] = [];
    page.agent.addEventListener('icecandidate', (e) => {
      const c = (e as IceAgentEventObject).candidate;
      if (c && typeof c === 'object' && c.candidate) candidates.push(c.candidate);
    });
    try {
      await page.agent.gather();
      assert.ok(candidates.some((c) => / 127\.0\.0\.1 \d+ typ host\b/.test(c)), candidates.join('\n'));
      assert.ok(!candidates.some((c) => /\.local /.test(c)));
    } finally {
      page.close();
    }
  });
});

describe('nodeBridgeMdns register', () => {
  it('registers exactly the name the page made, and refuses a name it cannot announce', () => {
    // Bound to loopback only: no interface qualifies, so no multicast socket is opened at all.
    const mdns = nodeBridgeMdns({ IPv4: '127.0.0.1', IPv6: '::1' }, 500);
    try {
      const name = generateMdnsName();
      mdns.register!(name, '127.0.0.1');
      mdns.unregister!(name);
      mdns.register!(name.toUpperCase().replace('.LOCAL', '.local'), '127.0.0.1');
      // A version 1 UUID: the responder makes version 4 names only.
      assert.throws(() => mdns.register!('f81d4fae-7dec-11d0-a765-00a0c91e6bf6.local', '127.0.0.1'), /can announce/);
    } finally {
      mdns.close?.();
    }
  });
});

describe('the operator flag', () => {
  it('is `icebridge serve --mdns --mdns-host-candidates` (off without it)', async () => {
    const { serveOptions } = await import('../../src/cli/serve.js');
    const on = serveOptions({ mdns: true, 'mdns-host-candidates': true }, {});
    const off = serveOptions({ mdns: true }, {});
    assert.ok(typeof on === 'object' && typeof on.bridge === 'object' && on.bridge.mdnsHostCandidates === 'on');
    assert.ok(typeof off === 'object' && typeof off.bridge === 'object' && off.bridge.mdnsHostCandidates === 'off');
  });
});
