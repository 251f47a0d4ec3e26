// The WebTransport carrier against an in-memory WebTransport (the W3C surface, Chromium's datagram high-water
// mark of 1): length-prefixed frames on the control stream reassembled across chunks and bounded, data frames
// as datagrams when they fit and on the stream when not, a control frame in a datagram counted as malformed,
// the close order (FIN, then close), the bridge's close code (in band, a refusal included), and `auto`
// falling back on a failed handshake.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BridgeConnection, BridgeError } from '../../src/net/bridge-client.js';
import { decodeBridgeFrame, encodeBridgeFrame, encodeDataFrame, type BridgeFrame, type BridgeLimits } from '../../src/net/bridge-frame.js';
import type { WebTransportConstructor } from '../../src/net/webtransport-carrier.js';

const LIMITS: Required<BridgeLimits> = {
  maxSockets: 4,
  maxPayload: 4096,
  packetsPerSecond: 1000,
  bytesPerSecond: 1_000_000,
  idleTimeoutMs: 60_000,
  maxStreams: 4,
  streamWindow: 65_536,
  maxConcurrentLookups: 4,
  lookupsPerSecond: 10,
  features: 7,
};
const PEER = { address: '127.0.0.1', port: 9 };

function framed(frame: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + frame.length);
  new DataView(out.buffer).setUint32(0, frame.length);
  out.set(frame, 4);
  return out;
}

function tick(ms = 0): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** One fake session: what the client wrote, and levers for the bridge's side. */
class FakeSession {
  static last: FakeSession | undefined;
  static refuse: Error | undefined;
  /** The bridge refuses the session in band (PROTOCOL.md): a session-close frame on the control stream, no hello. */
  static refuseInBand: string | undefined;
  readonly url: string;
  readonly options: unknown;
  /** Every event in order: 'stream <frame type>', 'datagram', 'fin', 'close <code>'. */
  readonly log: string[] = [];
  readonly streamFrames: BridgeFrame[] = [];
  readonly datagramFrames: BridgeFrame[] = [];
  readonly ready: Promise<void>;
  readonly closed: Promise<{ closeCode?: number; reason?: string }>;
  readonly datagrams: { readable: ReadableStream<Uint8Array>; writable: WritableStream<Uint8Array>; maxDatagramSize: number };
  private endClosed!: (info: { closeCode?: number; reason?: string }) => void;
  private streamToClient!: ReadableStreamDefaultController<Uint8Array>;
  private datagramToClient!: ReadableStreamDefaultController<Uint8Array>;
  private pending: number[] = [];

  constructor(url: string, options?: unknown) {
    this.url = url;
    this.options = options;
    FakeSession.last = this;
    const refuse = FakeSession.refuse;
    this.ready = refuse ? Promise.reject(refuse) : Promise.resolve();
    this.ready.catch(() => {});
    this.closed = refuse ? Promise.reject(refuse) : new Promise((resolve) => (this.endClosed = resolve));
    this.closed.catch(() => {});
    this.datagrams = {
      readable: new ReadableStream({ start: (c) => void (this.datagramToClient = c) }),
      // Chromium's datagram writer: a high-water mark of 1.
      writable: new WritableStream(
        {
          write: async (chunk) => {
            this.log.push('datagram');
            this.datagramFrames.push(decodeBridgeFrame(chunk));
            await tick();
          },
        },
        new CountQueuingStrategy({ highWaterMark: 1 }),
      ),
      maxDatagramSize: 1200,
    };
  }

  async createBidirectionalStream(): Promise<{ readable: ReadableStream<Uint8Array>; writable: WritableStream<Uint8Array> }> {
    const readable = new ReadableStream<Uint8Array>({ start: (c) => void (this.streamToClient = c) });
    const writable = new WritableStream<Uint8Array>({
      write: (chunk) => {
        this.pending.push(...chunk);
        while (this.pending.length >= 4) {
          const length = new DataView(Uint8Array.from(this.pending.slice(0, 4)).buffer).getUint32(0);
          if (this.pending.length < 4 + length) break;
          const frame = decodeBridgeFrame(Uint8Array.from(this.pending.slice(4, 4 + length)));
          this.pending = this.pending.slice(4 + length);
          this.log.push(`stream ${frame.type}`);
          this.streamFrames.push(frame);
        }
      },
      close: () => void this.log.push('fin'),
    });
    const refusal = FakeSession.refuseInBand;
    if (refusal !== undefined) {
      queueMicrotask(() => this.sessionCloseFromBridge(refusal));
      return { readable, writable };
    }
    // The bridge says hello first, here in three chunks to make the client reassemble it.
    queueMicrotask(() => {
      const hello = framed(encodeBridgeFrame({ type: 'hello', version: 2, limits: LIMITS }));
      this.toClient(hello.subarray(0, 2));
      this.toClient(hello.subarray(2, 9));
      this.toClient(hello.subarray(9));
    });
    return { readable, writable };
  }

