// The TURN server's live allocations and their indexes: by 5-tuple (RFC 8656 §2.2: an allocation is
// named by its 5-tuple), by relay socket (a peer's datagram finds its allocation), and the relayed
// transport addresses in use (the only peers reachable on the server's own addresses, see turn-requests.ts).
import type { SocketId } from '../net/engine.js';
import { CountedSet } from '../net/counted-set.js';
import { canonicalIp, peerKey, type RelayHalf, type TurnAllocation } from './turn-allocation.js';
import type { TurnAllocationInfo } from './turn-server-events.js';

function relayedKeyOf(half: RelayHalf): string {
  return peerKey(canonicalIp(half.relayed.address), half.relayed.port);
}

export class AllocationTable {
  private readonly byKey = new Map<string, TurnAllocation>();
  private readonly byRelaySocket = new Map<SocketId, TurnAllocation>();
  /** peerKey of each live relayed transport address → how many allocations have it. */
  private readonly relayedKeys = new CountedSet<string>();
  /** Client socket → the allocations whose 5-tuple is on it (one for a TCP/TLS connection, many for UDP). */
  private readonly byClientSocket = new Map<SocketId, Set<TurnAllocation>>();

  get size(): number {
    return this.byKey.size;
  }

  /** The allocation of a 5-tuple (fiveTupleKey). */
  get(key: string): TurnAllocation | undefined {
    return this.byKey.get(key);
  }

  /** The allocation whose relay (of either family) is attached as `socket`. */
  byRelay(socket: SocketId): TurnAllocation | undefined {
    return this.byRelaySocket.get(socket);
  }

  hasRelaySocket(socket: SocketId): boolean {
    return this.byRelaySocket.has(socket);
  }

  /** Whether `ip` (canonical) and `port` are the relayed transport address of a live allocation. */
  isRelayed(ip: string, port: number): boolean {
    return this.relayedKeys.has(peerKey(ip, port));
  }

  values(): IterableIterator<TurnAllocation> {
    return this.byKey.values();
  }

  /** The allocations whose client 5-tuple is on client socket `socket`. */
  onClientSocket(socket: SocketId): TurnAllocation[] {
    return [...(this.byClientSocket.get(socket) ?? [])];
  }

  hasClientSocket(socket: SocketId): boolean {
    return this.byClientSocket.has(socket);
  }

  add(allocation: TurnAllocation): void {
    this.byKey.set(allocation.key, allocation);
    let onSocket = this.byClientSocket.get(allocation.client.socket);
    if (onSocket === undefined) this.byClientSocket.set(allocation.client.socket, (onSocket = new Set()));
    onSocket.add(allocation);
    for (const half of allocation.relays) {
      this.byRelaySocket.set(half.socket, allocation);
      this.relayedKeys.add(relayedKeyOf(half));
    }
  }

  /** Whether `allocation` is the live one of its 5-tuple. */
  isLive(allocation: TurnAllocation): boolean {
    return this.byKey.get(allocation.key) === allocation;
  }

  /**
   * Unindexes one relay (already removed from its allocation, or the allocation is going). Returns whether
   * its socket was still attached to the allocation, and so must be closed.
   */
  releaseRelay(allocation: TurnAllocation, half: RelayHalf): boolean {
    this.relayedKeys.delete(relayedKeyOf(half));
    if (this.byRelaySocket.get(half.socket) !== allocation) return false;
    this.byRelaySocket.delete(half.socket);
    return true;
  }

  /** The relay socket closed by itself: it is no longer attached (nothing to close). */
  forgetRelaySocket(socket: SocketId): void {
    this.byRelaySocket.delete(socket);
  }

  /** Removes the allocation; returns the relay sockets to close. */
  remove(allocation: TurnAllocation): SocketId[] {
    if (!this.isLive(allocation)) return [];
    this.byKey.delete(allocation.key);
    const onSocket = this.byClientSocket.get(allocation.client.socket);
    onSocket?.delete(allocation);
    if (onSocket?.size === 0) this.byClientSocket.delete(allocation.client.socket);
    const toClose: SocketId[] = [];
    for (const half of allocation.relays) if (this.releaseRelay(allocation, half)) toClose.push(half.socket);
    return toClose;
  }

  /** Snapshots for logs and tests; `transportOf` names a client socket's transport. */
  info(transportOf: (socket: SocketId) => 'udp' | 'tcp' | 'tls'): TurnAllocationInfo[] {
    return [...this.byKey.values()].map((a) => ({
      client: a.client.from,
      relayed: a.relayed,
      relaySocket: a.relaySocket,
      relays: a.relays.map((h) => ({ relayed: h.relayed, socket: h.socket, expiresAt: h.expiresAt })),
      transport: transportOf(a.client.socket),
      username: a.auth.username,
      realm: a.auth.realm,
      expiresAt: a.expiresAt,
      permissions: a.permissionCount,
      channels: a.channelCount,
      packetsRelayed: a.traffic.packetsToClient + a.traffic.packetsToPeers,
      bytesRelayed: a.traffic.bytesToClient + a.traffic.bytesToPeers,
    }));
  }
}
