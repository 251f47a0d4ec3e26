import { familyOf } from '../net/transport-address.js';
import { AddressPool } from './address-pool.js';
import type { Datagram } from './datagram.js';
import type { SimFabric } from './fabric.js';
import { SimHost, type SimHostOptions, type SimSegment } from './host.js';
import { requireAddress } from './ip-address.js';
import { SimLink } from './link.js';
import { resolveNatBehavior, type NatBehaviorOptions, type SimNatOptions } from './nat-options.js';
import { NatMappingTable, type NatMapping } from './nat-table.js';
import { SimRouter } from './router.js';

/**
 * A NAT (NAT44, UDP only) between an outside router — the internet, or the LAN of another NAT — and a LAN
 * of its own. Mapping, filtering, port assignment, refresh and hairpinning follow RFC 4787 as configured
 * in `SimNatOptions`; the translation state itself lives in `NatMappingTable`.
 *
 * ```ts
 * const home = net.addNat({ publicAddress: '203.0.113.10', ...NAT_PRESETS.portRestrictedCone });
 * const laptop = home.addHost();            // 10.0.0.2 on home's LAN
 * const cgn = net.addNat({ mapping: 'address-and-port-dependent' });
 * const phone = cgn.addNat().addHost();     // behind two NATs
 * ```
 */
export class SimNat implements SimSegment {
  readonly name: string;
  /** The LAN: hosts added with `addHost` are attached here. */
  readonly router: SimRouter;
  /** Public side addresses on the outside router (REQ-2: an internal IP always gets the same one). */
  readonly publicAddresses: readonly string[];
  /** The NAT's own address on its LAN (the hosts' default gateway). */
  readonly internalAddress: string;
  readonly behavior: NatBehaviorOptions;
  /** The link between the NAT and the outside router; everything to or from the LAN crosses it. */
  readonly uplink: SimLink;
  private readonly table: NatMappingTable;

  /** @internal Use `SimNetwork.addNat` or `SimNat.addNat`. */
  constructor(
    private readonly fabric: SimFabric,
    private readonly outside: SimRouter,
    options: SimNatOptions = {},
  ) {
    const index = fabric.nextLanIndex();
    this.name = options.name ?? `nat${index}`;
    this.behavior = resolveNatBehavior(options);

    const given = typeof options.publicAddress === 'string' ? [options.publicAddress] : (options.publicAddress ?? []);
    const publicAddresses = given.map((a) => requireAddress(a, `${this.name} publicAddress`));
    if (publicAddresses.length === 0) publicAddresses.push(outside.allocateAddress(outside.pools.nats));
    if (publicAddresses.some((a) => familyOf(a) !== 'IPv4')) throw new TypeError(`${this.name}: only IPv4 NAT is modelled`);
    this.publicAddresses = Object.freeze(publicAddresses);

    const lanPool = new AddressPool([options.internalNetwork ?? `10.${(index >> 8) & 0xff}.${index & 0xff}.0/24`]);
    this.internalAddress =
      options.internalAddress === undefined
        ? lanPool.firstAddress
        : requireAddress(options.internalAddress, `${this.name} internalAddress`);
    this.router = new SimRouter(fabric, this.name, { hosts: lanPool, nats: lanPool }, (d) => this.outbound(d));
    this.uplink = new SimLink(fabric, `${outside.name}/${this.name}`, options.link);
    this.table = new NatMappingTable(this.behavior, this.publicAddresses, fabric.random(`nat:${outside.name}/${this.name}`));

    for (const address of this.publicAddresses) {
      outside.attach({ address, link: this.uplink, receive: (d) => this.inbound(d) });
    }
    // The NAT's LAN address answers nothing: a datagram for it is dropped as for a closed port.
    const lanSide = new SimLink(fabric, `${this.name}/${this.internalAddress}`, { lossRate: 0, delayMs: 0, jitterMs: 0 });
    this.router.attach({
      address: this.internalAddress,
      link: lanSide,
      receive: (d) => this.fabric.drop(d, 'no-socket', this.name),
    });
  }

  /** A host on this NAT's LAN; a string is its address. */
  addHost(options: string | SimHostOptions = {}): SimHost {
    return new SimHost(this.fabric, this.router, typeof options === 'string' ? { address: options } : options);
  }

  /** A NAT whose public side is on this NAT's LAN (nested NAT, e.g. a home router behind a carrier NAT). */
  addNat(options: SimNatOptions = {}): SimNat {
    return new SimNat(this.fabric, this.router, options);
  }

  /** Copies of the mappings alive now. */
  get mappings(): NatMapping[] {
    return this.table.active(this.fabric.clock.now());
  }

  /** Mappings created so far, including expired ones. */
  get mappingsCreated(): number {
    return this.table.mappingsCreated;
  }

  /** A datagram from the LAN for an address not on the LAN. */
  private outbound(datagram: Datagram): void {
    if (familyOf(datagram.dst.address) !== 'IPv4') {
      this.fabric.drop(datagram, 'no-route', this.name);
      return;
    }
    const hairpin = this.publicAddresses.includes(datagram.dst.address);
    if (hairpin && !this.behavior.hairpinning) {
      this.fabric.drop(datagram, 'hairpin-disabled', this.name);
      return;
    }
    const mapping = this.table.outbound(datagram.src, datagram.dst, this.fabric.clock.now());
    if (mapping === undefined) {
      this.fabric.drop(datagram, 'ports-exhausted', this.name);
      return;
    }
    const translated: Datagram = { ...datagram, src: mapping.external };
    this.traceTranslation(datagram, translated, hairpin ? 'hairpin' : 'outbound');
    if (hairpin) {
      // RFC 4787 §6 REQ-9a: the hairpinned datagram carries the sender's public source, and then meets
      // the destination mapping's filter like any datagram from outside.
      this.inbound(translated);
    } else {
      this.uplink.carry(translated, (d) => this.outside.forward(d));
    }
  }

  /** A datagram for one of the public addresses (from outside, or hairpinned from inside). */
  private inbound(datagram: Datagram): void {
    const verdict = this.table.inbound(datagram.dst, datagram.src, this.fabric.clock.now());
    if (!verdict.pass) {
      this.fabric.drop(datagram, verdict.reason, this.name);
      return;
    }
    const translated: Datagram = { ...datagram, dst: verdict.mapping.internal };
    this.traceTranslation(datagram, translated, 'inbound');
    this.router.forward(translated);
  }

  private traceTranslation(before: Datagram, after: Datagram, direction: 'outbound' | 'inbound' | 'hairpin'): void {
    this.fabric.trace({
      type: 'translate',
      at: this.fabric.clock.now(),
      datagram: after,
      where: this.name,
      direction,
      before: { src: before.src, dst: before.dst },
    });
  }
}
