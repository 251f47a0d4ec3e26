import { formatIPv4, parseIPv4 } from './ip-address.js';

/**
 * Hands out IPv4 addresses from one or more prefixes in order, skipping those already taken, so tests that
 * do not care about addresses can write `net.addHost()`. Network and broadcast addresses are never given.
 */
export class AddressPool {
  private readonly ranges: { first: number; last: number }[];

  /** `prefixes` like `'10.0.0.0/24'`; `skip` leading host addresses (e.g. 1 to keep `.1` for a gateway). */
  constructor(prefixes: readonly string[], skip = 0) {
    this.ranges = prefixes.map((prefix) => {
      const { base, length } = parsePrefix(prefix);
      const size = 2 ** (32 - length);
      // A /31 or /32 has no network or broadcast address to avoid.
      const first = size > 2 ? base + 1 + skip : base;
      const last = size > 2 ? base + size - 2 : base + size - 1;
      return { first, last };
    });
  }

  /** The first host address of the first prefix (a LAN's gateway). */
  get firstAddress(): string {
    return formatIPv4(this.ranges[0].first);
  }

  /** The next address for which `taken` is false, or undefined when the pool is used up. */
  next(taken: (address: string) => boolean): string | undefined {
    for (const range of this.ranges) {
      for (let value = range.first; value <= range.last; value++) {
        const address = formatIPv4(value);
        if (!taken(address)) return address;
      }
    }
    return undefined;
  }
}

/** `'a.b.c.d/n'` → numeric base (host bits cleared) and prefix length. Throws on bad input. */
export function parsePrefix(prefix: string): { base: number; length: number } {
  const [text, lengthText, extra] = prefix.split('/');
  const value = parseIPv4(text);
  const length = Number(lengthText);
  if (value === undefined || extra !== undefined || !Number.isInteger(length) || length < 0 || length > 32) {
    throw new TypeError(`not an IPv4 prefix: ${JSON.stringify(prefix)}`);
  }
  const size = 2 ** (32 - length);
  return { base: value - (value % size), length };
}
