import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  BRIDGE_PROTOCOL_VERSION,
  BridgeFrameError,
  decodeBridgeFrame,
  encodeBridgeFrame,
  encodeDataFrame,
  encodeStreamFrame,
  MAX_ERROR_REASON_BYTES,
  type BridgeFrame,
} from '../../src/net/bridge-frame.js';
import { formatIp } from '../../src/net/ip.js';
import type { AddressFamily } from '../../src/net/transport-address.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const fromHex = (h: string): Uint8Array => new Uint8Array(Buffer.from(h.replace(/\s+/g, ''), 'hex'));

function throwsFrameError(bytes: Uint8Array, code: string, offset?: number): void {
  assert.throws(
    () => decodeBridgeFrame(bytes),
    (e: unknown) => e instanceof BridgeFrameError && e.code === code && (offset === undefined || e.offset === offset),
    `${hex(bytes)} should fail with ${code}${offset === undefined ? '' : ` at ${offset}`}`,
  );
}

describe('bridge frame layout', () => {
  it('encodes a data frame as [type][socket][family][address][port][payload]', () => {
    const frame = encodeDataFrame(0x0102, { address: '192.0.2.1', port: 3478 }, Uint8Array.of(0xaa, 0xbb));
    assert.equal(
      hex(frame),
      '00' + // type: data
        '0102' + // socket id
        '04' + // family
        'c0000201' + // 192.0.2.1
        '0d96' + // port 3478
        'aabb', // payload
    );
    const v6 = encodeDataFrame(1, { address: '2001:db8::1', port: 1 }, new Uint8Array(0));
    assert.equal(hex(v6), '00' + '0001' + '06' + '20010db8000000000000000000000001' + '0001');
  });

  it('encodes hello, bind, bound, close and error frames', () => {
    const hello = encodeBridgeFrame({
      type: 'hello',
      version: 1,
      limits: { maxSockets: 8, maxPayload: 65507, packetsPerSecond: 2000, bytesPerSecond: 2_000_000, idleTimeoutMs: 60_000 },
    });
    assert.equal(hex(hello), '01' + '01' + '0008' + 'ffe3' + '000007d0' + '001e8480' + '0000ea60');
    assert.equal(hex(encodeBridgeFrame({ type: 'bind', requestId: 7, family: 'IPv6', port: 0 })), '02' + '00000007' + '06' + '0000');
    assert.equal(
      hex(encodeBridgeFrame({ type: 'bound', requestId: 7, socketId: 3, local: { address: '0.0.0.0', port: 5000 }, hostAddresses: ['10.0.0.2'] })),
      '03' + '00000007' + '0003' + '04' + '00000000' + '1388' + '01' + '04' + '0a000002',
    );
    assert.equal(hex(encodeBridgeFrame({ type: 'close', socketId: 258 })), '04' + '0102');
    assert.equal(
      hex(encodeBridgeFrame({ type: 'error', code: 'x-y', reason: 'é', socketId: 2 })),
      '05' + '02' + '0002' + '03' + '782d79' + 'c3a9',
    );
  });

  it('cuts long error reasons and refuses bad values on encode', () => {
    const long = encodeBridgeFrame({ type: 'error', code: 'e', reason: 'é'.repeat(MAX_ERROR_REASON_BYTES) });
    const decoded = decodeBridgeFrame(long);
    assert.ok(decoded.type === 'error' && decoded.reason.length === MAX_ERROR_REASON_BYTES / 2 && !decoded.reason.includes('\uFFFD'));
    assert.throws(() => encodeBridgeFrame({ type: 'error', code: 'Bad Code', reason: '' }), RangeError);
    assert.throws(() => encodeDataFrame(70_000, { address: '1.2.3.4', port: 1 }, new Uint8Array(0)), RangeError);
    assert.throws(() => encodeDataFrame(1, { address: 'example.com', port: 1 }, new Uint8Array(0)), TypeError);
    assert.throws(() => encodeDataFrame(1, { address: '1.2.3.4', port: 65536 }, new Uint8Array(0)), RangeError);
    // bind({ family: 'IPv5' }) was an IPv4 bind.
    assert.throws(() => encodeBridgeFrame({ type: 'bind', requestId: 1, family: 'IPv5' as 'IPv4', port: 0 }), { name: 'TypeError', message: `family must be 'IPv4' or 'IPv6', got "IPv5"` });
  });
});

