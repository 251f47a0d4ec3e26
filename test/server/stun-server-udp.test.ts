// The Node STUN server over real UDP on 127.0.0.1 under a barrage of malformed datagrams: it keeps
// answering, answers the specific cases as RFC 8489 says, and its counters account for every datagram.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { toHex } from '../../src/crypto/index.js';
import { stunBinding } from '../../src/node/stun-binding.js';
import { startStunServer, type RunningStunServer } from '../../src/node/stun-server.js';
import { StunServer, type StunServerCounters } from '../../src/server/stun-server.js';
import {
  MAGIC_COOKIE,
  StunMethod,
  createStunMessage,
  decodeStunMessage,
  encodeStunMessage,
  type StunAttributeEntry,
  type StunMessage,
} from '../../src/stun/index.js';

// ---- a seeded generator, so a failure replays ---------------------------------------------------------------

/** mulberry32: small, fast, good enough to make bytes. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const random = prng(0x5eed5);
const int = (n: number): number => Math.floor(random() * n);
const bytesOf = (n: number): Uint8Array => Uint8Array.from({ length: n }, () => int(256));

// ---- datagram builders -------------------------------------------------------------------------------------

function bindingRequest(attributes: StunAttributeEntry[] = [], fingerprint = false): Uint8Array {
  return encodeStunMessage(createStunMessage({ method: StunMethod.Binding, class: 'request', attributes }), { fingerprint });
}

/** A header with the cookie and a correct length, then `body` as is. */
function withHeader(type: number, body: Uint8Array, cookie = MAGIC_COOKIE): Uint8Array {
  const bytes = new Uint8Array(20 + body.length);
  const view = new DataView(bytes.buffer);
  view.setUint16(0, type);
  view.setUint16(2, body.length);
  view.setUint32(4, cookie);
  bytes.set(bytesOf(12), 8);
  bytes.set(body, 20);
  return bytes;
}

