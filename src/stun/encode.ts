import { HmacSha1, HmacSha256, crc32 } from '../crypto/index.js';
import { xorAddressValue } from './address-attributes.js';
import { attributeByType } from './attributes.js';
import type { StunAttribute, StunIgnoredAttribute, StunRawAttribute } from './attribute-values.js';
import { FINGERPRINT_XOR, HEADER_LENGTH, MAGIC_COOKIE, type StunClass, StunAttributeType as T } from './constants.js';
import { StunEncodeError } from './errors.js';
import { classBits, encodeMessageType } from './header.js';

/** What the encoder reads; a StunMessage (created or decoded) is one. */
export interface StunMessageFields {
  readonly method: number;
  readonly class: StunClass;
  readonly transactionId: Uint8Array;
  /** Default MAGIC_COOKIE; see StunMessage.cookie. */
  readonly cookie?: number;
  readonly attributes: readonly StunAttribute[];
  /** Written back at their places (a decoded message's; `before` ascending); none by default. */
  readonly ignoredAttributes?: readonly StunIgnoredAttribute[];
}

export interface StunEncodeOptions {
  /** Compute MESSAGE-INTEGRITY (RFC 8489 §14.5). Pass a pre-keyed HmacSha1 to avoid re-keying per message. */
  integrity?: { key: Uint8Array | HmacSha1 };
  /** Compute MESSAGE-INTEGRITY-SHA256 (RFC 8489 §14.6), `length` 16..32 in steps of 4, default 32. */
  integritySha256?: { key: Uint8Array | HmacSha256; length?: number };
  /** Compute FINGERPRINT (RFC 8489 §14.7). */
  fingerprint?: boolean;
}

const MAX_BODY = 0xffff & ~3;
const pad4 = (n: number): number => (n + 3) & ~3;

// Encoding is synchronous and calls out to nothing that could re-enter it, so these are reused across calls:
// value lengths from the sizing pass, and a work buffer with its DataView — creating a DataView per message
// costs about as much as the rest of encoding a Binding request.
let sizes = new Int32Array(64);
let work = new Uint8Array(2048);
let workView = new DataView(work.buffer);
const sha256Scratch = new Uint8Array(32);

/**
 * Encodes a message into one new Uint8Array: sizes every attribute, writes once, copies out once.
 *
 * With `integrity` / `integritySha256` / `fingerprint`, those attributes are computed: in place where the
 * attribute list already has one, otherwise added after the other attributes in the order MESSAGE-INTEGRITY,
 * MESSAGE-INTEGRITY-SHA256, FINGERPRINT (before a FINGERPRINT already in the list). Without the option, an
 * entry in the list is written with its stored value. Padding is zero unless an attribute carries the
 * padding it was decoded with, a decoded attribute whose value cannot give its bytes back carries them
 * (`raw`), and ignored attributes go back where they were: a decoded message re-encodes byte for byte.
 */
