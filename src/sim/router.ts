import type { AddressPool } from './address-pool.js';
import type { Datagram } from './datagram.js';
import type { SimFabric } from './fabric.js';
import type { SimLink } from './link.js';

/** Something with an address on a router: a host's interface, or a NAT's public (or LAN-side) address. */
export interface Attachment {
  /** Canonical IP address text. */
  readonly address: string;
  /** The link between this attachment and the router; crossed by everything it sends or receives. */
  readonly link: SimLink;
  /** A datagram for `address` that has crossed the link. */
  receive(datagram: Datagram): void;
  /** A multicast datagram that has crossed the link; attachments without it (NATs) hear no multicast. */
  receiveMulticast?(datagram: Datagram): void;
}

/**
 * One address realm — the public internet, or the LAN behind one NAT. It delivers a datagram to whichever
 * attachment owns the destination address; anything else goes to the default gateway (a LAN's NAT) or,
 * on the internet, is dropped as `no-route`. Addresses are unique within a router, not across routers:
 * two LANs may both use 192.168.1.0/24 (RFC 4787 §4.4).
 */
export class SimRouter {
  private readonly attachments = new Map<string, Attachment>();

  constructor(
    private readonly fabric: SimFabric,
    /** `internet` or the NAT's name; used in traces and random-stream labels. */
    readonly name: string,
    /** Where addresses come from when a host or NAT is added without one. */
    readonly pools: { readonly hosts: AddressPool; readonly nats: AddressPool },
    /** The NAT's inside, for a LAN; null on the internet. */
    private readonly gateway: ((datagram: Datagram) => void) | null,
  ) {}

  /** Addresses in use on this router. */
  get addresses(): string[] {
    return [...this.attachments.keys()];
  }

  owns(address: string): boolean {
    return this.attachments.has(address);
  }

  attach(attachment: Attachment): void {
    if (this.attachments.has(attachment.address)) {
      throw new Error(`${this.name}: address ${attachment.address} is already in use`);
    }
    this.attachments.set(attachment.address, attachment);
  }

  /** An unused address from `pool`; throws when the pool is exhausted. */
  allocateAddress(pool: AddressPool): string {
    const address = pool.next((candidate) => this.attachments.has(candidate));
    if (address === undefined) throw new Error(`${this.name}: no free address left to assign`);
    return address;
  }

  /** Routes a datagram that has arrived at the router (it has crossed its sender's link). */
  forward(datagram: Datagram): void {
    if (datagram.ttl <= 0) {
      this.fabric.drop(datagram, 'ttl-exceeded', this.name);
      return;
    }
    const hop: Datagram = { ...datagram, ttl: datagram.ttl - 1 };
    if (isMulticast(hop.dst.address)) {
      this.multicast(hop);
      return;
    }
    const target = this.attachments.get(hop.dst.address);
    if (target !== undefined) {
      target.link.carry(hop, (arrived) => target.receive(arrived));
    } else if (this.gateway !== null) {
      this.gateway(hop);
    } else {
      this.fabric.drop(hop, 'no-route', this.name);
    }
  }

  /**
   * Multicast stays on its segment (224.0.0.251 and ff02::fb are link-local scope, RFC 5771 / RFC 4291
   * §2.7): every attachment of this router that listens gets a copy, the sender's own host included (as
   * IP_MULTICAST_LOOP does by default); it never goes to the gateway.
   */
  private multicast(datagram: Datagram): void {
    let listeners = 0;
    for (const target of this.attachments.values()) {
      const receive = target.receiveMulticast?.bind(target);
      if (!receive) continue;
      listeners++;
      target.link.carry(datagram, (arrived) => receive(arrived));
    }
    if (listeners === 0) this.fabric.drop(datagram, 'no-route', this.name);
  }
}

/** 224.0.0.0/4 or ff00::/8 (canonical address text). */
export function isMulticast(address: string): boolean {
  if (address.includes(':')) return address.startsWith('ff');
  const first = Number(address.slice(0, address.indexOf('.')));
  return first >= 224 && first <= 239;
}
