// Reason phrases of ERROR-CODE (RFC 8489 §14.8) and ADDRESS-ERROR-CODE (RFC 8656 §18.12) come without the
// NUL padding some servers (coturn) count into the attribute length, and TurnError messages show the trimmed
// text. The messages are built byte by byte here, not with icebridge's encoder.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeStunMessage } from '../../src/stun/decode.js';
import { TurnError } from '../../src/turn/errors.js';

/** An Allocate error response (0x0113) holding one attribute of `type` whose value is `value`, padded to 4. */
function errorResponse(type: number, value: number[]): Uint8Array {
  const padded = [...value, ...new Array((4 - (value.length % 4)) % 4).fill(0)];
  const bytes = [0x01, 0x13, 0, 4 + padded.length, 0x21, 0x12, 0xa4, 0x42, ...new Array(12).fill(7)];
  bytes.push(type >> 8, type & 0xff, value.length >> 8, value.length & 0xff, ...padded);
  return new Uint8Array(bytes);
}

const ascii = (s: string) => [...s].map((c) => c.charCodeAt(0));

describe('reason phrases without NUL padding', () => {
  it('ERROR-CODE: NULs counted into the length are not part of the reason', () => {
    // class 4, number 40, "Address family not supported" + two NULs, all inside the declared length.
    const message = decodeStunMessage(errorResponse(0x0009, [0, 0, 4, 40, ...ascii('Address family not supported'), 0, 0]));
    assert.deepEqual(message.get('ERROR-CODE'), { code: 440, reason: 'Address family not supported' });
  });

  it('ERROR-CODE: a reason of NULs only is empty, inner NULs and other text stay', () => {
    assert.equal(decodeStunMessage(errorResponse(0x0009, [0, 0, 5, 8, 0, 0, 0, 0])).get('ERROR-CODE')?.reason, '');
    assert.equal(decodeStunMessage(errorResponse(0x0009, [0, 0, 4, 0, ...ascii('a'), 0, ...ascii('b'), 0])).get('ERROR-CODE')?.reason, 'a\u0000b');
    assert.equal(decodeStunMessage(errorResponse(0x0009, [0, 0, 4, 1, ...ascii('Unauthorized')])).get('ERROR-CODE')?.reason, 'Unauthorized');
  });

  it('ADDRESS-ERROR-CODE: family, code and trimmed reason', () => {
    const message = decodeStunMessage(errorResponse(0x8001, [2, 0, 5, 8, ...ascii('Insufficient capacity'), 0, 0, 0]));
    assert.deepEqual(message.get('ADDRESS-ERROR-CODE'), { family: 'IPv6', code: 508, reason: 'Insufficient capacity' });
  });

  it('a TurnError built from the decoded reason shows the trimmed text', () => {
    const error = decodeStunMessage(errorResponse(0x0009, [0, 0, 4, 40, ...ascii('family'), 0, 0])).get('ERROR-CODE')!;
    const turnError = new TurnError(error.code, error.reason, 'allocate');
    assert.equal(turnError.message, 'TURN allocate failed: 440 family');
  });
});
