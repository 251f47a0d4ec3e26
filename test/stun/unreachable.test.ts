// A refused destination (the bridge's policy, here the simulator's refuse()) ends STUN transactions at once,
// like an ICMP unreachable, instead of after the 39.5 s retransmission schedule.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DestinationUnreachableError, type DatagramSocket } from '../../src/net/datagram-socket.js';
import { EngineDriver } from '../../src/net/driver.js';
import type { DatagramSource, Engine, Transmit } from '../../src/net/engine.js';
import { SocketDemux } from '../../src/net/socket-demux.js';
import { StunServer } from '../../src/server/stun-server.js';
import { SimNetwork, VirtualClock } from '../../src/sim/index.js';
import { stunBinding, StunBindingError } from '../../src/stun/binding.js';
import { StunClient, type StunClientEvent } from '../../src/stun/client.js';
import { StunMethod } from '../../src/stun/constants.js';
import { createStunMessage } from '../../src/stun/message.js';
import { TransactionTable } from '../../src/stun/transactions.js';
import { pendingAt, settledAt, settleOnVirtualTime } from '../support/virtual-time.js';

const SERVER = { address: '192.0.2.1', port: 3478 };
const OTHER = { address: '192.0.2.2', port: 3478 };

/** A network with a STUN "server" that never answers (so only a refusal can end a binding early). */
function world() {
  const clock = new VirtualClock();
  const net = new SimNetwork({ clock, seed: 1, link: { delayMs: 20 } });
  const client = net.addHost('198.51.100.20');
  const arrivals: number[] = [];
  net.addHost(SERVER.address).bind(SERVER.port).ondatagram = () => arrivals.push(clock.now());
  net.addHost(OTHER.address).bind(OTHER.port);
  return { clock, net, client, arrivals };
}



describe('stunBinding to a refused server', () => {
  it('rejects with UNREACHABLE within milliseconds; unrefused, the same binding is still pending then', async () => {
    const refused = world();
    refused.client.refuse(SERVER.address, { reason: 'destination 192.0.2.1 port 3478 is not allowed' });
    const { at, error } = await settledAt(refused.clock, stunBinding(SERVER, { socket: refused.client.bind(), clock: refused.clock }));
    assert.ok(error instanceof StunBindingError, String(error));
    assert.equal(error.code, 'UNREACHABLE');
    assert.equal(error.message, 'destination-denied: destination 192.0.2.1 port 3478 is not allowed');
    assert.ok(error.cause instanceof DestinationUnreachableError);
    assert.deepEqual(error.cause.destination, SERVER);
    assert.ok(at < 5, `rejected at virtual ${at} ms`);
    assert.deepEqual(refused.arrivals, [], 'nothing reached the server');
    assert.equal(refused.net.stats.droppedFor('refused'), 1, 'one request, no retransmission');

    // The control: no refusal, the same silent server — the binding is still waiting long after that.
    const control = world();
    const pending = stunBinding(SERVER, { socket: control.client.bind(), clock: control.clock });
    assert.equal(await pendingAt(control.clock, pending, 1_000), true, 'without the refusal it is pending at 1 s');
    await assert.rejects(settleOnVirtualTime(control.clock, pending), (e: unknown) => e instanceof StunBindingError && e.code === 'TIMEOUT');
    assert.equal(control.clock.now(), 39_500);
  });

  it('carries the bridge code (rate-limited) and puts the socket handlers back', async () => {
    const { clock, client } = world();
    client.refuse(SERVER.address, { code: 'rate-limited', reason: 'over the packets or bytes per second of this session' });
    const socket = client.bind();
    const mine = () => {};
    socket.onunreachable = mine;
    const { at, error } = await settledAt(clock, stunBinding(SERVER, { socket, clock, timeoutMs: 5_000 }));
    assert.ok(error instanceof StunBindingError && error.code === 'UNREACHABLE');
    assert.match(error.message, /^rate-limited: over the packets/);
    assert.ok(at < 5);
    assert.equal(socket.onunreachable, mine, 'the borrowed socket gets its own handler back');
    assert.equal(clock.pending, 0, 'the timeoutMs timer is cleared');
  });

  it('through a SocketDemux route (as the gatherer does), other servers on the socket are unaffected', async () => {
    const clock = new VirtualClock();
    const net = new SimNetwork({ clock, seed: 2 });
    const client = net.addHost('198.51.100.20');
    net.addHost(SERVER.address).bind(SERVER.port);
    new EngineDriver(new StunServer(), { clock }).attach(0, net.addHost(OTHER.address).bind(OTHER.port));
    client.refuse(SERVER.address);
    const demux = new SocketDemux(client.bind());
    const refused = settledAt(clock, stunBinding(SERVER, { socket: demux.routeFrom(SERVER), clock }));
    const fine = settleOnVirtualTime(clock, stunBinding(OTHER, { socket: demux.routeFrom(OTHER), clock }));
    const [r, ok] = await Promise.all([refused, fine]);
    assert.ok(r.error instanceof StunBindingError && r.error.code === 'UNREACHABLE');
    assert.ok(r.at < 5);
    assert.equal(ok.mapped.address, '198.51.100.20');
  });
});

