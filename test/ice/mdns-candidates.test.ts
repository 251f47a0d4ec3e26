// mDNS ICE candidates (draft-ietf-mmusic-mdns-ice-candidates) with IceAgent on the simulated network: two
// agents on one LAN segment, the sim carrying their mDNS multicast; names resolved, never resolved, late,
// duplicated; both sides hiding; one side's names unresolvable (the peer-reflexive path).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { IceAgent, IceAgentEventObject } from '../../src/ice/ice-agent.js';
import { DNS_CLASS_IN, DnsType, decodeDnsMessage, encodeDnsMessage } from '../../src/mdns/dns-message.js';
import { MDNS_IPV4_GROUP, MDNS_PORT, generateMdnsName, isMdnsCandidateAddress } from '../../src/mdns/mdns-names.js';
import { MdnsService, type MdnsHostNames } from '../../src/mdns/mdns-service.js';
import type { SimHost, SimNat, SimSocket } from '../../src/sim/index.js';
import { MDNS_QUERY_TIMEOUT_MS } from '../../src/timing.js';
import { SimWorld } from './sim-world.js';

function multicastSocket(host: SimHost): SimSocket {
  const socket = host.bind(MDNS_PORT);
  socket.addMembership(MDNS_IPV4_GROUP);
  return socket;
}

function setup(seed = 1): { world: SimWorld; lan: SimNat; mdns: (host: SimHost) => MdnsService } {
  const world = new SimWorld({ stun: false, seed, link: { delayMs: 2 } });
  const lan = world.net.addNat({});
  return { world, lan, mdns: (host) => new MdnsService({ clock: world.clock, sockets: [{ socket: multicastSocket(host), family: 'IPv4' }] }) };
}

function errors(agent: IceAgent): { address?: string; errorText: string }[] {
  const out: { address?: string; errorText: string }[] = [];
  agent.addEventListener('icecandidateerror', (e) => out.push((e as IceAgentEventObject).error as { address?: string; errorText: string }));
  return out;
}

const connected = (...agents: IceAgent[]) => () => agents.every((a) => a.state === 'connected' || a.state === 'completed');

