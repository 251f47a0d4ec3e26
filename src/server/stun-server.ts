// The STUN server engine (RFC 8489 §6.3): answers Binding requests with the source transport address it
// saw. Sans-I/O: fed datagrams, asked what to send. It never throws on input; what it cannot use is
// counted and dropped.
import type { DatagramSource, Engine, Transmit } from '../net/engine.js';
import { Queue } from '../net/engine.js';
import { HEADER_LENGTH, MAGIC_COOKIE, StunAttributeType, StunMethod } from '../stun/constants.js';
import { encodeBindingSuccess } from './binding-response.js';
import { hasBehaviorAttributes, Rfc5780Responder, unsupportedBehaviorAttributes, type Rfc5780Options } from './rfc5780.js';
import { decodeStunMessage } from '../stun/decode.js';
import { encodeStunMessage } from '../stun/encode.js';
import { StunParseError } from '../stun/errors.js';
import { classOfType, methodOfType } from '../stun/header.js';
import { classifyDatagram, readCookie } from '../stun/classify.js';
import { createStunMessage, type StunMessage } from '../stun/message.js';
import type { TransportAddress } from '../net/transport-address.js';
import type { StunAttributeEntry } from '../stun/attribute-values.js';

export interface StunServerOptions {
  /** SOFTWARE attribute in every response (RFC 8489 §6.3.1.1 SHOULD); `''` sends none. Default 'icebridge'. */
  software?: string;
  /** Answer RFC 3489 requests (no magic cookie) with MAPPED-ADDRESS (RFC 8489 §12). Default true. */
  answerClassicStun?: boolean;
  /**
   * NAT behaviour discovery (RFC 5780 §6): the engine's four sockets (2 addresses × 2 ports) by id, so it
   * honours CHANGE-REQUEST and RESPONSE-PORT and adds OTHER-ADDRESS and RESPONSE-ORIGIN. Default: off —
   * requests with CHANGE-REQUEST, RESPONSE-PORT or PADDING then get 420 (§6).
   */
  rfc5780?: Rfc5780Options;
}

export type StunServerDropReason = 'not-stun' | 'malformed' | 'not-a-request' | 'unsupported-method';

export interface StunServerCounters {
  received: number;
  /** Success responses sent. */
  answered: number;
  /** 400 Bad Request: a request whose header was readable but whose attributes were not. */
  badRequests: number;
  /** 420 Unknown Attribute. */
  unknownAttributes: number;
  /** Binding indications (keepalives, RFC 8489 §6.3.2): nothing to answer. */
  indications: number;
  dropped: Record<StunServerDropReason, number>;
}

/** A hook for servers built on this one (TURN): handles a decoded request or indication, or returns false. */
export type StunMethodHandler = (message: StunMessage, source: DatagramSource, now: number) => boolean;

export class StunServer implements Engine<never> {
  readonly counters: StunServerCounters = {
    received: 0,
    answered: 0,
    badRequests: 0,
    unknownAttributes: 0,
    indications: 0,
    dropped: { 'not-stun': 0, malformed: 0, 'not-a-request': 0, 'unsupported-method': 0 },
  };
  private readonly transmits = new Queue<Transmit>();
  private readonly software: string;
  private readonly softwareBytes: Uint8Array;
  private readonly answerClassicStun: boolean;
  private readonly handlers = new Map<number, StunMethodHandler>();
  /** RFC 5780 routing and its counters, when the `rfc5780` option is given. */
  readonly rfc5780: Rfc5780Responder | undefined;
  private readonly sendChanged = (socket: number, to: TransportAddress, bytes: Uint8Array): void => this.transmits.push({ socket, to, bytes });

  constructor(options: StunServerOptions = {}) {
    this.software = options.software ?? 'icebridge';
    // RFC 8489 §14.14: SOFTWARE MUST be fewer than 128 characters ('' sends none).
    if (typeof this.software !== 'string' || [...this.software].length >= 128) throw new RangeError('STUN server option software must be text of fewer than 128 characters (RFC 8489 §14.14)');
    this.softwareBytes = new TextEncoder().encode(this.software);
    this.answerClassicStun = options.answerClassicStun ?? true;
    this.rfc5780 = options.rfc5780 === undefined ? undefined : new Rfc5780Responder(options.rfc5780);
  }

  /** Adds support for another method (used by the TURN server); Binding is built in. */
  setMethodHandler(method: number, handler: StunMethodHandler): void {
    this.handlers.set(method, handler);
  }

  handleDatagram(bytes: Uint8Array, source: DatagramSource, now: number): void {
    this.counters.received++;
    if (classifyDatagram(bytes, { classicStun: this.answerClassicStun }) !== 'stun') {
      this.counters.dropped['not-stun']++;
      return;
    }
    let message: StunMessage;
    try {
      message = decodeStunMessage(bytes);
    } catch (err) {
      if (!(err instanceof StunParseError)) throw err;
      this.answerMalformed(bytes, err, source);
      return;
    }
    this.handleMessage(message, source, now);
  }

  /** Processes an already decoded message (the TURN server decodes first to route ChannelData and STUN). */
  handleMessage(message: StunMessage, source: DatagramSource, now: number): void {
    if (message.method === StunMethod.Binding) {
      if (message.class === 'request') this.answerBinding(message, source);
      else if (message.class === 'indication') this.counters.indications++;
      else this.counters.dropped['not-a-request']++;
      return;
    }
    const handler = this.handlers.get(message.method);
    if (!handler || !handler(message, source, now)) this.counters.dropped['unsupported-method']++;
  }

