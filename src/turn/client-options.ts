// Options, events and counters of the TURN client engine (client.ts). Every limit is an option with its
// default documented here; they are validated once, at construction.
import type { AddressFamily, TransportAddress } from '../net/transport-address.js';
import type { SocketId } from '../net/engine.js';
import type { StunAddressErrorCode } from '../stun/attribute-values.js';
import type { TransactionOptions } from '../stun/transactions.js';
import {
  TURN_CHANNEL_LIFETIME_MS,
  TURN_CHANNEL_RESERVATION_MS,
  TURN_DEFAULT_LIFETIME_S,
  TURN_PERMISSION_LIFETIME_MS,
  TURN_REFRESH_MARGIN_MS,
  TURN_REFRESH_RETRY_MS,
  TURN_DEALLOCATE_TIMEOUT_MS,
} from '../timing.js';
import type { PasswordAlgorithmChoice } from './credentials.js';
import type { TurnError } from './errors.js';

export interface TurnClientOptions {
  /** The TURN server's transport address. */
  server: TransportAddress;
  username: string;
  /** The password of the long-term credential (for the TURN REST scheme: the minted credential). */
  credential: string;
  /** The engine socket id the server is reached through. Default 0. */
  socket?: SocketId;
  /** TCP or TLS to the server: each request is sent once and times out after Ti (RFC 8489 §6.2.2). Default false. */
  reliable?: boolean;
  /**
   * Relayed address family, sent as REQUESTED-ADDRESS-FAMILY (RFC 8656 §7.1) whichever it is: asking for
   * IPv4 explicitly is allowed and says what is meant. Default: none sent, so the server relays IPv4 (§7.2).
   */
  family?: AddressFamily;
  /**
   * After a 440 (Address Family not Supported) to the Allocate, ask once more, explicitly, for the other
   * family (IPv6 after IPv4 or a dual request, IPv4 after IPv6); the error then names both attempts. Default true.
   */
  familyFallback?: boolean;
  /**
   * Ask for a dual allocation, one IPv4 and one IPv6 relayed address (ADDITIONAL-ADDRESS-FAMILY, RFC 8656
   * §7.1); a server granting one half says why not the other (ADDRESS-ERROR-CODE, the 'allocated' event's
   * `addressError`). Not with `family` (§7.1: never both attributes). Default false.
   */
  dualStack?: boolean;
  /**
   * With `dualStack`, also send ADDITIONAL-ADDRESS-FAMILY under 0x8032, the turnbis-draft code point coturn
   * 4.6 uses instead of RFC 8656's 0x8000 (comprehension-optional: other servers ignore it). Default true.
   */
  draftDualStackAttribute?: boolean;
  /** LIFETIME asked for in Allocate and Refresh, in seconds (RFC 8656 §7.1, a hint). Default 600. */
  lifetimeSeconds?: number;
  /** Refresh an allocation, permission or channel this long before it expires. Default 60 000 ms. */
  refreshMarginMs?: number;
  /** After a failed refresh, try again after this long while time is left. Default 10 000 ms. */
  refreshRetryMs?: number;
  /**
   * Follow a 300 Try Alternate (RFC 8656 §7.4) on this socket, over UDP. Default true. False: the Allocate
   * fails with a TurnError carrying `alternateServer`, for a caller that opens a socket per server (a
   * connected one; over TCP/TLS a new connection is always needed).
   */
  followAlternate?: boolean;
  /** close() waits this long for its deleting Refresh to be answered, then closes unconfirmed. Default 2 000 ms. */
  deallocateTimeoutMs?: number;
  /** RFC 8656 §9: 300 000 ms. An option only so tests and odd servers can change it. */
  permissionLifetimeMs?: number;
  /** RFC 8656 §12: 600 000 ms. */
  channelLifetimeMs?: number;
  /** RFC 8656 §12: an expired channel's number and peer stay reserved 300 000 ms. */
  channelReservationMs?: number;
  /** Consecutive 438 Stale Nonce retries of one operation before it fails. Default 3. */
  maxStaleNonceRetries?: number;
  /** 300 Try Alternate redirects followed while allocating (RFC 8489 §10). Default 3; 0 turns them off. */
  maxRedirects?: number;
  /** Most permissions kept and refreshed. Default 1000. */
  maxPermissions?: number;
  /** Most channel bindings, reserved ones included (RFC 8656 §12 allows 4096). Default 4096. */
  maxChannels?: number;
  /** Datagrams queued per peer IP while its permission is created. Default 32. */
  maxQueuedPerPeer?: number;
  /** Bytes queued over all peers while permissions are created. Default 262 144. */
  maxQueuedBytes?: number;
  /** RFC 8489 §9.2.5 / PASSWORD-ALGORITHMS: see PasswordAlgorithmChoice. Default 'prefer-sha256'. */
  passwordAlgorithm?: PasswordAlgorithmChoice;
  /** SOFTWARE sent in Allocate and Refresh (RFC 8656 §5 SHOULD); '' leaves it out. Default 'icebridge'. */
  software?: string;
  /** FINGERPRINT on requests (RFC 8656 §5: MAY). Default true. */
  fingerprint?: boolean;
  /** Retransmission timers (RFC 8489 §6.2.1); defaults from timing.ts. */
  transactions?: TransactionOptions;
}

