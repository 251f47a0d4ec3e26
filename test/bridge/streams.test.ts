// Bridge streams (protocol v2 `connect`) on real TCP sockets, all on 127.0.0.1: bytes both ways through
// BridgeStream, half-close each way, close by the client, bytes that come with `connected` or after the TCP
// close, and credit flow control under a peer that does not read, a page that does not read (its credit, or
// its WebSocket) and a page that sends beyond its credit. streams-tls.test.ts has TLS, refusals and endings,
// STUN/TURN. Bridge, client and TCP servers share this process, so the memory seen is theirs.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { RunningBridge } from '../../bridge/server.js';
import { BRIDGE_SUBPROTOCOL_V2, encodeBridgeFrame, encodeStreamFrame, type BridgeFrame, type ConnectedFrame } from '../../src/net/bridge-frame.js';
import type { BridgeConnection, BridgeStream } from '../../src/net/bridge-client.js';
import { connectBridge } from '../../src/node/bridge-client.js';
import { RawClient, startTestBridge, tokenUrl, within } from './helpers.js';

const HOST = '127.0.0.1';
const MB = 1024 * 1024;

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** Bytes in ArrayBuffers (all stream bytes are) that are still referenced. */
function arrayBuffers(): number {
  gc();
  gc();
  return process.memoryUsage().arrayBuffers;
}

interface TcpServer {
  readonly port: number;
  /** The next accepted socket. */
  accepted(): Promise<Socket>;
  close(): Promise<void>;
}

/** A TCP server on 127.0.0.1; `onSocket` sets up each accepted connection. */
async function tcpServer(onSocket: (s: Socket) => void = () => {}, allowHalfOpen = true): Promise<TcpServer> {
  const sockets = new Set<Socket>();
  const waiting: ((s: Socket) => void)[] = [];
  const queued: Socket[] = [];
  const server: Server = createServer({ allowHalfOpen }, (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => {});
    onSocket(s);
    const w = waiting.shift();
    if (w) w(s);
    else queued.push(s);
  });
  await new Promise<void>((resolve) => server.listen(0, HOST, () => resolve()));
  const state: TcpServer = {
    port: (server.address() as { port: number }).port,
    accepted: () => within(new Promise<Socket>((resolve) => (queued.length > 0 ? resolve(queued.shift()!) : waiting.push(resolve))), 5000, 'a TCP connection'),
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return state;
}

/** What a BridgeStream delivered, and promises for its end and close. */
function collect(stream: BridgeStream) {
  const got = { chunks: [] as Uint8Array[], length: 0 };
  stream.ondata = (bytes) => {
    got.chunks.push(bytes.slice());
    got.length += bytes.length;
  };
  const ended = new Promise<void>((resolve) => (stream.onend = resolve));
  const closed = new Promise<Error | undefined>((resolve) => (stream.onclose = resolve));
  return { got, ended, closed, text: () => Buffer.concat(got.chunks).toString() };
}

/** Resolves once `predicate` holds, checking every 10 ms, for at most `ms`; `what` is asked when it gives up. */
async function until(predicate: () => boolean, ms: number, what: () => string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what()}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** `within`, with a message made when it gives up, so that it can say how far things got. */
function waitFor<T>(promise: Promise<T>, ms: number, what: () => string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what()}`)), ms)));
  return Promise.race([promise.finally(() => clearTimeout(timer)), timeout]);
}

/** Resolves once `value()` has not changed for `quietMs` (at most `ms` in all); returns it. */
async function settled(value: () => number, quietMs: number, ms: number, what: string): Promise<number> {
  const deadline = Date.now() + ms;
  let last = value();
  let since = Date.now();
  for (;;) {
    await new Promise((r) => setTimeout(r, 25));
    const now = value();
    if (now !== last) [last, since] = [now, Date.now()];
    else if (Date.now() - since >= quietMs) return now;
    if (Date.now() > deadline) throw new Error(`${what} still changing after ${ms} ms (now ${now})`);
  }
}

const onceEvent = (s: Socket, event: string) => within(new Promise<void>((resolve) => s.once(event, () => resolve())), 5000, `the server socket's '${event}'`);
const pattern = (n: number) => Uint8Array.from({ length: n }, (_, i) => (i * 7 + (i >> 11)) % 251);

