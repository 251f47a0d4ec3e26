// A frozen copy of the version 1 frame codec (commit 215d592), for the v1 client beside it and the fake v1
// bridge of test/bridge/compat.test.ts.
// The bridge's wire format: one binary frame per WebSocket message, shared by the Node bridge (bridge/)
// and the browser client (bridge-client.ts). Integers are big-endian; addresses are raw network-order bytes.
//
//   data   0x00 [socket u16][family u8: 4|6][address 4|16][port u16][payload…]     both ways, the hot path
//   hello  0x01 [version u8][maxSockets u16][maxPayload u16][packets/s u32][bytes/s u32][idle ms u32]
//   bind   0x02 [request u32][family u8][port u16 (0 = any)]                          client → bridge
//   bound  0x03 [request u32][socket u16][family u8][address][port u16][count u8]
//               count × ([family u8][address])  — the bridge host's interface addresses   bridge → client
//   close  0x04 [socket u16]                                                           both ways
//   error  0x05 [flags u8: 1 = request, 2 = socket][request u32]?[socket u16]?[code length u8][code ASCII]
//               [reason UTF-8…]                                                        bridge → client
//
// The bridge's hello names the protocol version; a client that does not speak it closes. Every frame has an
// exact length: trailing bytes are an error, so a future layout cannot be misread as this one.
import { formatIpAt, writeIp } from '../../../src/net/ip.js';
import type { AddressFamily, TransportAddress } from '../../../src/net/transport-address.js';
import { utf8Decode, utf8Encode } from '../../../src/crypto/utf8.js';

export const BRIDGE_PROTOCOL_VERSION = 1;

export const BridgeFrameType = { data: 0x00, hello: 0x01, bind: 0x02, bound: 0x03, close: 0x04, error: 0x05 } as const;

/** Largest data frame header: type, socket, family, IPv6 address, port. */
export const DATA_HEADER_MAX = 1 + 2 + 1 + 16 + 2;
/** The largest UDP payload over IPv4 (65 535 − 20 IP − 8 UDP); no datagram carries more. */
export const MAX_UDP_PAYLOAD = 65_507;
const MAX_ERROR_CODE = 64;
/** Longer reasons are cut on encode: an error frame explains, it does not carry data. */
export const MAX_ERROR_REASON_BYTES = 1024;

/** The limits a bridge session runs under, announced in its hello. */
export interface BridgeLimits {
  maxSockets: number;
  maxPayload: number;
  packetsPerSecond: number;
  bytesPerSecond: number;
  idleTimeoutMs: number;
}

export interface DataFrame {
  type: 'data';
  socketId: number;
  /** The destination (client → bridge) or the source (bridge → client) of the datagram. */
  peer: TransportAddress;
  payload: Uint8Array;
}
export interface HelloFrame {
  type: 'hello';
  version: number;
  limits: BridgeLimits;
}
export interface BindFrame {
  type: 'bind';
  requestId: number;
  family: AddressFamily;
  /** 0 lets the bridge pick a free port. */
  port: number;
}
export interface BoundFrame {
  type: 'bound';
  requestId: number;
  socketId: number;
  local: TransportAddress;
  hostAddresses: string[];
}
export interface CloseFrame {
  type: 'close';
  socketId: number;
}
export interface ErrorFrame {
  type: 'error';
  /** A stable lowercase code such as `destination-denied`. */
  code: string;
  reason: string;
  requestId?: number;
  socketId?: number;
}
export type BridgeFrame = DataFrame | HelloFrame | BindFrame | BoundFrame | CloseFrame | ErrorFrame;

/**
 * Why bytes are not a bridge frame:
 * - `EMPTY`         a zero-length message
 * - `UNKNOWN_TYPE`  the first byte names no frame type
 * - `TRUNCATED`     the frame ends inside a field
 * - `LENGTH`        bytes follow the last field of a fixed-length frame
 * - `FAMILY`        an address family byte other than 4 or 6
 * - `VERSION`       a hello of a protocol version this code does not speak
 * - `VALUE`         a field of the right size with a value the protocol forbids (error code text, flags)
 */
export type BridgeFrameErrorCode = 'EMPTY' | 'UNKNOWN_TYPE' | 'TRUNCATED' | 'LENGTH' | 'FAMILY' | 'VERSION' | 'VALUE';

/** Malformed frame bytes: the only thing `decodeBridgeFrame` throws. */
export class BridgeFrameError extends Error {
  override readonly name = 'BridgeFrameError';
  constructor(
    readonly code: BridgeFrameErrorCode,
    readonly offset: number,
    readonly reason: string,
  ) {
    super(`${code} at ${offset}: ${reason}`);
  }
}