  close(info?: { closeCode?: number; reason?: string }): void {
    this.log.push(`close ${info?.closeCode}`);
    this.endClosed?.(info ?? {});
  }

  toClient(bytes: Uint8Array): void {
    this.streamToClient.enqueue(bytes.slice());
  }

  datagramToPage(bytes: Uint8Array): void {
    this.datagramToClient.enqueue(bytes.slice());
  }

  /** The bridge ends the session with a close code (bridge/close-codes.ts) in wt.closed, as the W3C API allows. */
  closeFromBridge(closeCode: number, reason: string): void {
    this.streamToClient.close();
    this.endClosed({ closeCode, reason });
  }

  /**
   * The bridge ends the session as the Deno endpoint does: the code in band (a session-close error frame),
   * FIN; QUIC closes once the client FINed too, and `closed` then rejects without a code (Chromium).
   */
  sessionCloseFromBridge(reason: string): void {
    this.log.push('session-close');
    this.toClient(framed(encodeBridgeFrame({ type: 'error', code: 'session-close', reason })));
    this.streamToClient.close();
  }
}

const Fake = FakeSession as unknown as WebTransportConstructor;

async function open(): Promise<{ connection: BridgeConnection; fake: FakeSession }> {
  FakeSession.refuse = FakeSession.refuseInBand = undefined;
  const connection = await BridgeConnection.connect('ws://127.0.0.1:1/', { carrier: 'webtransport', webTransportUrl: 'https://127.0.0.1:2/bridge', WebTransport: Fake });
  return { connection, fake: FakeSession.last! };
}

async function bound(connection: BridgeConnection, fake: FakeSession) {
  const binding = connection.bind();
  await tick();
  const bind = fake.streamFrames.find((f) => f.type === 'bind');
  assert.ok(bind && bind.type === 'bind');
  fake.toClient(framed(encodeBridgeFrame({ type: 'bound', requestId: bind.requestId, socketId: 3, local: { address: '127.0.0.1', port: 5000 }, hostAddresses: ['127.0.0.1'] })));
  return binding;
}