const v2Limits = {
  maxSockets: 8,
  maxPayload: 65507,
  packetsPerSecond: 2000,
  bytesPerSecond: 2_000_000,
  idleTimeoutMs: 60_000,
  maxStreams: 4,
  streamWindow: 262_144,
  maxConcurrentLookups: 4,
  lookupsPerSecond: 20,
  features: 7,
};

describe('bridge frame layout, version 2', () => {
  it('encodes a v2 hello with the stream and lookup limits after the v1 fields', () => {
    assert.equal(
      hex(encodeBridgeFrame({ type: 'hello', version: 2, limits: v2Limits })),
      '01' + '02' + '0008' + 'ffe3' + '000007d0' + '001e8480' + '0000ea60' + // as v1
        '0004' + // maxStreams
        '00040000' + // streamWindow 262 144
        '0004' + // concurrent lookups
        '00000014' + // lookups per second
        '07', // features: resolve, tcp, tls
    );
  });

  it('encodes resolve, resolved, connect, connected, stream, end and window frames', () => {
    assert.equal(
      hex(encodeBridgeFrame({ type: 'resolve', requestId: 9, name: 'a.b', families: ['IPv6'] })),
      '06' + '00000009' + '02' + '03' + '612e62',
    );
    assert.equal(
      hex(encodeBridgeFrame({ type: 'resolved', requestId: 9, addresses: [{ address: '192.0.2.7', ttl: 300 }] })),
      '07' + '00000009' + '01' + '04' + 'c0000207' + '0000012c',
    );
    assert.equal(
      hex(encodeBridgeFrame({ type: 'connect', requestId: 1, remote: { address: '192.0.2.1', port: 443 }, tls: true, serverName: 'x.y', window: 65536 })),
      '08' + '00000001' + '01' + '04' + 'c0000201' + '01bb' + '00010000' + '03' + '782e79',
    );
    assert.equal(
      hex(encodeBridgeFrame({ type: 'connected', requestId: 1, streamId: 5, local: { address: '10.0.0.1', port: 1 }, remote: { address: '192.0.2.1', port: 443 }, window: 16 })),
      '09' + '00000001' + '0005' + '04' + '0a000001' + '0001' + '04' + 'c0000201' + '01bb' + '00000010',
    );
    assert.equal(hex(encodeStreamFrame(0x0102, Uint8Array.of(1, 2, 3))), '0a' + '0102' + '010203');
    assert.equal(hex(encodeBridgeFrame({ type: 'listen', requestId: 2, family: 'IPv6', port: 9000, window: 65536 })), '10' + '00000002' + '06' + '2328' + '00010000');
    assert.equal(hex(encodeBridgeFrame({ type: 'host-addresses', socketId: 5, hostAddresses: ['10.0.0.1', '::1'] })), '13' + '0005' + '02' + '04' + '0a000001' + '06' + '00000000000000000000000000000001');
    assert.equal(
      hex(encodeBridgeFrame({ type: 'listening', requestId: 2, listenerId: 3, local: { address: '0.0.0.0', port: 9000 }, hostAddresses: ['10.0.0.1'] })),
      '11' + '00000002' + '0003' + '04' + '00000000' + '2328' + '01' + '04' + '0a000001',
    );
    assert.equal(
      hex(encodeBridgeFrame({ type: 'accepted', listenerId: 3, streamId: 4, local: { address: '10.0.0.1', port: 9000 }, remote: { address: '192.0.2.1', port: 50000 }, window: 16 })),
      '12' + '0003' + '0004' + '04' + '0a000001' + '2328' + '04' + 'c0000201' + 'c350' + '00000010',
    );
    assert.equal(hex(encodeBridgeFrame({ type: 'end', streamId: 7 })), '0b' + '0007');
    assert.equal(hex(encodeBridgeFrame({ type: 'window', streamId: 7, increment: 256 })), '0c' + '0007' + '00000100');
    assert.equal(
      hex(encodeBridgeFrame({ type: 'error', code: 'd', reason: '', socketId: 1, destination: { address: '169.254.169.254', port: 80 } })),
      '05' + '06' + '0001' + '04' + 'a9fea9fe' + '0050' + '01' + '64',
    );
  });

  it('refuses names that are not host names, on encode and on decode', () => {
    for (const name of ['', 'a b', 'a..b', '-a.b', 'é.org', 'x'.repeat(254), `${'a'.repeat(64)}.org`]) {
      assert.throws(() => encodeBridgeFrame({ type: 'resolve', requestId: 1, name, families: ['IPv4'] }), TypeError, name);
    }
    assert.throws(() => encodeBridgeFrame({ type: 'resolve', requestId: 1, name: 'a', families: [] }), RangeError);
    throwsFrameError(fromHex('06 00000001 01 03 612062'), 'VALUE', 6); // 'a b'
    throwsFrameError(fromHex('06 00000001 00 01 61'), 'VALUE', 5); // no family
    throwsFrameError(fromHex('06 00000001 04 01 61'), 'VALUE', 5); // unknown family bit
    throwsFrameError(fromHex('08 00000001 02 04 c0000201 01bb 00010000 00'), 'VALUE', 5); // unknown connect flag
    throwsFrameError(fromHex('07 00000001 21'), 'VALUE', 5); // 33 addresses
    assert.deepEqual(decodeBridgeFrame(fromHex('08 00000001 00 04 c0000201 01bb 00010000 00')), {
      type: 'connect',
      requestId: 1,
      remote: { address: '192.0.2.1', port: 443 },
      tls: false,
      serverName: '',
      window: 65536,
    });
  });
});

