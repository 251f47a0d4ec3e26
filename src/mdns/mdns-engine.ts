// A sans-I/O mDNS engine (RFC 6762) for ICE's needs: one-shot A/AAAA queries for `<uuid>.local` names
// (the querier) and answers for the names we register for our own host candidates (the responder). Each
// socket is one multicast socket (5353, joined to 224.0.0.251 or ff02::fb) on one interface; the driver
// opens them (src/node/mdns-sockets.ts, or SimHost sockets on the simulated network).
import type { DatagramSource, Engine, SocketId, Transmit } from '../net/engine.js';
import { Queue } from '../net/engine.js';
import { familyOf, type AddressFamily, type TransportAddress } from '../net/transport-address.js';
import {
  MDNS_ANNOUNCE_INTERVAL_MS,
  MDNS_HOST_RECORD_TTL_S,
  MDNS_LEGACY_UNICAST_TTL_S,
  MDNS_QUERY_RETRANSMIT_MS,
  MDNS_QUERY_TIMEOUT_MS,
  MDNS_RECORD_MULTICAST_INTERVAL_MS,
} from '../timing.js';
import { DNS_CLASS_IN, DnsType, decodeDnsMessageOrUndefined, encodeDnsMessage, type DnsMessage, type DnsRecord } from './dns-message.js';
import { canonicalName } from './dns-name.js';
import { MdnsQueries } from './mdns-queries.js';
import { MDNS_PORT, generateMdnsName, isUuid4LocalName, isUuidLocalName, mdnsGroup } from './mdns-names.js';
import type { RandomFill } from '../ice/credentials.js';

export interface MdnsEngineOptions {
  /** Give up on a name after this long. Default MDNS_QUERY_TIMEOUT_MS (5 000 ms). */
  queryTimeoutMs?: number;
  /** Queries in flight at once; more are refused at once ('limit'). Default 32. */
  maxPendingQueries?: number;
  /** Names whose answers are cached (oldest evicted first). Default 128. */
  maxCacheEntries?: number;
  /** Names registered at once (our host candidates). Default 32. */
  maxRegisteredNames?: number;
  /** TTL of the records we answer with. Default MDNS_HOST_RECORD_TTL_S (120 s, RFC 6762 §10). */
  recordTtlS?: number;
  /** Randomness for the names we register. Default WebCrypto. */
  randomFill?: RandomFill;
}

export type MdnsUnresolvedReason = 'timeout' | 'limit' | 'closed';

export type MdnsEvent =
  | { type: 'resolved'; name: string; addresses: string[] }
  | { type: 'unresolved'; name: string; reason: MdnsUnresolvedReason };

export interface MdnsCounters {
  /** Datagrams that are not DNS messages (DnsParseError). */
  malformed: number;
  /** Questions answered (one held back by RFC 6762 §6's one-second rule is not counted). */
  answered: number;
  /** Answers for names nobody asked about (cached only when in the `<uuid>.local` form). */
  unsolicited: number;
  /** Answers for names already resolved or given up on. */
  late: number;
}

interface Registration {
  name: string;
  address: string;
}

export class MdnsEngine implements Engine<MdnsEvent> {
  readonly counters: MdnsCounters = { malformed: 0, answered: 0, unsolicited: 0, late: 0 };
  private readonly sockets = new Map<SocketId, AddressFamily>();
  private readonly queries: MdnsQueries;
  private readonly registered = new Map<string, Registration>();
  /** RFC 6762 §6: when each record was last multicast on each socket (`socket|name`). */
  private readonly lastMulticast = new Map<string, number>();
  /** RFC 6762 §8.3: the second announcement of a name, due at this time. */
  private readonly announcements = new Map<string, number>();
  private readonly transmits = new Queue<Transmit>();
  private readonly events = new Queue<MdnsEvent>();
  private readonly timeoutMs: number;
  private readonly maxRegistered: number;
  private readonly ttlS: number;
  private readonly randomFill: RandomFill | undefined;
  private closed = false;