const ERROR_CODE_PATTERN = /^[a-z0-9][a-z0-9-]*$/;

// ---- encoding -------------------------------------------------------------------------------------------

function familyByte(family: AddressFamily): 4 | 6 {
  return family === 'IPv6' ? 6 : 4;
}

function checkUint(name: string, value: number, max: number): void {
  if (!Number.isInteger(value) || value < 0 || value > max) throw new RangeError(`${name} must be an integer in 0..${max}, got ${value}`);
}

/** Writes an address with its family byte at `offset`; returns the offset after it. */
function writeAddress(out: Uint8Array, offset: number, address: string): number {
  const length = writeIp(address, out, offset + 1);
  if (length === 0) throw new TypeError(`not an IP address: ${JSON.stringify(address)}`);
  out[offset] = length === 16 ? 6 : 4;
  return offset + 1 + length;
}

/**
 * A data frame in one allocation, the payload copied once. Throws TypeError/RangeError for a bad address,
 * socket or port: callers holding peer-supplied values check them first.
 */
export function encodeDataFrame(socketId: number, peer: TransportAddress, payload: Uint8Array): Uint8Array {
  checkUint('socket id', socketId, 0xffff);
  checkUint('port', peer.port, 0xffff);
  const scratch = new Uint8Array(DATA_HEADER_MAX + payload.length);
  const view = new DataView(scratch.buffer);
  scratch[0] = BridgeFrameType.data;
  view.setUint16(1, socketId);
  let at = writeAddress(scratch, 3, peer.address);
  view.setUint16(at, peer.port);
  at += 2;
  scratch.set(payload, at);
  const length = at + payload.length;
  return length === scratch.length ? scratch : scratch.subarray(0, length);
}

export function encodeBridgeFrame(frame: BridgeFrame): Uint8Array {
  switch (frame.type) {
    case 'data':
      return encodeDataFrame(frame.socketId, frame.peer, frame.payload);
    case 'hello': {
      const l = frame.limits;
      checkUint('version', frame.version, 0xff);
      checkUint('maxSockets', l.maxSockets, 0xffff);
      checkUint('maxPayload', l.maxPayload, 0xffff);
      for (const [name, v] of [['packetsPerSecond', l.packetsPerSecond], ['bytesPerSecond', l.bytesPerSecond], ['idleTimeoutMs', l.idleTimeoutMs]] as const) {
        checkUint(name, v, 0xffffffff);
      }
      const out = new Uint8Array(18);
      const view = new DataView(out.buffer);
      out[0] = BridgeFrameType.hello;
      out[1] = frame.version;
      view.setUint16(2, l.maxSockets);
      view.setUint16(4, l.maxPayload);
      view.setUint32(6, l.packetsPerSecond);
      view.setUint32(10, l.bytesPerSecond);
      view.setUint32(14, l.idleTimeoutMs);
      return out;
    }
    case 'bind': {
      checkUint('request id', frame.requestId, 0xffffffff);
      checkUint('port', frame.port, 0xffff);
      const out = new Uint8Array(8);
      const view = new DataView(out.buffer);
      out[0] = BridgeFrameType.bind;
      view.setUint32(1, frame.requestId);
      out[5] = familyByte(frame.family);
      view.setUint16(6, frame.port);
      return out;
    }
    case 'bound': {
      checkUint('request id', frame.requestId, 0xffffffff);
      checkUint('socket id', frame.socketId, 0xffff);
      checkUint('port', frame.local.port, 0xffff);
      if (frame.hostAddresses.length > 0xff) throw new RangeError('at most 255 host addresses fit a bound frame');
      const scratch = new Uint8Array(1 + 4 + 2 + 17 + 2 + 1 + 17 * frame.hostAddresses.length);
      const view = new DataView(scratch.buffer);
      scratch[0] = BridgeFrameType.bound;
      view.setUint32(1, frame.requestId);
      view.setUint16(5, frame.socketId);
      let at = writeAddress(scratch, 7, frame.local.address);
      view.setUint16(at, frame.local.port);
      at += 2;
      scratch[at++] = frame.hostAddresses.length;
      for (const host of frame.hostAddresses) at = writeAddress(scratch, at, host);
      return scratch.slice(0, at);
    }
    case 'close': {
      checkUint('socket id', frame.socketId, 0xffff);
      return Uint8Array.of(BridgeFrameType.close, frame.socketId >> 8, frame.socketId & 0xff);
    }
    case 'error': {
      if (frame.code.length > MAX_ERROR_CODE || !ERROR_CODE_PATTERN.test(frame.code)) {
        throw new RangeError(`an error code is 1..${MAX_ERROR_CODE} of [a-z0-9-], got ${JSON.stringify(frame.code)}`);
      }
      let reason = utf8Encode(frame.reason);
      if (reason.length > MAX_ERROR_REASON_BYTES) reason = utf8Encode(utf8Decode(reason, 0, MAX_ERROR_REASON_BYTES).replace(/\uFFFD$/, ''));
      const hasRequest = frame.requestId !== undefined;
      const hasSocket = frame.socketId !== undefined;
      if (hasRequest) checkUint('request id', frame.requestId!, 0xffffffff);
      if (hasSocket) checkUint('socket id', frame.socketId!, 0xffff);
      const out = new Uint8Array(2 + (hasRequest ? 4 : 0) + (hasSocket ? 2 : 0) + 1 + frame.code.length + reason.length);
      const view = new DataView(out.buffer);
      out[0] = BridgeFrameType.error;
      out[1] = (hasRequest ? 1 : 0) | (hasSocket ? 2 : 0);
      let at = 2;
      if (hasRequest) {
        view.setUint32(at, frame.requestId!);
        at += 4;
      }
      if (hasSocket) {
        view.setUint16(at, frame.socketId!);
        at += 2;
      }
      out[at++] = frame.code.length;
      for (let i = 0; i < frame.code.length; i++) out[at++] = frame.code.charCodeAt(i);
      out.set(reason, at);
      return out;
    }
  }
}

