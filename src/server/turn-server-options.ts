// Options of the TURN server engine: every limit with its default, validated once at construction.
import type { Millis } from '../net/clock.js';
import type { AddressFamily } from '../net/transport-address.js';
import {
  TURN_CHANNEL_LIFETIME_MS,
  TURN_CHANNEL_RESERVATION_MS,
  TURN_DEFAULT_LIFETIME_S,
  TURN_MAX_LIFETIME_S,
  TURN_PERMISSION_LIFETIME_MS,
  TURN_RESERVATION_LIFETIME_MS,
} from '../timing.js';
import { CHANNEL_MAX, CHANNEL_MAX_RFC5766 } from '../turn/channel-data.js';
import type { PeerPolicyOptions } from './peer-policy.js';
import type { StunServerOptions } from './stun-server.js';
import type { TurnCredentialOptions } from './turn-auth.js';
import type { TurnTcpRelayOptions } from './turn-tcp-options.js';

export interface TurnServerOptions extends StunServerOptions, TurnCredentialOptions, PeerPolicyOptions, TurnTcpRelayOptions {
  /**
   * Families of relayed addresses the server can allocate (RFC 8656 §7.2 step 7: others get 440). The
   * driver's relay sockets must be able to open these. Default ['IPv4'].
   */
  relayFamilies?: readonly AddressFamily[];
  /** RFC 8656 §2: the default allocation lifetime, also the floor of a requested one. Default 600 s. */
  defaultLifetimeS?: number;
  /** RFC 8656 §7.2: the cap on a requested lifetime, RECOMMENDED ≤ 3600 s. Default 3600 s. */
  maxLifetimeS?: number;
  /** RFC 8656 §9: permission lifetime. Default 300 000 ms. */
  permissionLifetimeMs?: Millis;
  /** RFC 8656 §12: channel binding lifetime. Default 600 000 ms. */
  channelLifetimeMs?: Millis;
  /** RFC 8656 §12: how long an expired channel's number and peer stay reserved. Default 300 000 ms. */
  channelReservationMs?: Millis;
  /**
   * Live allocations (pending ones included) per user of a realm before 486 Allocation Quota Reached
   * (RFC 8656 §7.2 step 10). A slot is freed when its allocation is deleted: a UDP allocation whose client
   * went away silently holds it for the rest of its lifetime (the granted LIFETIME from the last Refresh,
   * `defaultLifetimeS` = 600 s by default); a TCP/TLS allocation frees it as soon as its connection closes
   * (RFC 8656 §3.1). Port reservations (EVEN-PORT R=1) do not count. Default 10.
   */
  maxAllocationsPerUser?: number;
  /** Allocations in total before 508 Insufficient Capacity. Default 1000. */
  maxAllocations?: number;
  /**
   * Relayed bytes per second per allocation, both directions together (a token bucket; what exceeds it
   * is dropped and counted). Default 2 500 000 (20 Mbit/s); Infinity for no limit.
   */
  bytesPerSecond?: number;
  /** Bucket depth in bytes. Default max(bytesPerSecond, 65 536): one second's worth, at least one datagram. */
  burstBytes?: number;
  /** Permissions per allocation before CreatePermission/ChannelBind get 508. Default 128. */
  maxPermissionsPerAllocation?: number;
  /** Channel bindings per allocation before ChannelBind gets 508. Default 256 (the range holds 16 384, or 4096 with channelNumbers 'rfc8656'). */
  maxChannelsPerAllocation?: number;
  /** How long the driver may take to open a relay socket before the Allocate gets 508. Default 5000 ms. */
  relayOpenTimeoutMs?: Millis;
  /**
   * Channel numbers ChannelBind accepts. 'rfc5766': 0x4000–0x7FFF, RFC 5766 §11's range, which coturn and
   * older clients use — a deliberate departure from RFC 8656 §12, which narrowed it to 0x4000–0x4FFF and
   * says to answer 400 outside it; 'rfc8656' does that. Default 'rfc5766'.
   */
  channelNumbers?: 'rfc5766' | 'rfc8656';
  /**
   * How long the port N+1 of an EVEN-PORT R=1 Allocate stays reserved for the RESERVATION-TOKEN it got
   * (RFC 8656 §7.2: at least 30 s). Default TURN_RESERVATION_LIFETIME_MS (30 000 ms).
   */
  reservationLifetimeMs?: Millis;
  /** Port reservations held at once before an EVEN-PORT R=1 Allocate gets 508. Default 1000. */
  maxReservations?: number;
}

