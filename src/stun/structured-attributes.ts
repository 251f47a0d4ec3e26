import type { AddressFamily } from '../net/transport-address.js';
import {
  type StunAttributeCodec,
  anyNonzero,
  checkBytes,
  checkUint,
  encodeError,
  lengthError,
  valueError,
} from './attribute-codec.js';
import type {
  StunAddressErrorCode,
  StunChangeRequest,
  StunErrorCode,
  StunEvenPort,
  StunIcmp,
  StunPasswordAlgorithm,
} from './attribute-values.js';
import { isExactUtf8, readUtf8, utf8Length, writeUtf8 } from './text.js';

/** RFC 8489 §14.8 allows 763 bytes of reason phrase on receipt; we hold senders to the same bound. */
const MAX_REASON_BYTES = 763;

const pad4 = (n: number): number => (n + 3) & ~3;

function checkObject(name: string, value: unknown, shape: string): void {
  if (typeof value !== 'object' || value === null) throw encodeError('VALUE_TYPE', name, `value must be ${shape}`);
}

/** Error class (hundreds digit, 3..6) and number (0..99) at bytes 2 and 3, as in RFC 8489 §14.8 Figure 7. */
function readCode(name: string, bytes: Uint8Array, offset: number): number {
  const cls = bytes[offset + 2] & 0x07;
  const number = bytes[offset + 3];
  if (cls < 3 || cls > 6 || number > 99) throw valueError(name, offset, `class ${cls} number ${number} is not a code in 300..699`);
  return cls * 100 + number;
}

function checkCodeAndReason(name: string, code: unknown, reason: unknown): number {
  const c = checkUint(name, code, 699, 'code');
  if (c < 300) throw encodeError('VALUE_RANGE', name, `code ${c} is not in 300..699`);
  if (typeof reason !== 'string') throw encodeError('VALUE_TYPE', name, 'reason must be a string');
  const n = utf8Length(reason);
  if (n > MAX_REASON_BYTES) throw encodeError('VALUE_LENGTH', name, `reason is ${n} bytes, at most ${MAX_REASON_BYTES}`);
  return 4 + n;
}

/**
 * The reason phrase of ERROR-CODE or ADDRESS-ERROR-CODE without trailing NULs: some servers (coturn) count
 * their padding into the attribute length, and a NUL is never part of RFC 8489 §14.8's UTF-8 text.
 */
function readReason(bytes: Uint8Array, start: number, end: number): string {
  while (end > start && bytes[end - 1] === 0) end--;
  return readUtf8(bytes, start, end);
}

/**
 * Whether a code and reason at bytes[offset, offset + length) would not be written back as received: bits
 * set in the 21 reserved bits before the class (RFC 8489 §14.8; ADDRESS-ERROR-CODE has the family in the
 * first byte, `from` 1), trailing NULs, text that is not UTF-8 or over 763 bytes.
 */
function codeAndReasonLossy(bytes: Uint8Array, offset: number, length: number, from: number): boolean {
  const end = offset + length;
  return (
    anyNonzero(bytes, offset + from, offset + 2) ||
    (bytes[offset + 2] & 0xf8) !== 0 ||
    length - 4 > MAX_REASON_BYTES ||
    (length > 4 && bytes[end - 1] === 0) ||
    !isExactUtf8(bytes, offset + 4, end)
  );
}

function writeCodeAndReason(code: number, reason: string, bytes: Uint8Array, offset: number, length: number): void {
  bytes[offset + 2] = Math.floor(code / 100);
  bytes[offset + 3] = code % 100;
  writeUtf8(reason, bytes, offset + 4, length - 4);
}

/** ERROR-CODE, RFC 8489 §14.8. */
export function errorCodeCodec(name: string): StunAttributeCodec<StunErrorCode> {
  return {
    decode(bytes, _view, offset, length) {
      if (length < 4) throw lengthError(name, offset, length, 'at least 4');
      return { code: readCode(name, bytes, offset), reason: readReason(bytes, offset + 4, offset + length) };
    },
    lossy: (bytes, offset, length) => codeAndReasonLossy(bytes, offset, length, 0),
    size(value) {
      checkObject(name, value, '{ code, reason }');
      return checkCodeAndReason(name, value.code, value.reason);
    },
    write: (value, bytes, _view, offset, length) => writeCodeAndReason(value.code, value.reason, bytes, offset, length),
  };
}

const FAMILIES: readonly (AddressFamily | undefined)[] = [undefined, 'IPv4', 'IPv6'];

function readFamily(name: string, bytes: Uint8Array, offset: number): AddressFamily {
  const family = FAMILIES[bytes[offset]];
  if (family === undefined) throw valueError(name, offset, `family ${bytes[offset]}, need 1 (IPv4) or 2 (IPv6)`);
  return family;
}