describe('bridge frame decoding errors', () => {
  it('names the code and offset of each malformation', () => {
    throwsFrameError(new Uint8Array(0), 'EMPTY', 0);
    throwsFrameError(Uint8Array.of(0x14), 'UNKNOWN_TYPE', 0);
    throwsFrameError(Uint8Array.of(0xff, 1, 2), 'UNKNOWN_TYPE', 0);
    throwsFrameError(fromHex('00 0001 05 01020304 0001'), 'FAMILY', 3);
    throwsFrameError(fromHex('00 0001 04 010203'), 'TRUNCATED', 4);
    throwsFrameError(fromHex('00 0001 04 01020304 00'), 'TRUNCATED', 8);
    throwsFrameError(fromHex('01 03 0008 ffe3 000007d0 001e8480 0000ea60'), 'VERSION', 1);
    throwsFrameError(fromHex('01 02 0008 ffe3 000007d0 001e8480 0000ea60'), 'TRUNCATED', 18);
    // A bind's optional tail is the peer it connects to: a byte after the port starts its address.
    throwsFrameError(fromHex('02 00000007 04 0000 00'), 'FAMILY', 8);
    throwsFrameError(fromHex('02 00000007 04 0000 04 7f000001 0d96 00'), 'LENGTH', 15);
    throwsFrameError(fromHex('04 01'), 'TRUNCATED', 1);
    throwsFrameError(fromHex('05 08 01 78'), 'VALUE', 1);
    throwsFrameError(fromHex('05 00 02 4142'), 'VALUE', 2);
    throwsFrameError(fromHex('05 00 00'), 'VALUE', 2);
    throwsFrameError(fromHex('05 00 05 6162'), 'TRUNCATED', 3);
    throwsFrameError(fromHex('03 00000001 0001 04 7f000001 0001 02 04 0a000001'), 'TRUNCATED', 20);
  });

  it('a bind is 8 bytes, or 8 and the peer it connects to (v2, BridgeFeature.connect)', () => {
    const plain = encodeBridgeFrame({ type: 'bind', requestId: 1, family: 'IPv4', port: 9 });
    const connected = encodeBridgeFrame({ type: 'bind', requestId: 1, family: 'IPv6', port: 0, connect: { address: '::1', port: 3478 } });
    assert.equal(hex(connected), '02' + '00000001' + '06' + '0000' + '06' + '00000000000000000000000000000001' + '0d96');
    assert.deepEqual(decodeBridgeFrame(connected), { type: 'bind', requestId: 1, family: 'IPv6', port: 0, connect: { address: '::1', port: 3478 } });
    assert.deepEqual(decodeBridgeFrame(plain), { type: 'bind', requestId: 1, family: 'IPv4', port: 9 });
    for (let n = 1; n < connected.length; n++) {
      if (n === plain.length) assert.equal(decodeBridgeFrame(connected.subarray(0, n)).type, 'bind', 'the first 8 bytes are a plain bind');
      else throwsFrameError(connected.subarray(0, n), 'TRUNCATED');
    }
  });

  it('throws TRUNCATED for every proper prefix of a fixed-layout frame, LENGTH for a longer one', () => {
    const frames: Uint8Array[] = [
      encodeBridgeFrame({ type: 'hello', version: 1, limits: { maxSockets: 1, maxPayload: 2, packetsPerSecond: 3, bytesPerSecond: 4, idleTimeoutMs: 5 } }),
      encodeBridgeFrame({ type: 'bound', requestId: 1, socketId: 1, local: { address: '::1', port: 9 }, hostAddresses: ['::2', '1.1.1.1'] }),
      encodeBridgeFrame({ type: 'close', socketId: 1 }),
      encodeBridgeFrame({ type: 'hello', version: 2, limits: { ...v2Limits } }),
      encodeBridgeFrame({ type: 'resolve', requestId: 1, name: 'turn.example.org', families: ['IPv4', 'IPv6'] }),
      encodeBridgeFrame({ type: 'resolved', requestId: 1, addresses: [{ address: '192.0.2.1', ttl: 60 }, { address: '2001:db8::1', ttl: 0 }] }),
      encodeBridgeFrame({ type: 'connect', requestId: 1, remote: { address: '192.0.2.1', port: 443 }, tls: true, serverName: 'turn.example.org', window: 65536 }),
      encodeBridgeFrame({ type: 'connected', requestId: 1, streamId: 2, local: { address: '10.0.0.1', port: 4000 }, remote: { address: '192.0.2.1', port: 443 }, window: 9 }),
      encodeBridgeFrame({ type: 'end', streamId: 3 }),
      encodeBridgeFrame({ type: 'window', streamId: 3, increment: 1000 }),
      encodeBridgeFrame({ type: 'listen', requestId: 1, family: 'IPv4', port: 0, window: 1 }),
      encodeBridgeFrame({ type: 'host-addresses', socketId: 1, hostAddresses: ['10.0.0.1'] }),
      encodeBridgeFrame({ type: 'listening', requestId: 1, listenerId: 2, local: { address: '::', port: 9 }, hostAddresses: ['::2'] }),
      encodeBridgeFrame({ type: 'accepted', listenerId: 2, streamId: 3, local: { address: '::1', port: 9 }, remote: { address: '::1', port: 5 }, window: 7 }),
    ];
    for (const f of frames) {
      for (let n = 1; n < f.length; n++) throwsFrameError(f.subarray(0, n), 'TRUNCATED');
      const longer = new Uint8Array(f.length + 1);
      longer.set(f);
      throwsFrameError(longer, 'LENGTH', f.length);
    }
  });
});