export interface ResolvedTurnLimits {
  readonly relayFamilies: readonly AddressFamily[];
  readonly defaultLifetimeS: number;
  readonly maxLifetimeS: number;
  readonly permissionLifetimeMs: Millis;
  readonly channelLifetimeMs: Millis;
  readonly channelReservationMs: Millis;
  readonly maxAllocationsPerUser: number;
  readonly maxAllocations: number;
  readonly bytesPerSecond: number;
  readonly burstBytes: number;
  readonly maxPermissionsPerAllocation: number;
  readonly maxChannelsPerAllocation: number;
  readonly relayOpenTimeoutMs: Millis;
  /** The highest channel number ChannelBind and ChannelData accept (0x7FFF or 0x4FFF). */
  readonly channelMax: number;
  readonly reservationLifetimeMs: Millis;
  readonly maxReservations: number;
}

/** A TURN server limit: `value` or `fallback`, positive (a whole number when `integer`; Infinity: none), or a RangeError. */
export function positiveLimit(name: string, value: number | undefined, fallback: number, integer = true): number {
  const v = value ?? fallback;
  if (typeof v !== 'number' || !(v > 0) || (integer && v !== Infinity && !Number.isInteger(v))) {
    throw new RangeError(`TURN server option ${name} must be a positive ${integer ? 'integer' : 'number'}, got ${String(v)}`);
  }
  return v;
}

export function resolveTurnLimits(options: TurnServerOptions): ResolvedTurnLimits {
  const relayFamilies = options.relayFamilies ?? ['IPv4'];
  for (const family of relayFamilies) {
    if (family !== 'IPv4' && family !== 'IPv6') throw new RangeError(`relayFamilies: unknown family ${String(family)}`);
  }
  const defaultLifetimeS = positiveLimit('defaultLifetimeS', options.defaultLifetimeS, TURN_DEFAULT_LIFETIME_S);
  const maxLifetimeS = positiveLimit('maxLifetimeS', options.maxLifetimeS, Math.max(TURN_MAX_LIFETIME_S, defaultLifetimeS));
  if (maxLifetimeS < defaultLifetimeS) throw new RangeError('maxLifetimeS must be >= defaultLifetimeS');
  const bytesPerSecond = positiveLimit('bytesPerSecond', options.bytesPerSecond, 2_500_000, false);
  const burstDefault = bytesPerSecond === Infinity ? Infinity : Math.max(bytesPerSecond, 65_536);
  return {
    relayFamilies: [...relayFamilies],
    defaultLifetimeS,
    maxLifetimeS,
    permissionLifetimeMs: positiveLimit('permissionLifetimeMs', options.permissionLifetimeMs, TURN_PERMISSION_LIFETIME_MS, false),
    channelLifetimeMs: positiveLimit('channelLifetimeMs', options.channelLifetimeMs, TURN_CHANNEL_LIFETIME_MS, false),
    channelReservationMs: positiveLimit('channelReservationMs', options.channelReservationMs, TURN_CHANNEL_RESERVATION_MS, false),
    maxAllocationsPerUser: positiveLimit('maxAllocationsPerUser', options.maxAllocationsPerUser, 10),
    maxAllocations: positiveLimit('maxAllocations', options.maxAllocations, 1000),
    bytesPerSecond,
    burstBytes: positiveLimit('burstBytes', options.burstBytes, burstDefault, false),
    maxPermissionsPerAllocation: positiveLimit('maxPermissionsPerAllocation', options.maxPermissionsPerAllocation, 128),
    maxChannelsPerAllocation: positiveLimit('maxChannelsPerAllocation', options.maxChannelsPerAllocation, 256),
    relayOpenTimeoutMs: positiveLimit('relayOpenTimeoutMs', options.relayOpenTimeoutMs, 5000, false),
    channelMax: channelMaxOf(options.channelNumbers),
    reservationLifetimeMs: positiveLimit('reservationLifetimeMs', options.reservationLifetimeMs, TURN_RESERVATION_LIFETIME_MS, false),
    maxReservations: positiveLimit('maxReservations', options.maxReservations, 1000),
  };
}

function channelMaxOf(range: TurnServerOptions['channelNumbers']): number {
  if (range === undefined || range === 'rfc5766') return CHANNEL_MAX_RFC5766;
  if (range === 'rfc8656') return CHANNEL_MAX;
  throw new RangeError(`TURN server option channelNumbers must be 'rfc5766' or 'rfc8656', got ${String(range)}`);
}

/**
 * RFC 8656 §7.2 / §8.2: min(requested, max), but never below the default; no LIFETIME means the default.
 * (Refresh with LIFETIME 0 — deletion — is handled before this.)
 */
export function grantedLifetimeS(requested: number | undefined, limits: ResolvedTurnLimits): number {
  if (requested === undefined) return limits.defaultLifetimeS;
  return Math.max(limits.defaultLifetimeS, Math.min(requested, limits.maxLifetimeS));
}