describe('mDNS ICE candidates on the simulated network', () => {
  it('one side hides its host address: the other resolves the name on the segment and pairs host↔host', async () => {
    const { world, lan, mdns } = setup();
    const ha = lan.addHost();
    const hb = lan.addHost();
    const a = world.agent(ha, { mdns: mdns(ha), mdnsHostCandidates: 'on', role: 'controlling' });
    const b = world.agent(hb, { mdns: mdns(hb), role: 'controlled' });
    world.connect(a, b);
    await Promise.all([a.gather(), b.gather()]);
    const signalled = a.localCandidates.find((c) => c.type === 'host')!;
    assert.ok(isMdnsCandidateAddress(signalled.address), signalled.address);
    assert.ok(await world.run(connected(a, b), 30_000));
    const pair = b.getSelectedCandidatePair()!;
    assert.equal(pair.local.type, 'host');
    assert.equal(pair.remote.type, 'host');
    // draft §3.3.1: the selected pair shows the name, as browsers do; the address it stands for is the host's.
    assert.equal(pair.remote.address, signalled.address);
    assert.equal(b.remoteCandidates.find((c) => c.mdnsName === signalled.address)?.address, ha.addresses[0]);
    assert.equal(pair.remote.mdnsName, signalled.address);
    // Stats show the name, not the address it stands for (draft §3.3.1).
    assert.ok((await b.getStats()).every((s) => s.remote.address === signalled.address));
    a.close();
    b.close();
  });

  it('a name that never resolves is dropped with an icecandidateerror after the timeout, and forms no pair', async () => {
    const { world, lan, mdns } = setup();
    const hb = lan.addHost();
    const b = world.agent(hb, { mdns: mdns(hb) });
    const seen = errors(b);
    b.setRemoteParameters({ usernameFragment: 'abcd', password: 'abcdefghijklmnopqrstuvwxyz' });
    await b.gather();
    const name = generateMdnsName();
    const start = world.clock.now();
    assert.equal(await b.addRemoteCandidate(`candidate:1 1 udp 2122262783 ${name} 54596 typ host`), true);
    // Names not in the draft's <uuid>.local form are not resolved at all (§3.2.2).
    b.addRemoteCandidate('candidate:2 1 udp 2122262783 printer.local 54597 typ host');
    b.addRemoteCandidate(null);
    assert.ok(await world.run(() => seen.length === 2, 30_000));
    assert.equal(seen[0].address, 'printer.local');
    assert.equal(seen[1].address, name);
    assert.equal(world.clock.now() - start, MDNS_QUERY_TIMEOUT_MS);
    assert.equal((await b.getStats()).length, 0);
    assert.equal(b.remoteCandidates.length, 0);
    // End-of-candidates went through once the name was given up: with no pair left, the agent fails.
    assert.ok(await world.run(() => b.state === 'failed', 1_000));
    b.close();
    assert.equal(world.clock.pending, 0);
  });

  it('a late answer (after the timeout) and duplicate answers: the late one is ignored, the duplicates pair once', async () => {
    const { world, lan, mdns } = setup();
    const hb = lan.addHost();
    const b = world.agent(hb, { mdns: mdns(hb) });
    const seen = errors(b);
    // A responder that answers every query three times, one name at once and the other one 6 s late.
    const late = generateMdnsName();
    const dup = generateMdnsName();
    const responder = multicastSocket(lan.addHost());
    responder.ondatagram = (bytes) => {
      const m = decodeDnsMessage(bytes);
      if (m.response) return;
      for (const q of m.questions.filter((q) => q.type === DnsType.A)) {
        const reply = encodeDnsMessage({ response: true, answers: [{ name: q.name, type: DnsType.A, class: DNS_CLASS_IN, cacheFlush: true, ttl: 120, address: '10.0.0.200' }] });
        const at = world.clock.now() + (q.name === late ? 6_000 : 0);
        for (let i = 0; i < 3; i++) world.clock.setTimer(() => responder.send(reply, { address: MDNS_IPV4_GROUP, port: MDNS_PORT }), at + i);
      }
    };
    b.setRemoteParameters({ usernameFragment: 'abcd', password: 'abcdefghijklmnopqrstuvwxyz' });
    await b.gather();
    b.addRemoteCandidate(`candidate:1 1 udp 2122262783 ${late} 4000 typ host`);
    b.addRemoteCandidate(`candidate:2 1 udp 2122262783 ${dup} 5000 typ host`);
    assert.ok(await world.run(() => seen.length === 1 && world.clock.now() > 12_000, 20_000));
    assert.equal(seen[0].address, late);
    assert.deepEqual(b.remoteCandidates.map((c) => [c.address, c.port, c.mdnsName]), [['10.0.0.200', 5000, dup]]);
    assert.equal((await b.getStats()).length, 1);
    b.close();
  });

  it('both sides hide their host addresses: both resolve, connected over a host↔host pair', async () => {
    const { world, lan, mdns } = setup(7);
    const ha = lan.addHost();
    const hb = lan.addHost();
    const a = world.agent(ha, { mdns: mdns(ha), mdnsHostCandidates: 'on' });
    const b = world.agent(hb, { mdns: mdns(hb), mdnsHostCandidates: 'on', role: 'controlled' });
    world.connect(a, b);
    await Promise.all([a.gather(), b.gather()]);
    assert.ok(await world.run(connected(a, b), 30_000));
    for (const [agent, peer] of [[a, hb], [b, ha]] as const) {
      const pair = agent.getSelectedCandidatePair()!;
      assert.equal(pair.remote.type, 'host');
      assert.ok(isMdnsCandidateAddress(pair.remote.address) && isMdnsCandidateAddress(pair.local.address), JSON.stringify(pair));
      assert.equal(agent.remoteCandidates.find((c) => c.mdnsName === pair.remote.address)?.address, peer.addresses[0]);
    }
    assert.ok(a.send('hello'));
    a.close();
    b.close();
  });

  it('when only one side’s names resolve, the other learns it as peer-reflexive and they connect', async () => {
    const { world, lan, mdns } = setup(3);
    const ha = lan.addHost();
    const hb = lan.addHost();
    const service = mdns(hb);
    // B's names are never answered (its registration failed, say); it still resolves A's.
    const unanswered: MdnsHostNames = { resolve: (n) => service.resolve(n), register: () => generateMdnsName(), unregister: () => {} };
    const a = world.agent(ha, { mdns: mdns(ha), mdnsHostCandidates: 'on' });
    const b = world.agent(hb, { mdns: unanswered, mdnsHostCandidates: 'on', role: 'controlled' });
    const aErrors = errors(a);
    world.connect(a, b);
    await Promise.all([a.gather(), b.gather()]);
    assert.ok(await world.run(connected(a, b), 30_000));
    const pair = a.getSelectedCandidatePair()!;
    assert.equal(pair.remote.type, 'prflx');
    assert.equal(pair.remote.address, hb.addresses[0]);
    assert.equal(b.getSelectedCandidatePair()!.remote.type, 'host');
    // A's resolution of B's name times out later, harmlessly.
    await world.run(() => aErrors.length === 1, 10_000);
    assert.equal(aErrors.length, 1);
    assert.equal(a.state === 'connected' || a.state === 'completed', true);
    a.close();
    b.close();
    service.close();
  });

  it('a restart that answers the peer’s keeps the names of its new candidates resolving (JSEP’s answerer order)', async () => {
    const { world, lan, mdns } = setup(6);
    const ha = lan.addHost();
    const hb = lan.addHost();
    const a = world.agent(ha, { mdns: mdns(ha), mdnsHostCandidates: 'on', role: 'controlling' });
    const b = world.agent(hb, { mdns: mdns(hb), role: 'controlled' });
    world.connect(a, b);
    await Promise.all([a.gather(), b.gather()]);
    assert.ok(await world.run(connected(a, b), 30_000));
    const selected = b.getSelectedCandidatePair()!;
    // a restarts; its offer carries its (hidden) host candidate; b applies it and answers with its own restart
    // at once, while the name is still resolving.
    const pa1 = await a.restart();
    await b.setRemoteParameters(pa1);
    const hidden = a.localCandidates.find((c) => c.type === 'host')!;
    assert.ok(isMdnsCandidateAddress(hidden.address));
    assert.equal(await b.addRemoteCandidate(a.toInit(hidden)), true);
    const pb1 = await b.restart();
    await a.setRemoteParameters(pb1);
    for (const c of b.localCandidates) await a.addRemoteCandidate(b.toInit(c));
    assert.ok(await world.run(() => b.getSelectedCandidatePair() !== selected && connected(a, b)(), 10_000), 'a new pair after both restarted');
    assert.ok(b.remoteCandidates.some((c) => c.mdnsName === hidden.address && c.type === 'host'), JSON.stringify(b.remoteCandidates));
    assert.equal(b.getSelectedCandidatePair()!.remote.mdnsName, hidden.address, 'paired through the resolved name, not a peer-reflexive guess');
    a.close();
    b.close();
  });

  it('server-reflexive candidates carry raddr 0.0.0.0 rport 0 when host addresses are hidden', async () => {
    const world = new SimWorld({ seed: 5 });
    const nat = world.net.addNat({ publicAddress: '203.0.113.50' });
    const h = nat.addHost();
    const service = new MdnsService({ clock: world.clock, sockets: [{ socket: multicastSocket(h), family: 'IPv4' }] });
    const a = world.agent(h, { mdns: service, mdnsHostCandidates: 'on' });
    const gathering = a.gather();
    await world.run(() => a.gatheringState === 'complete', 30_000);
    await gathering;
    const srflx = a.localCandidates.find((c) => c.type === 'srflx')!;
    assert.equal(srflx.address, '203.0.113.50');
    assert.deepEqual([srflx.relatedAddress, srflx.relatedPort], ['0.0.0.0', 0]);
    assert.ok(a.localCandidates.every((c) => !c.address.startsWith('10.') && c.relatedAddress?.startsWith('10.') !== true));
    a.close();
    // Closing withdrew the name: the service has none left.
    assert.deepEqual(service.engine.registeredNames, []);
  });
});
