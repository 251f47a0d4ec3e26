import { formatTransportAddress, type TransportAddress } from '../net/transport-address.js';
import type { NatBehaviorOptions } from './nat-options.js';
import type { SeededRandom } from './random.js';

/** One NAT binding: internal X:x ↔ public X':x' (RFC 4787 §4.1), with the remote endpoints it has sent to. */
export interface NatMapping {
  readonly internal: TransportAddress;
  readonly external: TransportAddress;
  readonly createdAt: number;
  /** Expires when the clock reaches this (RFC 4787 §4.3). */
  readonly expiresAt: number;
  /** Remote IPs this mapping has sent to (address-dependent filtering). */
  readonly contactedAddresses: ReadonlySet<string>;
  /** Remote IP:port this mapping has sent to (address-and-port-dependent filtering). */
  readonly contactedEndpoints: ReadonlySet<string>;
}

interface MutableMapping extends NatMapping {
  readonly key: string;
  expiresAt: number;
  readonly contactedAddresses: Set<string>;
  readonly contactedEndpoints: Set<string>;
}

export type InboundVerdict =
  | { readonly pass: true; readonly mapping: NatMapping }
  | { readonly pass: false; readonly reason: 'no-mapping' | 'mapping-expired' | 'filtered' };

/**
 * The translation state of one NAT: which mapping an outbound datagram uses (creating it if need be), and
 * whether an inbound one passes. Pure bookkeeping with `now` passed in; expiry is lazy, so an idle NAT
 * leaves no timers on the clock and `runUntilIdle()` does not jump two minutes ahead.
 */
export class NatMappingTable {
  private readonly byKey = new Map<string, MutableMapping>();
  private readonly byExternal = new Map<string, MutableMapping>();
  /** Public endpoints whose mapping expired and has not been reused, to tell `mapping-expired` from `no-mapping`. */
  private readonly expired = new Set<string>();
  /** REQ-2 "paired" pooling: an internal IP always gets the same public IP. */
  private readonly paired = new Map<string, string>();
  private pairedCount = 0;
  private created = 0;

  constructor(
    private readonly behavior: NatBehaviorOptions,
    private readonly publicAddresses: readonly string[],
    private readonly random: SeededRandom,
  ) {}

  /** Mappings created so far (a fresh one after expiry counts again). */
  get mappingsCreated(): number {
    return this.created;
  }

  /** Copies of the mappings alive at `now`. */
  active(now: number): NatMapping[] {
    return [...this.byKey.values()]
      .filter((m) => m.expiresAt > now)
      .map(({ internal, external, createdAt, expiresAt, contactedAddresses, contactedEndpoints }) => ({
        internal,
        external,
        createdAt,
        expiresAt,
        contactedAddresses: new Set(contactedAddresses),
        contactedEndpoints: new Set(contactedEndpoints),
      }));
  }

  /**
   * The mapping for a datagram from `internal` to `remote`: reused per the mapping behaviour (§4.1) or
   * created, then refreshed (REQ-6) and the remote remembered for filtering. Undefined if no port is free.
   */
  outbound(internal: TransportAddress, remote: TransportAddress, now: number): NatMapping | undefined {
    const key = this.mappingKey(internal, remote);
    let mapping = this.byKey.get(key);
    if (mapping !== undefined && mapping.expiresAt <= now) {
      this.expire(mapping);
      mapping = undefined;
    }
    if (mapping === undefined) {
      mapping = this.create(key, internal, now);
      if (mapping === undefined) return undefined;
    }
    mapping.expiresAt = now + this.behavior.mappingLifetimeMs;
    mapping.contactedAddresses.add(remote.address);
    mapping.contactedEndpoints.add(formatTransportAddress(remote));
    return mapping;
  }

