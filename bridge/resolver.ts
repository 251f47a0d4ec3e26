// Name lookups for bridge sessions: the DNS (c-ares, with TTLs and its own timeout, off libuv's small thread
// pool that getaddrinfo would tie up), or the operator's own function — tests map test names to loopback
// addresses with it, without touching /etc/hosts. Answers are judged by the session's policy afterwards.
import { Resolver } from 'node:dns/promises';
import type { LookupAnswer, LookupFailure } from '../src/bridge/session-types.js';
import type { AddressFamily } from '../src/net/transport-address.js';
import { isIp } from '../src/net/ip.js';

/** Resolves `name` to addresses of `family`; a string answer has a TTL of 0 (not cached). Throw to fail. */
export type BridgeResolveFunction = (name: string, family: AddressFamily) => Promise<readonly (string | LookupAnswer)[]>;

export class LookupError extends Error {
  constructor(
    readonly failure: LookupFailure,
    message: string,
  ) {
    super(message);
  }
}

const NOT_FOUND = new Set(['ENOTFOUND', 'ENODATA', 'NXDOMAIN', 'ENONAME']);

/** A lookup of every family asked for, merged: one family's failure is no failure if the other answers. */
export function makeLookup(resolve: BridgeResolveFunction | undefined, timeoutMs: number): (name: string, families: AddressFamily[]) => Promise<LookupAnswer[]> {
  const fn = resolve ?? dnsResolver(timeoutMs);
  return async (name, families) => {
    const results = await Promise.allSettled(families.map((f) => fn(name, f).then((list) => answersOf(list, f))));
    const answers = results.flatMap((r) => (r.status === 'fulfilled' ? r.value : []));
    if (answers.length > 0) return answers;
    const errors = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
    if (errors.length === 0) throw new LookupError('name-not-found', `${name} has no address of the families asked for`);
    const codes = errors.map((e) => String((e as { code?: unknown }).code ?? ''));
    if (codes.every((c) => NOT_FOUND.has(c))) throw new LookupError('name-not-found', `${name} does not resolve (${codes[0]})`);
    if (codes.some((c) => c === 'ETIMEOUT')) throw new LookupError('resolve-timeout', `the DNS did not answer for ${name}`);
    const first = errors[0];
    throw new LookupError('resolve-failed', `${name}: ${first instanceof Error ? first.message : String(first)}`);
  };
}

function dnsResolver(timeoutMs: number): BridgeResolveFunction {
  const resolver = new Resolver({ timeout: Math.max(100, Math.floor(timeoutMs / 2)), tries: 2 });
  return async (name, family) => {
    const records = family === 'IPv6' ? await resolver.resolve6(name, { ttl: true }) : await resolver.resolve4(name, { ttl: true });
    return records.map((r) => ({ address: r.address, ttl: r.ttl }));
  };
}

/** Only addresses of the family asked for, as IP literals: a resolver function must not smuggle in names. */
function answersOf(list: readonly (string | LookupAnswer)[], family: AddressFamily): LookupAnswer[] {
  const out: LookupAnswer[] = [];
  for (const item of list) {
    const a = typeof item === 'string' ? { address: item, ttl: 0 } : item;
    if (!isIp(a.address) || (a.address.includes(':') ? 'IPv6' : 'IPv4') !== family) continue;
    out.push({ address: a.address, ttl: Number.isFinite(a.ttl) && a.ttl > 0 ? Math.floor(a.ttl) : 0 });
  }
  return out;
}
