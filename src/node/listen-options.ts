// Where a Node server listens, given as options: checked before anything is bound.

/** Where the servers listen without `hosts`: this machine only, as `icebridge serve` and the bridge do. */
export const SERVER_DEFAULT_HOSTS: readonly string[] = Object.freeze(['127.0.0.1']);

/**
 * A listening port: an integer in 0..65535 (0 picks a free one), or a RangeError naming the option
 * (node:dgram would take -1 or 'abc' and bind some other port).
 */
export function portOption(name: string, value: number | undefined, fallback: number): number {
  const v = value ?? fallback;
  if (!Number.isInteger(v) || v < 0 || v > 65535) throw new RangeError(`${name} must be 0..65535, got ${JSON.stringify(v)}`);
  return v;
}

/** The `hosts` option: an array of addresses (names are resolved by bind), default SERVER_DEFAULT_HOSTS. */
export function hostsOption(hosts: readonly string[] | undefined): string[] {
  const list: unknown = hosts ?? SERVER_DEFAULT_HOSTS;
  if (!Array.isArray(list) || !list.every((h) => typeof h === 'string')) throw new TypeError(`hosts must be an array of addresses, got ${JSON.stringify(list)}`);
  return [...(list as string[])];
}