// ---- properties ------------------------------------------------------------------------------------------

const address = fc.oneof(
  fc.uint8Array({ minLength: 4, maxLength: 4 }).map(formatIp),
  fc.uint8Array({ minLength: 16, maxLength: 16 }).map(formatIp),
);
const port = fc.integer({ min: 0, max: 0xffff });
const u16 = fc.integer({ min: 0, max: 0xffff });
const u32 = fc.integer({ min: 0, max: 0xffffffff });
const family = fc.constantFrom('IPv4' as const, 'IPv6' as const);
const errorCode = fc.stringMatching(/^[a-z0-9][a-z0-9-]{0,63}$/);
const label = fc.stringMatching(/^[a-z0-9_]([a-z0-9_-]{0,20}[a-z0-9_])?$/);
const hostName = fc.array(label, { minLength: 1, maxLength: 6 }).map((labels) => labels.join('.'));

const frameArbitrary: fc.Arbitrary<BridgeFrame> = fc.oneof(
  fc.record({ type: fc.constant('data' as const), socketId: u16, peer: fc.record({ address, port }), payload: fc.uint8Array({ maxLength: 64 }) }),
  fc.record({
    type: fc.constant('hello' as const),
    version: fc.constant(1),
    limits: fc.record({ maxSockets: u16, maxPayload: u16, packetsPerSecond: u32, bytesPerSecond: u32, idleTimeoutMs: u32 }),
  }),
  fc.record({
    type: fc.constant('hello' as const),
    version: fc.constant(BRIDGE_PROTOCOL_VERSION),
    limits: fc.record({
      maxSockets: u16,
      maxPayload: u16,
      packetsPerSecond: u32,
      bytesPerSecond: u32,
      idleTimeoutMs: u32,
      maxStreams: u16,
      streamWindow: u32,
      maxConcurrentLookups: u16,
      lookupsPerSecond: u32,
      features: fc.integer({ min: 0, max: 255 }),
    }),
  }),
  fc.record({ type: fc.constant('resolve' as const), requestId: u32, name: hostName, families: fc.constantFrom<AddressFamily[]>(['IPv4'], ['IPv6'], ['IPv4', 'IPv6']) }),
  fc.record({ type: fc.constant('resolved' as const), requestId: u32, addresses: fc.array(fc.record({ address, ttl: u32 }), { maxLength: 32 }) }),
  fc.record({ type: fc.constant('connect' as const), requestId: u32, remote: fc.record({ address, port }), tls: fc.boolean(), serverName: fc.oneof(fc.constant(''), hostName), window: u32 }),
  fc.record({ type: fc.constant('connected' as const), requestId: u32, streamId: u16, local: fc.record({ address, port }), remote: fc.record({ address, port }), window: u32 }),
  fc.record({ type: fc.constant('stream' as const), streamId: u16, payload: fc.uint8Array({ maxLength: 64 }) }),
  fc.record({ type: fc.constant('end' as const), streamId: u16 }),
  fc.record({ type: fc.constant('window' as const), streamId: u16, increment: u32 }),
  fc.record(
    { type: fc.constant('error' as const), code: errorCode, reason: fc.string({ maxLength: 40 }), socketId: u16, destination: fc.record({ address, port }) },
    { requiredKeys: ['type', 'code', 'reason', 'destination'] },
  ),
  fc.record({ type: fc.constant('bind' as const), requestId: u32, family, port, connect: fc.record({ address, port }) }, { requiredKeys: ['type', 'requestId', 'family', 'port'] }),
  fc.record({
    type: fc.constant('bound' as const),
    requestId: u32,
    socketId: u16,
    local: fc.record({ address, port }),
    hostAddresses: fc.array(address, { maxLength: 8 }),
  }),
  fc.record({ type: fc.constant('close' as const), socketId: u16 }),
  fc.record({ type: fc.constant('listen' as const), requestId: u32, family, port, window: u32 }),
  fc.record({ type: fc.constant('host-addresses' as const), socketId: u16, hostAddresses: fc.array(address, { maxLength: 8 }) }),
  fc.record({ type: fc.constant('listening' as const), requestId: u32, listenerId: u16, local: fc.record({ address, port }), hostAddresses: fc.array(address, { maxLength: 8 }) }),
  fc.record({ type: fc.constant('accepted' as const), listenerId: u16, streamId: u16, local: fc.record({ address, port }), remote: fc.record({ address, port }), window: u32 }),
  fc.record(
    { type: fc.constant('error' as const), code: errorCode, reason: fc.string({ maxLength: 40 }), requestId: u32, socketId: u16 },
    { requiredKeys: ['type', 'code', 'reason'] },
  ),
);

