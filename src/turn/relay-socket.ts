// A TURN allocation seen as a DatagramSocket (RFC 8656): its local address is the relayed transport
// address, `send` goes out through the server (ChannelData or Send indication), datagrams from peers come in
// through `ondatagram`. Anything that runs over a socket — the ICE agent, stunBinding — runs over a relay.
// A peer the server will not relay to (403 to CreatePermission/ChannelBind, RFC 8656 §10.2, §12.2) is reported
// through `onunreachable`, as a refused destination is by any other socket.
import { realClock, type Clock, type TimerHandle } from '../net/clock.js';
import { DestinationUnreachableError, type DatagramHandler, type DatagramSocket, type UnreachableHandler } from '../net/datagram-socket.js';
import { EngineDriver } from '../net/driver.js';
import type { IceServerTransport } from '../net/ice-server-uri.js';
import { familyOf, formatTransportAddress, type TransportAddress } from '../net/transport-address.js';
import type { StunAddressErrorCode } from '../stun/attribute-values.js';
import { TurnClient } from './client.js';
import type { TurnClientCounters, TurnClientEvent, TurnClientOptions, TurnCloseReason } from './client-options.js';
import { TurnError, TurnErrorCode as Code } from './errors.js';
import { canonicalIp } from './permissions.js';
import { TurnRelayFamilySocket, type FamilySocketRelay } from './relay-family-socket.js';
import { checkMilliseconds } from '../net/option-checks.js';

export interface TurnRelaySocketOptions extends Omit<TurnClientOptions, 'socket' | 'reliable'> {
  /** How `base` reaches the server: 'tcp' and 'tls' make transactions reliable (RFC 8489 §6.2.2). Default 'udp'. */
  transport?: IceServerTransport;
  clock?: Clock;
  /** Close the base socket when the allocation ends. Default false: close nothing this did not open. */
  closeBase?: boolean;
  /** Reject `allocate` after this long. Default: none beyond the RFC 8489 transaction schedule (39.5 s per try). */
  timeoutMs?: number;
}

type Waiter<T> = { resolve: (value: T) => void; reject: (error: TurnError) => void };

export class TurnRelaySocket implements DatagramSocket, FamilySocketRelay {
  ondatagram: DatagramHandler | null = null;
  onclose: ((reason?: Error) => void) | null = null;
  /**
   * A peer cannot be reached through this relay: the server answered its CreatePermission or ChannelBind
   * with 403 (code `peer-forbidden`), or the way to the server itself is refused (`relay-unreachable`).
   */
  onunreachable: UnreachableHandler | null = null;
  /** Every engine event, for observers (refreshes, redirects, …), after the socket has acted on it. */
  onturnevent: ((event: TurnClientEvent) => void) | null = null;
  readonly client: TurnClient;
  /** Settles with why the allocation ended, once it has. */
  readonly closed: Promise<TurnCloseReason>;
  private readonly driver: EngineDriver<TurnClientEvent>;
  private readonly permissionWaiters = new Map<string, Waiter<void>[]>();
  private readonly channelWaiters = new Map<string, Waiter<number>[]>();
  private allocation: Waiter<TurnRelaySocket> | undefined;
  private resolveClosed!: (reason: TurnCloseReason) => void;
  private ended = false;
  private readonly closeBase: boolean;
  private views: TurnRelayFamilySocket[] | undefined;

  private constructor(
    private readonly base: DatagramSocket,
    options: TurnRelaySocketOptions,
    private readonly clock: Clock,
  ) {
    const transport = options.transport ?? 'udp';
    this.client = new TurnClient({ ...options, socket: 0, reliable: transport !== 'udp' });
    this.closeBase = options.closeBase ?? false;
    this.closed = new Promise((resolve) => (this.resolveClosed = resolve));
    this.driver = new EngineDriver(this.client, { clock, onEvent: (event) => this.onEvent(event) });
  }

