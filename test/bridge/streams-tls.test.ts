// Bridge streams, continued (streams.test.ts has bytes, half-close and flow control): TLS made by the bridge
// and checked against the client's server name, with a self-signed certificate made here by openssl; what a
// connect or an open stream can end in (refusals, a reset, the session closing); STUN and TURN over a
// bridge TCP stream to coturn. Every address is loopback.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer as createTlsServer, Server as TlsServer, type TLSSocket } from 'node:tls';
import type { RunningBridge } from '../../bridge/server.js';
import { BridgeFeature } from '../../src/net/bridge-frame.js';
import { BridgeError, type BridgeConnection, type BridgeStream } from '../../src/net/bridge-client.js';
import { connectBridge } from '../../src/node/bridge-client.js';
import { stunBinding } from '../../src/stun/binding.js';
import { TurnRelaySocket } from '../../src/turn/relay-socket.js';
import { startCoturn, type RunningCoturn } from '../interop/support/coturn.js';
import { startEchoServer, startTestBridge, tokenUrl, within } from './helpers.js';
import { selfSignedCertificate } from '../support/test-certificate.js';

const HOST = '127.0.0.1';
const isCode = (code: string, reason?: RegExp) => (e: unknown) => e instanceof BridgeError && e.code === code && (!reason || reason.test(e.reason));

