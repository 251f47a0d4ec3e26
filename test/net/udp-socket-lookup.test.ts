// UdpSocket's destinations (src/node/udp-socket.ts): IP literals answered at once, the last one remembered
// per socket, .local names never sent to the system resolver; a socket for one destination (`connect`, as
// Node's stunBinding and allocateTurn use) hears of the kernel's ICMP port unreachable — real loopback sockets.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { stunBinding } from '../../src/node/stun-binding.js';
import { allocateTurn } from '../../src/node/turn-client.js';
import { TurnError } from '../../src/turn/errors.js';
import { startTurnServer } from '../../src/node/turn-server.js';
import { decodeStunMessage } from '../../src/stun/decode.js';
import { encodeStunMessage } from '../../src/stun/encode.js';
import { createStunMessage } from '../../src/stun/message.js';
import { UdpSocket } from '../../src/node/udp-socket.js';

const text = (s: string) => new TextEncoder().encode(s);
const str = (b: Uint8Array) => new TextDecoder().decode(b);

async function receiver(): Promise<{ socket: UdpSocket; got: string[] }> {
  const socket = await UdpSocket.bind({ address: '127.0.0.1' });
  const got: string[] = [];
  socket.ondatagram = (bytes) => got.push(str(bytes));
  return { socket, got };
}

async function until(done: () => boolean, withinMs = 3000): Promise<void> {
  const end = Date.now() + withinMs;
  while (!done() && Date.now() < end) await new Promise((resolve) => setTimeout(resolve, 5));
}

describe('UdpSocket destinations', () => {
  it('sends to literals in any order, and refuses a .local name between them without harm', async () => {
    const a = await receiver();
    const b = await receiver();
    const sender = await UdpSocket.bind({ address: '127.0.0.1' });
    try {
      sender.send(text('1'), a.socket.localAddress);
      sender.send(text('2'), b.socket.localAddress);
      sender.send(text('3'), { address: '127.0.0.1', port: a.socket.localAddress.port });
      sender.send(text('x'), { address: 'nothing-here.local', port: a.socket.localAddress.port });
      sender.send(text('4'), b.socket.localAddress);
      sender.send(text('5'), a.socket.localAddress);
      await until(() => a.got.length >= 3 && b.got.length >= 2 && sender.sendErrors >= 1);
      assert.deepEqual(a.got, ['1', '3', '5']);
      assert.deepEqual(b.got, ['2', '4']);
      assert.equal(sender.sendErrors, 1, 'the .local name is refused (counted), not resolved');
    } finally {
      sender.close();
      a.socket.close();
      b.socket.close();
    }
  });

  it('with `connect`: ICMP port unreachable is onunreachable at once; it sends to that destination only, and still receives', async () => {
    const gone = await UdpSocket.bind({ address: '127.0.0.1' });
    const to = gone.localAddress;
    gone.close();
    const socket = await UdpSocket.bind({ address: '127.0.0.1', connect: to });
    const refused: { code: string; destination: string }[] = [];
    socket.onunreachable = (e) => refused.push({ code: e.code, destination: `${e.destination.address}:${e.destination.port}` });
    const got: string[] = [];
    socket.ondatagram = (bytes, from) => got.push(`${str(bytes)} from ${from.port}`);
    const other = await receiver();
    let server: UdpSocket | undefined;
    try {
      socket.send(text('anyone?'), to);
      await until(() => refused.length > 0);
      assert.deepEqual(refused, [{ code: 'port-unreachable', destination: `127.0.0.1:${to.port}` }]);
      assert.equal(socket.sendErrors, 0);
      socket.send(text('elsewhere'), other.socket.localAddress);
      assert.equal(socket.sendErrors, 1, 'a datagram to another destination is dropped and counted');
      // Something listens there now: the same socket reaches it and hears back.
      server = await UdpSocket.bind({ address: '127.0.0.1', port: to.port });
      const s = server;
      s.ondatagram = (bytes, from) => s.send(bytes, from);
      socket.send(text('ping'), to);
      await until(() => got.length > 0);
      assert.deepEqual(got, [`ping from ${to.port}`]);
      assert.deepEqual(other.got, []);
    } finally {
      socket.close();
      other.socket.close();
      server?.close();
    }
  });

  it('allocateTurn over UDP follows a 300 Try Alternate on a new connected socket', async () => {
    const turn = await startTurnServer({ hosts: ['127.0.0.1'], port: 0, users: { u: 'p' }, allowLoopback: true });
    // A server that sends every Allocate to the real one (RFC 8656 §7.4, unauthenticated as servers do).
    const redirector = await UdpSocket.bind({ address: '127.0.0.1' });
    redirector.ondatagram = (bytes, from) => {
      const request = decodeStunMessage(bytes);
      const answer = createStunMessage({ method: request.method, class: 'error', transactionId: request.transactionId, attributes: [['ERROR-CODE', { code: 300, reason: 'Try Alternate' }], ['ALTERNATE-SERVER', turn.addresses[0]]] });
      redirector.send(encodeStunMessage(answer), from);
    };
    try {
      const relay = await allocateTurn(`turn:127.0.0.1:${redirector.localAddress.port}`, { username: 'u', credential: 'p' });
      assert.equal(turn.engine.allocationCount, 1);
      relay.close();
    } finally {
      redirector.close();
      await turn.close();
    }
  });

  it('Node stunBinding and allocateTurn to a UDP port where nothing listens are refused at once, not after their retransmissions', async () => {
    const gone = await UdpSocket.bind({ address: '127.0.0.1' });
    const to = gone.localAddress;
    gone.close();
    let started = Date.now();
    await assert.rejects(stunBinding(`stun:127.0.0.1:${to.port}`), (e: Error & { code?: string }) => e.code === 'UNREACHABLE' && /port unreachable/.test(e.message));
    assert.ok(Date.now() - started < 5_000, `stunBinding refused after ${Date.now() - started} ms`);
    started = Date.now();
    await assert.rejects(allocateTurn(`turn:127.0.0.1:${to.port}`, { username: 'u', credential: 'p' }), (e: Error) => e instanceof TurnError && e.kind === 'unreachable' && /port unreachable/.test(e.message));
    assert.ok(Date.now() - started < 5_000, `allocateTurn refused after ${Date.now() - started} ms`);
  });
});
