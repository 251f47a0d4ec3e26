/**
 * The RFC 4787 textbook table: every mapping behaviour (§4.1) against every filtering behaviour (§5).
 *
 * A host X behind the NAT sends from one socket to S1:3478, S1:3479 and S2:3478; each replies with the
 * source it saw (X's mapped address). Then a fresh socket contacts S1:3478 only, and three outsiders try
 * to reach its mapped address: S1:3478 (contacted), S1:3479 (contacted IP, other port), S2:3478 (other IP).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { NAT_BEHAVIORS, SimNetwork, VirtualClock, type NatBehavior } from '../../src/sim/index.js';
import { bindReflector, collect } from './reflector.js';

const NAT_PUBLIC = '203.0.113.10';
const S1 = '192.0.2.1';
const S2 = '192.0.2.2';

/** §4.1: is X1':x1' (mapping towards S1:3478) equal to the mapping towards …? */
const MAPPING_TABLE: Record<NatBehavior, { sameIpOtherPort: boolean; otherIp: boolean }> = {
  'endpoint-independent': { sameIpOtherPort: true, otherIp: true },
  'address-dependent': { sameIpOtherPort: true, otherIp: false },
  'address-and-port-dependent': { sameIpOtherPort: false, otherIp: false },
};

/** §5: which senders get through to a mapping that has only sent to S1:3478. */
const FILTERING_TABLE: Record<NatBehavior, { contacted: boolean; sameIpOtherPort: boolean; otherIp: boolean }> = {
  'endpoint-independent': { contacted: true, sameIpOtherPort: true, otherIp: true },
  'address-dependent': { contacted: true, sameIpOtherPort: true, otherIp: false },
  'address-and-port-dependent': { contacted: true, sameIpOtherPort: false, otherIp: false },
};

function setUp(mapping: NatBehavior, filtering: NatBehavior) {
  const clock = new VirtualClock();
  const net = new SimNetwork({ clock, seed: 4787 });
  const nat = net.addNat({ publicAddress: NAT_PUBLIC, mapping, filtering });
  const x = nat.addHost('10.0.0.2');
  const s1 = net.addHost(S1);
  const s2 = net.addHost(S2);
  const servers = {
    s1a: bindReflector(s1, 3478),
    s1b: bindReflector(s1, 3479),
    s2a: bindReflector(s2, 3478),
  };
  return { clock, net, nat, x, servers };
}

describe('RFC 4787 NAT behaviour table', () => {
  for (const mapping of NAT_BEHAVIORS) {
    for (const filtering of NAT_BEHAVIORS) {
      test(`mapping=${mapping} filtering=${filtering}`, () => {
        const { clock, net, nat, x, servers } = setUp(mapping, filtering);

        // Mapping: one internal socket X:x, three destinations.
        const socket = x.bind(5000);
        const replies = collect(socket);
        const mappedTowards = (address: string, port: number): string => {
          replies.length = 0;
          socket.send(new TextEncoder().encode('what is my address?'), { address, port });
          clock.runUntilIdle();
          assert.equal(replies.length, 1, `one reply from ${address}:${port}`);
          assert.deepEqual(replies[0].from, { address, port }, 'the reply comes from the server, untranslated');
          return replies[0].text;
        };
        const m1 = mappedTowards(S1, 3478);
        const m2 = mappedTowards(S1, 3479);
        const m3 = mappedTowards(S2, 3478);
        for (const m of [m1, m2, m3]) assert.match(m, /^203\.0\.113\.10:\d+$/);

        const expected = MAPPING_TABLE[mapping];
        assert.equal(m2 === m1, expected.sameIpOtherPort, `S1:3479 sees ${m2}, S1:3478 saw ${m1}`);
        assert.equal(m3 === m1, expected.otherIp, `S2:3478 sees ${m3}, S1:3478 saw ${m1}`);
        assert.equal(new Set([m1, m2, m3]).size, nat.mappings.length, 'one NAT mapping per distinct mapped address');

        // Filtering: a fresh internal socket that has sent to S1:3478 only.
        const probe = x.bind(6000);
        const probeReplies = collect(probe);
        probe.send(new Uint8Array([0]), { address: S1, port: 3478 });
        clock.runUntilIdle();
        assert.equal(probeReplies.length, 1);
        const [address, port] = probeReplies[0].text.split(':');
        const mapped = { address, port: Number(port) };
        probeReplies.length = 0;

        const filteredBefore = net.stats.droppedFor('filtered');
        servers.s1a.send(new TextEncoder().encode('contacted'), mapped);
        servers.s1b.send(new TextEncoder().encode('sameIpOtherPort'), mapped);
        servers.s2a.send(new TextEncoder().encode('otherIp'), mapped);
        clock.runUntilIdle();

        const passed = new Set(probeReplies.map((r) => r.text));
        const allowed = FILTERING_TABLE[filtering];
        assert.deepEqual(
          { contacted: passed.has('contacted'), sameIpOtherPort: passed.has('sameIpOtherPort'), otherIp: passed.has('otherIp') },
          allowed,
        );
        const expectedFiltered = Object.values(allowed).filter((ok) => !ok).length;
        assert.equal(net.stats.droppedFor('filtered') - filteredBefore, expectedFiltered);
        assert.equal(net.stats.inFlight, 0);
        assert.equal(net.stats.sent, net.stats.delivered + net.stats.dropped);
      });
    }
  }
});