function familyByte(name: string, family: unknown): number {
  if (family === 'IPv4') return 1;
  if (family === 'IPv6') return 2;
  throw encodeError('VALUE_TYPE', name, `family must be 'IPv4' or 'IPv6', got ${String(family)}`);
}

/** ADDRESS-ERROR-CODE, RFC 8656 §18.12: ERROR-CODE with the family in the first byte. */
export function addressErrorCodeCodec(name: string): StunAttributeCodec<StunAddressErrorCode> {
  return {
    decode(bytes, _view, offset, length) {
      if (length < 4) throw lengthError(name, offset, length, 'at least 4');
      const family = readFamily(name, bytes, offset);
      return { family, code: readCode(name, bytes, offset), reason: readReason(bytes, offset + 4, offset + length) };
    },
    lossy: (bytes, offset, length) => codeAndReasonLossy(bytes, offset, length, 1),
    size(value) {
      checkObject(name, value, '{ family, code, reason }');
      familyByte(name, value.family);
      return checkCodeAndReason(name, value.code, value.reason);
    },
    write(value, bytes, _view, offset, length) {
      bytes[offset] = familyByte(name, value.family);
      writeCodeAndReason(value.code, value.reason, bytes, offset, length);
    },
  };
}

/** REQUESTED-ADDRESS-FAMILY and ADDITIONAL-ADDRESS-FAMILY, RFC 8656 §18.6, §18.11: family then 3 reserved bytes. */
export function familyCodec(name: string): StunAttributeCodec<AddressFamily> {
  return {
    decode(bytes, _view, offset, length) {
      if (length !== 4) throw lengthError(name, offset, length, '4');
      return readFamily(name, bytes, offset);
    },
    lossy: (bytes, offset) => anyNonzero(bytes, offset + 1, offset + 4),
    size(value) {
      familyByte(name, value);
      return 4;
    },
    write(value, bytes, _view, offset) {
      bytes[offset] = familyByte(name, value);
    },
  };
}

/** Algorithm, parameters length, parameters padded to 4 (RFC 8489 §14.11); returns the end, or -1. */
function readAlgorithm(bytes: Uint8Array, view: DataView, at: number, end: number, out: StunPasswordAlgorithm[]): number {
  if (end - at < 4) return -1;
  const n = view.getUint16(at + 2);
  const next = at + 4 + pad4(n);
  if (next > end) return -1;
  out.push({ algorithm: view.getUint16(at), parameters: bytes.slice(at + 4, at + 4 + n) });
  return next;
}

/** Whether the padding after any entry's parameters in bytes[offset, end) is nonzero (decoded, so well-framed). */
function algorithmPaddingNonzero(bytes: Uint8Array, offset: number, end: number): boolean {
  for (let at = offset; at + 4 <= end; ) {
    const n = (bytes[at + 2] << 8) | bytes[at + 3];
    const next = at + 4 + pad4(n);
    if (anyNonzero(bytes, at + 4 + n, next)) return true;
    at = next;
  }
  return false;
}

function checkAlgorithm(name: string, value: unknown): number {
  checkObject(name, value, '{ algorithm, parameters }');
  const entry = value as StunPasswordAlgorithm;
  checkUint(name, entry.algorithm, 0xffff, 'algorithm');
  const n = checkBytes(name, entry.parameters).length;
  if (n > 0xffff) throw encodeError('VALUE_LENGTH', name, `parameters are ${n} bytes, at most 65535`);
  return 4 + pad4(n);
}

function writeAlgorithm(entry: StunPasswordAlgorithm, bytes: Uint8Array, view: DataView, at: number): number {
  view.setUint16(at, entry.algorithm);
  view.setUint16(at + 2, entry.parameters.length);
  bytes.set(entry.parameters, at + 4);
  return at + 4 + pad4(entry.parameters.length);
}

/** PASSWORD-ALGORITHMS, RFC 8489 §14.11. */
export function passwordAlgorithmsCodec(name: string): StunAttributeCodec<readonly StunPasswordAlgorithm[]> {
  return {
    decode(bytes, view, offset, length) {
      const list: StunPasswordAlgorithm[] = [];
      const end = offset + length;
      for (let at = offset; at < end; ) {
        at = readAlgorithm(bytes, view, at, end, list);
        if (at < 0) throw valueError(name, offset, `entry ${list.length} runs past the value (length ${length})`);
      }
      return list;
    },
    lossy: (bytes, offset, length) => algorithmPaddingNonzero(bytes, offset, offset + length),
    size(value) {
      if (!Array.isArray(value)) throw encodeError('VALUE_TYPE', name, 'value must be an array');
      let n = 0;
      for (const entry of value) n += checkAlgorithm(name, entry);
      return n;
    },
    write(value, bytes, view, offset) {
      let at = offset;
      for (const entry of value) at = writeAlgorithm(entry, bytes, view, at);
    },
  };
}

