// RFC 6062 §4.3/§4.4: the ConnectionBind on a new data connection, authenticated "with the same method and
// credentials as for the control connection": the control connection's realm, nonce and key, so the first
// request is already authenticated (coturn closes a data connection whose ConnectionBind is not). A 438
// renews the shared nonce. Sans-I/O: bytes out, the decoded response in; after success the connection
// carries the peer's raw bytes.
import { MAGIC_COOKIE, StunMethod } from '../stun/constants.js';
import { decodeStunOrUndefined } from '../stun/decode.js';
import { createStunMessage, type StunMessage } from '../stun/message.js';
import type { LongTermCredentials } from './credentials.js';
import { TurnError } from './errors.js';

export type ConnectionBindStep =
  | { readonly kind: 'send'; readonly bytes: Uint8Array }
  | { readonly kind: 'bound' }
  | { readonly kind: 'failed'; readonly error: TurnError };

/** What bytes read from the data connection led to: requests to write, and the outcome once there is one. */
export interface ConnectionBindProgress {
  readonly send: Uint8Array[];
  /** Bound: the connection is the peer's now, and `rest` (what came after the response) is the peer's first bytes. */
  readonly bound?: { readonly rest: Uint8Array };
  readonly error?: TurnError;
}

export class ConnectionBinder {
  private transactionId = new Uint8Array(12);
  private buffered = new Uint8Array(0);
  private authenticated = false;
  private retries = 0;

  constructor(
    /** The control connection's (TurnTcpAllocation.credentials); a fresh one starts unauthenticated. */
    private readonly credentials: LongTermCredentials,
    readonly connectionId: number,
  ) {}

  /** The first request to write. */
  start(): Uint8Array {
    return this.request();
  }

  /**
   * Takes bytes read from the data connection (RFC 8489 §6.2.2: STUN messages back to back): the requests to
   * write (a retry after 401/438), and once answered, bound with what followed or failed.
   */
  receive(chunk: Uint8Array): ConnectionBindProgress {
    const joined = new Uint8Array(this.buffered.length + chunk.length);
    joined.set(this.buffered);
    joined.set(chunk, this.buffered.length);
    this.buffered = joined;
    const send: Uint8Array[] = [];
    for (;;) {
      const length = stunMessageLength(this.buffered);
      if (length === undefined || this.buffered.length < length) return { send };
      const message = decodeStunOrUndefined(this.buffered.subarray(0, length));
      this.buffered = this.buffered.slice(length);
      const step = message === undefined ? undefined : this.handle(message);
      if (step === undefined) continue;
      if (step.kind === 'send') send.push(step.bytes);
      else if (step.kind === 'failed') return { send, error: step.error };
      else return { send, bound: { rest: this.buffered } };
    }
  }

  /** Takes the response read from the data connection; undefined if it is not this request's. */
  handle(message: StunMessage): ConnectionBindStep | undefined {
    if (message.method !== StunMethod.ConnectionBind || (message.class !== 'success' && message.class !== 'error')) return undefined;
    if (!sameBytes(message.transactionId, this.transactionId)) return undefined;
    if (this.authenticated && this.credentials.verify(message) === 'invalid') {
      return { kind: 'failed', error: new TurnError(401, 'ConnectionBind response failed the integrity check', 'allocate', 'integrity') };
    }
    if (message.class === 'success') return { kind: 'bound' };
    const error = message.get('ERROR-CODE');
    const code = error?.code ?? 500;
    if ((code === 401 || code === 438) && this.retries < 2) {
      const outcome = this.credentials.challenge(code, message, this.authenticated);
      if (!outcome.retry) return { kind: 'failed', error: new TurnError(401, outcome.reason, 'allocate', 'auth') };
      this.retries++;
      return { kind: 'send', bytes: this.request() };
    }
    return { kind: 'failed', error: new TurnError(code, (error?.reason ?? 'no ERROR-CODE').replace(/\0+$/, ''), 'allocate') };
  }

  private request(): Uint8Array {
    this.transactionId = new Uint8Array(12);
    crypto.getRandomValues(this.transactionId);
    this.authenticated = this.credentials.ready;
    const message = createStunMessage({
      method: StunMethod.ConnectionBind,
      class: 'request',
      transactionId: this.transactionId,
      cookie: MAGIC_COOKIE,
      attributes: [['CONNECTION-ID', this.connectionId], ...this.credentials.attributes()],
    });
    return this.credentials.encode(message, false);
  }
}

/** The length of the STUN message at the start of `bytes`, or undefined until 20 header bytes are there. */
export function stunMessageLength(bytes: Uint8Array): number | undefined {
  if (bytes.length < 20) return undefined;
  return 20 + ((bytes[2] << 8) | bytes[3]);
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