  /**
   * Allocates a relayed address on `options.server` through `base` and resolves with it as a socket;
   * rejects with a TurnError (401, 403, 437, 440, 441, 442, 486, 508, a timeout, …) when that fails.
   */
  static allocate(base: DatagramSocket, options: TurnRelaySocketOptions): Promise<TurnRelaySocket> {
    checkMilliseconds('timeoutMs', options.timeoutMs);
    const clock = options.clock ?? realClock;
    const socket = new TurnRelaySocket(base, options, clock);
    return new Promise<TurnRelaySocket>((resolve, reject) => {
      let timer: TimerHandle | undefined;
      const settle = () => {
        if (timer !== undefined) clock.clearTimer(timer);
        socket.allocation = undefined;
      };
      socket.allocation = {
        resolve: (s) => {
          settle();
          resolve(s);
        },
        reject: (e) => {
          settle();
          reject(e);
        },
      };
      if (options.timeoutMs !== undefined) {
        timer = clock.setTimer(() => {
          socket.allocation?.reject(new TurnError(Code.RequestTimedOut, `no allocation within ${options.timeoutMs} ms`, 'allocate', 'timeout'));
          socket.close();
        }, clock.now() + options.timeoutMs);
      }
      base.onclose = (reason) => socket.shutdown(new TurnError(Code.AllocationMismatch, `the socket to the server closed${reason ? `: ${reason.message}` : ''}`, 'allocate', 'closed'));
      socket.driver.attach(0, base);
      socket.client.allocate(clock.now());
      socket.driver.poll();
    });
  }

  /** The relayed transport address (XOR-RELAYED-ADDRESS; of a dual allocation, the first: IPv4 if granted). */
  get localAddress(): TransportAddress {
    return this.client.relayedAddress ?? { address: '0.0.0.0', port: 0 };
  }

  /** Every relayed address: two for a granted dual allocation (`dualStack`), IPv4 first. `send` reaches peers of each. */
  get relayedAddresses(): readonly TransportAddress[] {
    return this.client.relayedAddresses;
  }

  /** Why the server granted only one half of a dual allocation (ADDRESS-ERROR-CODE, RFC 8656 §7.3), if so. */
  get addressError(): StunAddressErrorCode | undefined {
    return this.client.addressError;
  }

  /**
   * One socket per relayed address (TurnRelayFamilySocket), for whoever needs one local address per socket
   * (the ICE gatherer with a dual allocation). Once asked for, datagrams from peers go to the socket of their
   * family instead of `ondatagram`; the allocation is deleted when every one of them is closed.
   */
  familySockets(): readonly TurnRelayFamilySocket[] {
    this.views ??= this.client.relayedAddresses.map((address) => new TurnRelayFamilySocket(this, address));
    return this.views;
  }

  /** @internal */
  viewClosed(): void {
    if (this.views?.every((v) => v.closed)) this.close();
  }

  /** This client's address as the server saw it (XOR-MAPPED-ADDRESS), a server-reflexive candidate. */
  get mappedAddress(): TransportAddress | undefined {
    return this.client.mappedAddress;
  }

  /** The TURN server (after any redirect). */
  get server(): TransportAddress {
    return this.client.server;
  }

  get counters(): TurnClientCounters {
    return this.client.counters;
  }

  /** Sends through the relay; a peer without permission gets one first (the datagram waits, bounded). */
  send(bytes: Uint8Array, to: TransportAddress): void {
    if (this.ended) return;
    this.client.send(to, bytes, this.clock.now());
    this.driver.poll();
  }

  /** Installs (or refreshes) the permission for `peer`'s IP address; it is then kept refreshed. */
  createPermission(peer: TransportAddress | string): Promise<void> {
    const address = typeof peer === 'string' ? peer : peer.address;
    const ip = canonicalIp(address) ?? address;
    const promise = this.wait(this.permissionWaiters, ip, 'permission');
    this.client.createPermission(typeof peer === 'string' ? { address: peer, port: 0 } : peer, this.clock.now());
    this.driver.poll();
    return promise;
  }

  /** Binds a channel to `peer` (and so a permission for its IP), resolving with the channel number. */
  bindChannel(peer: TransportAddress): Promise<number> {
    const key = peerKey(peer);
    const existing = this.client.channelFor(peer);
    if (existing?.state === 'active') return Promise.resolve(existing.number);
    const promise = this.wait(this.channelWaiters, key, 'channel');
    this.client.bindChannel(peer, this.clock.now());
    this.driver.poll();
    return promise;
  }

  /** Deletes the allocation (Refresh with LIFETIME 0), then fires `onclose`; see `closed`. */
  close(): void {
    if (this.ended) return;
    this.client.close(this.clock.now());
    this.driver.poll();
  }

  /**
   * Ends the allocation here without telling the server (it expires there after its lifetime): for when
   * the deleting Refresh of `close()` cannot be waited for. Fires `onclose` if it has not fired.
   */
  abort(): void {
    this.shutdown(new TurnError(Code.AllocationMismatch, 'aborted', 'deallocate', 'closed'));
  }

