// Checks of option values shared by the engines and their drivers: a clear typed error at the call,
// not a wrong value taken or a cryptic failure later.

/** A RangeError for a timeout option that is not a positive number of milliseconds (undefined: the default). */
export function checkMilliseconds(name: string, value: unknown): void {
  if (value !== undefined && !(typeof value === 'number' && value > 0)) throw new RangeError(`${name} must be a positive number of milliseconds, got ${JSON.stringify(value)}`);
}

/** A TypeError when a function's options are not an object (undefined takes the defaults where there are any). */
export function checkOptionsObject(where: string, options: unknown, what = '{ … }'): void {
  if (options === null || typeof options !== 'object') throw new TypeError(`${where}: the options must be an object ${what}, got ${options === null ? 'null' : typeof options}`);
}

/** A TypeError for an address family that is neither 'IPv4' nor 'IPv6' (undefined, unless `required`: the default). */
export function checkFamily(family: unknown, required = false): void {
  if ((required || family !== undefined) && family !== 'IPv4' && family !== 'IPv6') throw new TypeError(`family must be 'IPv4' or 'IPv6', got ${JSON.stringify(family)}`);
}
