import { toHex } from '../crypto/index.js';
import { formatTransportAddress } from '../net/transport-address.js';
import { attributeByType } from './attributes.js';
import type { StunAttribute, StunRawAttribute } from './attribute-values.js';
import { StunMethod, type StunClass } from './constants.js';
import { attributeTypeHex } from './decode.js';
import type { StunMessage } from './message.js';

export interface StunAttributeDescription {
  /** `0x0020` */
  type: string;
  /** The RFC name, or 'UNKNOWN' for a type not in the table. */
  name: string;
  value: unknown;
  /** Present when a known attribute was kept as bytes (an XOR address without the magic cookie). */
  raw?: true;
}

export interface StunMessageDescription {
  method: string;
  class: StunClass;
  transactionId: string;
  hasMagicCookie?: false;
  attributes: StunAttributeDescription[];
  unknownComprehensionRequired?: string[];
  ignoredAttributes?: StunAttributeDescription[];
}

const METHOD_NAMES = new Map<number, string>(Object.entries(StunMethod).map(([name, value]) => [value, name]));

/**
 * A JSON-friendly view for people (the CLI's `decode`): addresses as `192.0.2.1:32853` / `[::1]:3478`,
 * bigints as decimal strings, bytes as hex, FINGERPRINT as 0x-hex.
 */
export function describeStunMessage(message: StunMessage): StunMessageDescription {
  const description: StunMessageDescription = {
    method: METHOD_NAMES.get(message.method) ?? `0x${message.method.toString(16).padStart(3, '0')}`,
    class: message.class,
    transactionId: toHex(message.transactionId),
    attributes: message.attributes.map(describeAttribute),
  };
  if (!message.hasMagicCookie) description.hasMagicCookie = false;
  if (message.unknownComprehensionRequired.length > 0) {
    description.unknownComprehensionRequired = message.unknownComprehensionRequired.map(attributeTypeHex);
  }
  if (message.ignoredAttributes.length > 0) description.ignoredAttributes = message.ignoredAttributes.map(describeAttribute);
  return description;
}

function describeAttribute(attribute: StunAttribute | StunRawAttribute): StunAttributeDescription {
  const type = attributeTypeHex(attribute.type);
  if (attribute.name === undefined) {
    const known = attributeByType(attribute.type);
    const description: StunAttributeDescription = { type, name: known?.name ?? 'UNKNOWN', value: toHex(attribute.value) };
    if (known !== undefined) description.raw = true;
    return description;
  }
  if (attribute.name === 'FINGERPRINT') return { type, name: attribute.name, value: `0x${attribute.value.toString(16).padStart(8, '0')}` };
  return { type, name: attribute.name, value: describeValue(attribute.value) };
}

function describeValue(value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Uint8Array) return toHex(value);
  if (Array.isArray(value)) return value.map(describeValue);
  if (typeof value === 'object' && value !== null) {
    const object = value as Record<string, unknown>;
    if (typeof object.address === 'string' && typeof object.port === 'number' && Object.keys(object).length === 2) {
      return formatTransportAddress({ address: object.address, port: object.port });
    }
    const out: Record<string, unknown> = {};
    for (const [key, field] of Object.entries(object)) out[key] = describeValue(field);
    return out;
  }
  return value;
}