  private wait<T>(table: Map<string, Waiter<T>[]>, key: string, operation: 'permission' | 'channel'): Promise<T> {
    if (this.ended) return Promise.reject(new TurnError(Code.AllocationMismatch, 'the allocation is closed', operation, 'closed'));
    return new Promise<T>((resolve, reject) => {
      const list = table.get(key) ?? [];
      list.push({ resolve, reject });
      table.set(key, list);
    });
  }

  private onEvent(event: TurnClientEvent): void {
    switch (event.type) {
      case 'allocated':
        this.allocation?.resolve(this);
        break;
      case 'allocation-failed':
        this.allocation?.reject(event.error);
        break;
      case 'data':
        if (this.views) this.viewFor(event.peer)?.deliver(event.data, event.peer);
        else this.ondatagram?.(event.data, event.peer);
        break;
      case 'permission':
        if (event.result === 'created' || event.result === 'refreshed') settle(this.permissionWaiters, event.peer, (w) => w.resolve());
        else if (event.result === 'failed') {
          settle(this.permissionWaiters, event.peer, (w) => w.reject(event.error));
          for (const peer of event.peers ?? []) this.refused(peer, event.error);
        }
        break;
      case 'channel': {
        const key = peerKey(event.peer);
        if (event.result === 'bound' || event.result === 'refreshed') settle(this.channelWaiters, key, (w) => w.resolve(event.channel));
        else if (event.result === 'failed') {
          settle(this.channelWaiters, key, (w) => w.reject(event.error));
          // A failed refresh of a bound channel leaves it bound until it lapses: the peer is still reachable.
          if (this.client.channelFor(event.peer)?.state !== 'active') this.refused(event.peer, event.error);
        }
        break;
      }
      case 'closed':
        this.end(event.reason, event.error);
        break;
      default:
        break;
    }
    this.onturnevent?.(event);
  }

  private viewFor(peer: TransportAddress): TurnRelayFamilySocket | undefined {
    const family = familyOf(peer.address);
    return this.views?.find((v) => v.family === family);
  }

  private unreachable(error: DestinationUnreachableError): void {
    if (this.views) this.viewFor(error.destination)?.unreachable(error);
    else this.onunreachable?.(error);
  }

  /**
   * Reports `peer` unreachable when `error` says it is for good: a 403 (RFC 8656 §10.2, §12.2: the server's
   * policy forbids the peer's address) or a refused way to the server. Other failures (timeouts, 508) are
   * not refusals: whoever waits on the peer keeps its own timers.
   */
  private refused(peer: TransportAddress, error: TurnError): void {
    const server = formatTransportAddress(this.client.server);
    if (error.kind === 'response' && error.code === Code.Forbidden) {
      const reason = `the TURN server ${server} does not relay to ${peer.address}: ${error.code} ${error.reason}`;
      this.unreachable(new DestinationUnreachableError('peer-forbidden', peer, reason));
    } else if (error.kind === 'unreachable') {
      this.unreachable(new DestinationUnreachableError('relay-unreachable', peer, `the TURN server ${server} is unreachable: ${error.reason}`));
    }
  }

  /** The base socket closed, or abort(): the allocation is unreachable or abandoned. */
  private shutdown(error: TurnError): void {
    if (this.ended) return;
    this.allocation?.reject(error);
    this.end(this.client.state === 'allocated' || this.client.state === 'closing' ? 'deallocate-unconfirmed' : 'not-allocated', error);
  }

  private end(reason: TurnCloseReason, error: TurnError | undefined): void {
    if (this.ended) return;
    this.ended = true;
    this.driver.close();
    this.base.onclose = null;
    const closedError = error ?? new TurnError(Code.AllocationMismatch, `the allocation ended: ${reason}`, 'allocate', 'closed');
    this.allocation?.reject(closedError);
    for (const table of [this.permissionWaiters, this.channelWaiters] as Map<string, Waiter<unknown>[]>[]) {
      for (const list of table.values()) for (const w of list) w.reject(closedError);
      table.clear();
    }
    if (this.closeBase) this.base.close();
    this.resolveClosed(reason);
    for (const v of this.views ?? []) v.ended(error);
    this.onclose?.(error);
  }
}

function settle<T>(table: Map<string, Waiter<T>[]>, key: string, action: (w: Waiter<T>) => void): void {
  const list = table.get(key);
  if (!list) return;
  table.delete(key);
  for (const w of list) action(w);
}

function peerKey(peer: TransportAddress): string {
  return formatTransportAddress({ address: canonicalIp(peer.address) ?? peer.address, port: peer.port });
}