/** One attribute, written by hand so its declared length can be anything. */
function attribute(type: number, value: Uint8Array, declaredLength = value.length): Uint8Array {
  const out = new Uint8Array(4 + ((value.length + 3) & ~3));
  new DataView(out.buffer).setUint16(0, type);
  new DataView(out.buffer).setUint16(2, declaredLength);
  out.set(value, 4);
  return out;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** An RFC 3489 request: no cookie, 128-bit transaction ID. */
function classicRequest(): Uint8Array {
  const bytes = concat(new Uint8Array([0x00, 0x01, 0x00, 0x00]), bytesOf(16));
  if (new DataView(bytes.buffer).getUint32(4) === MAGIC_COOKIE) bytes[4] ^= 0xff;
  return bytes;
}

/** The kinds of datagram in the barrage; `expect` names the one counter each must move, where it is certain. */
type Expectation = keyof Omit<StunServerCounters, 'received' | 'dropped'> | `dropped.${keyof StunServerCounters['dropped']}` | 'any';

const KINDS: { name: string; expect: Expectation; make: () => Uint8Array }[] = [
  { name: 'random bytes', expect: 'any', make: () => bytesOf(int(300)) },
  {
    name: 'random bytes behind first byte 0..3 and the cookie',
    expect: 'any',
    make: () => {
      const b = bytesOf(20 + int(200));
      b[0] &= 3;
      new DataView(b.buffer).setUint32(4, MAGIC_COOKIE);
      return b;
    },
  },
  {
    name: 'valid request truncated to 20+ bytes',
    expect: 'dropped.malformed',
    make: () => {
      const full = bindingRequest([['PRIORITY', 1], ['USERNAME', 'abcd:efgh']], true);
      return full.subarray(0, 20 + int(full.length - 20));
    },
  },
  { name: 'valid request truncated below the header', expect: 'dropped.not-stun', make: () => bindingRequest().subarray(0, int(20)) },
  {
    name: 'wrong length field',
    expect: 'dropped.malformed',
    make: () => {
      const b = bindingRequest([['PRIORITY', 1]]);
      let length = int(0x10000);
      if (length === b.length - 20) length += 4;
      new DataView(b.buffer).setUint16(2, length);
      return b;
    },
  },
  {
    name: 'bad FINGERPRINT',
    expect: 'dropped.malformed',
    make: () => {
      const b = bindingRequest([['SOFTWARE', 'x']], true);
      b[b.length - 1 - int(4)] ^= 1 << int(8);
      return b;
    },
  },
  {
    name: 'valid header, garbage attributes',
    expect: 'any',
    make: () => withHeader(0x0001, bytesOf(4 * (1 + int(30)))),
  },
  {
    name: 'unknown comprehension-required attributes',
    expect: 'unknownAttributes',
    make: () => bindingRequest([[0x7f00 + int(0x100), bytesOf(int(12))], [0x0031, new Uint8Array(0)]]),
  },
  { name: 'RFC 3489 request', expect: 'answered', make: classicRequest },
  {
    name: 'attribute value of an invalid length',
    expect: 'badRequests',
    make: () => withHeader(0x0001, attribute(0x0024, bytesOf(1 + int(3)))), // PRIORITY of 1..3 bytes
  },
  { name: 'ChannelData', expect: 'dropped.not-stun', make: () => concat(new Uint8Array([0x40, int(16), 0, 8]), bytesOf(8)) },
  { name: 'RTP', expect: 'dropped.not-stun', make: () => concat(new Uint8Array([0x80, 96]), bytesOf(10 + int(100))) },
  { name: 'DTLS', expect: 'dropped.not-stun', make: () => concat(new Uint8Array([0x16, 0xfe, 0xfd]), bytesOf(10 + int(100))) },
  {
    name: 'Binding success response',
    expect: 'dropped.not-a-request',
    make: () => encodeStunMessage(createStunMessage({ method: 1, class: 'success', attributes: [['XOR-MAPPED-ADDRESS', { address: '10.0.0.1', port: 1 }]] })),
  },
  { name: 'Allocate request', expect: 'dropped.unsupported-method', make: () => encodeStunMessage(createStunMessage({ method: 3, class: 'request' })) },
];

// ---- client side -------------------------------------------------------------------------------------------

interface Client {
  socket: Socket;
  port: number;
  received: Uint8Array[];
  send(bytes: Uint8Array, port: number): Promise<void>;
  /** The next datagram whose transaction ID (bytes 8..19) is `id`, within `ms`. */
  responseTo(id: Uint8Array, ms?: number): Promise<StunMessage>;
  close(): Promise<void>;
}

async function openClient(): Promise<Client> {
  const socket = createSocket({ type: 'udp4', recvBufferSize: 1 << 22 });
  const received: Uint8Array[] = [];
  const waiters: (() => void)[] = [];
  socket.on('message', (m) => {
    received.push(new Uint8Array(m));
    for (const w of waiters.splice(0)) w();
  });
  await new Promise<void>((resolve) => socket.bind({ address: '127.0.0.1', port: 0 }, resolve));
  return {
    socket,
    port: socket.address().port,
    received,
    send: (bytes, port) =>
      new Promise((resolve, reject) => socket.send(bytes, port, '127.0.0.1', (err) => (err ? reject(err) : resolve()))),
    async responseTo(id, ms = 2000) {
      const deadline = Date.now() + ms;
      for (;;) {
        const hit = received.find((r) => r.length >= 20 && toHex(r.subarray(8, 20)) === toHex(id));
        if (hit) return decodeStunMessage(hit);
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`no response to transaction ${toHex(id)} within ${ms} ms`);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, left);
          waiters.push(() => {
            clearTimeout(timer);
            resolve();
          });
        });
      }
    },
    close: () => new Promise((resolve) => socket.close(() => resolve())),
  };
}