  /** Whether a datagram from `remote` to public endpoint `external` gets in, and to which mapping (§5). */
  inbound(external: TransportAddress, remote: TransportAddress, now: number): InboundVerdict {
    const publicKey = formatTransportAddress(external);
    const mapping = this.byExternal.get(publicKey);
    if (mapping === undefined) return { pass: false, reason: this.expired.has(publicKey) ? 'mapping-expired' : 'no-mapping' };
    if (mapping.expiresAt <= now) {
      this.expire(mapping);
      return { pass: false, reason: 'mapping-expired' };
    }
    if (!this.filterAllows(mapping, remote)) return { pass: false, reason: 'filtered' };
    if (this.behavior.inboundRefresh) mapping.expiresAt = now + this.behavior.mappingLifetimeMs; // REQ-6a
    return { pass: true, mapping };
  }

  /** RFC 4787 §4.1: which outbound datagrams share a mapping. */
  private mappingKey(internal: TransportAddress, remote: TransportAddress): string {
    const from = formatTransportAddress(internal);
    switch (this.behavior.mapping) {
      case 'endpoint-independent':
        return from;
      case 'address-dependent':
        return `${from}>${remote.address}`;
      case 'address-and-port-dependent':
        return `${from}>${formatTransportAddress(remote)}`;
    }
  }

  /**
   * RFC 4787 §5: EIF lets anything reach an active mapping; ADF needs the IP contacted; APDF the IP:port.
   * Deliberately simpler than NATs with a timer per remote: what a mapping has contacted stays allowed
   * for as long as the mapping lives.
   */
  private filterAllows(mapping: MutableMapping, remote: TransportAddress): boolean {
    switch (this.behavior.filtering) {
      case 'endpoint-independent':
        return true;
      case 'address-dependent':
        return mapping.contactedAddresses.has(remote.address);
      case 'address-and-port-dependent':
        return mapping.contactedEndpoints.has(formatTransportAddress(remote));
    }
  }

  private create(key: string, internal: TransportAddress, now: number): MutableMapping | undefined {
    const address = this.pairedAddress(internal.address);
    const port = this.allocatePort(address, internal.port, now);
    if (port === undefined) return undefined;
    const external = Object.freeze({ address, port });
    const mapping: MutableMapping = {
      key,
      internal: Object.freeze({ address: internal.address, port: internal.port }),
      external,
      createdAt: now,
      expiresAt: now,
      contactedAddresses: new Set(),
      contactedEndpoints: new Set(),
    };
    const publicKey = formatTransportAddress(external);
    this.byKey.set(key, mapping);
    this.byExternal.set(publicKey, mapping);
    this.expired.delete(publicKey);
    this.created++;
    return mapping;
  }

  private pairedAddress(internalAddress: string): string {
    let address = this.paired.get(internalAddress);
    if (address === undefined) {
      address = this.publicAddresses[this.pairedCount++ % this.publicAddresses.length];
      this.paired.set(internalAddress, address);
    }
    return address;
  }

  /**
   * §4.2.1: with port preservation, the internal port if it is free on that public address; otherwise a
   * port drawn from the NAT's seeded stream, so allocation is the same on every run with the same seed
   * (REQ-11). A port in use is never shared (REQ-3: no port overloading).
   */
  private allocatePort(address: string, internalPort: number, now: number): number | undefined {
    const free = (port: number): boolean => {
      const holder = this.byExternal.get(formatTransportAddress({ address, port }));
      if (holder === undefined) return true;
      if (holder.expiresAt > now) return false;
      this.expire(holder);
      return true;
    };
    if (this.behavior.portPreservation && free(internalPort)) return internalPort;
    const { min, max } = this.behavior.portRange;
    for (let attempt = 0; attempt < 64; attempt++) {
      const port = this.random.integer(min, max);
      if (free(port)) return port;
    }
    for (let port = min; port <= max; port++) if (free(port)) return port;
    return undefined;
  }

  private expire(mapping: MutableMapping): void {
    const publicKey = formatTransportAddress(mapping.external);
    if (this.byKey.get(mapping.key) === mapping) this.byKey.delete(mapping.key);
    if (this.byExternal.get(publicKey) === mapping) this.byExternal.delete(publicKey);
    this.expired.add(publicKey);
  }
}
