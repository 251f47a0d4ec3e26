// Continual gathering on real UDP sockets (issue 15): two Node agents on loopback addresses, whose
// "interfaces" (listAddresses) change while data flows. An address that goes away has its socket closed,
// its pairs failed at once and the selected pair moved — on both sides, without an ICE restart; an address
// that appears is bound, gathered on and trickled, and checked by the peer. The same for TCP candidates.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createIceAgent } from '../../src/node/ice-agent.js';
import { UdpSocket } from '../../src/node/udp-socket.js';
import type { IceAgent } from '../../src/ice/ice-agent.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(done: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(20);
  }
}

function wire(from: IceAgent, to: IceAgent, seen: string[]): void {
  void to.setRemoteParameters(from.localParameters);
  from.addEventListener('icecandidate', (e) => {
    if (e.candidate) seen.push(e.candidate.candidate);
    void to.addRemoteCandidate(e.candidate);
  });
}

describe("gatherPolicy 'continual' on real sockets", () => {
  it('an address that goes away: both agents move to another pair at once, data keeps flowing; one that appears is trickled and checked', { timeout: 30_000 }, async () => {
    const aAddresses = ['127.0.0.2', '127.0.0.3'];
    const bAddresses = ['127.0.0.4'];
    const options = { gatherPolicy: 'continual' as const, networkPollIntervalMs: 100, mdns: false as const };
    const a = createIceAgent({ ...options, role: 'controlling', listAddresses: () => aAddresses });
    const b = createIceAgent({ ...options, role: 'controlled', listAddresses: () => bAddresses });
    const fromA: string[] = [];
    wire(a, b, fromA);
    wire(b, a, []);
    let aGot = 0;
    let bGot = 0;
    a.addEventListener('data', () => aGot++);
    b.addEventListener('data', () => bGot++);
    const pinger = setInterval(() => {
      for (const agent of [a, b]) if (agent.getSelectedCandidatePair()) agent.send(new Uint8Array([7]));
    }, 20);
    try {
      await Promise.all([a.gather(), b.gather()]);
      assert.equal(a.gatheringState, 'gathering', 'continual gathering does not complete');
      await until(() => a.state === 'connected' && b.state === 'connected' && aGot > 3 && bGot > 3, 10_000, 'connected with data both ways');
      // Let the other pair from 127.0.0.x be checked too.
      await until(async () => (await a.getStats()).filter((s) => s.state === 'succeeded').length >= 2, 10_000, 'two valid pairs');

      const lost = a.getSelectedCandidatePair()!.local.address;
      const ufrag = a.localParameters.usernameFragment;
      aAddresses.splice(aAddresses.indexOf(lost), 1);
      const removedAt = Date.now();
      await until(() => {
        const pa = a.getSelectedCandidatePair();
        const pb = b.getSelectedCandidatePair();
        return pa !== null && pb !== null && pa.local.address !== lost && pb.remote.address !== lost;
      }, 5_000, 'both agents off the address that went away');
      const switchMs = Date.now() - removedAt;
      const [a0, b0] = [aGot, bGot];
      await sleep(500);
      assert.ok(aGot - a0 >= 5 && bGot - b0 >= 5, `data after the switch: a ${aGot - a0}, b ${bGot - b0} (switched in ${switchMs} ms)`);
      assert.equal(a.localParameters.usernameFragment, ufrag, 'no ICE restart');
      const gone = (await a.getStats()).filter((s) => s.local.address === lost);
      assert.ok(gone.length > 0 && gone.every((s) => s.state === 'failed' && s.failureReason === 'the local address went away'));

      aAddresses.push('127.0.0.5');
      await until(() => fromA.some((c) => c.includes(' 127.0.0.5 ')), 5_000, 'a candidate of the new address trickled');
      await until(async () => (await a.getStats()).some((s) => s.local.address === '127.0.0.5' && s.state === 'succeeded'), 10_000, 'a pair of the new address checked');
    } finally {
      clearInterval(pinger);
      await a.close();
      await b.close();
    }
  });

  it('TCP candidates follow too: an address that goes away takes its active and passive candidates with it, the agents move to another TCP pair; one that appears gets both', { timeout: 30_000 }, async () => {
    const aAddresses = ['127.0.0.2', '127.0.0.3'];
    const bAddresses = ['127.0.0.4'];
    const options = { gatherPolicy: 'continual' as const, networkPollIntervalMs: 100, mdns: false as const, candidateProtocols: ['tcp'] as const };
    const a = createIceAgent({ ...options, role: 'controlling', listAddresses: () => aAddresses });
    const b = createIceAgent({ ...options, role: 'controlled', listAddresses: () => bAddresses });
    const fromA: string[] = [];
    wire(a, b, fromA);
    wire(b, a, []);
    let bGot = 0;
    b.addEventListener('data', () => bGot++);
    const pinger = setInterval(() => {
      if (a.getSelectedCandidatePair()) a.send(new Uint8Array([7]));
    }, 20);
    try {
      await Promise.all([a.gather(), b.gather()]);
      await until(() => a.state === 'connected' && bGot > 3, 10_000, 'connected over TCP with data');
      assert.equal(a.getSelectedCandidatePair()!.local.protocol, 'tcp');
      await until(async () => new Set((await a.getStats()).filter((s) => s.state === 'succeeded').map((s) => s.local.address)).size >= 2, 10_000, 'valid pairs from both addresses');

      const lost = a.getSelectedCandidatePair()!.local.address;
      aAddresses.splice(aAddresses.indexOf(lost), 1);
      await until(() => {
        const pa = a.getSelectedCandidatePair();
        return pa !== null && pa.local.address !== lost;
      }, 5_000, 'a off the address that went away');
      const b0 = bGot;
      await sleep(500);
      assert.ok(bGot - b0 >= 5, `data after the switch: ${bGot - b0}`);
      const gone = (await a.getStats()).filter((s) => s.local.address === lost);
      assert.ok(gone.length > 0 && gone.every((s) => s.state === 'failed'), 'every pair of the address that went is failed');

      aAddresses.push('127.0.0.5');
      await until(() => fromA.filter((c) => c.includes(' 127.0.0.5 ')).length === 2, 5_000, 'an active and a passive candidate of the new address trickled');
      assert.deepEqual(fromA.filter((c) => c.includes(' 127.0.0.5 ')).map((c) => / tcptype (\w+)/.exec(c)?.[1]).sort(), ['active', 'passive']);
      // RFC 8445 §5.1.2.1 / RFC 6544 §4.2: its other-pref is below those in use, so it ties with no candidate
      // trickled before (a lone address's 8191 each time, before — the first address's value).
      for (const tcpType of ['active', 'passive']) {
        const priorities = fromA.filter((c) => c.includes(` tcptype ${tcpType}`)).map((c) => c.split(' ')[3]);
        assert.equal(new Set(priorities).size, priorities.length, `${tcpType}: ${priorities.join(', ')}`);
      }
      await until(async () => (await a.getStats()).some((s) => s.local.address === '127.0.0.5' && s.state === 'succeeded'), 10_000, 'a pair of the new address checked');
    } finally {
      clearInterval(pinger);
      await a.close();
      await b.close();
    }
  });

  it('does not go with a fixed addresses list, and needs a positive poll interval', () => {
    assert.throws(() => createIceAgent({ gatherPolicy: 'continual', addresses: ['127.0.0.1'] }), TypeError);
    assert.throws(() => createIceAgent({ gatherPolicy: 'continual', networkPollIntervalMs: 0 }), RangeError);
  });

  it('addSocket() before gather() or with gatherPolicy once is an InvalidStateError', async () => {
    const once = createIceAgent({ addresses: ['127.0.0.1'], mdns: false });
    const socket = await UdpSocket.bind({ address: '127.0.0.1' });
    await assert.rejects(once.addSocket(socket), { name: 'InvalidStateError' });
    socket.close();
    await once.close();
  });

  it('addSocket()/removeSocket() of what is no socket, or a tcpType that is none, is a TypeError that leaves the agent able to close', async () => {
    const agent = createIceAgent({ gatherPolicy: 'continual', listAddresses: () => ['127.0.0.1'], mdns: false });
    await agent.gather();
    for (const bad of [null, {}, { send() {}, close() {} }]) {
      await assert.rejects(agent.addSocket(bad as never), { name: 'TypeError', message: /^addSocket\(\) takes a DatagramSocket/ });
    }
    const socket = await UdpSocket.bind({ address: '127.0.0.1' });
    await assert.rejects(agent.addSocket(socket, 'sideways' as 'active'), { name: 'TypeError', message: /tcpType "sideways" is not 'active' or 'passive'/ });
    assert.throws(() => agent.removeSocket(null as never), { name: 'TypeError', message: /^removeSocket\(\) takes a DatagramSocket/ });
    // Before, the agent kept what it was given, and close() then threw 's.close is not a function'.
    await agent.close();
    socket.close();
  });
});
