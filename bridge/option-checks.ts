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

/** An option that takes a list of text (origins, CIDR blocks): undefined or an array of strings (TypeError otherwise). */
export function textList(name: string, value: unknown, owner = 'bridge'): string[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) throw new TypeError(`${owner} option ${name} must be an array of strings, got ${JSON.stringify(value)}`);
  return value;
}

/**
 * The `allowOrigins` option, each one as a page's Origin header says it: scheme://host[:port] with no path,
 * a default port dropped (`http://a.example:80` is sent as `http://a.example`). TypeError for what is none.
 */
export function originList(value: unknown, owner = 'bridge'): Set<string> | undefined {
  const list = textList('allowOrigins', value, owner);
  if (list === undefined) return undefined;
  return new Set(
    list.map((o) => {
      let url: URL | undefined;
      try {
        url = new URL(o.trim());
      } catch {
        // not a URL at all
      }
      const bare = url !== undefined && /^[a-z][a-z0-9+.-]*:\/\/[^/?#]+\/?$/i.test(o.trim());
      if (!url || !bare) throw new TypeError(`${owner} option allowOrigins: ${JSON.stringify(o)} is not an origin (scheme://host[:port], no path)`);
      // An origin of a scheme without one of its own (chrome-extension://…) is compared as written.
      return url.origin === 'null' ? normalizeOrigin(o) : url.origin.toLowerCase();
    }),
  );
}

/** The `logger` option: a function given each JSON log line; default: a line to stderr. */
export function loggerOption(logger: unknown): (line: string) => void {
  if (logger === undefined) return (line) => process.stderr.write(`${line}\n`);
  if (typeof logger !== 'function') throw new TypeError(`bridge option logger must be a function (line: string) => void, got ${typeof logger}`);
  return logger as (line: string) => void;
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
