/**
 * Candidate pair priority (RFC 8445 §6.1.2.3). Up to 2^63 + 2^33, beyond Number's 2^53: bigint throughout.
 * (Shifts cannot do it either: in JavaScript `1 << 32` is 1, the bug that breaks werift's ordering.)
 */

const TWO_32 = 0x1_0000_0000n;

function checkPriority(name: string, p: number): void {
  if (!Number.isInteger(p) || p < 0 || p > 0xffffffff) throw new RangeError(`${name} priority must be a uint32, got ${p}`);
}

/**
 * RFC 8445 §6.1.2.3: 2^32·MIN(G,D) + 2·MAX(G,D) + (G>D ? 1 : 0), where G is the priority of the
 * controlling agent's candidate and D that of the controlled agent's. Both agents compute the same value.
 * Any uint32 is taken; above the RFC's 2^31 − 1 (RFC 8445 §5.1.2), 2·MAX can carry into the MIN field,
 * exactly as the formula says, so such pairs no longer sort by MIN first.
 */
export function pairPriority(controllingPriority: number, controlledPriority: number): bigint {
  checkPriority('controlling', controllingPriority);
  checkPriority('controlled', controlledPriority);
  const g = BigInt(controllingPriority);
  const d = BigInt(controlledPriority);
  const [min, max] = g < d ? [g, d] : [d, g];
  return TWO_32 * min + 2n * max + (g > d ? 1n : 0n);
}

/** pairPriority seen from one agent: its own candidate's priority, the peer's, and its current role. */
export function pairPriorityForRole(localPriority: number, remotePriority: number, controlling: boolean): bigint {
  return controlling ? pairPriority(localPriority, remotePriority) : pairPriority(remotePriority, localPriority);
}

/**
 * An Array.prototype.sort comparator that puts the higher pair priority first, the order of a checklist
 * (RFC 8445 §6.1.2.3: "decreasing order of priority").
 */
export function comparePairPriority(a: bigint, b: bigint): number {
  return a > b ? -1 : a < b ? 1 : 0;
}