describe('StunClient.handleUnreachable', () => {
  it('ends only the transactions to that destination on that socket, with an unreachable result', () => {
    const client = new StunClient<string>();
    const request = () => createStunMessage({ method: StunMethod.Binding, class: 'request' });
    client.request(request(), SERVER, 0, 0, 'a');
    client.request(request(), SERVER, 0, 0, 'b');
    client.request(request(), SERVER, 1, 0, 'other socket');
    client.request(request(), OTHER, 0, 0, 'other server');
    const error = new DestinationUnreachableError('destination-denied', SERVER, 'destination 192.0.2.1 port 3478 is not allowed');
    client.handleUnreachable(error, { socket: 0, from: SERVER }, 10);
    const events: StunClientEvent<string>[] = [];
    for (let e = client.pollEvent(); e; e = client.pollEvent()) events.push(e);
    assert.deepEqual(
      events.map((e) => [e.context, e.result.kind]),
      [
        ['a', 'unreachable'],
        ['b', 'unreachable'],
      ],
    );
    const r = events[0].result;
    assert.ok(r.kind === 'unreachable' && r.error === error && r.sends === 1);
    assert.equal(client.transactions.size, 2, 'the others go on');
  });

  it('TransactionTable.abandonTo removes and returns the matching transactions', () => {
    const table = new TransactionTable<number>();
    const id = (n: number) => new Uint8Array(12).fill(n);
    table.start(id(1), new Uint8Array(0), SERVER, 0, 0, 1);
    table.start(id(2), new Uint8Array(0), OTHER, 0, 0, 2);
    assert.deepEqual(table.abandonTo(0, { ...SERVER }).map((t) => t.context), [1]);
    assert.deepEqual(table.abandonTo(0, SERVER), []);
    assert.equal(table.size, 1);
    assert.equal(table.match(id(1), SERVER).kind, 'stray');
  });
});

describe('EngineDriver and SocketDemux carry refusals', () => {
  class Recorder implements Engine<never> {
    readonly refusals: { code: string; source: DatagramSource; now: number }[] = [];
    handleDatagram(): void {}
    handleUnreachable(error: DestinationUnreachableError, source: DatagramSource, now: number): void {
      this.refusals.push({ code: error.code, source, now });
    }
    handleTimeout(): void {}
    pollTransmit(): Transmit | undefined {
      return undefined;
    }
    pollTimeout(): number | undefined {
      return undefined;
    }
    pollEvent(): never | undefined {
      return undefined;
    }
  }

  function fakeSocket(): DatagramSocket {
    return { localAddress: { address: '198.51.100.20', port: 5000 }, send() {}, ondatagram: null, onclose: null, onunreachable: null, close() {} };
  }

  it('attach feeds onunreachable to engine.handleUnreachable with the socket id; detach clears it', () => {
    const clock = new VirtualClock(7);
    const engine = new Recorder();
    const driver = new EngineDriver(engine, { clock });
    const socket = fakeSocket();
    driver.attach(3, socket);
    socket.onunreachable?.(new DestinationUnreachableError('destination-denied', SERVER, 'no'));
    assert.deepEqual(engine.refusals, [{ code: 'destination-denied', source: { socket: 3, from: SERVER }, now: 7 }]);
    driver.detach(3);
    assert.equal(socket.onunreachable, null);
  });

  it('a refusal of D goes to every routeFrom(D), else to rest()', () => {
    const socket = fakeSocket();
    const demux = new SocketDemux(socket);
    const heard: string[] = [];
    const stun = demux.routeFrom(SERVER);
    const turn = demux.routeFrom(SERVER);
    const rest = demux.rest();
    stun.onunreachable = () => heard.push('stun');
    turn.onunreachable = () => heard.push('turn');
    rest.onunreachable = (e) => heard.push(`rest ${e.destination.address}`);
    socket.onunreachable?.(new DestinationUnreachableError('destination-denied', { ...SERVER }, 'no'));
    socket.onunreachable?.(new DestinationUnreachableError('destination-denied', OTHER, 'no'));
    assert.deepEqual(heard, ['stun', 'turn', 'rest 192.0.2.2']);
    stun.close();
    turn.close();
    socket.onunreachable?.(new DestinationUnreachableError('destination-denied', SERVER, 'no'));
    assert.deepEqual(heard.at(-1), 'rest 192.0.2.1', 'a closed route no longer claims its server');
  });
});