export type ResolvedTurnClientOptions = Required<Omit<TurnClientOptions, 'family' | 'transactions'>> &
  Pick<TurnClientOptions, 'family' | 'transactions'>;

export function resolveTurnClientOptions(options: TurnClientOptions): ResolvedTurnClientOptions {
  const resolved: ResolvedTurnClientOptions = {
    server: options.server,
    username: options.username,
    credential: options.credential,
    socket: options.socket ?? 0,
    reliable: options.reliable ?? false,
    family: options.family,
    familyFallback: options.familyFallback ?? true,
    dualStack: options.dualStack ?? false,
    draftDualStackAttribute: options.draftDualStackAttribute ?? true,
    lifetimeSeconds: options.lifetimeSeconds ?? TURN_DEFAULT_LIFETIME_S,
    refreshMarginMs: options.refreshMarginMs ?? TURN_REFRESH_MARGIN_MS,
    refreshRetryMs: options.refreshRetryMs ?? TURN_REFRESH_RETRY_MS,
    deallocateTimeoutMs: options.deallocateTimeoutMs ?? TURN_DEALLOCATE_TIMEOUT_MS,
    followAlternate: options.followAlternate ?? true,
    permissionLifetimeMs: options.permissionLifetimeMs ?? TURN_PERMISSION_LIFETIME_MS,
    channelLifetimeMs: options.channelLifetimeMs ?? TURN_CHANNEL_LIFETIME_MS,
    channelReservationMs: options.channelReservationMs ?? TURN_CHANNEL_RESERVATION_MS,
    maxStaleNonceRetries: options.maxStaleNonceRetries ?? 3,
    maxRedirects: options.maxRedirects ?? 3,
    maxPermissions: options.maxPermissions ?? 1000,
    maxChannels: options.maxChannels ?? 4096,
    maxQueuedPerPeer: options.maxQueuedPerPeer ?? 32,
    maxQueuedBytes: options.maxQueuedBytes ?? 262_144,
    passwordAlgorithm: options.passwordAlgorithm ?? 'prefer-sha256',
    software: options.software ?? 'icebridge',
    fingerprint: options.fingerprint ?? true,
    transactions: options.transactions,
  };
  const positive: (keyof ResolvedTurnClientOptions)[] = [
    'lifetimeSeconds',
    'refreshRetryMs',
    'deallocateTimeoutMs',
    'permissionLifetimeMs',
    'channelLifetimeMs',
  ];
  for (const key of positive) {
    const v = resolved[key];
    if (typeof v !== 'number' || !(v > 0)) throw new RangeError(`TurnClient: ${key} must be > 0`);
  }
  const counts: (keyof ResolvedTurnClientOptions)[] = [
    'maxStaleNonceRetries',
    'maxRedirects',
    'maxPermissions',
    'maxQueuedPerPeer',
    'maxQueuedBytes',
    'refreshMarginMs',
    'channelReservationMs',
  ];
  for (const key of counts) {
    const v = resolved[key];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw new RangeError(`TurnClient: ${key} must be a whole number ≥ 0`);
  }
  if (!Number.isInteger(resolved.maxChannels) || resolved.maxChannels < 1 || resolved.maxChannels > 4096) {
    throw new RangeError('TurnClient: maxChannels must be 1..4096');
  }
  if (!Number.isInteger(resolved.lifetimeSeconds) || resolved.lifetimeSeconds > 0xffffffff) {
    throw new RangeError('TurnClient: lifetimeSeconds must be a whole number of seconds');
  }
  if (resolved.dualStack && resolved.family !== undefined) {
    throw new RangeError('TurnClient: dualStack and family exclude each other (RFC 8656 §7.1)');
  }
  if (resolved.family !== undefined && resolved.family !== 'IPv4' && resolved.family !== 'IPv6') {
    throw new RangeError(`TurnClient: family must be 'IPv4' or 'IPv6', not ${String(resolved.family)}`);
  }
  if (typeof resolved.username !== 'string' || typeof resolved.credential !== 'string') {
    throw new TypeError('TurnClient: username and credential must be strings');
  }
  return resolved;
}