  handleTimeout(_now: number): void {}

  pollTransmit(): Transmit | undefined {
    return this.transmits.shift();
  }

  pollTimeout(): number | undefined {
    return undefined;
  }

  pollEvent(): never | undefined {
    return undefined;
  }

  /** Queues a datagram; for servers built on this one. */
  send(transmit: Transmit): void {
    this.transmits.push(transmit);
  }

  /**
   * Sends a response to `request`: the same method and transaction, SOFTWARE added, FINGERPRINT when the
   * request had one, MESSAGE-INTEGRITY when a key is given.
   */
  respond(
    request: StunMessage,
    source: DatagramSource,
    cls: 'success' | 'error',
    attributes: StunAttributeEntry[],
    integrityKey?: Uint8Array,
  ): void {
    if (this.software) attributes.push(['SOFTWARE', this.software]);
    const response = createStunMessage({
      method: request.method,
      class: cls,
      transactionId: request.transactionId,
      cookie: request.cookie,
      attributes,
    });
    const bytes = encodeStunMessage(response, {
      integrity: integrityKey ? { key: integrityKey } : undefined,
      fingerprint: request.fingerprintOffset >= 0,
    });
    this.transmits.push({ socket: source.socket, to: source.from, bytes });
  }

  /** Error response with ERROR-CODE (RFC 8489 §14.8) and any extra attributes. */
  respondError(request: StunMessage, source: DatagramSource, code: number, reason: string, extra: StunAttributeEntry[] = []): void {
    this.respond(request, source, 'error', [['ERROR-CODE', { code, reason }], ...extra]);
  }

  private answerBinding(request: StunMessage, source: DatagramSource): void {
    if (request.unknownComprehensionRequired.length > 0) {
      this.counters.unknownAttributes++;
      const unknown = [...new Set(request.unknownComprehensionRequired)];
      this.respondError(request, source, 420, 'Unknown Attribute', [['UNKNOWN-ATTRIBUTES', unknown]]);
      return;
    }
    if (hasBehaviorAttributes(request)) {
      this.answerBehaviorDiscovery(request, source);
      return;
    }
    this.counters.answered++;
    if (request.hasMagicCookie) {
      const extras = this.rfc5780?.plainExtras(source.socket);
      const bytes = encodeBindingSuccess(request, source.from, this.softwareBytes, request.fingerprintOffset >= 0, extras);
      this.transmits.push({ socket: source.socket, to: source.from, bytes });
      return;
    }
    // RFC 8489 §12: an RFC 3489 client understands only MAPPED-ADDRESS.
    this.respond(request, source, 'success', [['MAPPED-ADDRESS', source.from]]);
  }

  /** A request with CHANGE-REQUEST, RESPONSE-PORT or PADDING (RFC 5780 §6.1); 420 without RFC 5780 support. */
  private answerBehaviorDiscovery(request: StunMessage, source: DatagramSource): void {
    const refusal = this.rfc5780
      ? this.rfc5780.answer(request, source, this.softwareBytes, this.software, this.sendChanged)
      : { code: 420 as const, reason: 'Unknown Attribute', unknown: unsupportedBehaviorAttributes(request, false, false, false) };
    if (refusal === undefined) {
      this.counters.answered++;
      return;
    }
    if (refusal.code === 420) {
      this.counters.unknownAttributes++;
      this.respondError(request, source, 420, refusal.reason, [['UNKNOWN-ATTRIBUTES', refusal.unknown ?? []]]);
    } else {
      this.counters.badRequests++;
      this.respondError(request, source, 400, refusal.reason);
    }
  }

  /**
   * A Binding request whose header reads fine but whose attributes do not gets 400 (RFC 8489 §6.3.1);
   * anything else malformed — a bad FINGERPRINT means "not STUN" (§7.3) — is dropped silently.
   */
  private answerMalformed(bytes: Uint8Array, err: StunParseError, source: DatagramSource): void {
    const attributable =
      err.offset >= HEADER_LENGTH && err.code !== 'FINGERPRINT_MISMATCH' && err.code !== 'FINGERPRINT_NOT_LAST';
    const type = (bytes[0] << 8) | bytes[1];
    if (!attributable || classOfType(type) !== 'request' || methodOfType(type) !== StunMethod.Binding) {
      this.counters.dropped.malformed++;
      return;
    }
    this.counters.badRequests++;
    const transactionId = bytes.slice(8, 20);
    const cookie = readCookie(bytes);
    const attributes: StunAttributeEntry[] = [['ERROR-CODE', { code: 400, reason: `Bad Request: ${err.reason}`.slice(0, 120) }]];
    if (this.software) attributes.push(['SOFTWARE', this.software]);
    const response = createStunMessage({
      method: StunMethod.Binding,
      class: 'error',
      transactionId,
      cookie: cookie === MAGIC_COOKIE ? MAGIC_COOKIE : cookie,
      attributes,
    });
    // FINGERPRINT when the request ended with one (its own may be what is wrong, but the client uses it).
    const n = bytes.length;
    const hadFingerprint = n >= HEADER_LENGTH + 8 && ((bytes[n - 8] << 8) | bytes[n - 7]) === StunAttributeType.FINGERPRINT;
    this.transmits.push({ socket: source.socket, to: source.from, bytes: encodeStunMessage(response, { fingerprint: hadFingerprint }) });
  }
}
