// The TURN requests made on an existing allocation, once authenticated and matched to it (RFC 8656 §5):
// Refresh (§8.2), CreatePermission (§10.2) and ChannelBind (§12.2). Each answers exactly once.
import type { Millis } from '../net/clock.js';
import type { DatagramSource } from '../net/engine.js';
import { familyOf, type AddressFamily, type TransportAddress } from '../net/transport-address.js';
import type { StunMessage } from '../stun/message.js';
import { isValidChannelNumber } from '../turn/channel-data.js';
import type { PeerPolicy } from './peer-policy.js';
import { canonicalIp, peerKey, type TurnAllocation } from './turn-allocation.js';
import type { TurnAuthContext } from './turn-auth.js';
import type { TurnResponder } from './turn-responder.js';
import type { TurnServerCounters } from './turn-server-counters.js';
import { grantedLifetimeS, type ResolvedTurnLimits } from './turn-server-options.js';

/** What the request handlers need of the server. */
export interface TurnRequestContext {
  readonly limits: ResolvedTurnLimits;
  readonly policy: PeerPolicy;
  readonly responder: TurnResponder;
  readonly counters: TurnServerCounters;
  /** Makes sure the engine wakes up by `at`. */
  schedule(at: Millis): void;
  /** Deletes the allocation (Refresh with LIFETIME 0). */
  deallocate(allocation: TurnAllocation): void;
  /** Deletes one family's relay of a dual allocation (Refresh with LIFETIME 0 and REQUESTED-ADDRESS-FAMILY). */
  removeRelay(allocation: TurnAllocation, family: AddressFamily): void;
  /** Whether `peer` is the relayed transport address of one of the server's live allocations. */
  isRelayedAddress(peer: TransportAddress): boolean;
}

/**
 * RFC 8656 §8.2. With REQUESTED-ADDRESS-FAMILY only that family's relay of a dual allocation is refreshed
 * or deleted (§8: without it the request "should be treated as applying to all current allocations").
 */
export function handleRefresh(ctx: TurnRequestContext, request: StunMessage, source: DatagramSource, allocation: TurnAllocation, auth: TurnAuthContext, now: Millis): void {
  ctx.counters.requests.refresh++;
  const family = request.get('REQUESTED-ADDRESS-FAMILY');
  if (family !== undefined && allocation.relay(family) === undefined) {
    ctx.responder.error(request, source, 443, 'Peer Address Family Mismatch', auth);
    return;
  }
  const requested = request.get('LIFETIME');
  if (requested === 0) {
    if (family !== undefined && allocation.relays.length > 1) ctx.removeRelay(allocation, family);
    else ctx.deallocate(allocation);
    ctx.responder.success(request, source, [['LIFETIME', 0]], auth);
    return;
  }
  const lifetimeS = grantedLifetimeS(requested, ctx.limits);
  allocation.refresh(now + lifetimeS * 1000, family);
  ctx.schedule(now + lifetimeS * 1000);
  ctx.responder.success(request, source, [['LIFETIME', lifetimeS]], auth);
}

/**
 * The peer checks CreatePermission and ChannelBind share: the family of the relayed address (443) and the
 * server's peer policy (403). Returns the error to send, or undefined.
 */
function checkPeer(ctx: TurnRequestContext, allocation: TurnAllocation, peer: TransportAddress): { code: number; reason: string } | undefined {
  // §9: a peer is reached from the relay of its family; a dual allocation has both.
  if (allocation.relay(familyOf(peer.address)) === undefined) return { code: 443, reason: 'Peer Address Family Mismatch' };
  const verdict = ctx.policy.judge(peer.address);
  // The server's own addresses are refused as peers (its other ports are its own services), except the
  // relayed transport address of a live allocation: two clients behind symmetric NATs meet relay to relay
  // through one server. Deliberately port-aware, though a permission is per IP (RFC 8656 §9): the data path
  // (turn-relay.ts) holds such a permission to the relayed ports alone.
  if (verdict === 'denied' || (verdict === 'host' && !ctx.isRelayedAddress(peer))) return { code: 403, reason: 'Forbidden: peer address not allowed' };
  return undefined;
}

