import { formatIpAt, writeIp } from '../net/ip.js';
import type { TransportAddress } from '../net/transport-address.js';
import { type StunAttributeCodec, checkUint, encodeError, lengthError, valueError } from './attribute-codec.js';
import { MAGIC_COOKIE } from './constants.js';

/** RFC 8489 §14.1: family 0x01 is IPv4 (4 address bytes), 0x02 IPv6 (16). */
const FAMILY_IPV4 = 0x01;
const FAMILY_IPV6 = 0x02;

const scratch = new Uint8Array(16);

/**
 * MAPPED-ADDRESS-shaped attributes (RFC 8489 §14.1), and with `xor` their XOR- forms (§14.2): the port is
 * XORed with the cookie's high 16 bits, the address with the cookie (IPv4) or cookie ‖ transaction ID
 * (IPv6) — which are exactly bytes 4..19 of the message, so both directions XOR with those bytes.
 */
export function addressCodec(xor: boolean) {
  return (name: string): StunAttributeCodec<TransportAddress> => ({
    xor,
    decode(bytes, view, offset, length) {
      if (length < 4) throw lengthError(name, offset, length, '8 or 20');
      const family = bytes[offset + 1];
      const need = family === FAMILY_IPV4 ? 8 : family === FAMILY_IPV6 ? 20 : 0;
      if (need === 0) throw valueError(name, offset, `family ${family}, need 1 (IPv4) or 2 (IPv6)`);
      if (length !== need) throw lengthError(name, offset, length, `${need}`);
      const port = xor ? view.getUint16(offset + 2) ^ (MAGIC_COOKIE >>> 16) : view.getUint16(offset + 2);
      if (!xor) return { address: formatIpAt(bytes, offset + 4, need - 4), port };
      for (let i = 0; i < need - 4; i++) scratch[i] = bytes[offset + 4 + i] ^ bytes[4 + i];
      return { address: formatIpAt(scratch, 0, need - 4), port };
    },
    // The first byte is reserved (§14.1); the address bytes and port always give themselves back.
    lossy: (bytes, offset) => bytes[offset] !== 0,
    size(value) {
      if (typeof value !== 'object' || value === null) throw encodeError('VALUE_TYPE', name, 'value must be { address, port }');
      checkUint(name, value.port, 0xffff, 'port');
      const n = writeIp(value.address, scratch, 0);
      if (n === 0) throw encodeError('ADDRESS', name, `address ${JSON.stringify(value.address)} is not an IP address`);
      return n + 4;
    },
    write(value, bytes, view, offset, length) {
      bytes[offset] = 0;
      bytes[offset + 1] = length === 8 ? FAMILY_IPV4 : FAMILY_IPV6;
      view.setUint16(offset + 2, xor ? value.port ^ (MAGIC_COOKIE >>> 16) : value.port);
      writeIp(value.address, bytes, offset + 4);
      if (xor) for (let i = 0; i < length - 4; i++) bytes[offset + 4 + i] ^= bytes[4 + i];
    },
  });
}

/**
 * XORs an XOR-address value at value[at, at + length) with the header in `header` (bytes 4..19 of its
 * message), in place: the port with the cookie's high 16 bits, the address with cookie ‖ transaction ID
 * (RFC 8489 §14.2). Its own inverse, so it both removes and applies the XOR.
 */
export function xorAddressValue(value: Uint8Array, at: number, length: number, header: Uint8Array): void {
  if (length < 4) return;
  value[at + 2] ^= header[4];
  value[at + 3] ^= header[5];
  for (let i = 0; i < length - 4; i++) value[at + 4 + i] ^= header[4 + i];
}
