// The client side of an RFC 6062 TCP allocation, sans-I/O: the control connection's messages — Allocate with
// REQUESTED-TRANSPORT TCP (§4.1), Refresh (§4.2), CreatePermission, Connect (§4.3) and ConnectionAttempt
// (§4.4) — over one reliable TCP/TLS connection to the server, fed as framed messages. A separate engine
// from TurnClient on purpose: a TCP allocation has no Send/Data indications and no channels (its data goes
// on data connections, tcp-connection-bind.ts), and over a stream no request is retransmitted (RFC 8489 §6.2.2).
import type { Millis } from '../net/clock.js';
import type { DatagramSource, Engine, Transmit } from '../net/engine.js';
import { Queue } from '../net/engine.js';
import type { AddressFamily, TransportAddress } from '../net/transport-address.js';
import type { StunAttributeEntry } from '../stun/attribute-values.js';
import { MAGIC_COOKIE, StunMethod, TRANSPORT_TCP } from '../stun/constants.js';
import { decodeStunOrUndefined } from '../stun/decode.js';
import { createStunMessage, type StunMessage } from '../stun/message.js';
import { STUN_RELIABLE_TIMEOUT_MS, TURN_DEFAULT_LIFETIME_S, TURN_REFRESH_MARGIN_MS } from '../timing.js';
import { LongTermCredentials } from './credentials.js';
import { TurnError, type TurnOperation } from './errors.js';

export interface TurnTcpAllocationOptions {
  /** The TURN server the control connection goes to. */
  server: TransportAddress;
  username: string;
  credential: string;
  /** REQUESTED-ADDRESS-FAMILY (RFC 8656 §7.1). Default: none sent (IPv4). */
  family?: AddressFamily;
  /** LIFETIME asked for, in seconds (§4.1: "with semantics identical to the UDP case"). Default 600. */
  lifetimeS?: number;
  /** Timeout of one request over the stream (RFC 8489 §6.2.2 Ti). Default 39 500 ms. */
  requestTimeoutMs?: Millis;
}

export type TurnTcpAllocationEvent =
  | { readonly type: 'allocated'; readonly relayed: TransportAddress; readonly mapped: TransportAddress | undefined; readonly lifetimeS: number }
  /** A Connect (§4.3) answered: a connection id to bind, or an error (447: the server could not connect). */
  | { readonly type: 'connect'; readonly peer: TransportAddress; readonly connectionId?: number; readonly error?: TurnError }
  | { readonly type: 'permission'; readonly peer: string; readonly error?: TurnError }
  /** §4.4: a peer connected to the relayed address; bind `connectionId` on a new connection to accept it. */
  | { readonly type: 'connection-attempt'; readonly peer: TransportAddress; readonly connectionId: number }
  /** The allocation failed or ended (a failed Allocate or Refresh, or close()). */
  | { readonly type: 'closed'; readonly error?: TurnError };

type Operation =
  | { readonly op: 'allocate' }
  | { readonly op: 'refresh'; readonly lifetimeS: number }
  | { readonly op: 'permission'; readonly peer: string }
  | { readonly op: 'connect'; readonly peer: TransportAddress };

interface InFlight {
  readonly operation: Operation;
  readonly authenticated: boolean;
  readonly retries: number;
  readonly deadline: Millis;
}

const OPERATION_NAME = { allocate: 'allocate', refresh: 'refresh', permission: 'permission', connect: 'connect' } as const;

export class TurnTcpAllocation implements Engine<TurnTcpAllocationEvent> {
  readonly credentials: LongTermCredentials;
  private readonly transmits = new Queue<Transmit>();
  private readonly events = new Queue<TurnTcpAllocationEvent>();
  private readonly inFlight = new Map<string, InFlight>();
  private readonly requestTimeoutMs: Millis;
  private relayed: TransportAddress | undefined;
  private refreshAt: Millis | undefined;
  private state: 'new' | 'allocating' | 'allocated' | 'closed' = 'new';

  constructor(private readonly options: TurnTcpAllocationOptions) {
    this.credentials = new LongTermCredentials(options.username, options.credential);
    this.requestTimeoutMs = options.requestTimeoutMs ?? STUN_RELIABLE_TIMEOUT_MS;
  }

