// Bridge listeners (protocol v2 `listen`) on real TCP sockets on 127.0.0.1: a client listens through the
// bridge, a plain node:net client connects to the bridge host, and bytes go both ways through the accepted
// BridgeStream; the refusals (off by default, the port range, maxListeners, maxStreams), a listener's close,
// the session's end, and a page on the same bridge reaching another page's listener.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect, createServer, type Socket } from 'node:net';
import type { RunningBridge } from '../../bridge/server.js';
import type { BridgeConnection, BridgeListener, BridgeStream } from '../../src/net/bridge-client.js';
import { BridgeError } from '../../src/net/bridge-error.js';
import { connectBridge } from '../../src/node/bridge-client.js';
import { fetchBridgeMetrics, startTestBridge, tokenUrl, within } from './helpers.js';

const HOST = '127.0.0.1';

function nextConnection(listener: BridgeListener): Promise<BridgeStream> {
  return within(new Promise<BridgeStream>((resolve) => (listener.onconnection = resolve)), 5000, 'an accepted stream');
}

function tcpConnect(port: number): Promise<Socket> {
  return within(
    new Promise<Socket>((resolve, reject) => {
      const socket = connect({ host: HOST, port }, () => resolve(socket));
      socket.once('error', reject);
    }),
    5000,
    'a TCP connect',
  );
}

function readBytes(socket: Socket, count: number): Promise<Buffer> {
  return within(
    new Promise<Buffer>((resolve) => {
      const chunks: Buffer[] = [];
      let n = 0;
      const on = (chunk: Buffer) => {
        chunks.push(chunk);
        n += chunk.length;
        if (n >= count) {
          socket.off('data', on);
          resolve(Buffer.concat(chunks));
        }
      };
      socket.on('data', on);
    }),
    5000,
    `${count} bytes`,
  );
}

