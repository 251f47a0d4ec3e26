import { crc32 } from '../crypto/index.js';
import { xorAddressValue } from './address-attributes.js';
import type { StunAttributeRow } from './attribute-codec.js';
import { attributeByType, isComprehensionRequired } from './attributes.js';
import type { StunAttribute, StunIgnoredAttribute } from './attribute-values.js';
import { FINGERPRINT_XOR, HEADER_LENGTH, MAGIC_COOKIE, StunAttributeType as T } from './constants.js';
import { StunParseError } from './errors.js';
import { classOfType, methodOfType } from './header.js';
import { StunMessage } from './message.js';

/** `0x0020` style, for attributes the table does not name. */
export function attributeTypeHex(type: number): string {
  return `0x${type.toString(16).padStart(4, '0')}`;
}

/**
 * Decodes one STUN message (RFC 8489 §5, §14) that fills `bytes` exactly. Throws StunParseError — and
 * nothing else — for anything malformed; one pass over the attributes, so time and memory are linear in
 * the input. FINGERPRINT, when present, is checked here; MESSAGE-INTEGRITY needs a key: see integrity.ts.
 * `bytes` is kept (not copied) as `message.raw` for integrity checks.
 */
export function decodeStunMessage(input: Uint8Array): StunMessage {
  // A subclass (Node's Buffer) would make slice() a view and leak its type into values: use a plain view.
  const bytes = Object.getPrototypeOf(input) === Uint8Array.prototype ? input : new Uint8Array(input.buffer, input.byteOffset, input.length);
  const n = bytes.length;
  if (n < HEADER_LENGTH) throw new StunParseError('TRUNCATED', 0, `${n} bytes, the STUN header is 20`);
  if ((bytes[0] & 0xc0) !== 0) {
    throw new StunParseError('NOT_STUN', 0, `first byte 0x${bytes[0].toString(16)}: the top two bits must be 0 (RFC 8489 §5)`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, n);
  const length = view.getUint16(2);
  if ((length & 3) !== 0) throw new StunParseError('LENGTH_NOT_ALIGNED', 2, `message length ${length} is not a multiple of 4`);
  if (length + HEADER_LENGTH !== n) {
    throw new StunParseError('LENGTH_MISMATCH', 2, `message length ${length} + 20 header bytes, but ${n} bytes received`);
  }
  const cookie = view.getUint32(4);
  const hasCookie = cookie === MAGIC_COOKIE;

  const attributes: StunAttribute[] = [];
  let unknown: number[] | undefined;
  let ignored: StunIgnoredAttribute[] | undefined;
  let integrity = -1;
  let integritySha256 = -1;
  let fingerprint = -1;
  for (let offset = HEADER_LENGTH; offset < n; ) {
    if (fingerprint >= 0) throw new StunParseError('FINGERPRINT_NOT_LAST', offset, 'an attribute follows FINGERPRINT (RFC 8489 §14.7)');
    // Length is a multiple of 4, so at least a whole attribute header remains here.
    const type = view.getUint16(offset);
    const valueLength = view.getUint16(offset + 2);
    const valueAt = offset + 4;
    const next = valueAt + ((valueLength + 3) & ~3);
    const row = attributeByType(type);
    if (next > n) {
      const name = row?.name ?? attributeTypeHex(type);
      throw new StunParseError('ATTR_TRUNCATED', offset, `${name} length ${valueLength} runs past the end of the message (${n} bytes)`);
    }
    let padding = 0;
    for (let i = valueAt + valueLength; i < next; i++) padding = (padding << 8) | bytes[i];

    // RFC 8489 §9: after MESSAGE-INTEGRITY only MESSAGE-INTEGRITY-SHA256 and FINGERPRINT count; after
    // MESSAGE-INTEGRITY-SHA256 only FINGERPRINT.
    if (type !== T.FINGERPRINT && (integritySha256 >= 0 || (integrity >= 0 && type !== T.MESSAGE_INTEGRITY_SHA256))) {
      (ignored ??= []).push({ type, name: undefined, value: bytes.slice(valueAt, valueAt + valueLength), padding, before: attributes.length });
    } else if (row === undefined || (row.xor === true && !hasCookie)) {
      if (row === undefined && isComprehensionRequired(type)) (unknown ??= []).push(type);
      attributes.push({ type, name: undefined, value: bytes.slice(valueAt, valueAt + valueLength), padding });
    } else {
      const value = row.decode(bytes, view, valueAt, valueLength);
      attributes.push(
        row.lossy?.(bytes, valueAt, valueLength) === true
          ? keepingRaw(row, value, padding, bytes, valueAt, valueLength)
          : ({ type, name: row.name, value, padding } as StunAttribute),
      );
      if (type === T.MESSAGE_INTEGRITY) integrity = offset;
      else if (type === T.MESSAGE_INTEGRITY_SHA256) integritySha256 = offset;
      else if (type === T.FINGERPRINT) fingerprint = offset;
    }
    offset = next;
  }

  if (fingerprint >= 0) {
    // RFC 8489 §14.7: CRC-32 of everything before the attribute; FINGERPRINT is last, so the header's length is right.
    const expected = (crc32(bytes, 0, fingerprint) ^ FINGERPRINT_XOR) >>> 0;
    const actual = view.getUint32(fingerprint + 4);
    if (expected !== actual) {
      throw new StunParseError(
        'FINGERPRINT_MISMATCH',
        fingerprint,
        `FINGERPRINT 0x${actual.toString(16).padStart(8, '0')}, computed 0x${expected.toString(16).padStart(8, '0')}`,
      );
    }
  }
  const type = view.getUint16(0);
  return new StunMessage(
    methodOfType(type),
    classOfType(type),
    bytes.slice(8, 20),
    cookie,
    attributes,
    unknown,
    ignored,
    bytes,
    integrity,
    integritySha256,
    fingerprint,
  );
}

/** A decoded attribute that also holds the bytes its value cannot give back (see StunKnownAttribute.raw), frozen. */
function keepingRaw(row: StunAttributeRow, value: unknown, padding: number, bytes: Uint8Array, at: number, length: number): StunAttribute {
  const raw = bytes.slice(at, at + length);
  if (row.xor === true) xorAddressValue(raw, 0, length, bytes);
  const attribute = { type: row.type, name: row.name, value: deepFreeze(value), padding };
  Object.defineProperty(attribute, 'raw', { value: raw, enumerable: false });
  return Object.freeze(attribute) as StunAttribute;
}

function deepFreeze<V>(value: V): V {
  if (typeof value === 'object' && value !== null && !(value instanceof Uint8Array)) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

/**
 * For engines at their boundary (DESIGN.md rule 3): the message if `bytes` is STUN that decodes, else
 * undefined — the caller counts it and drops it. Demultiplexing (RFC 7983) is the caller's.
 */
export function decodeStunOrUndefined(bytes: Uint8Array): StunMessage | undefined {
  try {
    return decodeStunMessage(bytes);
  } catch (err) {
    if (err instanceof StunParseError) return undefined;
    throw err;
  }
}
