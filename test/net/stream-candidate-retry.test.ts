// ActiveStreamSocket's early-close retries: a connection the far end accepts and closes before sending a byte
// (a TURN server's answer to a peer with no permission yet, RFC 6062 §5.3) is opened again after each wait of
// earlyCloseRetryMs, with the packets it had sent; only when the waits are used up is the remote unreachable.
// A connection that closes after something came back is unreachable at once (RFC 6544 §7.1).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { DestinationUnreachableError } from '../../src/net/datagram-socket.js';
import type { ByteStream } from '../../src/net/framed-stream-socket.js';
import { frameRfc4571, Rfc4571Framer } from '../../src/net/rfc4571-framer.js';
import { ActiveStreamSocket } from '../../src/net/stream-candidate-socket.js';

const REMOTE = { address: '192.0.2.7', port: 4000 };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A far end whose `behave` decides, per connection (0, 1, …), what it does with the packets it gets. */
function farEnd(behave: (n: number, stream: ByteStream, packet: Uint8Array) => void) {
  const received: string[][] = [];
  const open = async (): Promise<ByteStream> => {
    const n = received.length;
    received.push([]);
    const framer = new Rfc4571Framer();
    const stream: ByteStream = {
      write(bytes) {
        queueMicrotask(() => {
          for (const packet of framer.push(bytes)) {
            received[n]!.push(new TextDecoder().decode(packet));
            behave(n, stream, packet);
          }
        });
        return true;
      },
      close() {},
      ondata: null,
      onclose: null,
    };
    return stream;
  };
  return { open, received };
}

function watch(socket: ActiveStreamSocket) {
  const got: string[] = [];
  const unreachable: DestinationUnreachableError[] = [];
  socket.ondatagram = (bytes) => got.push(new TextDecoder().decode(bytes));
  socket.onunreachable = (e) => unreachable.push(e);
  return { got, unreachable };
}

const text = (s: string) => new TextEncoder().encode(s);

describe('ActiveStreamSocket early-close retries', () => {
  it('reopens a connection closed before any answer, sends its packets again, and carries on once answered', async () => {
    const far = farEnd((n, stream, packet) => {
      if (n < 2) stream.onclose?.(); // closed at once, twice: no permission yet
      else stream.ondata?.(frameRfc4571(packet)); // then an echo
    });
    const socket = new ActiveStreamSocket('192.0.2.1', far.open, { earlyCloseRetryMs: [10, 20, 40] });
    const { got, unreachable } = watch(socket);
    socket.send(text('check 1'), REMOTE);
    await sleep(150);
    assert.deepEqual(far.received, [['check 1'], ['check 1'], ['check 1']], 'the check went out again on each new connection');
    assert.deepEqual(got, ['check 1']);
    assert.deepEqual(unreachable, []);
    socket.send(text('data'), REMOTE);
    await sleep(20);
    assert.deepEqual(got, ['check 1', 'data']);
    socket.close();
  });

  it('is unreachable once the waits are used up, and at once when answered before closing', async () => {
    const far = farEnd((_n, stream) => stream.onclose?.());
    const socket = new ActiveStreamSocket('192.0.2.1', far.open, { earlyCloseRetryMs: [10, 10] });
    const { unreachable } = watch(socket);
    socket.send(text('check'), REMOTE);
    await sleep(100);
    assert.equal(far.received.length, 3, 'one connection and two retries');
    assert.equal(unreachable.length, 1);
    assert.equal(unreachable[0]!.code, 'tcp-closed');
    assert.match(unreachable[0]!.message, /closed before any answer, 3 times/, 'the reason a pair fails with says so');

    const answered = farEnd((n, stream, packet) => {
      stream.ondata?.(frameRfc4571(packet));
      stream.onclose?.();
    });
    const other = new ActiveStreamSocket('192.0.2.1', answered.open, { earlyCloseRetryMs: [10, 10] });
    const seen = watch(other);
    other.send(text('check'), REMOTE);
    await sleep(50);
    assert.equal(answered.received.length, 1, 'no retry after an answer');
    assert.equal(seen.unreachable.length, 1);
    socket.close();
    other.close();
  });

  it("earlyCloseRetryMs [] fails at once; a socket closed while waiting opens nothing more", async () => {
    const far = farEnd((_n, stream) => stream.onclose?.());
    const socket = new ActiveStreamSocket('192.0.2.1', far.open, { earlyCloseRetryMs: [] });
    const { unreachable } = watch(socket);
    socket.send(text('check'), REMOTE);
    await sleep(20);
    assert.equal(far.received.length, 1);
    assert.equal(unreachable.length, 1);

    const waiting = farEnd((_n, stream) => stream.onclose?.());
    const closing = new ActiveStreamSocket('192.0.2.1', waiting.open, { earlyCloseRetryMs: [30] });
    closing.send(text('check'), REMOTE);
    await sleep(10);
    closing.close();
    await sleep(60);
    assert.equal(waiting.received.length, 1, 'no connection after close()');
  });
});
