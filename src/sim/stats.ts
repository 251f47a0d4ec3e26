import type { TransportAddress } from '../net/transport-address.js';
import { DROP_REASONS, type Datagram, type DropReason } from './datagram.js';

/**
 * Counters over a whole simulated network, for tests to assert on. At any time
 * `sent === delivered + dropped + inFlight` (until `reset()`, which keeps `inFlight`).
 */
export class SimStats {
  private sentCount = 0;
  private deliveredCount = 0;
  private inFlightCount = 0;
  private readonly drops = emptyDropCounts();

  /** Datagrams handed to `send()` on an open socket. */
  get sent(): number {
    return this.sentCount;
  }

  /** Datagrams handed to a socket's `ondatagram`. */
  get delivered(): number {
    return this.deliveredCount;
  }

  /** Datagrams sent but neither delivered nor dropped yet. */
  get inFlight(): number {
    return this.inFlightCount;
  }

  /** All drops, whatever the reason. */
  get dropped(): number {
    let total = 0;
    for (const reason of DROP_REASONS) total += this.drops[reason];
    return total;
  }

  /** Drops by reason, as a fresh object. */
  get droppedBy(): Record<DropReason, number> {
    return { ...this.drops };
  }

  droppedFor(reason: DropReason): number {
    return this.drops[reason];
  }

  /** Zeroes the counters (datagrams still in flight stay counted as in flight). */
  reset(): void {
    this.sentCount = 0;
    this.deliveredCount = 0;
    for (const reason of DROP_REASONS) this.drops[reason] = 0;
  }

  /** @internal */
  countSent(): void {
    this.sentCount++;
    this.inFlightCount++;
  }

  /** @internal */
  countDelivered(): void {
    this.deliveredCount++;
    this.inFlightCount--;
  }

  /** @internal */
  countDropped(reason: DropReason): void {
    this.drops[reason]++;
    this.inFlightCount--;
  }
}

function emptyDropCounts(): Record<DropReason, number> {
  const counts = {} as Record<DropReason, number>;
  for (const reason of DROP_REASONS) counts[reason] = 0;
  return counts;
}

/** What `SimNetwork.ontrace` observes, in the order it happens. `where` names the host, NAT or link. */
export type SimTraceEvent =
  | { readonly type: 'send'; readonly at: number; readonly datagram: Datagram; readonly where: string }
  | { readonly type: 'deliver'; readonly at: number; readonly datagram: Datagram; readonly where: string }
  | {
      readonly type: 'drop';
      readonly at: number;
      readonly datagram: Datagram;
      readonly where: string;
      readonly reason: DropReason;
    }
  | {
      readonly type: 'translate';
      readonly at: number;
      /** The datagram after translation; `before` holds the addresses it had. */
      readonly datagram: Datagram;
      readonly where: string;
      readonly direction: 'outbound' | 'inbound' | 'hairpin';
      readonly before: { readonly src: TransportAddress; readonly dst: TransportAddress };
    };
