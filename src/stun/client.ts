// The STUN client engine: sends requests through the transaction table (RFC 8489 §6.2), retransmits on
// timeouts, matches responses, and reports each transaction's outcome as a typed result. Sans-I/O.
import type { DatagramSource, Engine, SocketId, Transmit } from '../net/engine.js';
import { Queue } from '../net/engine.js';
import type { DestinationUnreachableError } from '../net/datagram-socket.js';
import type { TransportAddress } from '../net/transport-address.js';
import type { HmacSha1 } from '../crypto/index.js';
import { classifyDatagram } from './classify.js';
import { decodeStunOrUndefined } from './decode.js';
import { encodeStunMessage } from './encode.js';
import { verifyMessageIntegrity } from './integrity.js';
import type { StunMessage } from './message.js';
import { TransactionTable, type TransactionOptions } from './transactions.js';

/** How a transaction ended. Challenges and redirects are results, not errors: the caller decides. */
export type StunTransactionResult =
  | { kind: 'success'; response: StunMessage; rttMs: number }
  /** RFC 8489 §10: 401 Unauthorized / 438 Stale Nonce with the REALM and NONCE to retry with. */
  | { kind: 'challenge'; code: 401 | 438; realm: string | undefined; nonce: string | undefined; response: StunMessage; rttMs: number }
  /** RFC 8489 §10: 300 Try Alternate with ALTERNATE-SERVER. */
  | { kind: 'alternate-server'; server: TransportAddress; response: StunMessage; rttMs: number }
  | { kind: 'error'; code: number; reason: string; response: StunMessage; rttMs: number }
  | { kind: 'timeout'; sends: number }
  /** The way to the server is refused (the bridge's policy, its rate limit): ended at once, like on an ICMP error. */
  | { kind: 'unreachable'; error: DestinationUnreachableError; sends: number };

export interface StunClientEvent<Context> {
  type: 'transaction';
  context: Context;
  request: StunMessage;
  result: StunTransactionResult;
}

export interface StunRequestOptions {
  /** Key for MESSAGE-INTEGRITY, and to check the response's (a response that fails the check is dropped). */
  integrityKey?: Uint8Array | HmacSha1;
  /** Add FINGERPRINT. Default true. */
  fingerprint?: boolean;
  /** A reliable transport (TCP/TLS): one send, Ti timer. Default false. */
  reliable?: boolean;
}

export interface StunClientCounters {
  /** Datagrams that were not STUN, did not decode, or were requests/indications a client does not serve. */
  dropped: number;
  /** Responses whose MESSAGE-INTEGRITY did not verify. */
  badIntegrity: number;
}

interface Pending<Context> {
  context: Context;
  request: StunMessage;
  integrityKey: Uint8Array | HmacSha1 | undefined;
}

export class StunClient<Context = undefined> implements Engine<StunClientEvent<Context>> {
  readonly transactions: TransactionTable<Pending<Context>>;
  readonly counters: StunClientCounters = { dropped: 0, badIntegrity: 0 };
  private readonly transmits = new Queue<Transmit>();
  private readonly events = new Queue<StunClientEvent<Context>>();

  constructor(options: TransactionOptions = {}) {
    this.transactions = new TransactionTable(options);
  }

  /** Sends `request` to `to` through socket `socket`; its outcome arrives as a 'transaction' event. */
  request(request: StunMessage, to: TransportAddress, socket: SocketId, now: number, context: Context, options: StunRequestOptions = {}): void {
    const bytes = encodeStunMessage(request, {
      integrity: options.integrityKey ? { key: options.integrityKey } : undefined,
      fingerprint: options.fingerprint ?? true,
    });
    this.transactions.start(request.transactionId, bytes, to, socket, now, { context, request, integrityKey: options.integrityKey }, options.reliable);
    this.transmits.push({ socket, to, bytes });
  }

  /** Gives up on a transaction without reporting it. */
  cancel(transactionId: Uint8Array): void {
    this.transactions.cancel(transactionId);
  }

  handleDatagram(bytes: Uint8Array, source: DatagramSource, now: number): void {
    if (classifyDatagram(bytes) !== 'stun') {
      this.counters.dropped++;
      return;
    }
    const message = decodeStunOrUndefined(bytes);
    if (!message) {
      this.counters.dropped++;
      return;
    }
    this.handleResponse(message, source.from, now);
  }

  /** Processes a decoded message; returns false if it was not a response to one of our transactions. */
  handleResponse(message: StunMessage, from: TransportAddress | undefined, now: number): boolean {
    if (message.class !== 'success' && message.class !== 'error') {
      this.counters.dropped++;
      return false;
    }
    // RFC 8489 §9.1.4 / §9.2.5: a response that fails the integrity check is discarded as if never
    // received, so the transaction goes on. (Error responses may come without integrity: §9.2.5.)
    const pending = this.transactions.peek(message.transactionId);
    const key = pending?.context.integrityKey;
    if (key && message.integrityOffset >= 0 && !verifyMessageIntegrity(message, key)) {
      this.counters.badIntegrity++;
      return true;
    }
    const match = this.transactions.match(message.transactionId, from);
    if (match.kind !== 'matched') return false;
    const t = match.transaction;
    const { request, context } = t.context;
    const rttMs = now - t.startedAt;
    this.events.push({ type: 'transaction', context, request, result: resultOf(message, rttMs) });
    return true;
  }

  /** Ends every transaction to the refused destination on that socket with an 'unreachable' result. */
  handleUnreachable(error: DestinationUnreachableError, source: DatagramSource, _now: number): void {
    for (const t of this.transactions.abandonTo(source.socket, source.from)) {
      this.events.push({ type: 'transaction', context: t.context.context, request: t.context.request, result: { kind: 'unreachable', error, sends: t.sends } });
    }
  }

  handleTimeout(now: number): void {
    const { retransmit, timedOut } = this.transactions.expire(now);
    for (const t of retransmit) this.transmits.push({ socket: t.socket, to: t.to, bytes: t.request });
    for (const t of timedOut) {
      this.events.push({ type: 'transaction', context: t.context.context, request: t.context.request, result: { kind: 'timeout', sends: t.sends } });
    }
  }

  pollTransmit(): Transmit | undefined {
    return this.transmits.shift();
  }

  pollTimeout(): number | undefined {
    return this.transactions.nextDeadline();
  }

  pollEvent(): StunClientEvent<Context> | undefined {
    return this.events.shift();
  }
}

function resultOf(response: StunMessage, rttMs: number): StunTransactionResult {
  if (response.class === 'success') return { kind: 'success', response, rttMs };
  const error = response.get('ERROR-CODE');
  const code = error?.code ?? 0;
  const reason = error?.reason ?? '';
  if (code === 401 || code === 438) {
    return { kind: 'challenge', code, realm: response.get('REALM'), nonce: response.get('NONCE'), response, rttMs };
  }
  if (code === 300) {
    const server = response.get('ALTERNATE-SERVER');
    if (server) return { kind: 'alternate-server', server, response, rttMs };
  }
  return { kind: 'error', code, reason, response, rttMs };
}