  constructor(options: MdnsEngineOptions = {}) {
    this.timeoutMs = options.queryTimeoutMs ?? MDNS_QUERY_TIMEOUT_MS;
    this.maxRegistered = options.maxRegisteredNames ?? 32;
    this.ttlS = options.recordTtlS ?? MDNS_HOST_RECORD_TTL_S;
    this.randomFill = options.randomFill;
    const maxPending = options.maxPendingQueries ?? 32;
    const maxCache = options.maxCacheEntries ?? 128;
    for (const [name, value] of Object.entries({ queryTimeoutMs: this.timeoutMs, maxPendingQueries: maxPending, maxCacheEntries: maxCache, maxRegisteredNames: this.maxRegistered })) {
      if (!Number.isInteger(value) || value < 1) throw new RangeError(`MdnsEngine: ${name} must be a whole number ≥ 1, got ${value}`);
    }
    if (!Number.isInteger(this.ttlS) || this.ttlS < 1) throw new RangeError(`MdnsEngine: recordTtlS must be a whole number ≥ 1`);
    this.queries = new MdnsQueries(maxPending, maxCache);
  }

  /** A multicast socket of `family`, joined to that family's mDNS group on one interface. */
  addSocket(id: SocketId, family: AddressFamily, now: number): void {
    this.sockets.set(id, family);
    // A socket that comes late still gets the names already registered announced on it.
    for (const r of this.registered.values()) this.multicastRecord(id, r, this.ttlS, now);
  }

  removeSocket(id: SocketId): void {
    this.sockets.delete(id);
    for (const key of [...this.lastMulticast.keys()]) if (key.startsWith(`${id}|`)) this.lastMulticast.delete(key);
  }

  get pendingQueries(): number {
    return this.queries.pendingCount;
  }

  get cacheSize(): number {
    return this.queries.cacheSize;
  }

  get registeredNames(): string[] {
    return [...this.registered.values()].map((r) => r.name);
  }

  // ---- Querier --------------------------------------------------------------------------------------

  /** Starts resolving `name` (or answers from the cache); the outcome is a 'resolved' or 'unresolved' event. */
  query(name: string, now: number): void {
    if (this.closed) {
      this.events.push({ type: 'unresolved', name, reason: 'closed' });
      return;
    }
    const cached = this.queries.lookup(name, now);
    if (cached) {
      this.events.push({ type: 'resolved', name, addresses: [...cached] });
      return;
    }
    const started = this.queries.start(name, now, MDNS_QUERY_RETRANSMIT_MS, this.timeoutMs);
    if (started === 'limit') this.events.push({ type: 'unresolved', name, reason: 'limit' });
    else if (started !== 'busy') this.handleTimeout(now);
  }

  // ---- Responder ------------------------------------------------------------------------------------

  /**
   * Registers a fresh `<uuid>.local` name for `address` (draft §3.1.1 steps 3–4: announced, not probed —
   * the name is unique), or `name` when one was chosen elsewhere (a page's, through the bridge), and returns
   * it. Throws RangeError past maxRegisteredNames (the caller's limit) or for a `name` that is not one.
   */
  register(address: string, now: number, chosen?: string): string {
    if (this.registered.size >= this.maxRegistered) throw new RangeError(`MdnsEngine: more than ${this.maxRegistered} registered names`);
    if (chosen !== undefined && !isUuid4LocalName(chosen)) throw new RangeError(`${chosen} is not a version 4 <uuid>.local name this responder can announce`);
    const name = chosen?.toLowerCase() ?? generateMdnsName(this.randomFill);
    const r = { name, address };
    this.registered.set(canonicalName(name), r);
    for (const id of this.sockets.keys()) this.multicastRecord(id, r, this.ttlS, now);
    this.announcements.set(canonicalName(name), now + MDNS_ANNOUNCE_INTERVAL_MS);
    return name;
  }