  get relayedAddress(): TransportAddress | undefined {
    return this.relayed;
  }

  get closed(): boolean {
    return this.state === 'closed';
  }

  /** §4.1: the first Allocate goes unauthenticated; the 401 brings realm and nonce. */
  allocate(now: Millis): void {
    if (this.state !== 'new') return;
    this.state = 'allocating';
    this.send({ op: 'allocate' }, now, 0);
  }

  /** RFC 8656 §10: needed before a peer may connect to the relayed address (§5.3). Port ignored. */
  createPermission(peerIp: string, now: Millis): void {
    this.send({ op: 'permission', peer: peerIp }, now, 0);
  }

  /** §4.3; a 'connect' event follows. The caller must not Connect to one peer twice at once. */
  connect(peer: TransportAddress, now: Millis): void {
    this.send({ op: 'connect', peer: { address: peer.address, port: peer.port } }, now, 0);
  }

  /** Deletes the allocation (Refresh with LIFETIME 0) and reports it closed. */
  close(now: Millis): void {
    if (this.state === 'closed') return;
    if (this.state === 'allocated') this.send({ op: 'refresh', lifetimeS: 0 }, now, 0);
    this.finish(undefined);
  }

  handleDatagram(bytes: Uint8Array, _source: DatagramSource, now: Millis): void {
    const message = decodeStunOrUndefined(bytes);
    if (message === undefined) return;
    if (message.method === StunMethod.ConnectionAttempt && message.class === 'indication') {
      const peer = message.get('XOR-PEER-ADDRESS');
      const connectionId = message.get('CONNECTION-ID');
      if (peer !== undefined && connectionId !== undefined && this.state === 'allocated') this.events.push({ type: 'connection-attempt', peer, connectionId });
      return;
    }
    if (message.class !== 'success' && message.class !== 'error') return;
    const key = keyOf(message.transactionId);
    const pending = this.inFlight.get(key);
    if (pending === undefined) return;
    // RFC 8489 §9.2.5: a response to an authenticated request must carry valid integrity, else it is ignored.
    if (pending.authenticated && this.credentials.verify(message) === 'invalid') return;
    this.inFlight.delete(key);
    if (message.class === 'error') this.onError(pending, message, now);
    else this.onSuccess(pending.operation, message, now);
  }

  handleTimeout(now: Millis): void {
    for (const [key, pending] of this.inFlight) {
      if (pending.deadline > now) continue;
      this.inFlight.delete(key);
      this.fail(pending.operation, new TurnError(408, 'no response', operationName(pending.operation), 'timeout'));
    }
    if (this.state === 'allocated' && this.refreshAt !== undefined && this.refreshAt <= now) {
      this.refreshAt = undefined;
      this.send({ op: 'refresh', lifetimeS: this.options.lifetimeS ?? TURN_DEFAULT_LIFETIME_S }, now, 0);
    }
  }

  pollTransmit(): Transmit | undefined {
    return this.transmits.shift();
  }

  pollTimeout(): Millis | undefined {
    let next = this.refreshAt ?? Infinity;
    for (const pending of this.inFlight.values()) next = Math.min(next, pending.deadline);
    return next === Infinity ? undefined : next;
  }

  pollEvent(): TurnTcpAllocationEvent | undefined {
    return this.events.shift();
  }

  private onSuccess(operation: Operation, message: StunMessage, now: Millis): void {
    switch (operation.op) {
      case 'allocate': {
        const relayed = message.get('XOR-RELAYED-ADDRESS');
        if (relayed === undefined) {
          this.finish(new TurnError(500, 'Allocate success without XOR-RELAYED-ADDRESS', 'allocate', 'protocol'));
          return;
        }
        const lifetimeS = message.get('LIFETIME') ?? TURN_DEFAULT_LIFETIME_S;
        this.relayed = relayed;
        this.state = 'allocated';
        this.scheduleRefresh(lifetimeS, now);
        this.events.push({ type: 'allocated', relayed, mapped: message.get('XOR-MAPPED-ADDRESS'), lifetimeS });
        return;
      }
      case 'refresh':
        this.scheduleRefresh(message.get('LIFETIME') ?? operation.lifetimeS, now);
        return;
      case 'permission':
        this.events.push({ type: 'permission', peer: operation.peer });
        return;
      case 'connect': {
        const connectionId = message.get('CONNECTION-ID');
        if (connectionId === undefined) this.fail(operation, new TurnError(500, 'Connect success without CONNECTION-ID', 'connect', 'protocol'));
        else this.events.push({ type: 'connect', peer: operation.peer, connectionId });
      }
    }
  }

