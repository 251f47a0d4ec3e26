// The TURN client engine (RFC 8656): one allocation on one server through one socket. Sans-I/O: it is fed
// datagrams and the time, and says what to send, when to wake up and what happened. Allocate with the
// long-term credential (credentials.ts), Refresh before expiry, permissions (permissions.ts) and channels
// (channels.ts) kept alive, data out as Send indications or ChannelData, in as Data indications or ChannelData.
import type { DestinationUnreachableError } from '../net/datagram-socket.js';
import type { DatagramSource, Engine, Transmit } from '../net/engine.js';
import { Queue } from '../net/engine.js';
import { familyOf, sameTransportAddress, type TransportAddress } from '../net/transport-address.js';
import type { StunAddressErrorCode } from '../stun/attribute-values.js';
import { classifyDatagram } from '../stun/classify.js';
import { StunMethod } from '../stun/constants.js';
import { decodeStunOrUndefined } from '../stun/decode.js';
import { StunEncodeError } from '../stun/errors.js';
import { createStunMessage, type StunMessage } from '../stun/message.js';
import { TransactionTable } from '../stun/transactions.js';
import { ChannelTable, type ChannelBinding } from './channels.js';
import {
  newTurnClientCounters,
  resolveTurnClientOptions,
  type ResolvedTurnClientOptions,
  type TurnClientEvent,
  type TurnClientOptions,
  type TurnClientState,
  type TurnCloseReason,
  type TurnSendResult,
} from './client-options.js';
import { LongTermCredentials } from './credentials.js';
import { TurnError, TurnErrorCode as Code, type TurnOperation } from './errors.js';
import { firstAllocateRequest } from './allocation.js';
import { canonicalIp, canonicalPeer, PermissionTable, refreshTime, type Permission } from './permissions.js';
import { receiveChannelData, receiveDataIndication, sendOrQueue, transmitData, type DataPathHost } from './data-path.js';
import { earliest, keepAlive, sendChannelBind, sendPermission, type UpkeepHost } from './upkeep.js';
import { methodOf, requestAttributes, type AllocateRequest, type TurnRequest } from './requests.js';
import { TurnResponses } from './responses.js';

export interface PendingRequest {
  readonly request: TurnRequest;
  /** The request carried integrity (so its response must, RFC 8489 §9.2.5). */
  readonly authenticated: boolean;
  /** 401/438 retries so far for this operation. */
  readonly authRetries: number;
  /** Responses discarded for failing the integrity check. */
  integrityFailures: number;
}

export class TurnClient implements Engine<TurnClientEvent>, DataPathHost, UpkeepHost {
  readonly options: ResolvedTurnClientOptions;
  readonly counters = newTurnClientCounters();
  readonly transactions: TransactionTable<PendingRequest>;
  readonly credentials: LongTermCredentials;
  readonly permissions: PermissionTable;
  readonly channels: ChannelTable;
  private readonly transmits = new Queue<Transmit>();
  private readonly events = new Queue<TurnClientEvent>();
  private readonly responses: TurnResponses;
  private stateValue: TurnClientState = 'new';
  private serverValue: TransportAddress;
  private relayed: readonly TransportAddress[] = [];
  private addressErrorValue: StunAddressErrorCode | undefined;
  private mapped: TransportAddress | undefined;
  private lifetime = 0;
  private expiresAt: number | undefined;
  private refreshAt: number | undefined;
  /** While closing: when close() stops waiting for the deleting Refresh's answer. */
  private deallocateBy: number | undefined;
  private refreshInFlight = false;

  constructor(options: TurnClientOptions) {
    this.options = resolveTurnClientOptions(options);
    this.serverValue = this.options.server;
    this.transactions = new TransactionTable(this.options.transactions);
    this.credentials = new LongTermCredentials(this.options.username, this.options.credential, this.options.passwordAlgorithm);
    this.permissions = new PermissionTable(this.options);
    this.channels = new ChannelTable(this.options.maxChannels);
    this.responses = new TurnResponses(this);
  }

  get state(): TurnClientState {
    return this.stateValue;
  }

  /** The server the allocation is on (changes when a 300 Try Alternate is followed). */
  get server(): TransportAddress {
    return this.serverValue;
  }

  /** XOR-RELAYED-ADDRESS of the allocation, once allocated (of a dual allocation: the IPv4 one, if granted). */
  get relayedAddress(): TransportAddress | undefined {
    return this.relayed[0];
  }

  /** Every relayed address of the allocation: two for a granted dual allocation (IPv4 first), else one. */
  get relayedAddresses(): readonly TransportAddress[] {
    return this.relayed;
  }

