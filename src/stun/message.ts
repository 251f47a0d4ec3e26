import { attributeByName } from './attributes.js';
import type {
  StunAttribute,
  StunAttributeEntry,
  StunAttributeName,
  StunAttributeValues,
  StunIgnoredAttribute,
} from './attribute-values.js';
import { MAGIC_COOKIE, type StunClass } from './constants.js';
import { StunEncodeError } from './errors.js';
import { classBits } from './header.js';

const NONE: readonly never[] = Object.freeze([]);

/**
 * A STUN message: decoded from bytes (`decodeStunMessage`) or built to be sent (`createStunMessage`).
 * Attributes are in wire order; per RFC 8489 §14 a receiver uses the first of duplicates, as `get` does.
 */
export class StunMessage {
  readonly method: number;
  readonly class: StunClass;
  /** The 96-bit transaction ID (RFC 8489 §5), a copy the message owns. */
  readonly transactionId: Uint8Array;
  /**
   * Bytes 4..7 of the header: MAGIC_COOKIE, or in an RFC 3489 message the first 32 bits of its 128-bit
   * transaction ID, which a response must echo (RFC 8489 §12).
   */
  readonly cookie: number;
  readonly attributes: readonly StunAttribute[];
  /** Comprehension-required types (0x0000-0x7FFF) not in the table, in wire order: a server answers 420. */
  readonly unknownComprehensionRequired: readonly number[];
  /**
   * Attributes after MESSAGE-INTEGRITY(-SHA256) that RFC 8489 §9 says to ignore, kept raw and not decoded,
   * each with its place among `attributes`; the encoder writes them back there.
   */
  readonly ignoredAttributes: readonly StunIgnoredAttribute[];
  /**
   * The bytes this message was decoded from — not copied, so do not reuse that buffer while the message is
   * needed for integrity checks — or undefined for a created message.
   */
  readonly raw: Uint8Array | undefined;
  /** Offset in `raw` of the MESSAGE-INTEGRITY attribute's type field, or -1. */
  readonly integrityOffset: number;
  /** Offset in `raw` of the MESSAGE-INTEGRITY-SHA256 attribute's type field, or -1. */
  readonly integritySha256Offset: number;
  /** Offset in `raw` of the FINGERPRINT attribute (already checked by the decoder), or -1. */
  readonly fingerprintOffset: number;

  /** @internal Use createStunMessage or decodeStunMessage. */
  constructor(
    method: number,
    cls: StunClass,
    transactionId: Uint8Array,
    cookie: number,
    attributes: readonly StunAttribute[],
    unknownComprehensionRequired: readonly number[] = NONE,
    ignoredAttributes: readonly StunIgnoredAttribute[] = NONE,
    raw: Uint8Array | undefined = undefined,
    integrityOffset = -1,
    integritySha256Offset = -1,
    fingerprintOffset = -1,
  ) {
    this.method = method;
    this.class = cls;
    this.transactionId = transactionId;
    this.cookie = cookie;
    this.attributes = attributes;
    this.unknownComprehensionRequired = unknownComprehensionRequired;
    this.ignoredAttributes = ignoredAttributes;
    this.raw = raw;
    this.integrityOffset = integrityOffset;
    this.integritySha256Offset = integritySha256Offset;
    this.fingerprintOffset = fingerprintOffset;
  }

  /** False for an RFC 3489 message: answer it with MAPPED-ADDRESS, since XOR attributes need the cookie. */
  get hasMagicCookie(): boolean {
    return this.cookie === MAGIC_COOKIE;
  }

  /** The value of the first attribute called `name`. */
  get<N extends StunAttributeName>(name: N): StunAttributeValues[N] | undefined {
    const attributes = this.attributes;
    for (let i = 0; i < attributes.length; i++) {
      if (attributes[i].name === name) return attributes[i].value as StunAttributeValues[N];
    }
    return undefined;
  }

  /** The values of every attribute called `name`, in wire order. */
  getAll<N extends StunAttributeName>(name: N): StunAttributeValues[N][] {
    const values: StunAttributeValues[N][] = [];
    for (const attribute of this.attributes) {
      if (attribute.name === name) values.push(attribute.value as StunAttributeValues[N]);
    }
    return values;
  }

  has(name: StunAttributeName): boolean {
    const attributes = this.attributes;
    for (let i = 0; i < attributes.length; i++) if (attributes[i].name === name) return true;
    return false;
  }
}

export interface StunMessageInit {
  method: number;
  class: StunClass;
  /** Default: randomTransactionId(). */
  transactionId?: Uint8Array;
  /** `['USERNAME', 'a:b']`, `[0x8055, rawBytes]`, or attribute objects taken from another message. */
  attributes?: readonly (StunAttributeEntry | StunAttribute)[];
  /** Only to answer an RFC 3489 request: echo its `cookie` (the first 32 bits of its transaction ID). */
  cookie?: number;
}

/**
 * A message to send: `createStunMessage({ method: StunMethod.Binding, class: 'request', attributes:
 * [['USERNAME', 'a:b'], ['PRIORITY', 123]] })`. Values are checked when encoded.
 */
export function createStunMessage(init: StunMessageInit): StunMessage {
  const { method, transactionId = randomTransactionId(), cookie = MAGIC_COOKIE } = init;
  if (!Number.isInteger(method) || method < 0 || method > 0xfff) {
    throw new StunEncodeError('HEADER', `method ${method} is not a 12-bit number`);
  }
  if (classBits(init.class) < 0) throw new StunEncodeError('HEADER', `class ${String(init.class)} is not a STUN class`);
  if (!(transactionId instanceof Uint8Array) || transactionId.length !== 12) {
    throw new StunEncodeError('HEADER', 'transaction ID must be 12 bytes');
  }
  const entries = init.attributes ?? NONE;
  const attributes: StunAttribute[] = new Array<StunAttribute>(entries.length);
  for (let i = 0; i < entries.length; i++) attributes[i] = toAttribute(entries[i]);
  return new StunMessage(method, init.class, transactionId.slice(), cookie >>> 0, attributes);
}

function toAttribute(entry: StunAttributeEntry | StunAttribute): StunAttribute {
  if (!Array.isArray(entry)) return entry as StunAttribute;
  const [key, value] = entry as readonly [string | number, unknown];
  if (typeof key === 'number') {
    if (!Number.isInteger(key) || key < 0 || key > 0xffff) {
      throw new StunEncodeError('VALUE_RANGE', `attribute type ${key} is not a 16-bit number`);
    }
    if (!(value instanceof Uint8Array)) throw new StunEncodeError('VALUE_TYPE', `raw attribute 0x${key.toString(16)} needs a Uint8Array`);
    return { type: key, name: undefined, value, padding: 0 };
  }
  const row = attributeByName(key);
  if (row === undefined) throw new StunEncodeError('UNKNOWN_NAME', `no attribute is called ${JSON.stringify(key)}`);
  return { type: row.type, name: row.name, value, padding: 0 } as StunAttribute;
}

/** 96 cryptographically random bits, as RFC 8489 §5 requires (WebCrypto, global in browsers and Node ≥ 20). */
export function randomTransactionId(): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(12));
}
