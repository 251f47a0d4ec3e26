// The querier's state: one-shot queries in flight (RFC 6762 §5.1/§5.2) and the bounded cache of answers.
// Bookkeeping only — the engine (mdns-engine.ts) sends and times. Both maps have a fixed cap, so a flood of
// responses (or of names to resolve) cannot grow memory.
import { canonicalName } from './dns-name.js';

export interface PendingQuery {
  /** The name as asked. */
  name: string;
  /** When the next query goes out, and the interval after it (doubling, §5.2). */
  nextSendAt: number;
  intervalMs: number;
  /** Queries sent so far. */
  sent: number;
  /** When the query gives up. */
  deadline: number;
}

interface CacheEntry {
  addresses: string[];
  expires: number;
}

export class MdnsQueries {
  private readonly pending = new Map<string, PendingQuery>();
  /** Map order is insertion order: the first entry is the oldest, evicted first. */
  private readonly cache = new Map<string, CacheEntry>();

  constructor(
    private readonly maxPending: number,
    private readonly maxCache: number,
  ) {}

  get pendingCount(): number {
    return this.pending.size;
  }

  get cacheSize(): number {
    return this.cache.size;
  }

  isPending(name: string): boolean {
    return this.pending.has(canonicalName(name));
  }

  /** A new query; 'busy' when one for the name is in flight already, 'limit' at the cap. */
  start(name: string, now: number, intervalMs: number, timeoutMs: number): PendingQuery | 'busy' | 'limit' {
    const key = canonicalName(name);
    if (this.pending.has(key)) return 'busy';
    if (this.pending.size >= this.maxPending) return 'limit';
    const query: PendingQuery = { name, nextSendAt: now, intervalMs, sent: 0, deadline: now + timeoutMs };
    this.pending.set(key, query);
    return query;
  }

  /** Ends the query for `name` (answered, timed out, cancelled); returns it if it was pending. */
  finish(name: string): PendingQuery | undefined {
    const key = canonicalName(name);
    const query = this.pending.get(key);
    this.pending.delete(key);
    return query;
  }

  /** Queries whose next transmission is due, rescheduled (the interval doubles, RFC 6762 §5.2). */
  due(now: number): PendingQuery[] {
    const out: PendingQuery[] = [];
    for (const q of this.pending.values()) {
      if (q.nextSendAt > now || q.nextSendAt >= q.deadline) continue;
      out.push(q);
      q.nextSendAt = now + q.intervalMs;
      q.intervalMs *= 2;
      q.sent++;
    }
    return out;
  }

  /** Queries past their deadline, removed. */
  expired(now: number): PendingQuery[] {
    const out: PendingQuery[] = [];
    for (const [key, q] of this.pending) {
      if (q.deadline > now) continue;
      out.push(q);
      this.pending.delete(key);
    }
    return out;
  }

  all(): PendingQuery[] {
    return [...this.pending.values()];
  }

  nextDeadline(): number | undefined {
    let next: number | undefined;
    for (const q of this.pending.values()) {
      const at = q.nextSendAt < q.deadline ? q.nextSendAt : q.deadline;
      if (next === undefined || at < next) next = at;
    }
    return next;
  }

  clearPending(): void {
    this.pending.clear();
  }

  /** A cached, unexpired answer. */
  lookup(name: string, now: number): string[] | undefined {
    const key = canonicalName(name);
    const entry = this.cache.get(key);
    if (!entry) return undefined;
    if (entry.expires <= now) {
      this.cache.delete(key);
      return undefined;
    }
    return entry.addresses;
  }

  /**
   * Caches addresses for `name` (RFC 6762 §10.2: a cache-flush answer replaces what is cached; otherwise
   * they are added). A TTL of 0 is a goodbye (§10.1): the name is forgotten.
   */
  store(name: string, addresses: string[], ttlS: number, cacheFlush: boolean, now: number): void {
    const key = canonicalName(name);
    if (ttlS === 0) {
      this.cache.delete(key);
      return;
    }
    const old = this.cache.get(key);
    const merged = !cacheFlush && old && old.expires > now ? [...new Set([...old.addresses, ...addresses])] : addresses;
    this.cache.delete(key);
    while (this.cache.size >= this.maxCache) {
      const oldest = this.cache.keys().next().value;
      if (oldest === undefined) break;
      this.cache.delete(oldest);
    }
    // A name has a handful of addresses at most: the list is capped too, so one name cannot grow either.
    this.cache.set(key, { addresses: merged.slice(0, 8), expires: now + ttlS * 1000 });
  }
}
