// StreamFramer's frames as copies (the default) or as views into the chunks (`views`, the TURN server's
// stream listener): the same frames either way, and the lifetime each promises.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { StreamFramer } from '../../src/net/stream-framer.js';

/** A ChannelData frame (RFC 8656 §12.5: padded to 4 on a stream) with `length` bytes of `fill`. */
function channelData(channel: number, length: number, fill: number): Uint8Array {
  const out = new Uint8Array((4 + length + 3) & ~3);
  out.set([channel >> 8, channel & 0xff, length >> 8, length & 0xff]);
  out.fill(fill, 4, 4 + length);
  return out;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

describe('StreamFramer views', () => {
  it('yields the same frames with and without views, whole or split anywhere', () => {
    const stream = concat(channelData(0x4000, 100, 1), channelData(0x4001, 5, 2), channelData(0x7fff, 0, 3), channelData(0x4002, 33, 4));
    for (let cut = 0; cut <= stream.length; cut++) {
      const results = [false, true].map((views) => {
        const framer = new StreamFramer({ channelNumbers: 'rfc5766', views });
        const frames = [...framer.push(stream.slice(0, cut)), ...framer.push(stream.slice(cut))];
        assert.equal(framer.pending, 0);
        return frames.map((f) => Array.from(f));
      });
      assert.deepEqual(results[1], results[0], `cut at ${cut}`);
      assert.deepEqual(
        results[0].map((f) => f.length),
        [104, 9, 4, 37],
      );
    }
  });

  it('copies by default: a frame outlives changes to the chunk it came in', () => {
    const chunk = concat(channelData(0x4000, 8, 7), channelData(0x4001, 8, 8));
    const frames = new StreamFramer().push(chunk);
    assert.equal(frames.length, 2);
    assert.notEqual(frames[0].buffer, chunk.buffer);
    chunk.fill(0);
    assert.deepEqual(Array.from(frames[0].subarray(4)), new Array(8).fill(7));
  });

  it('with views, a frame inside one chunk is a view into it, not a copy', () => {
    const chunk = concat(channelData(0x4000, 8, 7), channelData(0x4001, 8, 8));
    const frames = new StreamFramer({ views: true }).push(chunk);
    assert.equal(frames.length, 2);
    assert.equal(frames[0].buffer, chunk.buffer);
    assert.equal(frames[1].byteOffset, chunk.byteOffset + 12);
    assert.deepEqual(Array.from(frames[1].subarray(4)), new Array(8).fill(8));
  });

  it('with views, still copies the bytes it holds for an incomplete frame (the chunk may be reused)', () => {
    const framer = new StreamFramer({ views: true });
    const whole = channelData(0x4000, 12, 9);
    const first = whole.slice(0, 6);
    assert.deepEqual(framer.push(first), []);
    first.fill(0); // the caller reuses its chunk
    const [frame] = framer.push(whole.slice(6));
    assert.deepEqual(Array.from(frame), Array.from(whole.subarray(0, 16)));
  });

  it('with views, still refuses what is neither STUN nor ChannelData', () => {
    assert.throws(() => new StreamFramer({ views: true }).push(new Uint8Array([0x80, 0, 0, 4, 0, 0, 0, 0])), { name: 'StreamFramingError' });
  });
});