  /** Withdraws a name: a goodbye (TTL 0, RFC 6762 §10.1) on every socket. */
  unregister(name: string): void {
    const key = canonicalName(name);
    const r = this.registered.get(key);
    if (!r) return;
    for (const id of this.sockets.keys()) this.send(id, mdnsGroup(this.sockets.get(id)!), { response: true, authoritative: true, answers: [this.record(r, 0, true)] });
    this.registered.delete(key);
    this.announcements.delete(key);
    for (const k of [...this.lastMulticast.keys()]) if (k.endsWith(`|${key}`)) this.lastMulticast.delete(k);
  }

  /** Goodbyes for every name, then nothing more: pending queries end as 'closed'. */
  close(): void {
    if (this.closed) return;
    for (const r of [...this.registered.values()]) this.unregister(r.name);
    for (const q of this.queries.all()) this.events.push({ type: 'unresolved', name: q.name, reason: 'closed' });
    this.queries.clearPending();
    this.closed = true;
  }

  // ---- Engine ---------------------------------------------------------------------------------------

  handleDatagram(bytes: Uint8Array, source: DatagramSource, now: number): void {
    if (this.closed || !this.sockets.has(source.socket)) return;
    const message = decodeDnsMessageOrUndefined(bytes);
    if (!message) {
      this.counters.malformed++;
      return;
    }
    // RFC 6762 §18.3/§18.11: messages with a non-zero opcode or rcode are silently ignored.
    if (message.opcode !== 0 || message.rcode !== 0) return;
    if (message.response) this.receiveResponse(message, now);
    else this.receiveQuery(message, source, now);
  }

  handleTimeout(now: number): void {
    if (this.closed) return;
    for (const q of this.queries.expired(now)) this.events.push({ type: 'unresolved', name: q.name, reason: 'timeout' });
    for (const q of this.queries.due(now)) {
      // One question per message: Chromium's responder (net::DnsQuery::Parse) drops a query with more than
      // one question or with the QU bit in qclass, so it answers only single-question QM queries. The first
      // query also goes out as QU (§5.4, the draft's §3.2.1 step 3), first, for responders that announced
      // the name less than a second ago (§6's one-second rule holds back a multicast answer, not a unicast
      // one); retransmissions are QM only.
      const first = q.sent === 1;
      for (const unicastResponse of first ? [true, false] : [false]) {
        for (const type of [DnsType.A, DnsType.AAAA]) {
          const questions = [{ name: q.name, type, class: DNS_CLASS_IN, unicastResponse }];
          for (const [id, family] of this.sockets) this.send(id, mdnsGroup(family), { questions });
        }
      }
    }
    for (const [key, at] of this.announcements) {
      if (at > now) continue;
      this.announcements.delete(key);
      const r = this.registered.get(key);
      if (r) for (const id of this.sockets.keys()) this.multicastRecord(id, r, this.ttlS, now);
    }
  }

  pollTransmit(): Transmit | undefined {
    return this.transmits.shift();
  }

  pollTimeout(): number | undefined {
    if (this.closed) return undefined;
    let next = this.queries.nextDeadline();
    for (const at of this.announcements.values()) if (next === undefined || at < next) next = at;
    return next;
  }

  pollEvent(): MdnsEvent | undefined {
    return this.events.shift();
  }

  // ---- Internals ------------------------------------------------------------------------------------