export type TurnClientState = 'new' | 'allocating' | 'allocated' | 'closing' | 'closed';

/** Why an allocation ended. */
export type TurnCloseReason =
  /** close() deleted it (Refresh with LIFETIME 0 answered, or 437: already gone, RFC 8656 §8.3). */
  | 'deallocated'
  /** close() was called and the deleting Refresh got no answer; the server lets it expire. */
  | 'deallocate-unconfirmed'
  /** Its lifetime ran out without a successful refresh. */
  | 'expired'
  /** The server answered 437 to a request on it: it no longer exists (RFC 8656 §5). */
  | 'allocation-mismatch'
  /** It never existed: the Allocate failed, or close() came first. */
  | 'not-allocated';

export type TurnClientEvent =
  /**
   * `relayed` is the first of `relayedAddresses` (two for a granted dual allocation, IPv4 first);
   * `addressError`: why the server did not grant one half of a dual allocation (RFC 8656 §7.3).
   */
  | {
      type: 'allocated';
      relayed: TransportAddress;
      relayedAddresses: readonly TransportAddress[];
      addressError?: StunAddressErrorCode;
      mapped: TransportAddress | undefined;
      lifetimeSeconds: number;
      server: TransportAddress;
    }
  | { type: 'allocation-failed'; error: TurnError }
  /** Following a 300 Try Alternate (RFC 8489 §10) while allocating. */
  | { type: 'redirected'; from: TransportAddress; to: TransportAddress }
  | { type: 'refreshed'; lifetimeSeconds: number }
  /** A refresh failed; the allocation lives on until it expires, and the refresh is retried. */
  | { type: 'refresh-failed'; error: TurnError }
  | { type: 'permission'; peer: string; result: 'created' | 'refreshed' }
  /**
   * `peers`: for a permission never installed, the transport addresses at that IP that were waiting for it
   * (its XOR-PEER-ADDRESS and the queued datagrams' destinations), so a refusal (403, RFC 8656 §10.2) can
   * be reported per peer; empty when a refresh of an installed permission failed.
   */
  | { type: 'permission'; peer: string; result: 'failed'; error: TurnError; peers?: readonly TransportAddress[] }
  | { type: 'permission'; peer: string; result: 'expired' }
  | { type: 'channel'; peer: TransportAddress; channel: number; result: 'bound' | 'refreshed' }
  | { type: 'channel'; peer: TransportAddress; channel: number; result: 'failed'; error: TurnError }
  | { type: 'channel'; peer: TransportAddress; channel: number; result: 'expired' }
  /** Application data from a peer, from a Data indication or (with `channel`) a ChannelData message. */
  | { type: 'data'; peer: TransportAddress; data: Uint8Array; channel?: number }
  | { type: 'closed'; reason: TurnCloseReason; error?: TurnError };

/** How `send` disposed of a datagram. */
export type TurnSendResult = 'channel' | 'indication' | 'queued' | 'dropped';

export interface TurnClientCounters {
  /** Received datagrams not from the server, neither STUN nor ChannelData, or undecodable. */
  droppedInbound: number;
  /** Responses matching no transaction in flight (late retransmissions, strays). */
  unmatchedResponses: number;
  /** Responses to authenticated requests whose integrity was missing or wrong (discarded, RFC 8489 §9.2.5). */
  badIntegrity: number;
  /** Data indications without XOR-PEER-ADDRESS/DATA, or from an IP with no permission (§11.4). */
  droppedDataIndications: number;
  /** Data indications with an ICMP attribute (§11.6), counted and not delivered. */
  icmpIndications: number;
  /** ChannelData on a channel not bound (§12.6). */
  droppedChannelData: number;
  /** send() calls dropped: no allocation, wrong family, too large, a permission that could not be made. */
  droppedSends: number;
  /** Datagrams dropped because a per-peer or total queue bound was reached. */
  queueOverflows: number;
  /** Queued datagrams dropped because their permission failed or the allocation closed. */
  droppedQueued: number;
  /** Refusals of the server's address by the socket (the bridge's policy or rate limit, ICMP-like). */
  unreachable: number;
  sentIndications: number;
  sentChannelData: number;
  receivedIndications: number;
  receivedChannelData: number;
}

export function newTurnClientCounters(): TurnClientCounters {
  return {
    droppedInbound: 0,
    unmatchedResponses: 0,
    badIntegrity: 0,
    droppedDataIndications: 0,
    icmpIndications: 0,
    droppedChannelData: 0,
    droppedSends: 0,
    queueOverflows: 0,
    droppedQueued: 0,
    unreachable: 0,
    sentIndications: 0,
    sentChannelData: 0,
    receivedIndications: 0,
    receivedChannelData: 0,
  };
}
