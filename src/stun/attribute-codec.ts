import type { StunAttributeName, StunAttributeValues } from './attribute-values.js';
import { StunEncodeError, StunParseError, type StunEncodeErrorCode } from './errors.js';
import { isExactUtf8, readUtf8, utf8Length, writeUtf8 } from './text.js';

/**
 * How one attribute's value goes to and from the wire. `bytes` and `view` span the whole message (offsets
 * count from its first byte, so XOR attributes can read the transaction ID at 8..19); `offset` and
 * `length` delimit the value, without the 4-byte attribute header and without padding.
 */
export interface StunAttributeCodec<T> {
  /** Throws StunParseError (only) for a value this attribute's definition does not allow. */
  decode(bytes: Uint8Array, view: DataView, offset: number, length: number): T;
  /** The value's length before padding; throws StunEncodeError for a value the wire cannot carry. */
  size(value: T): number;
  /** Writes a value that `size` accepted; the header (cookie, transaction ID) is already in `bytes`. */
  write(value: T, bytes: Uint8Array, view: DataView, offset: number, length: number): void;
  /**
   * True where the decoded value, written back, would not give these bytes — nonzero reserved bits, text
   * that is not UTF-8 or longer than a sender may write — so the decoder keeps them as the attribute's
   * `raw` (decode then encode is the identity). Absent: the value always gives its bytes back.
   */
  lossy?(bytes: Uint8Array, offset: number, length: number): boolean;
  /** XOR-address attributes need the magic cookie to decode (RFC 8489 §14.2). */
  readonly xor?: boolean;
}

/** One row of the attribute table. */
export interface StunAttributeRow<N extends StunAttributeName = StunAttributeName>
  extends StunAttributeCodec<StunAttributeValues[N]> {
  readonly type: number;
  readonly name: N;
}

/** Builds a row; `make` gets the name so its error messages can say which attribute failed. */
export function row<N extends StunAttributeName>(
  type: number,
  name: N,
  make: (name: string) => StunAttributeCodec<StunAttributeValues[N]>,
): StunAttributeRow<N> {
  const codec = make(name);
  const r = { type, name, decode: codec.decode, size: codec.size, write: codec.write, xor: codec.xor === true };
  return codec.lossy === undefined ? r : { ...r, lossy: codec.lossy };
}

/** ATTR_LENGTH, reported at the attribute's type field (4 bytes before its value). */
export function lengthError(name: string, valueOffset: number, length: number, need: string): StunParseError {
  return new StunParseError('ATTR_LENGTH', valueOffset - 4, `${name} length ${length}, need ${need}`);
}

export function valueError(name: string, valueOffset: number, reason: string): StunParseError {
  return new StunParseError('ATTR_VALUE', valueOffset - 4, `${name} ${reason}`);
}

export function encodeError(code: StunEncodeErrorCode, name: string, reason: string): StunEncodeError {
  return new StunEncodeError(code, `${name} ${reason}`);
}

/** Checks that `value` is an integer in 0..max, for the encoder. */
export function checkUint(name: string, value: unknown, max: number, what = 'value'): number {
  if (typeof value !== 'number') throw encodeError('VALUE_TYPE', name, `${what} must be a number, got ${typeof value}`);
  if (!Number.isInteger(value) || value < 0 || value > max) {
    throw encodeError('VALUE_RANGE', name, `${what} ${value} is not an integer in 0..${max}`);
  }
  return value;
}

/** Whether any of bytes[from, to) is nonzero: a reserved field a sender set (RFC 8489 §14: ignored on receipt). */
export function anyNonzero(bytes: Uint8Array, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (bytes[i] !== 0) return true;
  return false;
}

export function checkBytes(name: string, value: unknown): Uint8Array {
  if (!(value instanceof Uint8Array)) throw encodeError('VALUE_TYPE', name, 'value must be a Uint8Array');
  return value;
}

/** UTF-8 text; `maxBytes` is enforced when sending only — on receipt any length the header allows is read. */
export function textCodec(maxBytes: number) {
  return (name: string): StunAttributeCodec<string> => ({
    decode: (bytes, _view, offset, length) => readUtf8(bytes, offset, offset + length),
    lossy: (bytes, offset, length) => length > maxBytes || !isExactUtf8(bytes, offset, offset + length),
    size(value) {
      if (typeof value !== 'string') throw encodeError('VALUE_TYPE', name, `must be a string, got ${typeof value}`);
      const n = utf8Length(value);
      if (n > maxBytes) throw encodeError('VALUE_LENGTH', name, `is ${n} bytes of UTF-8, at most ${maxBytes} allowed`);
      return n;
    },
    write: (value, bytes, _view, offset, length) => writeUtf8(value, bytes, offset, length),
  });
}

