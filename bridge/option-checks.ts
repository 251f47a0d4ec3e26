// The checks of single bridge option values: resolveBridgeOptions (options.ts) runs them at start, and the
// ones a running bridge still applies — setHostAddresses' list, an Origin as admission compares it — are
// exported for their callers (re-exported by options.ts).
import { isIp } from '../src/net/ip.js';

/** `value`, or `fallback` when undefined: an integer in min..max (RangeError otherwise). */
export function integer(name: string, value: number | undefined, fallback: number, min: number, max: number): number {
  const v = value ?? fallback;
  if (!Number.isInteger(v) || v < min || v > max) throw new RangeError(`bridge option ${name} must be an integer in ${min}..${max}, got ${v}`);
  return v;
}

/** Origins compare as the browser sends them: scheme://host[:port], lowercased, no trailing slash. */
export function normalizeOrigin(origin: string): string {
  return origin.trim().toLowerCase().replace(/\/+$/, '');
}

/** The `hostAddresses` option and setHostAddresses(): at most 255 IP addresses, or undefined (TypeError otherwise). */
export function checkHostAddresses(addresses: unknown): asserts addresses is string[] | undefined {
  if (addresses === undefined) return;
  if (!Array.isArray(addresses) || addresses.length > 255) throw new TypeError('hostAddresses takes at most 255 IP addresses, or undefined');
  for (const a of addresses) if (typeof a !== 'string' || !isIp(a)) throw new TypeError(`hostAddresses: not an IP address: ${String(a)}`);
}

/** The `listenPortRange` option: undefined, or [low, high] of ports with low <= high. */
export function listenPortRange(range: [number, number] | undefined): [number, number] | undefined {
  if (range === undefined) return undefined;
  if (!Array.isArray(range) || range.length !== 2) throw new TypeError('bridge option listenPortRange must be [low, high]');
  const [low, high] = [integer('listenPortRange[0]', range[0], 0, 1, 65535), integer('listenPortRange[1]', range[1], 0, 1, 65535)];
  if (low > high) throw new RangeError('bridge option listenPortRange must be [low, high] with low <= high');
  return [low, high];
}