/** Plain objects (fast-check's records have no prototype); lone surrogates as they survive UTF-8 (U+FFFD). */
function canonical(frame: BridgeFrame): BridgeFrame {
  const plain = structuredClone(frame);
  return plain.type === 'error' ? { ...plain, reason: new TextDecoder().decode(new TextEncoder().encode(plain.reason)) } : plain;
}

describe('bridge frame properties', () => {
  it('decode(encode(frame)) is the frame', () => {
    fc.assert(
      fc.property(frameArbitrary, (frame) => {
        const decoded = decodeBridgeFrame(encodeBridgeFrame(frame));
        const normal = decoded.type === 'data' || decoded.type === 'stream' ? { ...decoded, payload: decoded.payload.slice() } : decoded;
        assert.deepEqual(canonical(normal), canonical(frame));
      }),
      { numRuns: 2000 },
    );
  });

  it('random bytes decode or throw BridgeFrameError, nothing else; what decodes re-encodes to the same bytes', () => {
    const bytes = fc.oneof(
      fc.uint8Array({ maxLength: 80 }),
      // Mostly-valid starts reach deeper into each decoder.
      fc.tuple(fc.integer({ min: 0, max: 0x0d }), fc.uint8Array({ maxLength: 60 })).map(([t, rest]) => Uint8Array.of(t, ...rest)),
      fc.tuple(frameArbitrary, fc.nat(), fc.integer({ min: 0, max: 255 })).map(([f, at, value]) => {
        const b = encodeBridgeFrame(f).slice();
        if (b.length > 0) b[at % b.length] = value;
        return b;
      }),
    );
    fc.assert(
      fc.property(bytes, (input) => {
        let frame: BridgeFrame;
        try {
          frame = decodeBridgeFrame(input);
        } catch (err) {
          assert.ok(err instanceof BridgeFrameError, `threw ${String(err)}`);
          assert.ok(err.offset >= 0 && err.offset <= input.length);
          return;
        }
        // Error reasons decode leniently (bad UTF-8 becomes U+FFFD), so only they may not round-trip.
        if (frame.type !== 'error') assert.equal(hex(encodeBridgeFrame(frame)), hex(input));
      }),
      { numRuns: 5000 },
    );
  });
});
