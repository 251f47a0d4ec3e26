// Writes bridge frames (layouts in bridge-frame.ts). Encoding a value the layout cannot hold throws a
// TypeError or RangeError: callers holding peer-supplied values check them first.
import { utf8Decode, utf8Encode } from '../crypto/utf8.js';
import { writeIp } from './ip.js';
import { checkFamily } from './option-checks.js';
import type { AddressFamily, TransportAddress } from './transport-address.js';
import {
  BridgeFrameType,
  DATA_HEADER_MAX,
  ERROR_CODE_PATTERN,
  isHostName,
  MAX_ERROR_CODE,
  MAX_ERROR_REASON_BYTES,
  MAX_RESOLVED_ADDRESSES,
  STREAM_HEADER,
  type BridgeFrame,
  type BridgeLimits,
  type ErrorFrame,
} from './bridge-frame-types.js';

function familyByte(family: AddressFamily): 4 | 6 {
  checkFamily(family, true);
  return family === 'IPv6' ? 6 : 4;
}

function checkUint(name: string, value: number, max: number): void {
  if (!Number.isInteger(value) || value < 0 || value > max) throw new RangeError(`${name} must be an integer in 0..${max}, got ${value}`);
}

function checkName(name: string, what: string, allowEmpty: boolean): void {
  if (allowEmpty && name === '') return;
  if (!isHostName(name)) throw new TypeError(`${what} is not a host name: ${JSON.stringify(name)}`);
}

/** Writes an address with its family byte at `offset`; returns the offset after it. */
function writeAddress(out: Uint8Array, offset: number, address: string): number {
  const length = writeIp(address, out, offset + 1);
  if (length === 0) throw new TypeError(`not an IP address: ${JSON.stringify(address)}`);
  out[offset] = length === 16 ? 6 : 4;
  return offset + 1 + length;
}

/** Writes a count byte and that many addresses; returns the offset after them. */
function writeAddressList(out: Uint8Array, offset: number, addresses: readonly string[], type: string): number {
  if (addresses.length > 0xff) throw new RangeError(`at most 255 host addresses fit a ${type} frame`);
  out[offset] = addresses.length;
  let at = offset + 1;
  for (const a of addresses) at = writeAddress(out, at, a);
  return at;
}

/** Writes family, address and port; returns the offset after them. */
function writeTransportAddress(out: Uint8Array, view: DataView, offset: number, t: TransportAddress): number {
  checkUint('port', t.port, 0xffff);
  const at = writeAddress(out, offset, t.address);
  view.setUint16(at, t.port);
  return at + 2;
}

function writeAscii(out: Uint8Array, offset: number, text: string): number {
  for (let i = 0; i < text.length; i++) out[offset + i] = text.charCodeAt(i);
  return offset + text.length;
}

/** A data frame in one allocation, the payload copied once. */
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

/** A stream frame in one allocation, the bytes copied once. */
export function encodeStreamFrame(streamId: number, payload: Uint8Array): Uint8Array {
  checkUint('stream id', streamId, 0xffff);
  const out = new Uint8Array(STREAM_HEADER + payload.length);
  out[0] = BridgeFrameType.stream;
  out[1] = streamId >> 8;
  out[2] = streamId & 0xff;
  out.set(payload, STREAM_HEADER);
  return out;
}

function encodeHello(version: number, l: BridgeLimits): Uint8Array {
  checkUint('version', version, 0xff);
  checkUint('maxSockets', l.maxSockets, 0xffff);
  checkUint('maxPayload', l.maxPayload, 0xffff);
  for (const [name, v] of [['packetsPerSecond', l.packetsPerSecond], ['bytesPerSecond', l.bytesPerSecond], ['idleTimeoutMs', l.idleTimeoutMs]] as const) {
    checkUint(name, v, 0xffffffff);
  }
  const v2 = version >= 2;
  const out = new Uint8Array(v2 ? 31 : 18);
  const view = new DataView(out.buffer);
  out[0] = BridgeFrameType.hello;
  out[1] = version;
  view.setUint16(2, l.maxSockets);
  view.setUint16(4, l.maxPayload);
  view.setUint32(6, l.packetsPerSecond);
  view.setUint32(10, l.bytesPerSecond);
  view.setUint32(14, l.idleTimeoutMs);
  if (v2) {
    const { maxStreams = 0, streamWindow = 0, maxConcurrentLookups = 0, lookupsPerSecond = 0, features = 0 } = l;
    checkUint('maxStreams', maxStreams, 0xffff);
    checkUint('streamWindow', streamWindow, 0xffffffff);
    checkUint('maxConcurrentLookups', maxConcurrentLookups, 0xffff);
    checkUint('lookupsPerSecond', lookupsPerSecond, 0xffffffff);
    checkUint('features', features, 0xff);
    view.setUint16(18, maxStreams);
    view.setUint32(20, streamWindow);
    view.setUint16(24, maxConcurrentLookups);
    view.setUint32(26, lookupsPerSecond);
    out[30] = features;
  }
  return out;
}

