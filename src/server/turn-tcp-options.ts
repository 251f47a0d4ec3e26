// Options of RFC 6062 TCP relay allocations in the TURN server engine, each with its default.
import type { Millis } from '../net/clock.js';
import { TURN_TCP_BIND_TIMEOUT_MS, TURN_TCP_CONNECT_TIMEOUT_MS } from '../timing.js';
import { positiveLimit } from './turn-server-options.js';

export interface TurnTcpRelayOptions {
  /**
   * RFC 6062 TCP allocations (REQUESTED-TRANSPORT 6 over a TCP/TLS control connection). Off, such an
   * Allocate gets 442 as in plain RFC 8656. Default true (coturn's default as well; its --no-tcp-relay).
   */
  tcpRelay?: boolean;
  /**
   * RFC 6062 §5.2: how long an outgoing connection to a peer may take before the Connect gets 447. The RFC
   * says "at least 30 seconds"; a shorter value is deliberately allowed (tests). Default 30 000 ms.
   */
  tcpConnectTimeoutMs?: Millis;
  /** RFC 6062 §5.2, §5.3: a peer data connection with no ConnectionBind after this long is closed. Default 30 000 ms. */
  tcpBindTimeoutMs?: Millis;
  /**
   * Peer data connections (connecting, waiting for ConnectionBind, or bound) per TCP allocation; past it a
   * Connect gets 508 and an incoming connection is closed. Default 64.
   */
  maxTcpConnectionsPerAllocation?: number;
}

export interface ResolvedTurnTcpLimits {
  readonly enabled: boolean;
  readonly connectTimeoutMs: Millis;
  readonly bindTimeoutMs: Millis;
  readonly maxConnectionsPerAllocation: number;
}

export function resolveTurnTcpLimits(options: TurnTcpRelayOptions): ResolvedTurnTcpLimits {
  if (options.tcpRelay !== undefined && typeof options.tcpRelay !== 'boolean') throw new RangeError('TURN server option tcpRelay must be a boolean');
  return {
    enabled: options.tcpRelay ?? true,
    connectTimeoutMs: positiveLimit('tcpConnectTimeoutMs', options.tcpConnectTimeoutMs, TURN_TCP_CONNECT_TIMEOUT_MS, false),
    bindTimeoutMs: positiveLimit('tcpBindTimeoutMs', options.tcpBindTimeoutMs, TURN_TCP_BIND_TIMEOUT_MS, false),
    maxConnectionsPerAllocation: positiveLimit('maxTcpConnectionsPerAllocation', options.maxTcpConnectionsPerAllocation, 64, true),
  };
}
