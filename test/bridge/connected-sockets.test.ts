// Connected bridge sockets (v2, BridgeFeature.connect): a `bind` with `connect` gets a UDP socket on the
// bridge connected to that one peer, so the peer's ICMP port unreachable comes back at once as an error frame
// naming it (onunreachable) — a Binding to a port where nothing listens fails in milliseconds, as from a
// connected socket in Node, not after its timeout. The bridge's unconnected sockets cannot hear ICMP at all.
// Real bridge, real UDP, loopback only.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { RunningBridge } from '../../bridge/server.js';
import { BridgeFeature, encodeBridgeFrame } from '../../src/net/bridge-frame.js';
import { BridgeError } from '../../src/net/bridge-client.js';
import { DestinationUnreachableError } from '../../src/net/datagram-socket.js';
import { connectBridge } from '../../src/node/bridge-client.js';
import { startStunServer, type RunningStunServer } from '../../src/node/stun-server.js';
import { stunBinding, StunBindingError } from '../../src/stun/binding.js';
import { closedUdpPort, RawClient, startEchoServer, startTestBridge, tokenUrl, within } from './helpers.js';

describe('connected bridge sockets (bind with connect)', () => {
  let bridge: RunningBridge;
  let stun: RunningStunServer;

  before(async () => {
    bridge = await startTestBridge();
    stun = await startStunServer({ port: 0 });
  });
  after(async () => {
    await bridge?.close();
    await stun?.close();
  });

  it('a v2 hello offers them', async () => {
    const connection = await connectBridge(tokenUrl(bridge));
    try {
      assert.ok((connection.limits.features ?? 0) & BridgeFeature.connect);
    } finally {
      connection.close();
    }
  });

  it('a Binding to a port where nothing listens fails at once with UNREACHABLE; one to a server is answered', async () => {
    const connection = await connectBridge(tokenUrl(bridge));
    try {
      const port = await closedUdpPort();
      const to = { address: '127.0.0.1', port };
      const socket = await connection.bind({ family: 'IPv4', connect: to });
      const started = performance.now();
      const error: unknown = await stunBinding(to, { socket, timeoutMs: 20_000 }).then(() => undefined, (e: unknown) => e);
      assert.ok(error instanceof StunBindingError && error.code === 'UNREACHABLE', `got ${String(error)}`);
      assert.ok(performance.now() - started < 5000, `refused at once, not after the 20 s timeout (${Math.round(performance.now() - started)} ms)`);
      socket.close();

      const server = stun.addresses[0];
      const connected = await connection.bind({ family: 'IPv4', connect: server });
      const answer = await stunBinding(server, { socket: connected, timeoutMs: 5000 });
      assert.deepEqual(answer.mapped, connected.localAddress, 'the connected socket is the one the server saw');
      connected.close();
    } finally {
      connection.close();
    }
  });

  it('a connected socket sends to its peer only: another destination is dropped, counted and named', async () => {
    const echo = await startEchoServer();
    const connection = await connectBridge(tokenUrl(bridge));
    try {
      const socket = await connection.bind({ family: 'IPv4', connect: echo.address });
      const denied = bridge.metrics.snapshot().drops['destination-denied'] ?? 0;
      const elsewhere = { address: '127.0.0.1', port: await closedUdpPort() };
      const unreachable = new Promise<DestinationUnreachableError>((resolve) => (socket.onunreachable = resolve));
      socket.send(Uint8Array.of(1), elsewhere);
      const error = await within(unreachable, 3000, 'onunreachable for the other destination');
      assert.deepEqual([error.code, error.destination], ['destination-denied', elsewhere]);
      assert.equal(bridge.metrics.snapshot().drops['destination-denied'], denied + 1);
      const echoed = within(new Promise<Uint8Array>((resolve) => (socket.ondatagram = (bytes) => resolve(bytes.slice()))), 3000, 'the echo');
      socket.send(Uint8Array.of(7, 8), echo.address);
      assert.deepEqual([...(await echoed)], [7, 8], 'its peer is reached and heard');
    } finally {
      connection.close();
      await echo.close();
    }
  });

  it('refuses to connect a socket to a destination the policy denies, or of the other family', async () => {
    const connection = await connectBridge(tokenUrl(bridge));
    try {
      await assert.rejects(connection.bind({ family: 'IPv4', connect: { address: '0.0.0.1', port: 3478 } }), (e: unknown) => e instanceof BridgeError && e.code === 'destination-denied' && /not allowed/.test(e.reason));
      await assert.rejects(connection.bind({ family: 'IPv6', connect: { address: '127.0.0.1', port: 3478 } }), (e: unknown) => e instanceof BridgeError && /cannot reach 127\.0\.0\.1/.test(e.reason));
    } finally {
      connection.close();
    }
  });

  it('a version 1 session cannot ask for one: the bind is refused', async () => {
    // A hand-made frame: the v1 client has no `connect`, and today's client leaves it out without the hello bit.
    // No subprotocol offered: a version 1 session.
    const raw = new RawClient(tokenUrl(bridge));
    await raw.opened;
    await raw.frame((f) => f.type === 'hello');
    raw.ws.send(encodeBridgeFrame({ type: 'bind', requestId: 9, family: 'IPv4', port: 0, connect: stun.addresses[0] }));
    const refusal = await raw.frame((f) => f.type === 'error' && f.requestId === 9);
    assert.ok(refusal.type === 'error' && refusal.code === 'bind-failed');
    raw.ws.close();
  });
});
