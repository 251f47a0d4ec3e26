import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  BRIDGE_PROTOCOL_VERSION,
  BridgeFrameError,
  decodeBridgeFrame,
  encodeBridgeFrame,
  encodeDataFrame,
  MAX_ERROR_REASON_BYTES,
  type BridgeFrame,
} from '../../src/net/bridge-frame.js';
import { formatIp } from '../../src/net/ip.js';

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
  });
});

describe('bridge frame decoding errors', () => {
  it('names the code and offset of each malformation', () => {
    throwsFrameError(new Uint8Array(0), 'EMPTY', 0);
    throwsFrameError(Uint8Array.of(0x06), 'UNKNOWN_TYPE', 0);
    throwsFrameError(Uint8Array.of(0xff, 1, 2), 'UNKNOWN_TYPE', 0);
    throwsFrameError(fromHex('00 0001 05 01020304 0001'), 'FAMILY', 3);
    throwsFrameError(fromHex('00 0001 04 010203'), 'TRUNCATED', 4);
    throwsFrameError(fromHex('00 0001 04 01020304 00'), 'TRUNCATED', 8);
    throwsFrameError(fromHex('01 02 0008 ffe3 000007d0 001e8480 0000ea60'), 'VERSION', 1);
    throwsFrameError(fromHex('02 00000007 04 0000 00'), 'LENGTH', 8);
    throwsFrameError(fromHex('04 01'), 'TRUNCATED', 1);
    throwsFrameError(fromHex('05 04 01 78'), 'VALUE', 1);
    throwsFrameError(fromHex('05 00 02 4142'), 'VALUE', 2);
    throwsFrameError(fromHex('05 00 00'), 'VALUE', 2);
    throwsFrameError(fromHex('05 00 05 6162'), 'TRUNCATED', 3);
    throwsFrameError(fromHex('03 00000001 0001 04 7f000001 0001 02 04 0a000001'), 'TRUNCATED', 20);
  });

  it('throws TRUNCATED for every proper prefix of a fixed-layout frame, LENGTH for a longer one', () => {
    const frames: Uint8Array[] = [
      encodeBridgeFrame({ type: 'hello', version: 1, limits: { maxSockets: 1, maxPayload: 2, packetsPerSecond: 3, bytesPerSecond: 4, idleTimeoutMs: 5 } }),
      encodeBridgeFrame({ type: 'bind', requestId: 1, family: 'IPv4', port: 9 }),
      encodeBridgeFrame({ type: 'bound', requestId: 1, socketId: 1, local: { address: '::1', port: 9 }, hostAddresses: ['::2', '1.1.1.1'] }),
      encodeBridgeFrame({ type: 'close', socketId: 1 }),
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

const frameArbitrary: fc.Arbitrary<BridgeFrame> = fc.oneof(
  fc.record({ type: fc.constant('data' as const), socketId: u16, peer: fc.record({ address, port }), payload: fc.uint8Array({ maxLength: 64 }) }),
  fc.record({
    type: fc.constant('hello' as const),
    version: fc.constant(BRIDGE_PROTOCOL_VERSION),
    limits: fc.record({ maxSockets: u16, maxPayload: u16, packetsPerSecond: u32, bytesPerSecond: u32, idleTimeoutMs: u32 }),
  }),
  fc.record({ type: fc.constant('bind' as const), requestId: u32, family, port }),
  fc.record({
    type: fc.constant('bound' as const),
    requestId: u32,
    socketId: u16,
    local: fc.record({ address, port }),
    hostAddresses: fc.array(address, { maxLength: 8 }),
  }),
  fc.record({ type: fc.constant('close' as const), socketId: u16 }),
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
        const normal = decoded.type === 'data' ? { ...decoded, payload: decoded.payload.slice() } : decoded;
        assert.deepEqual(canonical(normal), canonical(frame));
      }),
      { numRuns: 2000 },
    );
  });

  it('random bytes decode or throw BridgeFrameError, nothing else; what decodes re-encodes to the same bytes', () => {
    const bytes = fc.oneof(
      fc.uint8Array({ maxLength: 80 }),
      // Mostly-valid starts reach deeper into each decoder.
      fc.tuple(fc.integer({ min: 0, max: 6 }), fc.uint8Array({ maxLength: 60 })).map(([t, rest]) => Uint8Array.of(t, ...rest)),
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