function encodeError(frame: ErrorFrame): Uint8Array {
  if (frame.code.length > MAX_ERROR_CODE || !ERROR_CODE_PATTERN.test(frame.code)) {
    throw new RangeError(`an error code is 1..${MAX_ERROR_CODE} of [a-z0-9-], got ${JSON.stringify(frame.code)}`);
  }
  let reason = utf8Encode(frame.reason);
  if (reason.length > MAX_ERROR_REASON_BYTES) reason = utf8Encode(utf8Decode(reason, 0, MAX_ERROR_REASON_BYTES).replace(/\uFFFD$/, ''));
  const { requestId, socketId, destination } = frame;
  if (requestId !== undefined) checkUint('request id', requestId, 0xffffffff);
  if (socketId !== undefined) checkUint('socket id', socketId, 0xffff);
  const out = new Uint8Array(2 + 4 + 2 + 19 + 1 + frame.code.length + reason.length);
  const view = new DataView(out.buffer);
  out[0] = BridgeFrameType.error;
  out[1] = (requestId !== undefined ? 1 : 0) | (socketId !== undefined ? 2 : 0) | (destination !== undefined ? 4 : 0);
  let at = 2;
  if (requestId !== undefined) {
    view.setUint32(at, requestId);
    at += 4;
  }
  if (socketId !== undefined) {
    view.setUint16(at, socketId);
    at += 2;
  }
  if (destination !== undefined) at = writeTransportAddress(out, view, at, destination);
  out[at++] = frame.code.length;
  at = writeAscii(out, at, frame.code);
  out.set(reason, at);
  return out.subarray(0, at + reason.length);
}

