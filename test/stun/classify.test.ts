import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { classifyDatagram, createStunMessage, encodeStunMessage, isStunMessage } from '../../src/stun/index.js';
import { SAMPLE_IPV4_RESPONSE, SAMPLE_REQUEST } from './vectors.js';

const bytes = (...b: number[]): Uint8Array => new Uint8Array(b);

describe('classifyDatagram (RFC 7983 §7)', () => {
  it('STUN: first byte 0..3 and the magic cookie', () => {
    assert.equal(classifyDatagram(SAMPLE_REQUEST.bytes), 'stun');
    assert.equal(classifyDatagram(SAMPLE_IPV4_RESPONSE.bytes), 'stun');
    assert.equal(classifyDatagram(encodeStunMessage(createStunMessage({ method: 0x0ff, class: 'error' }))), 'stun');
  });

  it('first byte 0..3 without the cookie is not STUN, unless RFC 3489 messages are accepted', () => {
    const classic = SAMPLE_REQUEST.bytes.slice();
    classic[4] = 0;
    assert.equal(classifyDatagram(classic), 'other');
    assert.equal(classifyDatagram(classic, { classicStun: true }), 'stun');
    assert.equal(classifyDatagram(classic.subarray(0, 40), { classicStun: true }), 'other', 'length must fill the datagram');
    assert.equal(classifyDatagram(SAMPLE_REQUEST.bytes.subarray(0, 19)), 'other');
  });

  it('ChannelData for first bytes 0x40..0x4F (channels 0x4000-0x4FFF)', () => {
    assert.equal(classifyDatagram(bytes(0x40, 0x00, 0x00, 0x00)), 'channel-data');
    assert.equal(classifyDatagram(bytes(0x4f, 0xff, 0x00, 0x04, 1, 2, 3, 4)), 'channel-data');
    assert.equal(classifyDatagram(bytes(0x40, 0x00, 0x00)), 'other');
    assert.equal(classifyDatagram(bytes(0x50, 0x00, 0x00, 0x00)), 'other');
  });

  it('DTLS for 20..63, RTP/RTCP for 128..191, the rest other', () => {
    assert.equal(classifyDatagram(bytes(22, 0xfe, 0xfd)), 'dtls');
    assert.equal(classifyDatagram(bytes(20)), 'dtls');
    assert.equal(classifyDatagram(bytes(63)), 'dtls');
    assert.equal(classifyDatagram(bytes(0x80, 0x60)), 'rtp');
    assert.equal(classifyDatagram(bytes(191)), 'rtp');
    assert.equal(classifyDatagram(bytes(192)), 'other');
    assert.equal(classifyDatagram(bytes(16)), 'other'); // ZRTP
    assert.equal(classifyDatagram(bytes(4)), 'other');
    assert.equal(classifyDatagram(bytes()), 'other');
  });

  it('is total over random bytes and agrees with the first-byte ranges', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (b) => {
        const kind = classifyDatagram(b);
        if (kind === 'stun') assert.ok(b[0] < 4 && b.length >= 20);
        if (kind === 'dtls') assert.ok(b[0] >= 20 && b[0] <= 63);
        if (kind === 'channel-data') assert.ok(b[0] >= 0x40 && b[0] <= 0x4f);
        if (kind === 'rtp') assert.ok(b[0] >= 128 && b[0] <= 191);
        if (isStunMessage(b)) assert.equal(kind, 'stun');
      }),
      { numRuns: 5000 },
    );
  });
});

describe('isStunMessage', () => {
  it('checks the header: top bits, cookie, length filling the datagram', () => {
    assert.equal(isStunMessage(SAMPLE_REQUEST.bytes), true);
    assert.equal(isStunMessage(SAMPLE_REQUEST.bytes.subarray(0, 40)), false);
    const b = SAMPLE_REQUEST.bytes.slice();
    b[0] |= 0x40;
    assert.equal(isStunMessage(b), false);
    assert.equal(isStunMessage(new Uint8Array(10)), false);
  });
});
