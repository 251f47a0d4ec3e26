// Node side, on loopback only and without multicast: a `.local` name never reaches the system resolver
// (udp-socket.ts), and a Node agent without mDNS drops `.local` candidates at once with an icecandidateerror.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { IceAgentEventObject } from '../../src/ice/ice-agent.js';
import { generateMdnsName } from '../../src/mdns/mdns-names.js';
import { createIceAgent } from '../../src/node/ice-agent.js';
import { UdpSocket } from '../../src/node/udp-socket.js';

describe('.local names in Node', () => {
  it('a datagram addressed to a .local name fails at once instead of waiting on dns.lookup', async () => {
    const socket = await UdpSocket.bind({ address: '127.0.0.1' });
    const started = performance.now();
    socket.send(new Uint8Array([1]), { address: `${generateMdnsName()}`, port: 9 });
    while (socket.sendErrors === 0 && performance.now() - started < 2_000) await new Promise((r) => setTimeout(r, 5));
    socket.close();
    assert.equal(socket.sendErrors, 1);
    assert.ok(performance.now() - started < 1_000);
  });

  it('with mdns: false, a .local candidate is dropped with an icecandidateerror and forms no pair', async () => {
    const agent = createIceAgent({ addresses: ['127.0.0.1'], mdns: false });
    const errors: unknown[] = [];
    agent.addEventListener('icecandidateerror', (e) => errors.push((e as IceAgentEventObject).error));
    agent.setRemoteParameters({ usernameFragment: 'abcd', password: 'abcdefghijklmnopqrstuvwxyz' });
    await agent.gather();
    const name = generateMdnsName();
    agent.addRemoteCandidate(`candidate:1 1 udp 2122262783 ${name} 9 typ host`);
    await new Promise((r) => setImmediate(r));
    assert.equal(errors.length, 1);
    assert.equal((errors[0] as { address: string }).address, name);
    assert.equal((await agent.getStats()).length, 0);
    assert.throws(() => createIceAgent({ addresses: ['127.0.0.1'], mdns: false, mdnsHostCandidates: 'on' }), TypeError);
    agent.close();
  });
});
