// Name answers shared by every session of one bridge, kept for their TTL (RFC 1035 §3.2.1), bounded in
// size. Time is passed in. Stored answers are the resolver's, before the destination policy: the policy is
// applied on every use, so a policy change (the host's addresses moved) takes effect at once.
import type { AddressFamily } from '../net/transport-address.js';
import type { LookupAnswer } from './session-types.js';

export interface ResolveCacheOptions {
  /** Names kept at most; the oldest entry goes first. Default 1000. */
  maxEntries?: number;
  /** An answer is kept at most this long, whatever its TTL says. Default 300 s. */
  maxTtlSeconds?: number;
  /** A name that did not resolve is remembered this long (RFC 2308 negative caching). Default 5 s. */
  negativeTtlSeconds?: number;
}

interface Entry {
  answers: LookupAnswer[] | undefined;
  expires: number;
}

export class ResolveCache {
  private readonly entries = new Map<string, Entry>();
  private readonly maxEntries: number;
  private readonly maxTtlMs: number;
  private readonly negativeTtlMs: number;

  constructor(options: ResolveCacheOptions = {}) {
    this.maxEntries = options.maxEntries ?? 1000;
    this.maxTtlMs = (options.maxTtlSeconds ?? 300) * 1000;
    this.negativeTtlMs = (options.negativeTtlSeconds ?? 5) * 1000;
  }

  /** The cached answers (TTLs counted down to `now`), `null` for a remembered failure, undefined if unknown. */
  get(name: string, families: readonly AddressFamily[], now: number): LookupAnswer[] | null | undefined {
    const key = keyOf(name, families);
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (entry.expires <= now) {
      this.entries.delete(key);
      return undefined;
    }
    if (!entry.answers) return null;
    const left = Math.floor((entry.expires - now) / 1000);
    return entry.answers.map((a) => ({ address: a.address, ttl: Math.min(a.ttl, left) }));
  }

  put(name: string, families: readonly AddressFamily[], answers: LookupAnswer[], now: number): void {
    if (answers.length === 0) return;
    const ttl = Math.min(...answers.map((a) => a.ttl)) * 1000;
    if (ttl <= 0) return;
    this.store(keyOf(name, families), { answers, expires: now + Math.min(ttl, this.maxTtlMs) });
  }

  putFailure(name: string, families: readonly AddressFamily[], now: number): void {
    if (this.negativeTtlMs > 0) this.store(keyOf(name, families), { answers: undefined, expires: now + this.negativeTtlMs });
  }

  get size(): number {
    return this.entries.size;
  }

  private store(key: string, entry: Entry): void {
    this.entries.delete(key);
    if (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next();
      if (!oldest.done) this.entries.delete(oldest.value);
    }
    this.entries.set(key, entry);
  }
}

/** Names are case-insensitive (RFC 4343) and a final dot changes nothing. */
function keyOf(name: string, families: readonly AddressFamily[]): string {
  return `${families.join(',')} ${name.toLowerCase().replace(/\.$/, '')}`;
}