/** PASSWORD-ALGORITHM, RFC 8489 §14.12: one entry filling the value. */
export function passwordAlgorithmCodec(name: string): StunAttributeCodec<StunPasswordAlgorithm> {
  return {
    decode(bytes, view, offset, length) {
      const list: StunPasswordAlgorithm[] = [];
      if (readAlgorithm(bytes, view, offset, offset + length, list) !== offset + length) {
        throw lengthError(name, offset, length, '4 + parameters length padded to 4');
      }
      return list[0];
    },
    lossy: (bytes, offset, length) => algorithmPaddingNonzero(bytes, offset, offset + length),
    size: (value) => checkAlgorithm(name, value),
    write(value, bytes, view, offset) {
      writeAlgorithm(value, bytes, view, offset);
    },
  };
}

/** UNKNOWN-ATTRIBUTES, RFC 8489 §14.13: a list of 16-bit types, padded like any attribute. */
export function unknownAttributesCodec(name: string): StunAttributeCodec<readonly number[]> {
  return {
    decode(_bytes, view, offset, length) {
      if (length % 2 !== 0) throw lengthError(name, offset, length, 'a multiple of 2');
      const types: number[] = [];
      for (let at = offset; at < offset + length; at += 2) types.push(view.getUint16(at));
      return types;
    },
    size(value) {
      if (!Array.isArray(value)) throw encodeError('VALUE_TYPE', name, 'value must be an array of attribute types');
      for (const type of value) checkUint(name, type, 0xffff, 'type');
      return 2 * value.length;
    },
    write(value, _bytes, view, offset) {
      for (let i = 0; i < value.length; i++) view.setUint16(offset + 2 * i, value[i]);
    },
  };
}

/** EVEN-PORT, RFC 8656 §18.7: one byte, the R flag in its top bit. */
export function evenPortCodec(name: string): StunAttributeCodec<StunEvenPort> {
  return {
    decode(bytes, _view, offset, length) {
      if (length !== 1) throw lengthError(name, offset, length, '1');
      return { reservePort: (bytes[offset] & 0x80) !== 0 };
    },
    lossy: (bytes, offset) => (bytes[offset] & 0x7f) !== 0,
    size(value) {
      checkObject(name, value, '{ reservePort }');
      return 1;
    },
    write(value, bytes, _view, offset) {
      bytes[offset] = value.reservePort ? 0x80 : 0;
    },
  };
}

/** CHANGE-REQUEST, RFC 5780 §7.2: flags A (change IP, 0x4) and B (change port, 0x2) in the last byte. */
export function changeRequestCodec(name: string): StunAttributeCodec<StunChangeRequest> {
  return {
    decode(bytes, _view, offset, length) {
      if (length !== 4) throw lengthError(name, offset, length, '4');
      const flags = bytes[offset + 3];
      return { changeIp: (flags & 0x04) !== 0, changePort: (flags & 0x02) !== 0 };
    },
    lossy: (bytes, offset) => anyNonzero(bytes, offset, offset + 3) || (bytes[offset + 3] & ~0x06) !== 0,
    size(value) {
      checkObject(name, value, '{ changeIp, changePort }');
      return 4;
    },
    write(value, bytes, _view, offset) {
      bytes[offset + 3] = (value.changeIp ? 0x04 : 0) | (value.changePort ? 0x02 : 0);
    },
  };
}

/**
 * ICMP, RFC 8656 §18.13: 2 reserved bytes, type, code, 4 bytes of error data. Figure 11 draws type and code
 * as 7 and 9 bits; we read one byte each, the only reading that fits ICMP's 8-bit fields.
 */
export function icmpCodec(name: string): StunAttributeCodec<StunIcmp> {
  return {
    decode(bytes, view, offset, length) {
      if (length !== 8) throw lengthError(name, offset, length, '8');
      return { type: bytes[offset + 2], code: bytes[offset + 3], data: view.getUint32(offset + 4) };
    },
    lossy: (bytes, offset) => bytes[offset] !== 0 || bytes[offset + 1] !== 0,
    size(value) {
      checkObject(name, value, '{ type, code, data }');
      checkUint(name, value.type, 0xff, 'type');
      checkUint(name, value.code, 0xff, 'code');
      checkUint(name, value.data, 0xffffffff, 'data');
      return 8;
    },
    write(value, bytes, view, offset) {
      bytes[offset + 2] = value.type;
      bytes[offset + 3] = value.code;
      view.setUint32(offset + 4, value.data);
    },
  };
}