/** Opaque bytes of a length in min..max that is a multiple of `multiple`; decoded values are copies. */
export function bytesCodec(min: number, max: number, multiple = 1) {
  const need = min === max ? `${min}` : multiple > 1 ? `${min}..${max}, a multiple of ${multiple}` : `${min}..${max}`;
  const ok = (n: number): boolean => n >= min && n <= max && n % multiple === 0;
  return (name: string): StunAttributeCodec<Uint8Array> => ({
    decode(bytes, _view, offset, length) {
      if (!ok(length)) throw lengthError(name, offset, length, need);
      return bytes.slice(offset, offset + length);
    },
    size(value) {
      const n = checkBytes(name, value).length;
      if (!ok(n)) throw encodeError('VALUE_LENGTH', name, `is ${n} bytes, need ${need}`);
      return n;
    },
    write: (value, bytes, _view, offset) => bytes.set(value, offset),
  });
}

export function uint32Codec(name: string): StunAttributeCodec<number> {
  return {
    decode(_bytes, view, offset, length) {
      if (length !== 4) throw lengthError(name, offset, length, '4');
      return view.getUint32(offset);
    },
    size(value) {
      checkUint(name, value, 0xffffffff);
      return 4;
    },
    write: (value, _bytes, view, offset) => view.setUint32(offset, value),
  };
}

const UINT64_MAX = (1n << 64n) - 1n;

/** A 64-bit unsigned number as bigint (STYLE.md 9: beyond 2^53 numbers lose bits). */
export function uint64Codec(name: string): StunAttributeCodec<bigint> {
  return {
    decode(_bytes, view, offset, length) {
      if (length !== 8) throw lengthError(name, offset, length, '8');
      return view.getBigUint64(offset);
    },
    size(value) {
      if (typeof value !== 'bigint') throw encodeError('VALUE_TYPE', name, `must be a bigint, got ${typeof value}`);
      if (value < 0n || value > UINT64_MAX) throw encodeError('VALUE_RANGE', name, `${value} is not in 0..2^64-1`);
      return 8;
    },
    write: (value, _bytes, view, offset) => view.setBigUint64(offset, value),
  };
}

/** A 16-bit number followed by 2 reserved bytes (CHANNEL-NUMBER RFC 8656 §18.1, RESPONSE-PORT RFC 5780 §7.5). */
export function uint16Codec(name: string): StunAttributeCodec<number> {
  return {
    decode(_bytes, view, offset, length) {
      if (length !== 4) throw lengthError(name, offset, length, '4');
      return view.getUint16(offset);
    },
    lossy: (bytes, offset) => bytes[offset + 2] !== 0 || bytes[offset + 3] !== 0,
    size(value) {
      checkUint(name, value, 0xffff);
      return 4;
    },
    write: (value, _bytes, view, offset) => view.setUint16(offset, value),
  };
}

/** An 8-bit number followed by 3 reserved bytes (REQUESTED-TRANSPORT, RFC 8656 §18.8). */
export function uint8Codec(name: string): StunAttributeCodec<number> {
  return {
    decode(bytes, _view, offset, length) {
      if (length !== 4) throw lengthError(name, offset, length, '4');
      return bytes[offset];
    },
    lossy: (bytes, offset) => anyNonzero(bytes, offset + 1, offset + 4),
    size(value) {
      checkUint(name, value, 0xff);
      return 4;
    },
    write(value, bytes, _view, offset) {
      bytes[offset] = value;
    },
  };
}

/** An attribute whose presence is the information: no value (USE-CANDIDATE, DONT-FRAGMENT). */
export function flagCodec(name: string): StunAttributeCodec<true> {
  return {
    decode(_bytes, _view, offset, length) {
      if (length !== 0) throw lengthError(name, offset, length, '0');
      return true;
    },
    size(value) {
      if (value !== true) throw encodeError('VALUE_TYPE', name, 'value must be true');
      return 0;
    },
    write() {},
  };
}
