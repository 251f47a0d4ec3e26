// The client's copy of an allocation's permissions (RFC 8656 §9): one per peer IP address (ports do not
// matter), each with its time-to-expiry, a CreatePermission refresh before it lapses, and the datagrams
// waiting for it to be installed.
import { formatIpAt, writeIp } from '../net/ip.js';
import type { TransportAddress } from '../net/transport-address.js';

export interface QueuedDatagram {
  readonly peer: TransportAddress;
  readonly data: Uint8Array;
}

export interface Permission {
  /** The peer IP in canonical form (RFC 5952 for IPv6). */
  readonly ip: string;
  /** A port to put in XOR-PEER-ADDRESS (§10.1: ignored by the server): the first peer's at this IP. */
  readonly port: number;
  /** 'pending' until the first CreatePermission (or ChannelBind) succeeds, then 'active'. */
  state: 'pending' | 'active';
  /** When the server's permission lapses: 300 s after the request that last installed it was sent. */
  expiresAt: number | undefined;
  /** When to send the next refresh; undefined while one is in flight or none is due. */
  refreshAt: number | undefined;
  /** A CreatePermission for this IP is in flight. */
  inFlight: boolean;
  /** Datagrams for peers at this IP, sent once the permission is installed (bounded, see `enqueue`). */
  readonly queue: QueuedDatagram[];
}

export interface PermissionLimits {
  /** Most permissions the client keeps (each is refreshed every few minutes). */
  maxPermissions: number;
  /** Most datagrams queued for one IP while its permission is being created. */
  maxQueuedPerPeer: number;
  /** Most bytes queued over all IPs. */
  maxQueuedBytes: number;
}

/** The canonical text of an IP literal, or undefined if `text` is not one (so '::1' and '0::1' match). */
export function canonicalIp(text: string): string | undefined {
  const bytes = new Uint8Array(16);
  const length = writeIp(text, bytes, 0);
  return length === 0 ? undefined : formatIpAt(bytes, 0, length);
}

/** The peer with its IP in canonical form, or undefined when it is not an IP literal and port. */
export function canonicalPeer(peer: TransportAddress): TransportAddress | undefined {
  const address = canonicalIp(peer?.address);
  if (address === undefined || !Number.isInteger(peer.port) || peer.port < 0 || peer.port > 65535) return undefined;
  return { address, port: peer.port };
}

/**
 * When to refresh something that lives `lifetimeMs` from `installedAt`: `marginMs` before it lapses, but
 * never later than half-way through a short lifetime.
 */
export function refreshTime(installedAt: number, lifetimeMs: number, marginMs: number): number {
  return installedAt + Math.max(lifetimeMs - marginMs, lifetimeMs / 2);
}

export class PermissionTable {
  private readonly byIp = new Map<string, Permission>();
  private queuedBytes = 0;

  constructor(private readonly limits: PermissionLimits) {}

  get size(): number {
    return this.byIp.size;
  }

  get(ip: string): Permission | undefined {
    return this.byIp.get(ip);
  }

  /** True when data from `ip` may be accepted: a permission exists or is being asked for (§11.4, §12.6). */
  allows(ip: string): boolean {
    return this.byIp.has(ip);
  }

  /** The permission for `ip`, created 'pending' if new; undefined when `maxPermissions` is reached. */
  ensure(ip: string, port: number): Permission | undefined {
    let permission = this.byIp.get(ip);
    if (permission) return permission;
    if (this.byIp.size >= this.limits.maxPermissions) return undefined;
    permission = { ip, port, state: 'pending', expiresAt: undefined, refreshAt: undefined, inFlight: false, queue: [] };
    this.byIp.set(ip, permission);
    return permission;
  }

  /**
   * Records that the server installed or refreshed the permission with a request sent at `sentAt` (a
   * CreatePermission or a ChannelBind, §9); an older request never shortens what a newer one gave.
   */
  confirm(permission: Permission, sentAt: number, lifetimeMs: number, marginMs: number): void {
    permission.state = 'active';
    if (permission.expiresAt !== undefined && permission.expiresAt >= sentAt + lifetimeMs) return;
    permission.expiresAt = sentAt + lifetimeMs;
    permission.refreshAt = refreshTime(sentAt, lifetimeMs, marginMs);
  }

  /** Queues a datagram for a pending permission; false (and nothing queued) when a bound is reached. */
  enqueue(permission: Permission, datagram: QueuedDatagram): boolean {
    if (permission.queue.length >= this.limits.maxQueuedPerPeer) return false;
    if (this.queuedBytes + datagram.data.length > this.limits.maxQueuedBytes) return false;
    permission.queue.push({ peer: datagram.peer, data: datagram.data.slice() });
    this.queuedBytes += datagram.data.length;
    return true;
  }

  /** Empties a permission's queue and returns what it held. */
  drain(permission: Permission): QueuedDatagram[] {
    const queued = permission.queue.splice(0);
    for (const q of queued) this.queuedBytes -= q.data.length;
    return queued;
  }

  /** Forgets the permission; returns the datagrams that were waiting for it (now dropped). */
  remove(permission: Permission): number {
    const dropped = this.drain(permission).length;
    this.byIp.delete(permission.ip);
    return dropped;
  }

  nextDeadline(): number | undefined {
    let next: number | undefined;
    for (const p of this.byIp.values()) {
      if (p.refreshAt !== undefined && !p.inFlight && (next === undefined || p.refreshAt < next)) next = p.refreshAt;
      if (p.expiresAt !== undefined && (next === undefined || p.expiresAt < next)) next = p.expiresAt;
    }
    return next;
  }

  values(): IterableIterator<Permission> {
    return this.byIp.values();
  }

  clear(): number {
    let dropped = 0;
    for (const p of [...this.byIp.values()]) dropped += this.remove(p);
    return dropped;
  }
}