export function encodeStunMessage(message: StunMessageFields, options?: StunEncodeOptions): Uint8Array {
  const { method, transactionId, attributes } = message;
  const cls = classBits(message.class);
  if (!Number.isInteger(method) || method < 0 || method > 0xfff) throw new StunEncodeError('HEADER', `method ${method} is not a 12-bit number`);
  if (cls < 0) throw new StunEncodeError('HEADER', `class ${String(message.class)} is not a STUN class`);
  if (!(transactionId instanceof Uint8Array) || transactionId.length !== 12) {
    throw new StunEncodeError('HEADER', 'transaction ID must be 12 bytes');
  }
  const cookie = message.cookie ?? MAGIC_COOKIE;
  const integrity = options?.integrity;
  const integritySha256 = options?.integritySha256;
  const fingerprint = options?.fingerprint === true;

  let integrityIndex = -1;
  let sha256Index = -1;
  let fingerprintIndex = -1;
  const count = attributes.length;
  for (let i = 0; i < count; i++) {
    const type = attributes[i].type;
    if (type === T.MESSAGE_INTEGRITY && integrityIndex < 0) integrityIndex = i;
    else if (type === T.MESSAGE_INTEGRITY_SHA256 && sha256Index < 0) sha256Index = i;
    else if (type === T.FINGERPRINT && fingerprintIndex < 0) fingerprintIndex = i;
  }
  const stored = sha256Index >= 0 ? attributes[sha256Index].value : undefined;
  const sha256Length = integritySha256?.length ?? (stored instanceof Uint8Array ? stored.length : 32);
  if (integritySha256 !== undefined && !(sha256Length >= 16 && sha256Length <= 32 && sha256Length % 4 === 0)) {
    throw new StunEncodeError('VALUE_LENGTH', `MESSAGE-INTEGRITY-SHA256 length ${sha256Length}, need 16..32, a multiple of 4`);
  }
  // Where computed attributes not already in the list go: before the index given, `count` meaning last.
  const beforeFingerprint = fingerprintIndex < 0 ? count : fingerprintIndex;
  const addIntegrityAt =
    integrity !== undefined && integrityIndex < 0 ? (sha256Index >= 0 ? Math.min(sha256Index, beforeFingerprint) : beforeFingerprint) : -1;
  const addSha256At = integritySha256 !== undefined && sha256Index < 0 ? beforeFingerprint : -1;

  // Sizing pass.
  if (sizes.length < count) sizes = new Int32Array(count * 2);
  let total = HEADER_LENGTH;
  for (let i = 0; i < count; i++) {
    const attribute = attributes[i];
    const type = attribute.type;
    let n: number;
    if (type === T.MESSAGE_INTEGRITY && integrity !== undefined) n = 20;
    else if (type === T.MESSAGE_INTEGRITY_SHA256 && integritySha256 !== undefined) n = sha256Length;
    else if (type === T.FINGERPRINT && fingerprint) n = 4;
    else n = sizeOf(attribute, cookie);
    sizes[i] = n;
    total += 4 + pad4(n);
  }
  const ignored = message.ignoredAttributes ?? [];
  for (let j = 0; j < ignored.length; j++) {
    const before = ignored[j].before;
    if (!Number.isInteger(before) || before < (j > 0 ? ignored[j - 1].before : 0) || before > count) {
      throw new StunEncodeError('VALUE_RANGE', `ignoredAttributes[${j}].before ${String(before)} is not an ascending index in 0..${count}`);
    }
    total += 4 + pad4(sizeOf(ignored[j], cookie));
  }
  if (addIntegrityAt >= 0) total += 24;
  if (addSha256At >= 0) total += 4 + sha256Length;
  if (fingerprint && fingerprintIndex < 0) total += 8;
  if (total - HEADER_LENGTH > MAX_BODY) {
    throw new StunEncodeError('MESSAGE_TOO_LONG', `attributes take ${total - HEADER_LENGTH} bytes, at most ${MAX_BODY} fit`);
  }

  const hmacSha1 = integrity === undefined ? undefined : keyed(integrity.key, HmacSha1, 'MESSAGE-INTEGRITY');
  const hmacSha256 = integritySha256 === undefined ? undefined : keyed(integritySha256.key, HmacSha256, 'MESSAGE-INTEGRITY-SHA256');

  // Writing pass, into the zeroed work buffer (padding and reserved fields are zero unless written).
  if (work.length < total) {
    work = new Uint8Array(Math.max(total, 2 * work.length));
    workView = new DataView(work.buffer);
  }
  const out = work;
  const view = workView;
  out.fill(0, 0, total);
  view.setUint16(0, encodeMessageType(method, message.class));
  view.setUint16(2, total - HEADER_LENGTH);
  view.setUint32(4, cookie);
  out.set(transactionId, 8);
  let offset = HEADER_LENGTH;
  let nextIgnored = 0;
  for (let i = 0; i <= count; i++) {
    for (; nextIgnored < ignored.length && ignored[nextIgnored].before === i; nextIgnored++) {
      const attribute = ignored[nextIgnored];
      offset = writeAttribute(attribute, attribute.value.length, out, view, offset);
    }
    if (i === addIntegrityAt && hmacSha1 !== undefined) offset = writeIntegrity(out, view, offset, total, hmacSha1);
    if (i === addSha256At && hmacSha256 !== undefined) offset = writeIntegritySha256(out, view, offset, total, hmacSha256, sha256Length);
    if (i === count) break;
    const attribute = attributes[i];
    const type = attribute.type;
    if (type === T.MESSAGE_INTEGRITY && hmacSha1 !== undefined) {
      offset = writeIntegrity(out, view, offset, total, hmacSha1);
    } else if (type === T.MESSAGE_INTEGRITY_SHA256 && hmacSha256 !== undefined) {
      offset = writeIntegritySha256(out, view, offset, total, hmacSha256, sha256Length);
    } else if (type === T.FINGERPRINT && fingerprint) {
      offset = writeFingerprint(out, view, offset);
    } else {
      offset = writeAttribute(attribute, sizes[i], out, view, offset);
    }
  }
  if (fingerprint && fingerprintIndex < 0) writeFingerprint(out, view, offset);
  return out.slice(0, total);
}

