// UdpSocket's destination lookup (src/node/udp-socket.ts): IP literals answered at once, the last one
// remembered per socket, .local names never sent to the system resolver — on real loopback sockets.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
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
});