  /** ADDRESS-ERROR-CODE of the Allocate success: why one half of a dual allocation was not granted (§7.3). */
  get addressError(): StunAddressErrorCode | undefined {
    return this.addressErrorValue;
  }

  /** XOR-MAPPED-ADDRESS: this client's address as the server saw it (a server-reflexive candidate). */
  get mappedAddress(): TransportAddress | undefined {
    return this.mapped;
  }

  /** The lifetime the server granted in its last Allocate or Refresh response, in seconds. */
  get lifetimeSeconds(): number {
    return this.lifetime;
  }

  /** The channel bound (or being bound) to `peer`, if any. */
  channelFor(peer: TransportAddress): ChannelBinding | undefined {
    const canonical = canonicalPeer(peer);
    return canonical ? this.channels.forPeer(canonical) : undefined;
  }

  /** The permission for `peer`'s IP address, if any. */
  permissionFor(peer: TransportAddress | string): Permission | undefined {
    const ip = canonicalIp(typeof peer === 'string' ? peer : peer.address);
    return ip === undefined ? undefined : this.permissions.get(ip);
  }

  /** Sends the (unauthenticated, RFC 8489 §9.2.3.1) Allocate request. False if already started. */
  allocate(now: number): boolean {
    if (this.stateValue !== 'new') return false;
    this.stateValue = 'allocating';
    this.sendRequest(firstAllocateRequest(this.options), now, 0);
    return true;
  }

  /** Installs (or refreshes, if it exists) the permission for `peer`'s IP: a 'permission' event follows. */
  createPermission(peer: TransportAddress | string, now: number): void {
    const target = typeof peer === 'string' ? { address: peer, port: 0 } : peer;
    const canonical = canonicalPeer(target);
    const ip = canonical?.address ?? String(target.address);
    const refused = this.refuse(canonical, 'permission');
    if (refused) {
      this.events.push({ type: 'permission', peer: ip, result: 'failed', error: refused });
      return;
    }
    const permission = this.permissions.ensure(ip, canonical!.port);
    if (!permission) {
      const error = new TurnError(Code.InsufficientCapacity, `maxPermissions (${this.options.maxPermissions}) reached`, 'permission', 'limit');
      this.events.push({ type: 'permission', peer: ip, result: 'failed', error });
      return;
    }
    if (!permission.inFlight) sendPermission(this, permission, now);
  }

  /**
   * Binds a channel to `peer` (RFC 8656 §12.1), numbers given out in sequence from 0x4000. Returns the
   * number, or undefined when refused (a 'channel' failed event says why). A bound channel is returned as is.
   */
  bindChannel(peer: TransportAddress, now: number): number | undefined {
    const canonical = canonicalPeer(peer);
    const refused = this.refuse(canonical, 'channel');
    if (refused) {
      this.events.push({ type: 'channel', peer, channel: 0, result: 'failed', error: refused });
      return undefined;
    }
    const binding = this.channels.ensure(canonical!, now);
    if (!binding) {
      const error = new TurnError(Code.InsufficientCapacity, `no channel number free (maxChannels ${this.options.maxChannels})`, 'channel', 'limit');
      this.events.push({ type: 'channel', peer, channel: 0, result: 'failed', error });
      return undefined;
    }
    if (binding.state === 'reserved') {
      binding.state = 'pending';
      binding.reservedUntil = undefined;
    }
    if (binding.state === 'pending' && !binding.inFlight) sendChannelBind(this, binding, now);
    return binding.number;
  }

  /**
   * Sends `data` to `peer` through the relay: as ChannelData when a channel is bound to the peer (§12.5),
   * else as a Send indication when its IP has a permission (§11.1), else queued while the permission is
   * created (bounded: maxQueuedPerPeer, maxQueuedBytes). Never throws.
   */
  send(peer: TransportAddress, data: Uint8Array, now: number): TurnSendResult {
    const canonical = canonicalPeer(peer);
    if (this.stateValue !== 'allocated' || !canonical || !this.relayFor(canonical)) {
      this.counters.droppedSends++;
      return 'dropped';
    }
    return sendOrQueue(this, canonical, data, now);
  }

  /**
   * Deletes the allocation: a Refresh with LIFETIME 0 (RFC 8656 §8.1), then a 'closed' event. Work in
   * flight (refreshes, permissions, channels) is abandoned and queued datagrams are dropped.
   */
  close(now: number): void {
    if (this.stateValue === 'closing' || this.stateValue === 'closed') return;
    const wasAllocated = this.stateValue === 'allocated';
    this.abandonAll();
    if (!wasAllocated) {
      this.finish('not-allocated');
      return;
    }
    this.stateValue = 'closing';
    this.deallocateBy = now + this.options.deallocateTimeoutMs;
    this.sendRequest({ op: 'deallocate' }, now, 0);
  }