describe('WebTransport carrier (in-memory WebTransport)', () => {
  it('reassembles the hello, passes certificate hashes as bytes, and reports carrier webtransport', async () => {
    FakeSession.refuse = undefined;
    const connection = await BridgeConnection.connect('ws://127.0.0.1:1/', {
      webTransportUrl: 'https://127.0.0.1:2/bridge',
      certificateHashes: [{ algorithm: 'sha-256', value: 'AAECAw==' }],
      WebTransport: Fake,
    });
    assert.equal(connection.carrier, 'webtransport');
    assert.equal(connection.fallbackReason, undefined);
    assert.deepEqual(connection.limits, LIMITS);
    const options = FakeSession.last!.options as { serverCertificateHashes: { algorithm: string; value: Uint8Array }[] };
    assert.deepEqual([...options.serverCertificateHashes[0].value], [0, 1, 2, 3]);
    connection.close();
  });

  it('sends control frames on the stream, small data as datagrams, large data on the stream; receives both', async () => {
    const { connection, fake } = await open();
    const socket = await bound(connection, fake);
    socket.send(new Uint8Array(100), PEER);
    socket.send(new Uint8Array(100), PEER);
    socket.send(new Uint8Array(1500), PEER); // over maxDatagramSize 1200: on the stream, not lost
    await tick(20);
    assert.equal(fake.datagramFrames.length, 2, 'two datagrams through a writer of high-water mark 1');
    const onStream = fake.streamFrames.filter((f) => f.type === 'data');
    assert.equal(onStream.length, 1);
    assert.equal(onStream[0].type === 'data' && onStream[0].payload.length, 1500);
    assert.equal(connection.droppedSends, 0);

    const got: number[] = [];
    let socketClosed = false;
    socket.onclose = () => (socketClosed = true);
    socket.ondatagram = (bytes) => got.push(bytes.length);
    fake.datagramToPage(encodeDataFrame(3, PEER, new Uint8Array(7)));
    fake.toClient(framed(encodeDataFrame(3, PEER, new Uint8Array(2000))));
    fake.datagramToPage(encodeBridgeFrame({ type: 'close', socketId: 3 })); // not a data frame: malformed
    await tick(10);
    assert.deepEqual(got.sort((a, b) => a - b), [7, 2000]);
    assert.equal(connection.malformedFrames, 1);
    assert.equal(socketClosed, false, 'a close frame in a datagram is not acted on');
    connection.close();
  });

  it('counts queued datagrams in bufferedAmount and drops beyond maxBufferedBytes', async () => {
    FakeSession.refuse = undefined;
    const connection = await BridgeConnection.connect('ws://x/', { carrier: 'webtransport', webTransportUrl: 'https://x/bridge', WebTransport: Fake, maxBufferedBytes: 1000 });
    const fake = FakeSession.last!;
    const socket = await bound(connection, fake);
    for (let i = 0; i < 50; i++) socket.send(new Uint8Array(200), PEER);
    assert.ok(connection.droppedSends > 0, 'some dropped');
    await tick(100);
    assert.equal(fake.datagramFrames.length + connection.droppedSends, 50, 'every datagram sent or counted as dropped');
    connection.close();
  });

  it('closes by FIN on the control stream, then the session', async () => {
    const { connection, fake } = await open();
    connection.close();
    await tick(10);
    assert.deepEqual(fake.log.slice(-2), ['fin', 'close 1000']);
  });

  it("reports the bridge's close code and reason as BridgeError closed", async () => {
    const { connection, fake } = await open();
    const closed = new Promise<BridgeError>((resolve) => (connection.onclose = resolve));
    fake.closeFromBridge(4011, 'idle');
    const error = await closed;
    assert.equal(error.code, 'closed');
    assert.equal(error.closeCode, 4011);
    assert.equal(error.reason, 'idle');
  });

  it('takes the close code from the in-band session-close frame, then FINs and closes the session', async () => {
    const { connection, fake } = await open();
    const closed = new Promise<BridgeError>((resolve) => (connection.onclose = resolve));
    fake.sessionCloseFromBridge('4011 idle for 60000 ms');
    const error = await closed;
    assert.ok(error instanceof BridgeError);
    assert.equal(error.code, 'closed');
    assert.equal(error.closeCode, 4011);
    assert.equal(error.reason, 'idle for 60000 ms');
    assert.equal(connection.malformedFrames, 0, 'the session-close frame is not an error frame for the application');
    await tick(10);
    assert.deepEqual(fake.log.slice(-3), ['session-close', 'fin', 'close 1000'], 'the client FINs, then closes');
  });

  it('rejects connect with the in-band refusal (no hello, a session-close frame first), as over WebSocket', async () => {
    FakeSession.refuse = undefined;
    FakeSession.refuseInBand = '4001 unauthorized: no token';
    try {
      await assert.rejects(BridgeConnection.connect('ws://x/', { carrier: 'webtransport', webTransportUrl: 'https://x/bridge', WebTransport: Fake }), (err: unknown) => {
        assert.ok(err instanceof BridgeError);
        assert.equal(err.code, 'closed');
        assert.equal(err.closeCode, 4001);
        assert.equal(err.reason, 'unauthorized: no token');
        assert.equal(err.message, 'closed (4001): unauthorized: no token');
        return true;
      });
      await tick(10);
      assert.deepEqual(FakeSession.last!.log, ['session-close', 'fin', 'close 1000'], 'nothing sent, the control stream FINed, then the session closed');
      // A reason without a code: closed with 1005 (no status), the reason kept whole.
      FakeSession.refuseInBand = 'going away';
      await assert.rejects(BridgeConnection.connect('ws://x/', { carrier: 'webtransport', webTransportUrl: 'https://x/bridge', WebTransport: Fake }), (err: unknown) => {
        assert.ok(err instanceof BridgeError);
        assert.equal(err.closeCode, 1005);
        assert.equal(err.reason, 'going away');
        return true;
      });
    } finally {
      FakeSession.refuseInBand = undefined;
    }
  });

  it('rejects a frame longer than the largest frame on the control stream', async () => {
    const { connection, fake } = await open();
    const closed = new Promise<BridgeError>((resolve) => (connection.onclose = resolve));
    const huge = new Uint8Array(4);
    new DataView(huge.buffer).setUint32(0, 1 << 20);
    fake.toClient(huge);
    assert.equal((await closed).code, 'protocol');
  });

  it("webtransport: a failed handshake is handshake-failed; auto falls back to WebSocket's error path with the reason", async () => {
    FakeSession.refuse = new Error('Opening handshake failed.');
    await assert.rejects(BridgeConnection.connect('ws://x/', { carrier: 'webtransport', webTransportUrl: 'https://x/bridge', certificateHashes: [{ algorithm: 'sha-256', value: 'AA==' }], WebTransport: Fake }), (err: unknown) => {
      assert.ok(err instanceof BridgeError);
      assert.equal(err.code, 'handshake-failed');
      assert.match(err.reason, /certificateHashes/);
      return true;
    });
    // auto with no WebSocket class: the fallback is tried (and fails for want of one), after WebTransport failed.
    await assert.rejects(BridgeConnection.connect('ws://x/', { webTransportUrl: 'https://x/bridge', WebTransport: Fake }), /no WebSocket class/);
    FakeSession.refuse = undefined;
  });

  it('validates the carrier options', async () => {
    await assert.rejects(BridgeConnection.connect('ws://x/', { carrier: 'webtransport' }), /needs webTransportUrl/);
    await assert.rejects(BridgeConnection.connect('ws://x/', { carrier: 'quic' as 'auto', webTransportUrl: 'https://x/' }), /carrier must be/);
  });
});
