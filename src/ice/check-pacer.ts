// When the next connectivity check may go out, and which (RFC 8445 §6.1.4.2, §14.2).
//
// Deliberately not one check per Ta as §6.1.4.2 has it: triggered checks (answers to the peer's checks, and
// nominations) go out as soon as the 5 ms floor of §14.2 allows, and ordinary checks keep their own Ta
// pacing and go first when due — so a nomination does not wait a Ta after the check that validated its
// pair, and a stream of triggered checks (a symmetric NAT's peer-reflexive storm) cannot starve the
// ordinary ones.
import { ICE_MIN_PACING_MS } from '../timing.js';
import type { CandidatePair } from './candidate-pair.js';
import type { Checklist } from './checklist.js';

export class CheckPacer {
  private lastCheckAt = -Infinity;
  private lastOrdinaryAt = -Infinity;
  /** The ordinary queue was found empty; cleared by anything that may add work. */
  private ordinaryIdle = false;
  /** Nothing at all to check; cleared likewise (so an idle agent sets no timer). */
  private idle = false;

  constructor(
    private readonly checklist: Checklist,
    private readonly taMs: number,
  ) {}

  /** Something changed that may have created work: new pairs, a check received, a timeout. */
  wake(): void {
    this.idle = false;
    this.ordinaryIdle = false;
  }

  /** The pair to check now, if one is due. */
  take(now: number): CandidatePair | undefined {
    if (this.idle || now < this.lastCheckAt + ICE_MIN_PACING_MS) return undefined;
    if (!this.ordinaryIdle && now >= this.lastOrdinaryAt + this.taMs) {
      const ordinary = this.checklist.takeOrdinary();
      if (ordinary) {
        this.lastCheckAt = this.lastOrdinaryAt = now;
        return ordinary;
      }
      this.ordinaryIdle = true;
    }
    const triggered = this.checklist.takeTriggered();
    if (triggered) this.lastCheckAt = now;
    else if (this.ordinaryIdle) this.idle = true;
    return triggered;
  }

  /** When `take` may next return a pair, if there may be work. */
  deadline(): number | undefined {
    if (this.idle) return undefined;
    const floor = this.lastCheckAt + ICE_MIN_PACING_MS;
    let next: number | undefined = this.checklist.hasTriggered ? floor : undefined;
    if (!this.ordinaryIdle) {
      const ordinary = Math.max(floor, this.lastOrdinaryAt + this.taMs);
      next = next === undefined ? ordinary : Math.min(next, ordinary);
    }
    return next;
  }
}
