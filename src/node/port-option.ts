// A listening port given as an option: an integer in 0..65535 (0 picks a free one), or a RangeError naming
// the option, before anything is bound (node:dgram would take -1 or 'abc' and bind some other port).
export function portOption(name: string, value: number | undefined, fallback: number): number {
  const v = value ?? fallback;
  if (!Number.isInteger(v) || v < 0 || v > 65535) throw new RangeError(`${name} must be 0..65535, got ${JSON.stringify(v)}`);
  return v;
}