// ---- decoding -------------------------------------------------------------------------------------------

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
  end(type: string): void {
    if (this.offset !== this.bytes.length) {
      throw new BridgeFrameError('LENGTH', this.offset, `${this.bytes.length - this.offset} byte(s) after the end of a ${type} frame`);
    }
  }
}

/** Decodes one frame. Payloads are views into `bytes`, not copies. Throws only BridgeFrameError. */
export function decodeBridgeFrame(bytes: Uint8Array): BridgeFrame {
  if (bytes.length === 0) throw new BridgeFrameError('EMPTY', 0, 'a frame has at least a type byte');
  const r = new Reader(bytes);
  const type = r.u8('type');
  switch (type) {
    case BridgeFrameType.data: {
      const socketId = r.u16('socket id');
      const address = r.address('peer address');
      const port = r.u16('peer port');
      return { type: 'data', socketId, peer: { address, port }, payload: bytes.subarray(r.offset) };
    }
    case BridgeFrameType.hello: {
      const version = r.u8('version');
      if (version !== BRIDGE_PROTOCOL_VERSION) {
        throw new BridgeFrameError('VERSION', 1, `protocol version ${version}, this code speaks ${BRIDGE_PROTOCOL_VERSION}`);
      }
      const limits: BridgeLimits = {
        maxSockets: r.u16('maxSockets'),
        maxPayload: r.u16('maxPayload'),
        packetsPerSecond: r.u32('packetsPerSecond'),
        bytesPerSecond: r.u32('bytesPerSecond'),
        idleTimeoutMs: r.u32('idleTimeoutMs'),
      };
      r.end('hello');
      return { type: 'hello', version, limits };
    }
    case BridgeFrameType.bind: {
      const requestId = r.u32('request id');
      const family = r.family('family');
      const port = r.u16('port');
      r.end('bind');
      return { type: 'bind', requestId, family, port };
    }
    case BridgeFrameType.bound: {
      const requestId = r.u32('request id');
      const socketId = r.u16('socket id');
      const address = r.address('local address');
      const port = r.u16('local port');
      const count = r.u8('host address count');
      const hostAddresses: string[] = [];
      for (let i = 0; i < count; i++) hostAddresses.push(r.address(`host address ${i}`));
      r.end('bound');
      return { type: 'bound', requestId, socketId, local: { address, port }, hostAddresses };
    }
    case BridgeFrameType.close: {
      const socketId = r.u16('socket id');
      r.end('close');
      return { type: 'close', socketId };
    }
    case BridgeFrameType.error: {
      const flags = r.u8('flags');
      if (flags & ~3) throw new BridgeFrameError('VALUE', 1, `unknown error frame flags 0x${flags.toString(16)}`);
      const frame: ErrorFrame = { type: 'error', code: '', reason: '' };
      if (flags & 1) frame.requestId = r.u32('request id');
      if (flags & 2) frame.socketId = r.u16('socket id');
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
    default:
      throw new BridgeFrameError('UNKNOWN_TYPE', 0, `frame type 0x${type.toString(16).padStart(2, '0')}`);
  }
}
