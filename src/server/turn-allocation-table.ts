// The TURN server's live allocations and their indexes: by 5-tuple (RFC 8656 §2.2: an allocation is
// named by its 5-tuple), by relay socket (a peer's datagram finds its allocation), and the relayed
// transport addresses in use (the only peers reachable on the server's own addresses, see turn-requests.ts).
// Datagrams find their allocation through `find`, by socket id and port (numbers) and then the address,
// never by building the string key per datagram.
import type { DatagramSource, SocketId } from '../net/engine.js';
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
  /**
   * Client socket → client port → the allocations of that socket and port (one but for clients on different
   * IPs using the same port): one for a TCP/TLS connection, many for a UDP socket. The same 5-tuples as
   * byKey, so that a datagram's allocation is found without building its key. A lone allocation is stored
   * as itself (no array per allocation: heap per allocation is a target).
   */
  private readonly byClientSocket = new Map<SocketId, Map<number, TurnAllocation | TurnAllocation[]>>();

  get size(): number {
    return this.byKey.size;
  }

  /** The allocation of a 5-tuple (fiveTupleKey). */
  get(key: string): TurnAllocation | undefined {
    return this.byKey.get(key);
  }

  /** The allocation of the 5-tuple a datagram came on: get(fiveTupleKey(source)), without the string key. */
  find(source: DatagramSource): TurnAllocation | undefined {
    const onPort = this.byClientSocket.get(source.socket)?.get(source.from.port);
    if (onPort === undefined) return undefined;
    const address = source.from.address;
    if (!Array.isArray(onPort)) return onPort.client.from.address === address ? onPort : undefined;
    for (const allocation of onPort) if (allocation.client.from.address === address) return allocation;
    return undefined;
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
    return [...(this.byClientSocket.get(socket)?.values() ?? [])].flat();
  }

  hasClientSocket(socket: SocketId): boolean {
    return this.byClientSocket.has(socket);
  }

  add(allocation: TurnAllocation): void {
    this.byKey.set(allocation.key, allocation);
    const { socket, from } = allocation.client;
    let onSocket = this.byClientSocket.get(socket);
    if (onSocket === undefined) this.byClientSocket.set(socket, (onSocket = new Map()));
    const onPort = onSocket.get(from.port);
    if (onPort === undefined) onSocket.set(from.port, allocation);
    else if (Array.isArray(onPort)) onPort.push(allocation);
    else onSocket.set(from.port, [onPort, allocation]);
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
    const { socket, from } = allocation.client;
    const onSocket = this.byClientSocket.get(socket);
    const onPort = onSocket?.get(from.port);
    if (onSocket !== undefined && onPort !== undefined) {
      const left = Array.isArray(onPort) ? onPort.filter((a) => a !== allocation) : onPort === allocation ? [] : [onPort];
      if (left.length === 0) onSocket.delete(from.port);
      else onSocket.set(from.port, left.length === 1 ? left[0] : left);
      if (onSocket.size === 0) this.byClientSocket.delete(socket);
    }
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