/** A self-signed P-256 certificate for turn.test, made by openssl in a temporary directory. */
function makeCertificate(): { key: string; cert: string } {
  const dir = mkdtempSync(join(tmpdir(), 'icebridge-tls-'));
  try {
    const files = selfSignedCertificate(dir, 'turn.test');
    return { key: readFileSync(files.key, 'utf8'), cert: readFileSync(files.cert, 'utf8') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Listens on a free port of 127.0.0.1; counts connections; close() ends those too. */
async function listen<S extends Server>(server: S): Promise<{ server: S; port: number; connections: number; sockets: Set<Socket>; close(): Promise<void> }> {
  const state = { server, port: 0, connections: 0, sockets: new Set<Socket>(), close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
  const close = state.close;
  state.close = () => {
    for (const s of state.sockets) s.destroy();
    return close();
  };
  server.on(server instanceof TlsServer ? 'secureConnection' : 'connection', (s: Socket) => {
    state.connections++;
    state.sockets.add(s);
    s.on('error', () => {});
    s.on('close', () => state.sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, HOST, () => resolve()));
  state.port = (server.address() as { port: number }).port;
  return state;
}

/** Resolves once `predicate` holds, checking every 10 ms, for at most `ms`. */
async function until(predicate: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Writes `text`, ends, and resolves with everything the stream delivered up to a clean close. */
function exchange(stream: BridgeStream, text: string): Promise<string> {
  const chunks: Uint8Array[] = [];
  stream.ondata = (b) => chunks.push(b.slice());
  const done = new Promise<string>((resolve, reject) => (stream.onclose = (e) => (e ? reject(e) : resolve(Buffer.concat(chunks).toString()))));
  stream.write(Buffer.from(text));
  stream.end();
  return within(done, 5000, 'the exchange');
}

describe('bridge TLS streams', () => {
  const { key, cert } = makeCertificate();
  let tls: Awaited<ReturnType<typeof listen>>;
  const names: (string | false | null)[] = [];
  const bridges: RunningBridge[] = [];
  const connections: BridgeConnection[] = [];

  /** A client of a new bridge with these TLS options. */
  async function client(options: Parameters<typeof startTestBridge>[0] = {}): Promise<BridgeConnection> {
    const bridge = await startTestBridge(options);
    bridges.push(bridge);
    const c = await connectBridge(tokenUrl(bridge));
    connections.push(c);
    return c;
  }

  before(async () => {
    tls = await listen(
      createTlsServer({ key, cert }, (s: TLSSocket) => {
        names.push(s.servername);
        s.on('data', (d) => s.write(`echo:${d}`));
        s.on('end', () => s.end());
      }),
    );
  });
  after(async () => {
    for (const c of connections) c.close();
    await Promise.all(bridges.map((b) => b.close()));
    await tls?.close();
  });

  it("without tlsCa: tls-failed, naming the certificate's problem", async () => {
    const c = await client();
    assert.ok(c.limits.features & BridgeFeature.tls);
    await assert.rejects(c.connect({ address: HOST, port: tls.port, tls: true, serverName: 'turn.test' }), isCode('tls-failed', /self.signed/i));
  });

  it('with tlsCa and the right name: works, with the name as SNI; a wrong name or none: tls-failed', async () => {
    const c = await client({ tlsCa: cert });
    const stream = await c.connect({ address: HOST, port: tls.port, tls: true, serverName: 'turn.test' });
    assert.equal(await exchange(stream, 'hi'), 'echo:hi');
    assert.equal(names.at(-1), 'turn.test');
    await assert.rejects(c.connect({ address: HOST, port: tls.port, tls: true, serverName: 'other.test' }), isCode('tls-failed', /altnames.*other\.test|other\.test.*altnames/i));
    await assert.rejects(c.connect({ address: HOST, port: tls.port, tls: true }), isCode('tls-failed', /IP: 127\.0\.0\.1/));
  });

  it('tlsInsecure: any name, or none, is accepted', async () => {
    const c = await client({ tlsInsecure: true });
    assert.equal(await exchange(await c.connect({ address: HOST, port: tls.port, tls: true, serverName: 'other.test' }), 'a'), 'echo:a');
    assert.equal(await exchange(await c.connect({ address: HOST, port: tls.port, tls: true }), 'b'), 'echo:b');
  });

  it('a TLS server that closes after its reply: every byte arrives though the client has little credit', async () => {
    const reply = Buffer.alloc(200_000, 0x61).toString();
    const closing = await listen(createTlsServer({ key, cert }, (s: TLSSocket) => s.once('data', () => s.end(reply))));
    const bridge = await startTestBridge({ tlsCa: cert });
    bridges.push(bridge);
    const c = await connectBridge(tokenUrl(bridge), { streamReceiveWindow: 1000 });
    connections.push(c);
    try {
      const stream = await c.connect({ address: HOST, port: closing.port, tls: true, serverName: 'turn.test' });
      const got = await exchange(stream, 'request');
      assert.equal(got.length, reply.length);
    } finally {
      await closing.close();
    }
  });

  it('a server that never completes the handshake: connect-timeout, and the bridge lets go of it', async () => {
    const silent = await listen(createServer((s) => s.resume())); // reads, so it sees the bridge's FIN
    const c = await client({ connectTimeoutMs: 300 });
    try {
      await assert.rejects(c.connect({ address: HOST, port: silent.port, tls: true, serverName: 'turn.test' }), isCode('connect-timeout'));
      assert.equal(silent.connections, 1);
      await until(() => silent.sockets.size === 0, 3000, 'the server socket closed');
    } finally {
      await silent.close();
    }
  });

  it('a server that hangs up during the handshake: tls-failed', async () => {
    const rude = await listen(createServer((s) => s.destroy()));
    const c = await client();
    try {
      await assert.rejects(c.connect({ address: HOST, port: rude.port, tls: true, serverName: 'turn.test' }), isCode('tls-failed'));
    } finally {
      await rude.close();
    }
  });
});

describe('how a bridge stream connect or an open stream ends', () => {
  it('without allowLoopback: destination-denied, and the server saw no connection', async () => {
    const strict = await startTestBridge({ allowLoopback: false });
    const server = await listen(createServer());
    const c = await connectBridge(tokenUrl(strict));
    try {
      await assert.rejects(c.connect({ address: HOST, port: server.port }), isCode('destination-denied'));
      await assert.rejects(c.connect({ address: HOST, port: server.port, tls: true, serverName: 'turn.test' }), isCode('destination-denied'));
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(server.connections, 0);
      assert.equal(strict.metrics.snapshot().streamRefusals['destination-denied'], 2);
    } finally {
      c.close();
      await Promise.all([strict.close(), server.close()]);
    }
  });

  it('a closed port: connect-failed (TLS too); over the limit: stream-limit; streams off: not-supported', async () => {
    const gone = await listen(createServer());
    const closedPort = gone.port;
    await gone.close();
    const one = await startTestBridge({ maxStreams: 1 });
    const none = await startTestBridge({ maxStreams: 0 });
    const server = await listen(createServer());
    const c = await connectBridge(tokenUrl(one));
    const d = await connectBridge(tokenUrl(none));
    try {
      await assert.rejects(c.connect({ address: HOST, port: closedPort }), isCode('connect-failed', /ECONNREFUSED/));
      await assert.rejects(c.connect({ address: HOST, port: closedPort, tls: true, serverName: 'turn.test' }), isCode('connect-failed', /ECONNREFUSED/));
      const first = await c.connect({ address: HOST, port: server.port });
      await assert.rejects(c.connect({ address: HOST, port: server.port }), isCode('stream-limit'));
      first.close();
      (await c.connect({ address: HOST, port: server.port })).close(); // the slot came back
      assert.equal(server.connections, 2);
      assert.deepEqual(one.metrics.snapshot().streamRefusals, { 'connect-failed': 2, 'stream-limit': 1 });

      assert.equal(d.limits.maxStreams, 0);
      assert.equal(d.limits.features & (BridgeFeature.tcp | BridgeFeature.tls), 0, 'the hello offers no streams');
      await assert.rejects(d.connect({ address: HOST, port: server.port }), isCode('not-supported'));
      assert.equal(server.connections, 2);
    } finally {
      c.close();
      d.close();
      await Promise.all([one.close(), none.close(), server.close()]);
    }
  });

  it('a reset by the server closes the stream with stream-error; the session closing closes its TCP connections', async () => {
    const bridge = await startTestBridge();
    const server = await listen(createServer((s) => s.resume()));
    const c = await connectBridge(tokenUrl(bridge));
    try {
      const reset = await c.connect({ address: HOST, port: server.port });
      const resetClosed = new Promise<Error | undefined>((resolve) => (reset.onclose = resolve));
      await until(() => server.sockets.size === 1, 3000, 'the accept');
      [...server.sockets][0].resetAndDestroy();
      assert.ok(isCode('stream-error', /ECONNRESET/)(await within(resetClosed, 5000, 'the close')));

      const streams = [await c.connect({ address: HOST, port: server.port }), await c.connect({ address: HOST, port: server.port })];
      const closed = streams.map((s) => new Promise<Error | undefined>((resolve) => (s.onclose = resolve)));
      await until(() => server.sockets.size === 2, 3000, 'the accepts');
      const gone = [...server.sockets].map((s) => new Promise<void>((resolve) => s.once('close', () => resolve())));
      c.close();
      await within(Promise.all(gone), 5000, 'the server sockets closed');
      for (const reason of await Promise.all(closed)) assert.ok(isCode('closed')(reason), String(reason));
      assert.equal(bridge.metrics.streamsOpen, 0);
    } finally {
      c.close();
      await Promise.all([bridge.close(), server.close()]);
    }
  });
});

describe('STUN and TURN over a bridge TCP stream (coturn)', () => {
  let coturn: RunningCoturn;
  let bridge: RunningBridge;
  let connection: BridgeConnection;

  before(async () => {
    coturn = await startCoturn({ args: ['--lt-cred-mech', '--realm=icebridge.test', '--user=alice:secret', '--allow-loopback-peers', `--relay-ip=${HOST}`] });
    bridge = await startTestBridge();
    connection = await connectBridge(tokenUrl(bridge));
  });
  after(async () => {
    connection?.close();
    await bridge?.close();
    await coturn?.stop();
  });

  it("a Binding over the stream maps to the bridge's end of the TCP connection", async () => {
    const server = { address: HOST, port: coturn.port };
    const socket = await connection.openStreamSocket(server, 'tcp', '');
    try {
      assert.equal(socket.reliable, true);
      const result = await stunBinding(server, { socket, timeoutMs: 5000 });
      assert.deepEqual(result.mapped, socket.localAddress, 'the bridge host, at the port of its TCP connection');
      assert.equal(result.mapped.address, HOST);
    } finally {
      socket.close();
    }
  });

  it('a TURN allocation over the stream relays a datagram to a UDP echo peer and back', async () => {
    const server = { address: HOST, port: coturn.port };
    const echo = await startEchoServer();
    const socket = await connection.openStreamSocket(server, 'tcp', '');
    const relay = await within(TurnRelaySocket.allocate(socket, { server, transport: 'tcp', username: 'alice', credential: 'secret', closeBase: true, timeoutMs: 5000 }), 6000, 'Allocate');
    try {
      assert.equal(relay.localAddress.address, HOST, 'relayed on --relay-ip');
      assert.deepEqual(relay.mappedAddress, socket.localAddress);
      await within(relay.createPermission(echo.address), 5000, 'CreatePermission');
      const back = within(new Promise<{ data: Uint8Array; from: unknown }>((resolve) => (relay.ondatagram = (data, from) => resolve({ data: data.slice(), from }))), 5000, 'the echo');
      const payload = Uint8Array.from({ length: 1001 }, (_, i) => i & 0xff); // odd: the stream pads to 4 bytes
      relay.send(payload, echo.address);
      const { data, from } = await back;
      assert.deepEqual(data, payload);
      assert.deepEqual(from, echo.address);
      assert.equal(echo.received, 1);
      relay.close();
      assert.equal(await within(relay.closed, 5000, 'deallocation'), 'deallocated');
    } finally {
      relay.abort();
      await echo.close();
    }
  });
});
