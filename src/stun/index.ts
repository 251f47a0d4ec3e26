// The STUN message codec (RFC 8489, with the attributes of RFC 8445, 8656 and 5780).
export {
  MAGIC_COOKIE,
  FINGERPRINT_XOR,
  HEADER_LENGTH,
  MAX_MESSAGE_LENGTH,
  StunMethod,
  StunAttributeType,
  PasswordAlgorithm,
  TRANSPORT_UDP,
  type StunClass,
  type StunMethodName,
} from './constants.js';
export { StunParseError, StunEncodeError, type StunParseErrorCode, type StunEncodeErrorCode } from './errors.js';
export type {
  StunAttribute,
  StunAttributeEntry,
  StunAttributeName,
  StunAttributeValues,
  StunKnownAttribute,
  StunRawAttribute,
  StunIgnoredAttribute,
  StunErrorCode,
  StunAddressErrorCode,
  StunPasswordAlgorithm,
  StunEvenPort,
  StunChangeRequest,
  StunIcmp,
} from './attribute-values.js';
export type { StunAttributeCodec, StunAttributeRow } from './attribute-codec.js';
export { STUN_ATTRIBUTES, attributeByName, attributeByType, isComprehensionRequired } from './attributes.js';
export { encodeMessageType, methodOfType, classOfType } from './header.js';
export { StunMessage, createStunMessage, randomTransactionId, type StunMessageInit } from './message.js';
export { decodeStunMessage, decodeStunOrUndefined, attributeTypeHex } from './decode.js';
export { encodeStunMessage, type StunEncodeOptions, type StunMessageFields } from './encode.js';
export {
  verifyMessageIntegrity,
  verifyMessageIntegritySha256,
  shortTermKey,
  longTermKey,
  userHash,
  passwordAlgorithmNumber,
  type LongTermAlgorithm,
} from './integrity.js';
export { classifyDatagram, isStunMessage, type DatagramKind, type ClassifyOptions } from './classify.js';
export { describeStunMessage, type StunMessageDescription, type StunAttributeDescription } from './describe.js';