describe('bridge streams on real TCP', () => {
  let bridge: RunningBridge;
  let connection: BridgeConnection;

  before(async () => {
    bridge = await startTestBridge();
    connection = await connectBridge(tokenUrl(bridge));
  });
  after(async () => {
    connection?.close();
    await bridge?.close();
  });

  it('echoes 1 MB byte-exact, then ends cleanly both ways', async () => {
    const echo = await tcpServer((s) => {
      s.on('data', (d) => s.write(d));
      s.on('end', () => s.end());
    });
    const before = bridge.metrics.snapshot();
    try {
      const stream = await connection.connect({ address: HOST, port: echo.port });
      assert.equal(stream.remoteAddress.port, echo.port);
      const { got, ended, closed } = collect(stream);
      const sent = pattern(MB);
      for (let at = 0; at < sent.length; at += 50_000) {
        if (!stream.write(sent.subarray(at, at + 50_000))) await within(new Promise<void>((r) => (stream.ondrain = r)), 5000, 'ondrain');
      }
      stream.end();
      await waitFor(ended, 10_000, () => `the echo's end (${got.length} bytes so far)`);
      assert.equal(await within(closed, 5000, 'the close'), undefined, 'a clean close: ended both ways');
      assert.equal(got.length, sent.length);
      assert.ok(Buffer.from(sent).equals(Buffer.concat(got.chunks)), 'byte-exact');
      const m = bridge.metrics.snapshot();
      assert.equal(m.streamBytesOut - before.streamBytesOut, MB);
      assert.equal(m.streamBytesIn - before.streamBytesIn, MB);
      assert.equal(m.streamsTotal - before.streamsTotal, 1);
      assert.equal(m.streamsOpen, before.streamsOpen);
    } finally {
      await echo.close();
    }
  });

  it("client end(): the server sees 'end' and can still write back", async () => {
    const server = await tcpServer();
    try {
      const stream = await connection.connect({ address: HOST, port: server.port });
      const s = await server.accepted();
      let heard = '';
      s.on('data', (d) => (heard += d));
      const { ended, closed, text } = collect(stream);
      stream.write(Buffer.from('hello'));
      stream.end();
      assert.equal(stream.writable, false);
      await onceEvent(s, 'end');
      assert.equal(heard, 'hello');
      s.write('reply after your end');
      await until(() => text() === 'reply after your end', 5000, () => 'the reply');
      s.end();
      await within(ended, 5000, 'onend');
      assert.equal(await within(closed, 5000, 'the close'), undefined);
    } finally {
      await server.close();
    }
  });

  it('server end(): the client gets onend and can still write', async () => {
    const server = await tcpServer();
    try {
      const stream = await connection.connect({ address: HOST, port: server.port });
      const s = await server.accepted();
      let heard = '';
      s.on('data', (d) => (heard += d));
      const { ended, closed, text } = collect(stream);
      s.end('bye');
      await within(ended, 5000, 'onend');
      assert.equal(text(), 'bye');
      assert.equal(stream.writable, true);
      const serverEnded = onceEvent(s, 'end');
      stream.write(Buffer.from('still here'));
      stream.end();
      await serverEnded;
      assert.equal(heard, 'still here');
      assert.equal(await within(closed, 5000, 'the close'), undefined);
    } finally {
      await server.close();
    }
  });

  it('close() by the client closes the TCP connection', async () => {
    const server = await tcpServer(() => {}, false);
    const open = bridge.metrics.streamsOpen;
    try {
      const stream = await connection.connect({ address: HOST, port: server.port });
      const s = await server.accepted();
      const gone = onceEvent(s, 'close');
      const { closed } = collect(stream);
      assert.equal(bridge.metrics.streamsOpen, open + 1);
      stream.close();
      assert.equal(await closed, undefined);
      await gone;
      await until(() => bridge.metrics.streamsOpen === open, 3000, () => 'streamsOpen back');
    } finally {
      await server.close();
    }
  });

  it('bytes the server sends at once are all delivered, though they come with the connected frame', async () => {
    const payload = pattern(200_000);
    const server = await tcpServer((s) => s.end(payload));
    try {
      for (let i = 0; i < 10; i++) {
        const stream = await connection.connect({ address: HOST, port: server.port });
        const { got, ended, closed } = collect(stream); // set after the await: the first bytes came before
        await waitFor(ended, 5000, () => `onend (${got.length} bytes so far)`);
        stream.end();
        assert.equal(await within(closed, 5000, 'the close'), undefined);
        assert.ok(Buffer.from(payload).equals(Buffer.concat(got.chunks)), `connection ${i}: ${got.length} of ${payload.length} bytes`);
      }
    } finally {
      await server.close();
    }
  });

  it('a clean close loses none of the bytes the bridge still holds for want of credit', async () => {
    const reply = pattern(300_000);
    const server = await tcpServer((s) => {
      s.resume();
      s.on('end', () => s.end(reply));
    });
    const small = await connectBridge(tokenUrl(bridge), { streamReceiveWindow: 1000 });
    try {
      const stream = await small.connect({ address: HOST, port: server.port });
      const { got, closed } = collect(stream);
      stream.write(Buffer.from('request'));
      stream.end(); // both ends done: the bridge's TCP socket closes while most of the reply waits for credit
      assert.equal(await waitFor(closed, 10_000, () => `the close (${got.length} bytes so far)`), undefined);
      assert.ok(Buffer.from(reply).equals(Buffer.concat(got.chunks)), `${got.length} of ${reply.length} bytes`);
    } finally {
      small.close();
      await server.close();
    }
  });

  it("a receive window larger than the bridge's queue bound still flows", async () => {
    const total = 8 * MB;
    const server = await tcpServer((s) => s.end(new Uint8Array(total).fill(1)));
    const wide = await connectBridge(tokenUrl(bridge), { streamReceiveWindow: 4 * MB }); // maxBufferedBytes is 1 MiB
    try {
      const stream = await wide.connect({ address: HOST, port: server.port });
      const { got, ended } = collect(stream);
      await waitFor(ended, 20_000, () => `onend (${got.length} bytes so far)`);
      assert.equal(got.length, total);
    } finally {
      wide.close();
      await server.close();
    }
  });
});