function keyed<H>(key: unknown, Hmac: new (key: Uint8Array) => H, name: string): H {
  if (key instanceof Hmac) return key;
  if (!(key instanceof Uint8Array)) throw new StunEncodeError('VALUE_TYPE', `${name} key must be a Uint8Array or a keyed HMAC`);
  return new Hmac(key);
}

function sizeOf(attribute: StunAttribute | StunRawAttribute, cookie: number): number {
  if (attribute.name === undefined) {
    if (!(attribute.value instanceof Uint8Array)) {
      throw new StunEncodeError('VALUE_TYPE', `raw attribute 0x${attribute.type.toString(16)} needs a Uint8Array`);
    }
    return attribute.value.length;
  }
  const row = attributeByType(attribute.type);
  if (row === undefined || row.name !== attribute.name) {
    throw new StunEncodeError('UNKNOWN_NAME', `attribute ${attribute.name} has type 0x${attribute.type.toString(16)}, which the table gives no such name`);
  }
  if (row.xor === true && cookie !== MAGIC_COOKIE) {
    throw new StunEncodeError('XOR_WITHOUT_COOKIE', `${row.name} cannot be encoded in a message without the magic cookie`);
  }
  const raw = attribute.raw;
  if (raw !== undefined) {
    if (!(raw instanceof Uint8Array)) throw new StunEncodeError('VALUE_TYPE', `${row.name} raw must be a Uint8Array`);
    return raw.length;
  }
  return row.size(attribute.value as never);
}

function writeAttribute(attribute: StunAttribute | StunRawAttribute, length: number, out: Uint8Array, view: DataView, offset: number): number {
  view.setUint16(offset, attribute.type);
  view.setUint16(offset + 2, length);
  const valueAt = offset + 4;
  if (attribute.name === undefined) {
    out.set(attribute.value, valueAt);
  } else if (attribute.raw !== undefined) {
    out.set(attribute.raw, valueAt);
    // Kept with the XOR undone: apply this message's (the header is already written).
    if (attributeByType(attribute.type)!.xor === true) xorAddressValue(out, valueAt, length, out);
  } else {
    attributeByType(attribute.type)!.write(attribute.value as never, out, view, valueAt, length);
  }
  const end = valueAt + length;
  const next = valueAt + pad4(length);
  const padding = attribute.padding;
  if (padding !== undefined && padding !== 0) {
    for (let i = end; i < next; i++) out[i] = (padding >>> (8 * (next - 1 - i))) & 0xff;
  }
  return next;
}

/** RFC 8489 §14.5: HMAC of everything before the attribute, with the header length ending after it. */
function writeIntegrity(out: Uint8Array, view: DataView, offset: number, total: number, hmac: HmacSha1): number {
  view.setUint16(offset, T.MESSAGE_INTEGRITY);
  view.setUint16(offset + 2, 20);
  view.setUint16(2, offset + 24 - HEADER_LENGTH);
  hmac.digestInto(out, 0, offset, out, offset + 4);
  view.setUint16(2, total - HEADER_LENGTH);
  return offset + 24;
}

/** RFC 8489 §14.6: the same over HMAC-SHA256, keeping the first `length` bytes. */
function writeIntegritySha256(out: Uint8Array, view: DataView, offset: number, total: number, hmac: HmacSha256, length: number): number {
  view.setUint16(offset, T.MESSAGE_INTEGRITY_SHA256);
  view.setUint16(offset + 2, length);
  view.setUint16(2, offset + 4 + length - HEADER_LENGTH);
  hmac.digestInto(out, 0, offset, sha256Scratch, 0);
  view.setUint16(2, total - HEADER_LENGTH);
  out.set(length === 32 ? sha256Scratch : sha256Scratch.subarray(0, length), offset + 4);
  return offset + 4 + length;
}

/** RFC 8489 §14.7: CRC-32 of everything before the attribute, XOR 0x5354554e. */
function writeFingerprint(out: Uint8Array, view: DataView, offset: number): number {
  view.setUint16(offset, T.FINGERPRINT);
  view.setUint16(offset + 2, 4);
  view.setUint32(offset + 4, (crc32(out, 0, offset) ^ FINGERPRINT_XOR) >>> 0);
  return offset + 8;
}