/** The socket's close: resolves true when the peer closed or reset it. */
function closed(socket: Socket): Promise<boolean> {
  return within(new Promise<boolean>((resolve) => (socket.destroyed ? resolve(true) : socket.once('close', () => resolve(true)))), 5000, 'the TCP close');
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, HOST, () => resolve()));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('bridge listeners, on real sockets', () => {
  let bridge: RunningBridge;
  let off: RunningBridge;
  const open: BridgeConnection[] = [];
  const client = async (b: RunningBridge = bridge) => {
    const c = await connectBridge(tokenUrl(b));
    open.push(c);
    return c;
  };

  before(async () => {
    bridge = await startTestBridge({ allowListen: true, maxListeners: 2, maxStreams: 2 });
    off = await startTestBridge();
  });
  after(async () => {
    for (const c of open) c.close();
    await bridge.close();
    await off.close();
  });

  it('is off unless the operator enables it: refused not-supported at once, without asking', async () => {
    const c = await client(off);
    assert.equal(c.listenSupported, false);
    const started = performance.now();
    await assert.rejects(c.listen(), (e: unknown) => e instanceof BridgeError && e.code === 'not-supported');
    assert.ok(performance.now() - started < 5000);
  });

  it('takes a connection on the bridge host and carries bytes both ways, half-close included', async () => {
    const c = await client();
    assert.equal(c.listenSupported, true);
    const listener = await c.listen();
    assert.equal(listener.localAddress.address, HOST);
    assert.ok(listener.localAddress.port > 0);
    const accepted = nextConnection(listener);
    const socket = await tcpConnect(listener.localAddress.port);
    const stream = await accepted;
    assert.deepEqual(stream.remoteAddress, { address: HOST, port: socket.localPort });
    assert.equal(stream.localAddress.port, listener.localAddress.port);
    const got: number[] = [];
    stream.ondata = (bytes) => got.push(...bytes);
    const ended = new Promise<void>((resolve) => (stream.onend = resolve));
    socket.write(Buffer.from('ping'));
    const back = readBytes(socket, 4);
    await within(
      (async () => {
        while (got.length < 4) await new Promise((r) => setTimeout(r, 5));
      })(),
      5000,
      'the bytes through the bridge',
    );
    assert.equal(Buffer.from(got).toString(), 'ping');
    stream.write(new TextEncoder().encode('pong'));
    assert.equal((await back).toString(), 'pong');
    socket.end();
    await within(ended, 5000, 'the FIN through the bridge');
    stream.end();
    assert.equal(await closed(socket), true);
    const m = await fetchBridgeMetrics(`http://${new URL(bridge.url).host}/metrics`);
    assert.ok((m.value('icebridge_bridge_streams_accepted_total') ?? 0) >= 1);
    assert.equal(m.value('icebridge_bridge_listeners_open'), 1);
    listener.close();
  });

  it('refuses over maxListeners and outside the port range; a closed listener takes no more connections', async () => {
    const c = await client();
    await assert.rejects(c.listen({ port: 80 }), (e: unknown) => e instanceof BridgeError && e.code === 'listen-port-not-allowed');
    const a = await c.listen();
    const b = await c.listen();
    await assert.rejects(c.listen(), (e: unknown) => e instanceof BridgeError && e.code === 'listener-limit');
    b.close();
    const port = a.localAddress.port;
    a.close();
    // The bridge has closed it once a new listen succeeds (frames are in order).
    const again = await c.listen();
    await assert.rejects(tcpConnect(port), /ECONNREFUSED/);
    again.close();
  });

  it('listens on a port asked for by number, and refuses one in use with listen-failed', async () => {
    const c = await client();
    const port = await freePort();
    const listener = await c.listen({ port });
    assert.equal(listener.localAddress.port, port);
    await assert.rejects(c.listen({ port }), (e: unknown) => e instanceof BridgeError && e.code === 'listen-failed' && /EADDRINUSE/.test(e.message));
    listener.close();
  });

  it('over maxStreams a connection is closed at once and the client told', async () => {
    const c = await client();
    const listener = await c.listen();
    const streams: BridgeStream[] = [];
    listener.onconnection = (s) => streams.push(s);
    const errors: BridgeError[] = [];
    c.onerror = (e) => errors.push(e);
    const first = await tcpConnect(listener.localAddress.port);
    const second = await tcpConnect(listener.localAddress.port);
    const third = await tcpConnect(listener.localAddress.port);
    assert.equal(await closed(third), true, 'the third connection is closed by the bridge');
    await within(
      (async () => {
        while (streams.length < 2 || errors.length < 1) await new Promise((r) => setTimeout(r, 5));
      })(),
      5000,
      'two streams and one refusal',
    );
    assert.equal(errors[0].code, 'stream-limit');
    first.destroy();
    second.destroy();
    listener.close();
  });

  it("a page reaches another page's listener on the bridge host, and the session's end closes its listeners", async () => {
    const passive = await connectBridge(tokenUrl(bridge));
    const active = await connectBridge(tokenUrl(bridge));
    const listener = await passive.listen();
    const accepted = nextConnection(listener);
    const stream = await active.connect({ address: HOST, port: listener.localAddress.port });
    const inbound = await accepted;
    const got = new Promise<string>((resolve) => (inbound.ondata = (b) => resolve(new TextDecoder().decode(b))));
    stream.write(new TextEncoder().encode('hi'));
    assert.equal(await within(got, 5000, 'bytes page to page'), 'hi');
    const port = listener.localAddress.port;
    const listenerClosed = new Promise<unknown>((resolve) => (listener.onclose = resolve));
    passive.close();
    await within(listenerClosed, 5000, 'the listener closed with its connection');
    await within(
      (async () => {
        for (;;) {
          try {
            (await tcpConnect(port)).destroy();
          } catch {
            return;
          }
          await new Promise((r) => setTimeout(r, 20));
        }
      })(),
      5000,
      'the port closed on the bridge host',
    );
    active.close();
  });
});