describe('bridge stream back-pressure', () => {
  it('a TCP peer that does not read: the bridge takes a bounded amount, then all of it once the peer reads', { timeout: 60_000 }, async () => {
    const bridge = await startTestBridge();
    const c = await connectBridge(tokenUrl(bridge));
    let received = 0;
    const server = await tcpServer((s) => {
      s.pause();
      s.on('data', (d) => (received += d.length));
    });
    try {
      const stream = await c.connect({ address: HOST, port: server.port });
      const s = await server.accepted();
      const total = 64 * MB;
      const chunk = new Uint8Array(64 * 1024).fill(0x5a);
      let attempted = 0;
      let refused = 0;
      const baseline = arrayBuffers();
      const writing = (async () => {
        while (attempted < total) {
          attempted += chunk.length;
          if (stream.write(chunk)) continue;
          refused++;
          await new Promise<void>((r) => (stream.ondrain = r));
        }
        stream.end();
      })();
      // The bridge takes what the kernel buffers and the stream window hold, then grants no more.
      const taken = await settled(() => bridge.metrics.streamBytesOut, 500, 20_000, 'streamBytesOut');
      assert.ok(refused > 0, 'write() returned false');
      assert.ok(taken < 16 * MB, `the bridge took ${taken} bytes of a peer that does not read`);
      assert.ok(attempted < total, 'the writer is held up');
      assert.ok(stream.bufferedAmount <= MB + chunk.length, `client queue ${stream.bufferedAmount}`);
      const growth = arrayBuffers() - baseline;
      assert.ok(growth < 16 * MB, `array buffers grew by ${growth} bytes`);
      // The peer reads: everything arrives, none lost.
      const ended = onceEvent(s, 'end');
      s.resume();
      await waitFor(writing, 45_000, () => `the writer (${attempted} bytes attempted)`);
      await within(ended, 10_000, 'the end');
      assert.equal(received, total);
      assert.equal(bridge.metrics.streamBytesOut, total);
    } finally {
      c.close();
      await bridge.close();
      await server.close();
    }
  });

  describe('a page speaking the protocol by hand', () => {
    let bridge: RunningBridge;
    let raw: RawClient;

    before(async () => {
      bridge = await startTestBridge({ streamWindow: 4096, errorFramesPerSecond: 1000 });
    });
    after(async () => {
      raw?.close();
      await bridge?.close();
    });

    async function open(port: number, window: number): Promise<ConnectedFrame> {
      raw = new RawClient(tokenUrl(bridge), { protocols: [BRIDGE_SUBPROTOCOL_V2] });
      await raw.frame((f) => f.type === 'hello');
      raw.send(encodeBridgeFrame({ type: 'connect', requestId: 7, remote: { address: HOST, port }, tls: false, serverName: '', window }));
      return (await raw.frame((f) => f.type === 'connected' || f.type === 'error')) as ConnectedFrame;
    }
    const streamBytes = (frames: BridgeFrame[]) => frames.reduce((n, f) => n + (f.type === 'stream' ? f.payload.length : 0), 0);
    const about = (id: number) => (f: BridgeFrame) => (f.type === 'error' && f.socketId === id) || (f.type === 'close' && f.socketId === id);

    it('a page that never grants: exactly its window arrives, the bridge stops reading TCP, a grant resumes it', { timeout: 30_000 }, async () => {
      const total = 10 * MB;
      let refusedAt = -1;
      let drained = false;
      const server = await tcpServer((s) => {
        const chunk = Buffer.alloc(64 * 1024, 0x33);
        for (let at = 0; at < total; at += chunk.length) if (!s.write(chunk) && refusedAt < 0) refusedAt = at;
        s.once('drain', () => (drained = true));
      });
      try {
        const pauses = bridge.metrics.streamPauses;
        const connected = await open(server.port, 4096);
        assert.equal(connected.type, 'connected', JSON.stringify(connected));
        const s = await server.accepted();
        await settled(() => streamBytes(raw.frames), 300, 5000, 'stream bytes');
        assert.equal(streamBytes(raw.frames), 4096, 'exactly the window');
        assert.ok(bridge.metrics.streamPauses > pauses, 'the bridge paused the stream');
        assert.equal(raw.frames.find(about(connected.streamId)), undefined, 'no error, no close');
        // The server's socket backs up: the bridge is not reading it.
        const backlog = await settled(() => s.writableLength, 300, 5000, 'the server backlog');
        assert.ok(refusedAt >= 0 && backlog > 0 && !drained, `server write refused at ${refusedAt}, backlog ${backlog}`);

        raw.send(encodeBridgeFrame({ type: 'window', streamId: connected.streamId, increment: 100_000 }));
        await until(() => streamBytes(raw.frames) === 104_096, 5000, () => `the granted bytes (${streamBytes(raw.frames)} so far)`);
        await settled(() => streamBytes(raw.frames), 300, 5000, 'stream bytes');
        assert.equal(streamBytes(raw.frames), 104_096, 'resumed, and paused again at the new credit');
        raw.send(encodeBridgeFrame({ type: 'window', streamId: connected.streamId, increment: total }));
        await until(() => streamBytes(raw.frames) === total && drained, 20_000, () => `all ${total} bytes (${streamBytes(raw.frames)} so far)`);
        assert.equal(raw.frames.find(about(connected.streamId)), undefined, 'no error, no close');
      } finally {
        raw.close();
        await server.close();
      }
    });

    it('a page that grants much but does not read its WebSocket: the bridge stops reading TCP at its queue bound', { timeout: 60_000 }, async () => {
      const total = 48 * MB;
      let written = 0;
      let drained = false;
      const server = await tcpServer((s) => {
        const chunk = Buffer.alloc(64 * 1024, 0x44);
        const more = () => {
          while (written < total) {
            written += chunk.length;
            if (!s.write(chunk)) return void s.once('drain', more);
          }
          drained = true;
        };
        more();
      });
      try {
        const inBefore = bridge.metrics.streamBytesIn;
        const connected = await open(server.port, 4096);
        let received = streamBytes(raw.frames);
        raw.ws.on('message', (data: Buffer) => {
          if (data[0] === 0x0a) received += data.length - 3; // stream frame: type, stream id u16, bytes
          raw.frames.length = 0; // count, do not keep 48 MB of frames
        });
        const socket = (raw.ws as unknown as { _socket: Socket })._socket;
        socket.pause();
        const baseline = arrayBuffers();
        raw.send(encodeBridgeFrame({ type: 'window', streamId: connected.streamId, increment: 0xffffffff - 4096 }));
        const taken = (await settled(() => bridge.metrics.streamBytesIn, 500, 20_000, 'streamBytesIn')) - inBefore;
        const growth = arrayBuffers() - baseline;
        assert.ok(taken < 16 * MB, `the bridge took ${taken} bytes for a client that does not read`);
        assert.ok(growth < 16 * MB, `array buffers grew by ${growth} bytes`);
        assert.ok(written < total && !drained, 'the TCP server is held up');
        socket.resume();
        await until(() => received === total && drained, 30_000, () => `all bytes (${received} so far)`);
      } finally {
        raw.close();
        await server.close();
      }
    });

    it('a page that sends beyond its credit: flow-control error, the stream closes, counted', async () => {
      let heard = 0;
      const server = await tcpServer((s) => s.on('data', (d) => (heard += d.length)), false);
      try {
        const connected = await open(server.port, 65_536);
        assert.equal(connected.type, 'connected');
        assert.equal(connected.window, 4096);
        const s = await server.accepted();
        const gone = onceEvent(s, 'close');
        // Three frames of 2000 in one TCP write, so the bridge reads them before any write completes and
        // grants credit back: the third goes 1904 bytes past the 4096 granted.
        const socket = (raw.ws as unknown as { _socket: Socket })._socket;
        socket.cork();
        for (let i = 0; i < 3; i++) raw.send(encodeStreamFrame(connected.streamId, new Uint8Array(2000)));
        socket.uncork();
        const error = await raw.frame((f) => f.type === 'error' && f.socketId === connected.streamId);
        assert.equal(error.type === 'error' && error.code, 'flow-control');
        await raw.frame((f) => f.type === 'close' && f.socketId === connected.streamId);
        await gone;
        assert.equal(heard, 4000, 'what was within the credit went through');
        assert.equal(bridge.metrics.streamFlowControlErrors, 1);
      } finally {
        raw.close();
        await server.close();
      }
    });
  });
});