export function encodeBridgeFrame(frame: BridgeFrame): Uint8Array {
  switch (frame.type) {
    case 'data':
      return encodeDataFrame(frame.socketId, frame.peer, frame.payload);
    case 'stream':
      return encodeStreamFrame(frame.streamId, frame.payload);
    case 'hello':
      return encodeHello(frame.version, frame.limits);
    case 'error':
      return encodeError(frame);
    case 'bind': {
      checkUint('request id', frame.requestId, 0xffffffff);
      checkUint('port', frame.port, 0xffff);
      // The connected peer, when there is one, follows the port (a family byte, the address, the port).
      const out = new Uint8Array(frame.connect ? 8 + 1 + 16 + 2 : 8);
      const view = new DataView(out.buffer);
      out[0] = BridgeFrameType.bind;
      view.setUint32(1, frame.requestId);
      out[5] = familyByte(frame.family);
      view.setUint16(6, frame.port);
      return frame.connect ? out.slice(0, writeTransportAddress(out, view, 8, frame.connect)) : out;
    }
    case 'bound':
    case 'listening': {
      const id = frame.type === 'bound' ? frame.socketId : frame.listenerId;
      checkUint('request id', frame.requestId, 0xffffffff);
      checkUint(frame.type === 'bound' ? 'socket id' : 'listener id', id, 0xffff);
      const scratch = new Uint8Array(1 + 4 + 2 + 17 + 2 + 1 + 17 * Math.min(frame.hostAddresses.length, 0x100));
      const view = new DataView(scratch.buffer);
      scratch[0] = BridgeFrameType[frame.type];
      view.setUint32(1, frame.requestId);
      view.setUint16(5, id);
      const at = writeTransportAddress(scratch, view, 7, frame.local);
      return scratch.slice(0, writeAddressList(scratch, at, frame.hostAddresses, frame.type));
    }
    case 'host-addresses': {
      checkUint('socket id', frame.socketId, 0xffff);
      const scratch = new Uint8Array(1 + 2 + 1 + 17 * Math.min(frame.hostAddresses.length, 0x100));
      scratch[0] = BridgeFrameType.hostAddresses;
      scratch[1] = frame.socketId >> 8;
      scratch[2] = frame.socketId & 0xff;
      return scratch.slice(0, writeAddressList(scratch, 3, frame.hostAddresses, frame.type));
    }
    case 'listen': {
      checkUint('request id', frame.requestId, 0xffffffff);
      checkUint('port', frame.port, 0xffff);
      checkUint('window', frame.window, 0xffffffff);
      const out = new Uint8Array(12);
      const view = new DataView(out.buffer);
      out[0] = BridgeFrameType.listen;
      view.setUint32(1, frame.requestId);
      out[5] = familyByte(frame.family);
      view.setUint16(6, frame.port);
      view.setUint32(8, frame.window);
      return out;
    }
    case 'accepted': {
      checkUint('listener id', frame.listenerId, 0xffff);
      checkUint('stream id', frame.streamId, 0xffff);
      checkUint('window', frame.window, 0xffffffff);
      const out = new Uint8Array(5 + 19 + 19 + 4);
      const view = new DataView(out.buffer);
      out[0] = BridgeFrameType.accepted;
      view.setUint16(1, frame.listenerId);
      view.setUint16(3, frame.streamId);
      let at = writeTransportAddress(out, view, 5, frame.local);
      at = writeTransportAddress(out, view, at, frame.remote);
      view.setUint32(at, frame.window);
      return out.slice(0, at + 4);
    }
    case 'close':
    case 'end': {
      const id = frame.type === 'close' ? frame.socketId : frame.streamId;
      checkUint(frame.type === 'close' ? 'socket id' : 'stream id', id, 0xffff);
      return Uint8Array.of(BridgeFrameType[frame.type], id >> 8, id & 0xff);
    }
    case 'window': {
      checkUint('stream id', frame.streamId, 0xffff);
      checkUint('window increment', frame.increment, 0xffffffff);
      const out = new Uint8Array(7);
      const view = new DataView(out.buffer);
      out[0] = BridgeFrameType.window;
      view.setUint16(1, frame.streamId);
      view.setUint32(3, frame.increment);
      return out;
    }
    case 'resolve': {
      checkUint('request id', frame.requestId, 0xffffffff);
      checkName(frame.name, 'resolve name', false);
      const families = (frame.families.includes('IPv4') ? 1 : 0) | (frame.families.includes('IPv6') ? 2 : 0);
      if (families === 0) throw new RangeError('resolve needs at least one address family');
      const out = new Uint8Array(7 + frame.name.length);
      const view = new DataView(out.buffer);
      out[0] = BridgeFrameType.resolve;
      view.setUint32(1, frame.requestId);
      out[5] = families | (frame.mdns === true ? 4 : 0);
      out[6] = frame.name.length;
      writeAscii(out, 7, frame.name);
      return out;
    }
    case 'resolved': {
      checkUint('request id', frame.requestId, 0xffffffff);
      if (frame.addresses.length > MAX_RESOLVED_ADDRESSES) throw new RangeError(`at most ${MAX_RESOLVED_ADDRESSES} addresses fit a resolved frame`);
      const out = new Uint8Array(6 + 21 * frame.addresses.length);
      const view = new DataView(out.buffer);
      out[0] = BridgeFrameType.resolved;
      view.setUint32(1, frame.requestId);
      out[5] = frame.addresses.length;
      let at = 6;
      for (const a of frame.addresses) {
        checkUint('ttl', a.ttl, 0xffffffff);
        at = writeAddress(out, at, a.address);
        view.setUint32(at, a.ttl);
        at += 4;
      }
      return out.slice(0, at);
    }
    case 'connect': {
      checkUint('request id', frame.requestId, 0xffffffff);
      checkUint('window', frame.window, 0xffffffff);
      checkName(frame.serverName, 'server name', true);
      const out = new Uint8Array(6 + 19 + 4 + 1 + frame.serverName.length);
      const view = new DataView(out.buffer);
      out[0] = BridgeFrameType.connect;
      view.setUint32(1, frame.requestId);
      out[5] = frame.tls ? 1 : 0;
      let at = writeTransportAddress(out, view, 6, frame.remote);
      view.setUint32(at, frame.window);
      at += 4;
      out[at++] = frame.serverName.length;
      at = writeAscii(out, at, frame.serverName);
      return out.slice(0, at);
    }
    case 'mdns-register': {
      checkUint('request id', frame.requestId, 0xffffffff);
      checkName(frame.name, 'mDNS name', false);
      const out = new Uint8Array(5 + 17 + 1 + frame.name.length);
      const view = new DataView(out.buffer);
      out[0] = BridgeFrameType.mdnsRegister;
      view.setUint32(1, frame.requestId);
      let at = writeAddress(out, 5, frame.address);
      out[at++] = frame.name.length;
      at = writeAscii(out, at, frame.name);
      return out.slice(0, at);
    }
    case 'mdns-registered': {
      checkUint('request id', frame.requestId, 0xffffffff);
      const out = new Uint8Array(5);
      out[0] = BridgeFrameType.mdnsRegistered;
      new DataView(out.buffer).setUint32(1, frame.requestId);
      return out;
    }
    case 'mdns-unregister': {
      checkName(frame.name, 'mDNS name', false);
      const out = new Uint8Array(2 + frame.name.length);
      out[0] = BridgeFrameType.mdnsUnregister;
      out[1] = frame.name.length;
      writeAscii(out, 2, frame.name);
      return out;
    }
    case 'connected': {
      checkUint('request id', frame.requestId, 0xffffffff);
      checkUint('stream id', frame.streamId, 0xffff);
      checkUint('window', frame.window, 0xffffffff);
      const out = new Uint8Array(7 + 19 + 19 + 4);
      const view = new DataView(out.buffer);
      out[0] = BridgeFrameType.connected;
      view.setUint32(1, frame.requestId);
      view.setUint16(5, frame.streamId);
      let at = writeTransportAddress(out, view, 7, frame.local);
      at = writeTransportAddress(out, view, at, frame.remote);
      view.setUint32(at, frame.window);
      return out.slice(0, at + 4);
    }
  }
}