  private onError(pending: InFlight, message: StunMessage, now: Millis): void {
    const error = message.get('ERROR-CODE');
    const code = error?.code ?? 500;
    // NUL padding some servers leave in reason phrases is not part of the reason.
    const reason = (error?.reason ?? 'no ERROR-CODE').replace(/\0+$/, '');
    if ((code === 401 || code === 438) && pending.retries < 2) {
      const outcome = this.credentials.challenge(code, message, pending.authenticated);
      if (outcome.retry) {
        this.send(pending.operation, now, pending.retries + 1);
        return;
      }
      this.fail(pending.operation, new TurnError(401, outcome.reason, operationName(pending.operation), 'auth'));
      return;
    }
    this.fail(pending.operation, new TurnError(code, reason, operationName(pending.operation)));
  }

  private fail(operation: Operation, error: TurnError): void {
    if (operation.op === 'allocate' || operation.op === 'refresh') {
      if (operation.op === 'refresh' && operation.lifetimeS === 0) return;
      this.finish(error);
    } else if (operation.op === 'permission') this.events.push({ type: 'permission', peer: operation.peer, error });
    else this.events.push({ type: 'connect', peer: operation.peer, error });
  }

  private finish(error: TurnError | undefined): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.refreshAt = undefined;
    this.events.push({ type: 'closed', error });
  }

  private scheduleRefresh(lifetimeS: number, now: Millis): void {
    const ms = lifetimeS * 1000;
    this.refreshAt = now + Math.max(ms / 2, ms - TURN_REFRESH_MARGIN_MS);
  }

  private send(operation: Operation, now: Millis, retries: number): void {
    if (this.state === 'closed') return;
    const attributes: StunAttributeEntry[] = [];
    switch (operation.op) {
      case 'allocate':
        attributes.push(['REQUESTED-TRANSPORT', TRANSPORT_TCP], ['LIFETIME', this.options.lifetimeS ?? TURN_DEFAULT_LIFETIME_S]);
        if (this.options.family !== undefined) attributes.push(['REQUESTED-ADDRESS-FAMILY', this.options.family]);
        break;
      case 'refresh':
        attributes.push(['LIFETIME', operation.lifetimeS]);
        break;
      case 'permission':
        attributes.push(['XOR-PEER-ADDRESS', { address: operation.peer, port: 0 }]);
        break;
      case 'connect':
        attributes.push(['XOR-PEER-ADDRESS', operation.peer]);
    }
    const method = { allocate: StunMethod.Allocate, refresh: StunMethod.Refresh, permission: StunMethod.CreatePermission, connect: StunMethod.Connect }[operation.op];
    const transactionId = new Uint8Array(12);
    crypto.getRandomValues(transactionId);
    const authenticated = this.credentials.ready;
    let bytes: Uint8Array;
    try {
      const message = createStunMessage({ method, class: 'request', transactionId, cookie: MAGIC_COOKIE, attributes: [...attributes, ...this.credentials.attributes()] });
      bytes = this.credentials.encode(message, false);
    } catch (err) {
      this.fail(operation, new TurnError(400, err instanceof Error ? err.message : String(err), operationName(operation), 'protocol'));
      return;
    }
    this.inFlight.set(keyOf(transactionId), { operation, authenticated, retries, deadline: now + this.requestTimeoutMs });
    this.transmits.push({ socket: 0, to: this.options.server, bytes });
  }
}

function operationName(operation: Operation): TurnOperation {
  return OPERATION_NAME[operation.op];
}

function keyOf(transactionId: Uint8Array): string {
  return String.fromCharCode(...transactionId);
}