  handleDatagram(bytes: Uint8Array, source: DatagramSource, now: number): void {
    // Over a stream every datagram is from the server; over UDP the source must be the server's address.
    const fromServer = source.socket === this.options.socket && (this.options.reliable || sameTransportAddress(source.from, this.serverValue));
    if (!fromServer || this.stateValue === 'new') {
      this.counters.droppedInbound++;
      return;
    }
    const kind = classifyDatagram(bytes);
    if (kind === 'channel-data') {
      receiveChannelData(this, bytes);
      return;
    }
    if (kind !== 'stun') {
      this.counters.droppedInbound++;
      return;
    }
    const message = decodeStunOrUndefined(bytes);
    if (!message) {
      this.counters.droppedInbound++;
      return;
    }
    if (message.class === 'success' || message.class === 'error') {
      this.responses.handle(message, this.options.reliable ? undefined : source.from, now);
    } else if (message.class === 'indication' && message.method === StunMethod.Data) {
      receiveDataIndication(this, message);
    } else {
      this.counters.droppedInbound++;
    }
  }

  /**
   * The socket refused datagrams to the server (the bridge's policy or rate limit, like an ICMP
   * unreachable): every request in flight fails now with an 'unreachable' TurnError — the Allocate ends
   * the allocation attempt, a refresh is retried later, permissions and channels report 'failed'.
   * Refusals of other destinations are not the server's and are ignored.
   */
  handleUnreachable(error: DestinationUnreachableError, source: DatagramSource, now: number): void {
    if (source.socket !== this.options.socket || !sameTransportAddress(source.from, this.serverValue)) return;
    this.counters.unreachable++;
    const ended = this.transactions.abandonTo(source.socket, source.from);
    for (const t of ended) {
      const failure = new TurnError(Code.ServerUnreachable, error.message, t.context.request.op, 'unreachable', undefined, { cause: error });
      this.responses.failed(t.context, failure, now);
    }
  }

  handleTimeout(now: number): void {
    const { retransmit, timedOut } = this.transactions.expire(now);
    for (const t of retransmit) this.transmits.push({ socket: t.socket, to: t.to, bytes: t.request });
    for (const t of timedOut) this.responses.timedOut(t, now);
    if (this.stateValue === 'closing' && now >= this.deallocateBy!) {
      this.closeLocally('deallocate-unconfirmed', new TurnError(Code.RequestTimedOut, `no answer to the deleting Refresh within ${this.options.deallocateTimeoutMs} ms`, 'deallocate', 'timeout'));
    }
    if (this.stateValue !== 'allocated') return;
    if (this.expiresAt !== undefined && now >= this.expiresAt) {
      this.closeLocally('expired');
      return;
    }
    if (!this.refreshInFlight && this.refreshAt !== undefined && now >= this.refreshAt) {
      this.refreshInFlight = true;
      this.sendRequest({ op: 'refresh' }, now, 0);
    }
    keepAlive(this, now);
  }

  pollTransmit(): Transmit | undefined {
    return this.transmits.shift();
  }

  pollTimeout(): number | undefined {
    const next = this.transactions.nextDeadline();
    if (this.stateValue === 'closing') return earliest(next, this.deallocateBy);
    if (this.stateValue !== 'allocated') return next;
    return earliest(next, this.expiresAt, this.refreshInFlight ? undefined : this.refreshAt, this.permissions.nextDeadline(), this.channels.nextDeadline());
  }

  pollEvent(): TurnClientEvent | undefined {
    return this.events.shift();
  }

  // ---- called by TurnResponses (responses.ts) -------------------------------------------------------

  /** @internal */
  emit(event: TurnClientEvent): void {
    this.events.push(event);
  }

  /** @internal Queues bytes for the server. */
  transmit(bytes: Uint8Array): void {
    this.transmits.push({ socket: this.options.socket, to: this.serverValue, bytes });
  }

  /** @internal Data from peers is delivered while the allocation exists. */
  get receiving(): boolean {
    return this.stateValue === 'allocated' || this.stateValue === 'closing';
  }

