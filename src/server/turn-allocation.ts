// One TURN allocation on the server (RFC 8656 §6): its 5-tuple, relayed transport address — one per address
// family for a dual allocation (§7.2 step 9), each with its own time-to-expiry (§8: a Refresh may name one
// family) —, permissions (§9, keyed by peer IP only, so per family) and channel bindings (§12, channel
// number ↔ peer transport address, unique both ways), with the 5-minute reservation of numbers and peers
// after a binding expires.
import type { Millis } from '../net/clock.js';
import type { DatagramSource, SocketId } from '../net/engine.js';
import { formatIp, parseIp } from '../net/ip.js';
import { familyOf, type AddressFamily, type TransportAddress } from '../net/transport-address.js';
import type { TurnAuthContext } from './turn-auth.js';
import type { TokenBucket } from './turn-quota.js';

/**
 * One spelling per IP address, so a permission installed from XOR-PEER-ADDRESS matches the source of a
 * datagram however the socket layer prints it (IPv6 in RFC 5952 form; IPv4 text is already canonical).
 */
export function canonicalIp(address: string): string {
  if (!address.includes(':')) return address;
  try {
    return formatIp(parseIp(address));
  } catch {
    return address;
  }
}

/** Key of a peer transport address in channel tables. */
export function peerKey(ip: string, port: number): string {
  return `${ip}|${port}`;
}

/** Key of a 5-tuple: the server socket a client's datagrams arrive on and the client's transport address. */
export function fiveTupleKey(source: DatagramSource): string {
  return `${source.socket}|${source.from.address}|${source.from.port}`;
}

export interface ChannelBinding {
  readonly channel: number;
  readonly peer: TransportAddress;
  readonly peerKey: string;
  expiresAt: Millis;
}

interface Reservation {
  readonly channel: number;
  readonly peerKey: string;
  readonly until: Millis;
}

export interface AllocationTraffic {
  /** Datagrams and bytes relayed from the client to peers. */
  packetsToPeers: number;
  bytesToPeers: number;
  /** Datagrams and bytes relayed from peers to the client. */
  packetsToClient: number;
  bytesToClient: number;
}

/** One relayed transport address of an allocation: the relay socket of one address family. */
export interface RelayHalf {
  readonly socket: SocketId;
  readonly relayed: TransportAddress;
  readonly family: AddressFamily;
  expiresAt: Millis;
}

export class TurnAllocation {
  readonly traffic: AllocationTraffic = { packetsToPeers: 0, bytesToPeers: 0, packetsToClient: 0, bytesToClient: 0 };
  /** Peer IP (canonical) → expiry. */
  private readonly permissions = new Map<string, Millis>();
  private readonly byChannel = new Map<number, ChannelBinding>();
  private readonly byPeer = new Map<string, ChannelBinding>();
  private readonly reservedChannels = new Map<number, Reservation>();
  private readonly reservedPeers = new Map<string, Reservation>();

  constructor(
    /** fiveTupleKey(client). */
    readonly key: string,
    readonly client: DatagramSource,
    /** One or (dual allocation) two relays, the requested family first; a Refresh may delete one. */
    readonly relays: RelayHalf[],
    readonly auth: TurnAuthContext,
    /** Transaction ID (hex) of the Allocate that created it, to answer its retransmissions (RFC 8656 §7.2 NOTE). */
    readonly transactionId: string,
    readonly bucket: TokenBucket,
    /** An ADDRESS-ERROR-CODE the success response carried, repeated for retransmissions. */
    readonly addressError: { family: AddressFamily; code: number; reason: string } | undefined,
    /** The RESERVATION-TOKEN the success response carried (EVEN-PORT R=1), repeated for retransmissions. */
    readonly reservationToken?: Uint8Array,
  ) {}

  /** The first relay's socket (the only one but for a dual allocation). */
  get relaySocket(): SocketId {
    return this.relays[0].socket;
  }

  /** The first relayed transport address (the only one but for a dual allocation). */
  get relayed(): TransportAddress {
    return this.relays[0].relayed;
  }

  get family(): AddressFamily {
    return this.relays[0].family;
  }

  /** When the last relay expires. */
  get expiresAt(): Millis {
    let latest = -Infinity;
    for (const half of this.relays) latest = Math.max(latest, half.expiresAt);
    return latest;
  }

  /** The relay of `family`, if the allocation has one. */
  relay(family: AddressFamily): RelayHalf | undefined {
    for (const half of this.relays) if (half.family === family) return half;
    return undefined;
  }

  /** Sets the time-to-expiry of one family's relay, or of every relay (RFC 8656 §8). */
  refresh(expiresAt: Millis, family?: AddressFamily): void {
    for (const half of this.relays) if (family === undefined || half.family === family) half.expiresAt = expiresAt;
  }

