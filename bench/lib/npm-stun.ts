// The npm `stun` package (CommonJS, untyped), with the slice of its API the benchmarks use, typed.
// Read from node_modules/stun/src: attributes are objects with `type` and `value`; MESSAGE-INTEGRITY and
// FINGERPRINT are computed by re-encoding the message so far; USE-CANDIDATE and ICE-CONTROLLING are byte
// strings (empty, and an 8-byte Buffer); PRIORITY must fit a signed 32-bit integer.
import type { Socket } from 'node:dgram';
import { createRequire } from 'node:module';
import type { EventEmitter } from 'node:events';

export interface NpmStunAttribute {
  readonly type: number;
  readonly value: unknown;
}

export interface NpmStunMessage {
  readonly type: number;
  readonly transactionId: Buffer;
  getAttribute(type: number): NpmStunAttribute | undefined;
}

export interface NpmStunRequest extends NpmStunMessage {
  addUsername(username: string): unknown;
  addPriority(priority: number): unknown;
  addIceControlling(tieBreaker: Buffer): unknown;
  addUseCandidate(): unknown;
  addXorAddress(address: string, port: number): unknown;
  addSoftware(software: string): unknown;
  addMessageIntegrity(key: string | Buffer): boolean;
  addFingerprint(): boolean;
  toBuffer(): Buffer;
}

export interface NpmStunResponse extends NpmStunMessage {
  getXorAddress(): { address: string; port: number; family: string } | undefined;
  getUsername(): string | undefined;
}

export interface NpmStunServer extends EventEmitter {
  listen(port: number, address: string, callback?: () => void): void;
  send(message: NpmStunRequest, port: number, address: string, callback?: (err: Error | null) => void): boolean;
  close(): void;
}

export interface NpmStun {
  createMessage(type: number, transactionId?: Buffer): NpmStunRequest;
  decode(bytes: Buffer): NpmStunResponse;
  validateMessageIntegrity(message: NpmStunMessage, key: string | Buffer): boolean;
  validateFingerprint(message: NpmStunMessage): boolean;
  createServer(options: { type: 'udp4' | 'udp6'; socket?: Socket }): NpmStunServer;
  constants: Record<string, number>;
}

export const stun = createRequire(import.meta.url)('stun') as NpmStun;

/** A Buffer view (no copy) of a Uint8Array, for the package's Buffer-only API. */
export function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