  /** @internal Sends a request for `request`, authenticated if a challenge has been answered. */
  sendRequest(request: TurnRequest, now: number, authRetries: number): void {
    const attributes = requestAttributes(request, this.options);
    const authenticated = this.credentials.ready;
    attributes.push(...this.credentials.attributes());
    let bytes: Uint8Array;
    let message: StunMessage;
    try {
      message = createStunMessage({ method: methodOf(request), class: 'request', attributes });
      bytes = this.credentials.encode(message, this.options.fingerprint);
    } catch (err) {
      if (!(err instanceof StunEncodeError)) throw err;
      this.responses.failed({ request, authenticated, authRetries, integrityFailures: 0 }, new TurnError(Code.BadRequest, err.message, request.op, 'protocol'), now);
      return;
    }
    const pending: PendingRequest = { request, authenticated, authRetries, integrityFailures: 0 };
    this.transactions.start(message.transactionId, bytes, this.serverValue, this.options.socket, now, pending, this.options.reliable);
    this.transmits.push({ socket: this.options.socket, to: this.serverValue, bytes });
  }

  /** @internal An Allocate succeeded: the allocation exists from the request's send time. */
  allocated(
    relayed: readonly TransportAddress[],
    mapped: TransportAddress | undefined,
    lifetimeSeconds: number,
    sentAt: number,
    addressError?: StunAddressErrorCode,
  ): void {
    this.stateValue = 'allocated';
    this.relayed = relayed;
    this.addressErrorValue = addressError;
    this.mapped = mapped;
    this.renewed(lifetimeSeconds, sentAt);
    const event = { type: 'allocated', relayed: relayed[0], relayedAddresses: relayed, mapped, lifetimeSeconds, server: this.serverValue } as const;
    this.events.push(addressError ? { ...event, addressError } : event);
  }

  /** @internal The allocation's time-to-expiry restarted at `sentAt` (§8.3). */
  renewed(lifetimeSeconds: number, sentAt: number): void {
    this.lifetime = lifetimeSeconds;
    this.refreshInFlight = false;
    this.expiresAt = sentAt + lifetimeSeconds * 1000;
    this.refreshAt = refreshTime(sentAt, lifetimeSeconds * 1000, this.options.refreshMarginMs);
  }

  /** @internal A refresh failed: try again after refreshRetryMs while the allocation lasts. */
  refreshFailed(now: number): void {
    this.refreshInFlight = false;
    this.refreshAt = now + this.options.refreshRetryMs;
  }

  /** @internal Re-targets a 300 Try Alternate (RFC 8489 §10): a new server gets `request` first, unauthenticated. */
  redirect(to: TransportAddress, request: AllocateRequest, now: number): void {
    const from = this.serverValue;
    this.serverValue = to;
    this.credentials.reset();
    this.events.push({ type: 'redirected', from, to });
    this.sendRequest(request, now, 0);
  }

  /** @internal Sends what was queued for a permission now installed. */
  flush(permission: Permission): void {
    for (const q of this.permissions.drain(permission)) transmitData(this, q.peer, q.data);
  }

  /** @internal The allocation is gone (or never was): drop everything and report why. */
  closeLocally(reason: TurnCloseReason, error?: TurnError): void {
    this.abandonAll();
    this.finish(reason, error);
  }

  // ---- private ---------------------------------------------------------------------------------------

  private finish(reason: TurnCloseReason, error?: TurnError): void {
    this.stateValue = 'closed';
    this.refreshAt = undefined;
    this.expiresAt = undefined;
    this.events.push(error ? { type: 'closed', reason, error } : { type: 'closed', reason });
  }

  /** Cancels every transaction in flight and forgets permissions, queues and channels. */
  private abandonAll(): void {
    for (const t of [...this.transactions]) this.transactions.cancel(t.transactionId);
    this.refreshInFlight = false;
    this.counters.droppedQueued += this.permissions.clear();
    this.channels.clear();
  }

  private refuse(peer: TransportAddress | undefined, operation: TurnOperation): TurnError | undefined {
    if (this.stateValue !== 'allocated') return new TurnError(Code.AllocationMismatch, `no allocation (state ${this.stateValue})`, operation, 'closed');
    if (!peer) return new TurnError(Code.BadRequest, 'the peer is not an IP address', operation, 'protocol');
    if (!this.relayFor(peer)) {
      // §10.1, §12.1: only peers of a relayed address's family (of either, for a dual allocation).
      return new TurnError(Code.PeerAddressFamilyMismatch, `peer ${peer.address} is not of a relayed address's family`, operation, 'protocol');
    }
    return undefined;
  }

  /** The relayed address that reaches `peer`: the one of its family. */
  relayFor(peer: TransportAddress): TransportAddress | undefined {
    const family = familyOf(peer.address);
    return this.relayed.find((r) => familyOf(r.address) === family);
  }
}