  private receiveResponse(message: DnsMessage, now: number): void {
    // Answers and additional records alike may carry the address (RFC 6762 §6).
    const byName = new Map<string, { name: string; records: DnsRecord[] }>();
    for (const r of [...message.answers, ...message.additionals]) {
      if ((r.type !== DnsType.A && r.type !== DnsType.AAAA) || r.class !== DNS_CLASS_IN || r.address === undefined) continue;
      const key = canonicalName(r.name);
      const group = byName.get(key) ?? { name: r.name, records: [] };
      group.records.push(r);
      byName.set(key, group);
    }
    for (const { name, records } of byName.values()) {
      const live = records.filter((r) => r.ttl > 0);
      const addresses = [...new Set(live.map((r) => r.address!))];
      const ttl = live.length > 0 ? Math.min(...live.map((r) => r.ttl)) : 0;
      const flush = records.some((r) => r.cacheFlush);
      const pending = this.queries.isPending(name);
      if (pending && addresses.length > 0) {
        this.queries.finish(name);
        this.queries.store(name, addresses, ttl, flush, now);
        this.events.push({ type: 'resolved', name, addresses });
        continue;
      }
      if (this.queries.lookup(name, now)) {
        // A duplicate, a late answer or a goodbye for a name we know: the cache follows, no new event.
        this.counters.late++;
        this.queries.store(name, addresses, ttl, flush, now);
      } else if (!pending) {
        // An announcement or someone else's answer. Only names of the ICE form are kept (bounded cache),
        // so a peer's candidate announced before it is signalled resolves without a query.
        this.counters.unsolicited++;
        if (addresses.length > 0 && isUuidLocalName(name)) this.queries.store(name, addresses, ttl, flush, now);
      }
    }
  }

  private receiveQuery(message: DnsMessage, source: DatagramSource, now: number): void {
    const legacy = source.from.port !== MDNS_PORT;
    for (const q of message.questions) {
      const r = this.registered.get(canonicalName(q.name));
      if (!r) continue;
      const type = familyOf(r.address) === 'IPv4' ? DnsType.A : DnsType.AAAA;
      if (q.type !== type && q.type !== DnsType.ANY) continue;
      if (q.class !== DNS_CLASS_IN && q.class !== DnsType.ANY) continue;
      if (legacy) {
        this.counters.answered++;
        // §6.7: a one-shot querier on another port gets a unicast answer echoing its ID and question,
        // TTL at most 10 s, no cache-flush bit.
        const ttl = Math.min(this.ttlS, MDNS_LEGACY_UNICAST_TTL_S);
        this.send(source.socket, source.from, { id: message.id, response: true, authoritative: true, questions: [q], answers: [this.record(r, ttl, false)] });
        continue;
      }
      const last = this.lastMulticast.get(`${source.socket}|${canonicalName(r.name)}`);
      // §5.4: a question asking for a unicast answer gets one when the record was multicast recently (within
      // a quarter of its TTL); otherwise the answer is multicast — unless §6's one-second rule forbids it.
      if (q.unicastResponse && last !== undefined && now - last < (this.ttlS * 1000) / 4) {
        this.counters.answered++;
        this.send(source.socket, source.from, { response: true, authoritative: true, answers: [this.record(r, this.ttlS, true)] });
      } else if (last === undefined || now - last >= MDNS_RECORD_MULTICAST_INTERVAL_MS) {
        this.counters.answered++;
        this.multicastRecord(source.socket, r, this.ttlS, now);
      }
    }
  }

  private multicastRecord(id: SocketId, r: Registration, ttl: number, now: number): void {
    const family = this.sockets.get(id);
    if (family === undefined) return;
    this.lastMulticast.set(`${id}|${canonicalName(r.name)}`, now);
    this.send(id, mdnsGroup(family), { response: true, authoritative: true, answers: [this.record(r, ttl, true)] });
  }

  private record(r: Registration, ttl: number, cacheFlush: boolean): DnsRecord {
    const type = familyOf(r.address) === 'IPv4' ? DnsType.A : DnsType.AAAA;
    return { name: r.name, type, class: DNS_CLASS_IN, cacheFlush, ttl, address: r.address };
  }

  private send(socket: SocketId, to: TransportAddress, message: Partial<DnsMessage>): void {
    this.transmits.push({ socket, to, bytes: encodeDnsMessage(message) });
  }
}
