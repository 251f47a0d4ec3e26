// Responses of the TURN server: SOFTWARE (RFC 8656 §5 SHOULD), FINGERPRINT when the request had one, and
// the integrity RFC 8489 §9.2.4 asks for once a request is authenticated (MESSAGE-INTEGRITY and/or
// MESSAGE-INTEGRITY-SHA256 with the request's long-term key). Unauthenticated errors carry none.
import type { DatagramSource } from '../net/engine.js';
import type { StunAttributeEntry } from '../stun/attribute-values.js';
import { MAGIC_COOKIE } from '../stun/constants.js';
import { encodeStunMessage } from '../stun/encode.js';
import { methodOfType } from '../stun/header.js';
import { createStunMessage } from '../stun/message.js';
import type { StunServer } from './stun-server.js';
import type { TurnAuthContext } from './turn-auth.js';
import type { TurnServerCounters } from './turn-server-counters.js';

/** What answering a request needs of it; a decoded StunMessage is one, and so is a copy kept while waiting. */
export interface RequestRef {
  readonly method: number;
  readonly transactionId: Uint8Array;
  readonly cookie: number;
  readonly fingerprintOffset: number;
}

/** RFC 8489 §14.8: the reason phrase is at most 127 characters. */
const MAX_REASON = 127;

export class TurnResponder {
  constructor(
    private readonly stun: StunServer,
    private readonly software: string,
    private readonly counters: TurnServerCounters,
  ) {}

  success(request: RequestRef, source: DatagramSource, attributes: StunAttributeEntry[], auth: TurnAuthContext): void {
    this.send(request, source, 'success', attributes, auth);
  }

  error(request: RequestRef, source: DatagramSource, code: number, reason: string, auth?: TurnAuthContext, extra: StunAttributeEntry[] = []): void {
    this.counters.errorResponses[code] = (this.counters.errorResponses[code] ?? 0) + 1;
    this.send(request, source, 'error', [['ERROR-CODE', { code, reason: reason.slice(0, MAX_REASON) }], ...extra], auth);
  }

  /** 400 to a request whose header reads but whose attributes do not (nothing else of it can be trusted). */
  malformed(bytes: Uint8Array, source: DatagramSource, reason: string): void {
    const request: RequestRef = {
      method: methodOfType((bytes[0] << 8) | bytes[1]),
      transactionId: bytes.slice(8, 20),
      cookie: MAGIC_COOKIE,
      fingerprintOffset: -1,
    };
    this.error(request, source, 400, reason);
  }

  private send(request: RequestRef, source: DatagramSource, cls: 'success' | 'error', attributes: StunAttributeEntry[], auth: TurnAuthContext | undefined): void {
    if (this.software) attributes.push(['SOFTWARE', this.software]);
    let bytes: Uint8Array;
    try {
      const response = createStunMessage({
        method: request.method,
        class: cls,
        transactionId: request.transactionId,
        cookie: request.cookie,
        attributes,
      });
      bytes = encodeStunMessage(response, {
        integrity: auth?.sha1 === true ? { key: auth.key } : undefined,
        integritySha256: auth?.sha256 === true ? { key: auth.key } : undefined,
        fingerprint: request.fingerprintOffset >= 0,
      });
    } catch {
      this.counters.dropped['encode-failed']++;
      return;
    }
    this.stun.send({ socket: source.socket, to: source.from, bytes });
  }
}
