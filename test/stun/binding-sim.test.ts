// The STUN client and server engines on the simulated network, on virtual time.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EngineDriver } from '../../src/net/driver.js';
import { StunServer } from '../../src/server/stun-server.js';
import { NAT_BEHAVIORS, SimNetwork, VirtualClock, type SimHost } from '../../src/sim/index.js';
import { stunBinding, StunBindingError } from '../../src/stun/binding.js';
import { decodeStunMessage } from '../../src/stun/decode.js';
import { formatTransportAddress } from '../../src/net/transport-address.js';
import { settleOnVirtualTime } from '../support/virtual-time.js';

function runStunServer(host: SimHost, port: number, clock: VirtualClock): StunServer {
  const engine = new StunServer();
  new EngineDriver(engine, { clock }).attach(0, host.bind(port));
  return engine;
}

describe('STUN Binding on the simulated network', () => {
  it('retransmits at 0, 500, 1500, 3500, 7500, 15500, 31500 ms, byte for byte, and gives up at 39 500 ms', async () => {
    const clock = new VirtualClock();
    const net = new SimNetwork({ clock, seed: 1 });
    const client = net.addHost('192.0.2.10');
    const blackHole = net.addHost('192.0.2.1').bind(3478); // receives, never answers
    const arrivals: { at: number; bytes: Uint8Array }[] = [];
    blackHole.ondatagram = (bytes) => arrivals.push({ at: clock.now(), bytes: bytes.slice() });

    const result = settleOnVirtualTime(clock, stunBinding({ address: '192.0.2.1', port: 3478 }, { socket: client.bind(), clock }));
    await assert.rejects(result, (err: unknown) => err instanceof StunBindingError && err.code === 'TIMEOUT');
    assert.equal(clock.now(), 39_500);
    assert.deepEqual(
      arrivals.map((a) => a.at),
      [0, 500, 1500, 3500, 7500, 15500, 31500],
    );
    for (const a of arrivals) assert.deepEqual(a.bytes, arrivals[0].bytes, 'every retransmission is the same request');
    assert.equal(decodeStunMessage(arrivals[0].bytes).class, 'request');
  });

  it('a server that is neither text nor { address, port } is a TypeError saying what came, not a crash inside', async () => {
    const net = new SimNetwork({ clock: new VirtualClock(), seed: 1 });
    const socket = net.addHost('192.0.2.10').bind();
    for (const bad of [5, {}, { address: '192.0.2.1', port: 70_000 }, null]) {
      await assert.rejects(stunBinding(bad as never, { socket }), { name: 'TypeError', message: /^stunBinding: the server must be a STUN URI, host:port or \{ address, port \}, got / });
    }
  });

  it('answers with the source address the server saw', async () => {
    const clock = new VirtualClock();
    const net = new SimNetwork({ clock, seed: 2 });
    runStunServer(net.addHost('192.0.2.1'), 3478, clock);
    const socket = net.addHost('198.51.100.20').bind(40000);
    const r = await settleOnVirtualTime(clock, stunBinding('stun:192.0.2.1:3478', { socket, clock }));
    assert.deepEqual(r.mapped, { address: '198.51.100.20', port: 40000 });
    assert.equal(r.software, 'icebridge');
    assert.equal(r.rttMs, 0);
  });

  it('recovers from loss by retransmission', async () => {
    const clock = new VirtualClock();
    const net = new SimNetwork({ clock, seed: 7 });
    const server = runStunServer(net.addHost('192.0.2.1'), 3478, clock);
    const host = net.addHost({ address: '198.51.100.20', link: { lossRate: 0.3, delayMs: 20 } });
    let retransmitted = 0;
    for (let i = 0; i < 10; i++) {
      const r = await settleOnVirtualTime(clock, stunBinding({ address: '192.0.2.1', port: 3478 }, { socket: host.bind(), clock }));
      assert.equal(r.mapped.address, '198.51.100.20');
      if (r.rttMs > 40) retransmitted++;
    }
    assert.ok(retransmitted > 0, 'at 30 % loss each way some bindings needed a retransmission');
    assert.ok(net.stats.droppedFor('loss') > 0);
    assert.ok(server.counters.answered >= 10);
  });

  it('sees the NAT mapping: same mapped address towards two servers only with endpoint-independent mapping', async () => {
    for (const mapping of NAT_BEHAVIORS) {
      for (const filtering of NAT_BEHAVIORS) {
        const clock = new VirtualClock();
        const net = new SimNetwork({ clock, seed: 3 });
        runStunServer(net.addHost('192.0.2.1'), 3478, clock);
        runStunServer(net.addHost('192.0.2.2'), 3478, clock);
        const nat = net.addNat({ publicAddress: '203.0.113.10', mapping, filtering });
        const socket = nat.addHost('10.0.0.2').bind(5000);
        const a = await settleOnVirtualTime(clock, stunBinding('192.0.2.1:3478', { socket, clock }));
        const b = await settleOnVirtualTime(clock, stunBinding('192.0.2.2:3478', { socket, clock }));
        const label = `mapping=${mapping} filtering=${filtering}: ${formatTransportAddress(a.mapped)} vs ${formatTransportAddress(b.mapped)}`;
        assert.equal(a.mapped.address, '203.0.113.10', label);
        assert.equal(a.mapped.port === b.mapped.port, mapping === 'endpoint-independent', label);
      }
    }
  });
});
