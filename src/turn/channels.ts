// The client's channel bindings (RFC 8656 §12): numbers 0x4000–0x4FFF handed out in sequence, each bound
// to one peer transport address, refreshed by re-binding before the 10 min lifetime runs out, and — once
// expired or failed — kept reserved for 5 min before the number or the peer may be bound differently.
import { formatTransportAddress, type TransportAddress } from '../net/transport-address.js';
import { CHANNEL_MAX, CHANNEL_MIN } from './channel-data.js';

export interface ChannelBinding {
  readonly number: number;
  readonly peer: TransportAddress;
  /** 'pending' until the ChannelBind succeeds; 'reserved' after it expired or failed (§12: wait 5 min). */
  state: 'pending' | 'active' | 'reserved';
  /** When the server's binding lapses: 10 min after the request that last bound it was sent. */
  expiresAt: number | undefined;
  refreshAt: number | undefined;
  /** While 'reserved': when the number and peer may be bound to something else. */
  reservedUntil: number | undefined;
  inFlight: boolean;
}

export class ChannelTable {
  private readonly byNumber = new Map<number, ChannelBinding>();
  private readonly byPeer = new Map<string, ChannelBinding>();
  private next = CHANNEL_MIN;

  /** @param maxChannels most bindings (reserved ones included), at most the 4096 numbers of §12. */
  constructor(private readonly maxChannels: number) {}

  get size(): number {
    return this.byNumber.size;
  }

  byChannel(number: number): ChannelBinding | undefined {
    return this.byNumber.get(number);
  }

  forPeer(peer: TransportAddress): ChannelBinding | undefined {
    return this.byPeer.get(formatTransportAddress(peer));
  }

  /**
   * The binding for `peer`: its existing one (a reserved binding is re-used — re-binding the same number to
   * the same peer is always allowed), or a new one with the next free number; undefined when none is free.
   */
  ensure(peer: TransportAddress, now: number): ChannelBinding | undefined {
    const existing = this.forPeer(peer);
    if (existing) return existing;
    this.purge(now);
    if (this.byNumber.size >= this.maxChannels) return undefined;
    const span = CHANNEL_MAX - CHANNEL_MIN + 1;
    for (let i = 0; i < span; i++) {
      const number = this.next;
      this.next = number === CHANNEL_MAX ? CHANNEL_MIN : number + 1;
      if (this.byNumber.has(number)) continue;
      const binding: ChannelBinding = {
        number,
        peer: { address: peer.address, port: peer.port },
        state: 'pending',
        expiresAt: undefined,
        refreshAt: undefined,
        reservedUntil: undefined,
        inFlight: false,
      };
      this.byNumber.set(number, binding);
      this.byPeer.set(formatTransportAddress(peer), binding);
      return binding;
    }
    return undefined;
  }

  /** The binding expired or could not be made: keep number and peer out of use until `until`. */
  reserve(binding: ChannelBinding, until: number): void {
    binding.state = 'reserved';
    binding.inFlight = false;
    binding.expiresAt = undefined;
    binding.refreshAt = undefined;
    binding.reservedUntil = until;
  }

  /** Drops reservations whose 5 min are over. */
  purge(now: number): void {
    for (const b of [...this.byNumber.values()]) {
      if (b.state === 'reserved' && b.reservedUntil !== undefined && b.reservedUntil <= now) this.delete(b);
    }
  }

  nextDeadline(): number | undefined {
    let next: number | undefined;
    const consider = (t: number | undefined) => {
      if (t !== undefined && (next === undefined || t < next)) next = t;
    };
    for (const b of this.byNumber.values()) {
      if (!b.inFlight) consider(b.refreshAt);
      consider(b.expiresAt);
      consider(b.reservedUntil);
    }
    return next;
  }

  values(): IterableIterator<ChannelBinding> {
    return this.byNumber.values();
  }

  clear(): void {
    this.byNumber.clear();
    this.byPeer.clear();
  }

  private delete(binding: ChannelBinding): void {
    this.byNumber.delete(binding.number);
    this.byPeer.delete(formatTransportAddress(binding.peer));
  }
}