  /**
   * Removes one family's relay with its permissions and channels (RFC 8656 §8: deleting one allocation of
   * a dual allocation "MUST NOT affect" the other family's). The allocation keeps at least one relay.
   */
  removeRelay(family: AddressFamily): RelayHalf | undefined {
    const index = this.relays.findIndex((h) => h.family === family);
    if (index < 0 || this.relays.length === 1) return undefined;
    const [half] = this.relays.splice(index, 1);
    const ofFamily = (ip: string) => familyOf(ip) === family;
    for (const ip of [...this.permissions.keys()]) if (ofFamily(ip)) this.permissions.delete(ip);
    for (const [channel, binding] of [...this.byChannel]) {
      if (!ofFamily(binding.peer.address)) continue;
      this.byChannel.delete(channel);
      this.byPeer.delete(binding.peerKey);
    }
    for (const [channel, reservation] of [...this.reservedChannels]) {
      if (!ofFamily(reservation.peerKey.slice(0, reservation.peerKey.lastIndexOf('|')))) continue;
      this.reservedChannels.delete(channel);
      this.reservedPeers.delete(reservation.peerKey);
    }
    return half;
  }

  get permissionCount(): number {
    return this.permissions.size;
  }

  get channelCount(): number {
    return this.byChannel.size;
  }

  /** RFC 8656 §9: a live permission for the peer's IP address (the port does not matter). */
  hasPermission(ip: string, now: Millis): boolean {
    const expiresAt = this.permissions.get(ip);
    return expiresAt !== undefined && expiresAt > now;
  }

  installPermission(ip: string, expiresAt: Millis): void {
    this.permissions.set(ip, expiresAt);
  }

  /** The live binding of `channel`, if any. */
  channel(channel: number, now: Millis): ChannelBinding | undefined {
    const binding = this.byChannel.get(channel);
    return binding !== undefined && binding.expiresAt > now ? binding : undefined;
  }

  /** The live binding to the peer transport address `key`, if any. */
  channelForPeer(key: string, now: Millis): ChannelBinding | undefined {
    const binding = this.byPeer.get(key);
    return binding !== undefined && binding.expiresAt > now ? binding : undefined;
  }

  /**
   * RFC 8656 §12.2: whether binding `channel` to `key` would rebind a number or peer that is bound — or,
   * within 5 minutes of its expiry, was bound (§12: reserved) — to something else.
   */
  channelConflict(channel: number, key: string, now: Millis): boolean {
    const byNumber = this.byChannel.get(channel);
    if (byNumber !== undefined && byNumber.peerKey !== key) return true;
    const byPeer = this.byPeer.get(key);
    if (byPeer !== undefined && byPeer.channel !== channel) return true;
    const numberReserved = this.reservedChannels.get(channel);
    if (numberReserved !== undefined && numberReserved.until > now && numberReserved.peerKey !== key) return true;
    const peerReserved = this.reservedPeers.get(key);
    return peerReserved !== undefined && peerReserved.until > now && peerReserved.channel !== channel;
  }

  /** Creates or refreshes a binding (the caller has checked channelConflict). */
  bindChannel(channel: number, peer: TransportAddress, key: string, expiresAt: Millis): void {
    const existing = this.byChannel.get(channel);
    if (existing !== undefined) {
      existing.expiresAt = expiresAt;
      return;
    }
    const binding: ChannelBinding = { channel, peer: { address: peer.address, port: peer.port }, peerKey: key, expiresAt };
    this.byChannel.set(channel, binding);
    this.byPeer.set(key, binding);
    this.reservedChannels.delete(channel);
    this.reservedPeers.delete(key);
  }

  /**
   * Removes expired permissions, bindings (which become reservations for `reservationMs`) and
   * reservations. Returns the earliest deadline left among them and its relays' expiries.
   */
  sweep(now: Millis, reservationMs: Millis): Millis {
    let next = Infinity;
    for (const half of this.relays) next = Math.min(next, half.expiresAt);
    for (const [ip, expiresAt] of this.permissions) {
      if (expiresAt <= now) this.permissions.delete(ip);
      else if (expiresAt < next) next = expiresAt;
    }
    for (const [channel, binding] of this.byChannel) {
      if (binding.expiresAt <= now) {
        this.byChannel.delete(channel);
        this.byPeer.delete(binding.peerKey);
        const reservation = { channel, peerKey: binding.peerKey, until: binding.expiresAt + reservationMs };
        this.reservedChannels.set(channel, reservation);
        this.reservedPeers.set(binding.peerKey, reservation);
      } else if (binding.expiresAt < next) {
        next = binding.expiresAt;
      }
    }
    for (const [channel, reservation] of this.reservedChannels) {
      if (reservation.until <= now) {
        this.reservedChannels.delete(channel);
        if (this.reservedPeers.get(reservation.peerKey) === reservation) this.reservedPeers.delete(reservation.peerKey);
      } else if (reservation.until < next) {
        next = reservation.until;
      }
    }
    for (const [key, reservation] of this.reservedPeers) {
      if (reservation.until <= now) this.reservedPeers.delete(key);
    }
    return next;
  }
}
