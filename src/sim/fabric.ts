import type { Clock } from '../net/clock.js';
import type { TransportAddress } from '../net/transport-address.js';
import { INITIAL_TTL, type Datagram, type DropReason } from './datagram.js';
import type { LinkConditions } from './link.js';
import type { SeededRandom } from './random.js';
import { RefusalRules } from './refusal.js';
import type { SimStats, SimTraceEvent } from './stats.js';

/**
 * What every part of one simulated network shares: the clock all delays are scheduled on, the seed every
 * random stream derives from, the counters, and the trace hook. Hosts, NATs and links hold this, not the
 * `SimNetwork`, so they need not know about each other.
 */
export class SimFabric {
  /** Observer for every send, translation, delivery and drop; for debugging and for tests. */
  ontrace: ((event: SimTraceEvent) => void) | null = null;
  /** Destinations every host refuses to send to (`SimNetwork.refuse`), like a bridge in front of each. */
  readonly refusals = new RefusalRules();
  /** Firewall rules every datagram is checked against (`SimNetwork.blockUdp`): a match is dropped silently. */
  readonly udpBlocks = new Set<(src: TransportAddress, dst: TransportAddress) => boolean>();
  private datagramIds = 0;
  private lanCount = 0;

  constructor(
    readonly clock: Clock,
    private readonly seed: SeededRandom,
    readonly stats: SimStats,
    /** Link conditions of every interface not given its own. */
    readonly defaultLink: LinkConditions,
  ) {}

  /** The random stream for one component, named so that it does not depend on creation order elsewhere. */
  random(label: string): SeededRandom {
    return this.seed.fork(label);
  }

  /** Numbers LANs so that each NAT's default internal prefix differs (10.0.0.0/24, 10.0.1.0/24, …). */
  nextLanIndex(): number {
    return this.lanCount++;
  }

  /** Runs `task` after `delayMs` on the clock; never synchronously, so delivery is never re-entrant. */
  schedule(delayMs: number, task: () => void): void {
    this.clock.setTimer(task, this.clock.now() + delayMs);
  }

  /** A new datagram entering the network from a socket, counted as sent. */
  originate(src: TransportAddress, dst: TransportAddress, bytes: Uint8Array, where: string): Datagram {
    const datagram: Datagram = { id: this.datagramIds++, src, dst, bytes, ttl: INITIAL_TTL, sentAt: this.clock.now() };
    this.stats.countSent();
    this.trace({ type: 'send', at: this.clock.now(), datagram, where });
    return datagram;
  }

  delivered(datagram: Datagram, where: string): void {
    this.stats.countDelivered();
    this.trace({ type: 'deliver', at: this.clock.now(), datagram, where });
  }

  drop(datagram: Datagram, reason: DropReason, where: string): void {
    this.stats.countDropped(reason);
    this.trace({ type: 'drop', at: this.clock.now(), datagram, where, reason });
  }

  trace(event: SimTraceEvent): void {
    this.ontrace?.(event);
  }
}