/** RFC 8656 §10.2: all the XOR-PEER-ADDRESSes are permitted, or none is. */
export function handleCreatePermission(ctx: TurnRequestContext, request: StunMessage, source: DatagramSource, allocation: TurnAllocation, auth: TurnAuthContext, now: Millis): void {
  ctx.counters.requests.createPermission++;
  const peers = request.getAll('XOR-PEER-ADDRESS');
  if (peers.length === 0) {
    ctx.responder.error(request, source, 400, 'Bad Request: XOR-PEER-ADDRESS is missing', auth);
    return;
  }
  const ips = new Set<string>();
  for (const peer of peers) {
    const problem = checkPeer(ctx, allocation, peer);
    if (problem !== undefined) {
      ctx.responder.error(request, source, problem.code, problem.reason, auth);
      return;
    }
    ips.add(canonicalIp(peer.address));
  }
  let added = 0;
  for (const ip of ips) if (!allocation.hasPermission(ip, now)) added++;
  if (allocation.permissionCount + added > ctx.limits.maxPermissionsPerAllocation) {
    ctx.responder.error(request, source, 508, 'Insufficient Capacity: too many permissions', auth);
    return;
  }
  const expiresAt = now + ctx.limits.permissionLifetimeMs;
  for (const ip of ips) allocation.installPermission(ip, expiresAt);
  ctx.schedule(expiresAt);
  ctx.responder.success(request, source, [], auth);
}

/** RFC 8656 §12.2. */
export function handleChannelBind(ctx: TurnRequestContext, request: StunMessage, source: DatagramSource, allocation: TurnAllocation, auth: TurnAuthContext, now: Millis): void {
  ctx.counters.requests.channelBind++;
  const channel = request.get('CHANNEL-NUMBER');
  const peer = request.get('XOR-PEER-ADDRESS');
  if (channel === undefined || peer === undefined) {
    ctx.responder.error(request, source, 400, 'Bad Request: CHANNEL-NUMBER and XOR-PEER-ADDRESS are required', auth);
    return;
  }
  // RFC 8656 §12.2 says 0x4000-0x4FFF; by default RFC 5766's 0x4000-0x7FFF (option channelNumbers).
  if (!isValidChannelNumber(channel, ctx.limits.channelMax)) {
    ctx.responder.error(request, source, 400, `Bad Request: channel number outside 0x4000-0x${ctx.limits.channelMax.toString(16).toUpperCase()}`, auth);
    return;
  }
  if (peer.port === 0) {
    ctx.responder.error(request, source, 400, 'Bad Request: peer port 0', auth);
    return;
  }
  const ip = canonicalIp(peer.address);
  const key = peerKey(ip, peer.port);
  if (allocation.channelConflict(channel, key, now)) {
    ctx.responder.error(request, source, 400, 'Bad Request: channel or peer already bound differently', auth);
    return;
  }
  const problem = checkPeer(ctx, allocation, peer);
  if (problem !== undefined) {
    ctx.responder.error(request, source, problem.code, problem.reason, auth);
    return;
  }
  const newChannel = allocation.channel(channel, now) === undefined;
  const newPermission = !allocation.hasPermission(ip, now);
  if (
    (newChannel && allocation.channelCount >= ctx.limits.maxChannelsPerAllocation) ||
    (newPermission && allocation.permissionCount >= ctx.limits.maxPermissionsPerAllocation)
  ) {
    ctx.responder.error(request, source, 508, 'Insufficient Capacity: too many channels or permissions', auth);
    return;
  }
  const channelExpiresAt = now + ctx.limits.channelLifetimeMs;
  const permissionExpiresAt = now + ctx.limits.permissionLifetimeMs;
  allocation.bindChannel(channel, { address: ip, port: peer.port }, key, channelExpiresAt);
  allocation.installPermission(ip, permissionExpiresAt);
  ctx.schedule(Math.min(channelExpiresAt, permissionExpiresAt));
  ctx.responder.success(request, source, [], auth);
}
