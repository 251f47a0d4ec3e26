// ChannelData framing (RFC 8656 §12.4–§12.6): round trip, the errors a receiver reports, padding ignored.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { frameForStream, StreamFramer } from '../../src/net/stream-framer.js';
import { classifyDatagram } from '../../src/stun/classify.js';
import {
  CHANNEL_DATA_HEADER,
  CHANNEL_MAX,
  CHANNEL_MIN,
  ChannelDataError,
  decodeChannelData,
  encodeChannelData,
  isValidChannelNumber,
} from '../../src/turn/channel-data.js';

const hex = (s: string) => Uint8Array.from(s.replace(/\s+/g, '').match(/../g) ?? [], (b) => parseInt(b, 16));
const code = (err: unknown) => (err instanceof ChannelDataError ? err.code : `not a ChannelDataError: ${String(err)}`);

describe('ChannelData codec', () => {
  it('writes the 4-byte header (channel, length) before the data, unpadded', () => {
    assert.deepEqual(
      encodeChannelData(0x4001, hex('616263')),
      hex(`
        4001 0003   # channel 0x4001, length 3
        616263      # "abc", no padding on UDP (§12.5)
      `.replace(/#.*$/gm, '')),
    );
    assert.deepEqual(encodeChannelData(0x4fff, new Uint8Array(0)), hex('4fff 0000'), 'length 0 is valid (§12.4)');
  });

  it('round-trips every channel number and any data', () => {
    fc.assert(
      fc.property(fc.integer({ min: CHANNEL_MIN, max: CHANNEL_MAX }), fc.uint8Array({ maxLength: 1500 }), (channel, data) => {
        const bytes = encodeChannelData(channel, data);
        assert.equal(bytes.length, CHANNEL_DATA_HEADER + data.length);
        assert.equal(classifyDatagram(bytes), 'channel-data', 'RFC 7983: first byte 64..79');
        const decoded = decodeChannelData(bytes);
        assert.equal(decoded.channel, channel);
        assert.deepEqual(decoded.data, data);
      }),
      { numRuns: 500 },
    );
  });

  it('ignores padding after the length (§12.5: TCP pads to 4, UDP MAY)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), fc.integer({ min: 0, max: 3 }), (data, extra) => {
        const padded = new Uint8Array(CHANNEL_DATA_HEADER + data.length + extra).fill(0xee);
        padded.set(encodeChannelData(0x4000, data));
        assert.deepEqual(decodeChannelData(padded).data, data);
      }),
    );
    const decoded = decodeChannelData(hex('4000 0001 7a 000000'));
    assert.deepEqual(decoded.data, hex('7a'));
  });

  it('is split from a stream by its length, padding skipped', () => {
    const framer = new StreamFramer();
    const a = encodeChannelData(0x4000, hex('01'));
    const b = encodeChannelData(0x4002, hex('0203040506'));
    const stream = new Uint8Array([...frameForStream(a), ...frameForStream(b)]);
    assert.equal(stream.length, 8 + 12);
    const frames = framer.push(stream);
    assert.deepEqual(frames.map((f) => decodeChannelData(f)).map((d) => [d.channel, [...d.data]]), [
      [0x4000, [1]],
      [0x4002, [2, 3, 4, 5, 6]],
    ]);
  });

  it('returns a view into the datagram, not a copy', () => {
    const bytes = encodeChannelData(0x4000, hex('0102'));
    const { data } = decodeChannelData(bytes);
    bytes[4] = 9;
    assert.equal(data[0], 9);
  });

  it('rejects what is not a ChannelData message, with a code', () => {
    assert.throws(() => decodeChannelData(hex('4000 00')), (e) => code(e) === 'TRUNCATED');
    assert.throws(() => decodeChannelData(new Uint8Array(0)), (e) => code(e) === 'TRUNCATED');
    assert.throws(() => decodeChannelData(hex('3fff 0000')), (e) => code(e) === 'BAD_CHANNEL');
    assert.throws(() => decodeChannelData(hex('5000 0000')), (e) => code(e) === 'BAD_CHANNEL', '0x5000+ is reserved (§12)');
    assert.throws(() => decodeChannelData(hex('4000 0005 01020304')), (e) => code(e) === 'LENGTH_MISMATCH', '§12.6: too short for its length');
    assert.throws(() => encodeChannelData(0x3fff, new Uint8Array(1)), (e) => code(e) === 'BAD_CHANNEL');
    assert.throws(() => encodeChannelData(0x4000, new Uint8Array(0x10000)), (e) => code(e) === 'LENGTH_MISMATCH');
    const err = (() => {
      try {
        decodeChannelData(hex('4000 0009 00'));
      } catch (e) {
        return e as ChannelDataError;
      }
      return undefined;
    })();
    assert.ok(err && /length 9 but only 1 bytes/.test(err.reason));
  });

  it('never throws anything but ChannelDataError on arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 80 }), (bytes) => {
        try {
          const { channel, data } = decodeChannelData(bytes);
          assert.ok(isValidChannelNumber(channel));
          assert.ok(data.length <= bytes.length - CHANNEL_DATA_HEADER);
        } catch (e) {
          assert.ok(e instanceof ChannelDataError, String(e));
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('knows the channel range 0x4000–0x4FFF', () => {
    assert.deepEqual([0x3fff, 0x4000, 0x4fff, 0x5000, 0x4000 + 0.5].map((c) => isValidChannelNumber(c)), [false, true, true, false, false]);
  });
});
