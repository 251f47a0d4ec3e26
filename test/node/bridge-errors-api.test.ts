// What a client is told when it cannot use a bridge, over real loopback sockets: nothing listening and
// `wss://` to a plain ws:// port are 'unreachable' (the WebSocket never opened) and say which, naming the URL
// without its token; a bridge that was reached and closed the session stays 'closed' with its close code.
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { WebSocketServer } from 'ws';
import { connectBridge } from '../../src/node/bridge-client.js';
import { BridgeError } from '../../src/net/bridge-error.js';

async function rejection(url: string): Promise<BridgeError> {
  const error = await connectBridge(url, { connectTimeoutMs: 5_000 }).then(
    (connection) => {
      connection.close();
      throw new Error(`connected to ${url}`);
    },
    (err: unknown) => err,
  );
  assert.ok(error instanceof BridgeError, `a BridgeError, got ${String(error)}`);
  return error;
}

/** A port nothing listens on: bound, its number taken, then released. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('bridge connection errors', () => {
  let wss: WebSocketServer;
  let port: number;
  before(async () => {
    wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
    port = (wss.address() as { port: number }).port;
    // A "bridge" that refuses every token, as the real one does with close code 4001.
    wss.on('connection', (ws) => ws.close(4001, 'unauthorized: bad token'));
  });
  after(() => new Promise<void>((resolve) => wss.close(() => resolve())));

  it('nothing listening: unreachable, connection refused, the URL without its credential', async () => {
    const closed = await freePort();
    const error = await rejection(`ws://127.0.0.1:${closed}/bridge?username=u&credential=s3cret`);
    assert.equal(error.code, 'unreachable');
    assert.equal(error.closeCode, 1006, 'the WebSocket’s own close code, for code written against it');
    assert.match(error.message, new RegExp(`^unreachable \\(1006\\): could not reach the bridge at ws://127\\.0\\.0\\.1:${closed}/bridge: .*ECONNREFUSED`));
    assert.ok(!error.message.includes('s3cret'), error.message);
  });

  it('wss:// to a plain ws:// port: unreachable, a TLS failure, with the hint', async () => {
    const error = await rejection(`wss://127.0.0.1:${port}/bridge?credential=s3cret`);
    assert.equal(error.code, 'unreachable');
    assert.match(error.message, new RegExp(`could not reach the bridge at wss://127\\.0\\.0\\.1:${port}/bridge: `));
    assert.match(error.message, /is that port plain ws:\/\//);
    assert.match(error.message, /TLS handshake failed/);
    assert.ok(!error.message.includes('s3cret'), error.message);
  });

  it('reached, then refused: closed with the bridge’s code and reason (not unreachable)', async () => {
    const error = await rejection(`ws://127.0.0.1:${port}/bridge`);
    assert.equal(error.code, 'closed');
    assert.equal(error.closeCode, 4001);
    assert.equal(error.message, 'closed (4001): unauthorized: bad token');
  });
});
