import type { Datagram } from './datagram.js';
import type { SimFabric } from './fabric.js';
import type { SeededRandom } from './random.js';

/** How one interface's link to its router behaves. Every field defaults to 0 (perfect and instant). */
export interface LinkConditions {
  /** Probability in [0, 1] that a datagram crossing the link is lost, drawn from the seeded stream. */
  lossRate?: number;
  /** One-way delay in ms, paid by every datagram crossing the link in either direction. */
  delayMs?: number;
  /** Extra delay uniform in [0, jitterMs) ms per datagram. Jitter can reorder datagrams, as on a real path. */
  jitterMs?: number;
}

/**
 * The link between one interface (a host's address, a NAT's public side) and its router. A datagram
 * crosses the sender's link and then the receiver's, so the one-way delay between two public hosts is the
 * sum of their two `delayMs` and a NAT's uplink adds to every path through it. Crossing is always scheduled
 * on the clock, at delay 0 too: a send never delivers inside `send()`.
 */
export class SimLink {
  private loss = 0;
  private delay = 0;
  private jitter = 0;
  private readonly random: SeededRandom;

  constructor(
    private readonly fabric: SimFabric,
    /** Names the link in traces and seeds its random stream. */
    readonly label: string,
    conditions: LinkConditions = {},
  ) {
    this.random = fabric.random(`link:${label}`);
    this.configure({ ...fabric.defaultLink, ...conditions });
  }

  get lossRate(): number {
    return this.loss;
  }

  get delayMs(): number {
    return this.delay;
  }

  get jitterMs(): number {
    return this.jitter;
  }

  /** Changes some conditions; those left out keep their value. Applies to datagrams sent from now on. */
  configure(conditions: LinkConditions): void {
    const { lossRate = this.loss, delayMs = this.delay, jitterMs = this.jitter } = conditions;
    if (!(lossRate >= 0 && lossRate <= 1)) throw new RangeError(`${this.label}: lossRate must be in [0, 1], got ${lossRate}`);
    if (!(delayMs >= 0 && delayMs < Infinity)) throw new RangeError(`${this.label}: delayMs must be >= 0, got ${delayMs}`);
    if (!(jitterMs >= 0 && jitterMs < Infinity)) throw new RangeError(`${this.label}: jitterMs must be >= 0, got ${jitterMs}`);
    this.loss = lossRate;
    this.delay = delayMs;
    this.jitter = jitterMs;
  }

  /** Carries `datagram` across: dropped with probability `lossRate`, else handed to `next` after the delay. */
  carry(datagram: Datagram, next: (datagram: Datagram) => void): void {
    if (this.random.chance(this.loss)) {
      this.fabric.drop(datagram, 'loss', this.label);
      return;
    }
    const delay = this.jitter > 0 ? this.delay + this.random.next() * this.jitter : this.delay;
    this.fabric.schedule(delay, () => next(datagram));
  }
}