/** Waits until `condition` holds, polling on the event loop, for at most `ms`. */
async function until(condition: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

function responsesCounted(c: StunServerCounters): number {
  return c.answered + c.badRequests + c.unknownAttributes;
}

function accounted(c: StunServerCounters): number {
  return responsesCounted(c) + Object.values(c.dropped).reduce((a, b) => a + b, 0);
}

function counterOf(c: StunServerCounters, e: Exclude<Expectation, 'any'>): number {
  if (e.startsWith('dropped.')) return c.dropped[e.slice('dropped.'.length) as keyof StunServerCounters['dropped']];
  return c[e as 'answered' | 'badRequests' | 'unknownAttributes'];
}

// ---- tests -------------------------------------------------------------------------------------------------

describe('STUN server over UDP on 127.0.0.1', { timeout: 30_000 }, () => {
  let server: RunningStunServer;
  let port: number;
  let client: Client;

  before(async () => {
    server = await startStunServer({ port: 0, hosts: ['127.0.0.1'], receiveBufferSize: 1 << 22 });
    port = server.addresses[0].port;
    client = await openClient();
  });
  after(async () => {
    await client?.close();
    await server?.close();
  });

  it('answers the specific cases as RFC 8489 says: 420 with UNKNOWN-ATTRIBUTES, MAPPED-ADDRESS for RFC 3489, 400', async () => {
    const unknown = bindingRequest([[0x7fff, new Uint8Array(4)], ['PRIORITY', 5], [0x0002, new Uint8Array(8)]], true);
    await client.send(unknown, port);
    const r420 = await client.responseTo(unknown.subarray(8, 20));
    assert.equal(r420.class, 'error');
    assert.equal(r420.get('ERROR-CODE')?.code, 420);
    assert.deepEqual(r420.get('UNKNOWN-ATTRIBUTES'), [0x7fff, 0x0002]);
    assert.equal(r420.has('FINGERPRINT'), true);

    const classic = classicRequest();
    await client.send(classic, port);
    const r3489 = await client.responseTo(classic.subarray(8, 20));
    assert.equal(r3489.class, 'success');
    assert.equal(r3489.hasMagicCookie, false);
    assert.equal(r3489.cookie, new DataView(classic.buffer).getUint32(4));
    assert.deepEqual(r3489.get('MAPPED-ADDRESS'), { address: '127.0.0.1', port: client.port });
    assert.equal(r3489.has('XOR-MAPPED-ADDRESS'), false);

    const bad = withHeader(0x0001, attribute(0x0020, new Uint8Array([0, 1, 0, 0, 0, 0]))); // XOR-MAPPED-ADDRESS of 6 bytes
    await client.send(bad, port);
    const r400 = await client.responseTo(bad.subarray(8, 20));
    assert.equal(r400.class, 'error');
    assert.equal(r400.get('ERROR-CODE')?.code, 400);

    const ok = bindingRequest();
    await client.send(ok, port);
    const r = await client.responseTo(ok.subarray(8, 20));
    assert.deepEqual(r.get('XOR-MAPPED-ADDRESS'), { address: '127.0.0.1', port: client.port });
  });

  it('survives 20 000 malformed datagrams, then still answers, with every datagram counted', async () => {
    const TOTAL = 20_000;
    const BATCH = 250;
    const start = { ...server.engine.counters, dropped: { ...server.engine.counters.dropped } };
    const receivedBefore = client.received.length;
    // The same datagrams through a second engine, in process: over UDP the server must count exactly as it does.
    const reference = new StunServer();
    const certain = new Map<Exclude<Expectation, 'any'>, number>();
    for (let sent = 0; sent < TOTAL; ) {
      const batch: Uint8Array[] = [];
      for (let i = 0; i < BATCH && sent + i < TOTAL; i++) {
        const kind = KINDS[(sent + i) % KINDS.length];
        const bytes = kind.make();
        batch.push(bytes);
        reference.handleDatagram(bytes, { socket: 0, from: { address: '127.0.0.1', port: client.port } }, 0);
        while (reference.pollTransmit());
        if (kind.expect !== 'any') certain.set(kind.expect, (certain.get(kind.expect) ?? 0) + 1);
      }
      await Promise.all(batch.map((b) => client.send(b, port)));
      sent += batch.length;
      // Let the server drain its socket before the next batch, so the kernel has no reason to drop any.
      await until(() => server.engine.counters.received - start.received === sent, 5000, `the server to receive ${sent} datagrams`);
    }
    const c = server.engine.counters;
    assert.equal(c.received - start.received, TOTAL, 'no datagram lost on loopback');
    assert.equal(accounted(c), c.received, `received = answered + 400s + 420s + drops: ${JSON.stringify(c)}`);
    const delta = (e: Exclude<Expectation, 'any'>) => counterOf(c, e) - counterOf(start, e);
    for (const [expectation, n] of certain) {
      assert.ok(delta(expectation) >= n, `${expectation}: ${delta(expectation)} counted, at least ${n} datagrams were of that kind`);
    }
    const r = reference.counters;
    for (const e of ['answered', 'badRequests', 'unknownAttributes', ...Object.keys(r.dropped).map((k) => `dropped.${k}`)] as Exclude<Expectation, 'any'>[]) {
      assert.equal(delta(e), counterOf(r, e), `${e}: over UDP as in process`);
    }
    // Every counted answer reached the client.
    const answers = responsesCounted(c) - responsesCounted(start);
    await until(() => client.received.length - receivedBefore >= answers, 5000, `${answers} answers at the client`);
    assert.equal(client.received.length - receivedBefore, answers);

    // And the server still works for a real client.
    const binding = await stunBinding(`127.0.0.1:${port}`, { timeoutMs: 3000, rtoMs: 100 });
    assert.equal(binding.mapped.address, '127.0.0.1');
    assert.equal(binding.mapped.port, binding.local.port);
    assert.equal(accounted(server.engine.counters), server.engine.counters.received);
  });
});
