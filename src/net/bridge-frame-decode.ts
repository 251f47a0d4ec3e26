// Reads bridge frames (layouts in bridge-frame.ts). Every malformation is a BridgeFrameError naming the field
// and its offset; nothing else is thrown. Payloads are views into the input, not copies.
import { utf8Decode } from '../crypto/utf8.js';
import { formatIpAt } from './ip.js';
import type { AddressFamily, TransportAddress } from './transport-address.js';
import {
  BRIDGE_PROTOCOL_VERSIONS,
  BridgeFrameError,
  BridgeFrameType,
  ERROR_CODE_PATTERN,
  isHostName,
  MAX_ERROR_CODE,
  MAX_RESOLVED_ADDRESSES,
  type BridgeFrame,
  type BridgeLimits,
  type ErrorFrame,
  type ResolvedAddress,
} from './bridge-frame-types.js';

/** A bounds-checked reader: every overrun becomes a TRUNCATED error naming the field. */
class Reader {
  offset = 0;
  private readonly view: DataView;
  constructor(readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  need(count: number, field: string): void {
    if (this.offset + count > this.bytes.length) {
      throw new BridgeFrameError('TRUNCATED', this.offset, `${field} needs ${count} byte(s), ${this.bytes.length - this.offset} left`);
    }
  }
  u8(field: string): number {
    this.need(1, field);
    return this.bytes[this.offset++];
  }
  u16(field: string): number {
    this.need(2, field);
    const v = this.view.getUint16(this.offset);
    this.offset += 2;
    return v;
  }
  u32(field: string): number {
    this.need(4, field);
    const v = this.view.getUint32(this.offset);
    this.offset += 4;
    return v;
  }
  family(field: string): AddressFamily {
    const at = this.offset;
    const f = this.u8(field);
    if (f === 4) return 'IPv4';
    if (f === 6) return 'IPv6';
    throw new BridgeFrameError('FAMILY', at, `${field} is ${f}, need 4 or 6`);
  }
  address(field: string): string {
    const length = this.family(`${field} family`) === 'IPv6' ? 16 : 4;
    this.need(length, field);
    const text = formatIpAt(this.bytes, this.offset, length);
    this.offset += length;
    return text;
  }
  transportAddress(field: string): TransportAddress {
    const address = this.address(`${field} address`);
    return { address, port: this.u16(`${field} port`) };
  }
  /** A count byte and that many addresses. */
  addressList(): string[] {
    const count = this.u8('host address count');
    const out: string[] = [];
    for (let i = 0; i < count; i++) out.push(this.address(`host address ${i}`));
    return out;
  }
  /** A length-prefixed ASCII host name; '' only where `allowEmpty`. */
  hostName(field: string, allowEmpty: boolean): string {
    const at = this.offset;
    const length = this.u8(`${field} length`);
    this.need(length, field);
    let name = '';
    for (let i = 0; i < length; i++) name += String.fromCharCode(this.bytes[this.offset + i]);
    if (!(allowEmpty && length === 0) && !isHostName(name)) throw new BridgeFrameError('VALUE', at, `${field} is not a host name`);
    this.offset += length;
    return name;
  }
  end(type: string): void {
    if (this.offset !== this.bytes.length) {
      throw new BridgeFrameError('LENGTH', this.offset, `${this.bytes.length - this.offset} byte(s) after the end of a ${type} frame`);
    }
  }
}

function decodeHello(r: Reader): BridgeFrame {
  const version = r.u8('version');
  if (!BRIDGE_PROTOCOL_VERSIONS.includes(version)) {
    throw new BridgeFrameError('VERSION', 1, `protocol version ${version}, this code speaks ${BRIDGE_PROTOCOL_VERSIONS.join(' and ')}`);
  }
  const limits: BridgeLimits = {
    maxSockets: r.u16('maxSockets'),
    maxPayload: r.u16('maxPayload'),
    packetsPerSecond: r.u32('packetsPerSecond'),
    bytesPerSecond: r.u32('bytesPerSecond'),
    idleTimeoutMs: r.u32('idleTimeoutMs'),
  };
  if (version >= 2) {
    limits.maxStreams = r.u16('maxStreams');
    limits.streamWindow = r.u32('streamWindow');
    limits.maxConcurrentLookups = r.u16('maxConcurrentLookups');
    limits.lookupsPerSecond = r.u32('lookupsPerSecond');
    limits.features = r.u8('features');
  }
  r.end('hello');
  return { type: 'hello', version, limits };
}

function decodeError(r: Reader, bytes: Uint8Array): ErrorFrame {
  const flags = r.u8('flags');
  if (flags & ~7) throw new BridgeFrameError('VALUE', 1, `unknown error frame flags 0x${flags.toString(16)}`);
  const frame: ErrorFrame = { type: 'error', code: '', reason: '' };
  if (flags & 1) frame.requestId = r.u32('request id');
  if (flags & 2) frame.socketId = r.u16('socket id');
  if (flags & 4) frame.destination = r.transportAddress('destination');
  const codeAt = r.offset;
  const codeLength = r.u8('code length');
  r.need(codeLength, 'code');
  let code = '';
  for (let i = 0; i < codeLength; i++) code += String.fromCharCode(bytes[r.offset + i]);
  if (codeLength > MAX_ERROR_CODE || !ERROR_CODE_PATTERN.test(code)) {
    throw new BridgeFrameError('VALUE', codeAt, `an error code is 1..${MAX_ERROR_CODE} of [a-z0-9-]`);
  }
  r.offset += codeLength;
  frame.code = code;
  frame.reason = utf8Decode(bytes, r.offset, bytes.length);
  return frame;
}

/** Decodes one frame of any version; which frames a session may carry is the session's business. */
export function decodeBridgeFrame(bytes: Uint8Array): BridgeFrame {
  if (bytes.length === 0) throw new BridgeFrameError('EMPTY', 0, 'a frame has at least a type byte');
  const r = new Reader(bytes);
  const type = r.u8('type');
  switch (type) {
    case BridgeFrameType.data: {
      const socketId = r.u16('socket id');
      const peer = r.transportAddress('peer');
      return { type: 'data', socketId, peer, payload: bytes.subarray(r.offset) };
    }
    case BridgeFrameType.stream: {
      const streamId = r.u16('stream id');
      return { type: 'stream', streamId, payload: bytes.subarray(r.offset) };
    }
    case BridgeFrameType.hello:
      return decodeHello(r);
    case BridgeFrameType.bind: {
      const requestId = r.u32('request id');
      const family = r.family('family');
      const port = r.u16('port');
      const connect = r.offset < bytes.length ? r.transportAddress('connect') : undefined;
      r.end('bind');
      return connect ? { type: 'bind', requestId, family, port, connect } : { type: 'bind', requestId, family, port };
    }
    case BridgeFrameType.bound:
    case BridgeFrameType.listening: {
      const bound = type === BridgeFrameType.bound;
      const requestId = r.u32('request id');
      const id = r.u16(bound ? 'socket id' : 'listener id');
      const local = r.transportAddress('local');
      const hostAddresses = r.addressList();
      r.end(bound ? 'bound' : 'listening');
      return bound ? { type: 'bound', requestId, socketId: id, local, hostAddresses } : { type: 'listening', requestId, listenerId: id, local, hostAddresses };
    }
    case BridgeFrameType.hostAddresses: {
      const socketId = r.u16('socket id');
      const hostAddresses = r.addressList();
      r.end('host-addresses');
      return { type: 'host-addresses', socketId, hostAddresses };
    }
    case BridgeFrameType.listen: {
      const requestId = r.u32('request id');
      const family = r.family('family');
      const port = r.u16('port');
      const window = r.u32('window');
      r.end('listen');
      return { type: 'listen', requestId, family, port, window };
    }
    case BridgeFrameType.accepted: {
      const listenerId = r.u16('listener id');
      const streamId = r.u16('stream id');
      const local = r.transportAddress('local');
      const remote = r.transportAddress('remote');
      const window = r.u32('window');
      r.end('accepted');
      return { type: 'accepted', listenerId, streamId, local, remote, window };
    }
    case BridgeFrameType.close: {
      const socketId = r.u16('socket id');
      r.end('close');
      return { type: 'close', socketId };
    }
    case BridgeFrameType.end: {
      const streamId = r.u16('stream id');
      r.end('end');
      return { type: 'end', streamId };
    }
    case BridgeFrameType.window: {
      const streamId = r.u16('stream id');
      const increment = r.u32('window increment');
      r.end('window');
      return { type: 'window', streamId, increment };
    }
    case BridgeFrameType.error:
      return decodeError(r, bytes);
    case BridgeFrameType.resolve: {
      const requestId = r.u32('request id');
      const at = r.offset;
      const bits = r.u8('families');
      if ((bits & 3) === 0 || bits & ~7) throw new BridgeFrameError('VALUE', at, `families 0x${bits.toString(16)}: need 1 (A), 2 (AAAA) or 3, and 4 (mDNS) at most`);
      const families: AddressFamily[] = [];
      if (bits & 1) families.push('IPv4');
      if (bits & 2) families.push('IPv6');
      const name = r.hostName('name', false);
      r.end('resolve');
      return bits & 4 ? { type: 'resolve', requestId, name, families, mdns: true } : { type: 'resolve', requestId, name, families };
    }
    case BridgeFrameType.resolved: {
      const requestId = r.u32('request id');
      const at = r.offset;
      const count = r.u8('address count');
      if (count > MAX_RESOLVED_ADDRESSES) throw new BridgeFrameError('VALUE', at, `${count} addresses, at most ${MAX_RESOLVED_ADDRESSES}`);
      const addresses: ResolvedAddress[] = [];
      for (let i = 0; i < count; i++) {
        const address = r.address(`address ${i}`);
        addresses.push({ address, ttl: r.u32(`ttl ${i}`) });
      }
      r.end('resolved');
      return { type: 'resolved', requestId, addresses };
    }
    case BridgeFrameType.connect: {
      const requestId = r.u32('request id');
      const at = r.offset;
      const flags = r.u8('flags');
      if (flags & ~1) throw new BridgeFrameError('VALUE', at, `unknown connect flags 0x${flags.toString(16)}`);
      const remote = r.transportAddress('remote');
      const window = r.u32('window');
      const serverName = r.hostName('server name', true);
      r.end('connect');
      return { type: 'connect', requestId, remote, tls: (flags & 1) !== 0, serverName, window };
    }
    case BridgeFrameType.connected: {
      const requestId = r.u32('request id');
      const streamId = r.u16('stream id');
      const local = r.transportAddress('local');
      const remote = r.transportAddress('remote');
      const window = r.u32('window');
      r.end('connected');
      return { type: 'connected', requestId, streamId, local, remote, window };
    }
    case BridgeFrameType.mdnsRegister: {
      const requestId = r.u32('request id');
      const address = r.address('address');
      const name = r.hostName('name', false);
      r.end('mdns-register');
      return { type: 'mdns-register', requestId, address, name };
    }
    case BridgeFrameType.mdnsRegistered: {
      const requestId = r.u32('request id');
      r.end('mdns-registered');
      return { type: 'mdns-registered', requestId };
    }
    case BridgeFrameType.mdnsUnregister: {
      const name = r.hostName('name', false);
      r.end('mdns-unregister');
      return { type: 'mdns-unregister', name };
    }
    default:
      throw new BridgeFrameError('UNKNOWN_TYPE', 0, `frame type 0x${type.toString(16).padStart(2, '0')}`);
  }
}
