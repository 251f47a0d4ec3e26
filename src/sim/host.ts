import { familyOf, formatTransportAddress, type TransportAddress } from '../net/transport-address.js';
import type { Datagram } from './datagram.js';
import type { SimFabric } from './fabric.js';
import { canonicalAddress, requireAddress } from './ip-address.js';
import { SimLink, type LinkConditions } from './link.js';
import type { SeededRandom } from './random.js';
import { RefusalRules, type RefusalMatch, type RefusalOptions } from './refusal.js';
import type { Attachment, SimRouter } from './router.js';
import { SimSocket, type SocketOwner } from './socket.js';

/** Options for `addHost` on a `SimNetwork` (public host) or a `SimNat` (host on its LAN). */
export interface SimHostOptions {
  /** One address or several (e.g. an IPv4 and an IPv6 one); default: the next free one of the segment. */
  address?: string | readonly string[];
  /** For traces; default `host <first address>`. */
  name?: string;
  /** Conditions of the link of each of these addresses. */
  link?: LinkConditions;
}

/** Anything hosts can be attached to: the network itself (the internet) or a NAT (its LAN). */
export interface SimSegment {
  readonly router: SimRouter;
}

/** One address of a host, on one router, with its own link. */
export interface SimInterface {
  readonly address: string;
  readonly router: SimRouter;
  readonly link: SimLink;
}

/** Thrown by `bind`, with the code Node's `dgram` would use. */
export class SimBindError extends Error {
  constructor(
    readonly code: 'EADDRINUSE' | 'EADDRNOTAVAIL',
    message: string,
  ) {
    super(message);
    this.name = 'SimBindError';
  }
}

/** Where an ephemeral port is taken from when `bind()` is given none (the IANA dynamic range). */
export const EPHEMERAL_PORTS = { min: 49152, max: 65535 } as const;

/**
 * A machine on the simulated network: one or more addresses (each an interface with its own link, possibly
 * on different routers — e.g. one on a LAN and one public), and UDP sockets bound on them.
 */
export class SimHost implements SocketOwner {
  readonly name: string;
  private readonly ifaces: (SimInterface & Attachment)[] = [];
  private readonly bound = new Map<string, SimSocket>();
  private readonly random: SeededRandom;
  private readonly refusals = new RefusalRules();

  /** @internal Use `SimNetwork.addHost` or `SimNat.addHost`. */
  constructor(
    private readonly fabric: SimFabric,
    private readonly home: SimRouter,
    options: SimHostOptions = {},
  ) {
    const given = typeof options.address === 'string' ? [options.address] : (options.address ?? []);
    const first = given.length > 0 ? requireAddress(given[0], 'addHost') : home.allocateAddress(home.pools.hosts);
    this.name = options.name ?? `host ${first}`;
    this.random = fabric.random(`host:${home.name}/${first}`);
    this.addAddress(first, { link: options.link });
    for (const address of given.slice(1)) this.addAddress(address, { link: options.link });
  }

  /** Every address of the host, in the order added. */
  get addresses(): string[] {
    return this.ifaces.map((i) => i.address);
  }

  get interfaces(): readonly SimInterface[] {
    return this.ifaces;
  }

  /** The link of the first address: `host.link.configure({ lossRate: 1 })` cuts the host off. */
  get link(): SimLink {
    return this.ifaces[0].link;
  }

  /** Open sockets. */
  get sockets(): SimSocket[] {
    return [...this.bound.values()];
  }

  /**
   * Adds an address, by default on the host's first router with a link of its own; `segment` attaches it
   * elsewhere (a host both on a LAN and on the internet). Returns the new interface.
   */
  addAddress(address?: string, options: { segment?: SimSegment; link?: LinkConditions } = {}): SimInterface {
    const router = options.segment?.router ?? this.home;
    const canonical =
      address === undefined ? router.allocateAddress(router.pools.hosts) : requireAddress(address, 'addAddress');
    const iface = {
      address: canonical,
      router,
      link: new SimLink(this.fabric, `${router.name}/${canonical}`, options.link),
      receive: (datagram: Datagram) => this.receive(datagram),
      receiveMulticast: (datagram: Datagram) => this.receiveMulticast(canonical, datagram),
    };
    router.attach(iface);
    this.ifaces.push(iface);
    return iface;
  }

  /**
   * Binds a UDP socket on `address` (default: the first) and `port` (default or 0: a free port picked from
   * the dynamic range with the seeded random stream). Throws `SimBindError` if the port is taken or the
   * address is not the host's.
   */
  bind(port?: number, address?: string): SimSocket {
    const local = address === undefined ? this.ifaces[0].address : canonicalAddress(address);
    if (local === undefined || !this.ifaces.some((i) => i.address === local)) {
      throw new SimBindError('EADDRNOTAVAIL', `${this.name}: ${String(address)} is not an address of this host`);
    }
    let chosen: number;
    if (port === undefined || port === 0) {
      chosen = this.ephemeralPort(local);
    } else {
      if (!Number.isInteger(port) || port < 1 || port > 65535) throw new RangeError(`${this.name}: bad port ${port}`);
      if (this.bound.has(socketKey(local, port))) {
        throw new SimBindError('EADDRINUSE', `${this.name}: ${formatTransportAddress({ address: local, port })} is in use`);
      }
      chosen = port;
    }
    const socket = new SimSocket({ address: local, port: chosen }, this);
    this.bound.set(socketKey(local, chosen), socket);
    return socket;
  }

  /**
   * Refuses datagrams from this host's sockets to `match` the way the bridge's destination policy (or rate
   * limit) does: nothing is delivered, and the sending socket's `onunreachable` gets a
   * DestinationUnreachableError (code default `destination-denied`) from a clock timer, never inside
   * `send`. Returns a function that lifts the refusal. `SimNetwork.refuse` does it for every host.
   */
  refuse(match: RefusalMatch, options?: RefusalOptions): () => void {
    return this.refusals.add(match, options);
  }

  /** Closes every socket of the host (each `onclose` gets `reason`). */
  close(reason?: Error): void {
    for (const socket of this.sockets) socket.close(reason);
  }

  /** @internal */
  transmit(socket: SimSocket, bytes: Uint8Array, to: TransportAddress): void {
    const from = socket.localAddress;
    const iface = this.ifaces.find((i) => i.address === from.address) as SimInterface;
    const address = typeof to?.address === 'string' ? canonicalAddress(to.address) : undefined;
    const dst = { address: address ?? String(to?.address), port: Number(to?.port) };
    const datagram = this.fabric.originate(from, dst, bytes.slice(), this.name);
    const usable = address !== undefined && familyOf(address) === familyOf(from.address) && isPort(dst.port);
    if (!usable) {
      this.fabric.drop(datagram, 'no-route', this.name);
      return;
    }
    const refusal = this.refusals.check(dst, from) ?? this.fabric.refusals.check(dst, from);
    if (refusal !== undefined) {
      this.fabric.drop(datagram, 'refused', this.name);
      // Like the bridge's error frame, the refusal arrives after send() has returned.
      this.fabric.schedule(0, () => socket.refused(refusal));
      return;
    }
    for (const blocked of this.fabric.udpBlocks) {
      if (!blocked(from, dst)) continue;
      this.fabric.drop(datagram, 'blocked', this.name);
      return;
    }
    iface.link.carry(datagram, (sent) => iface.router.forward(sent));
  }

  /** @internal */
  release(socket: SimSocket): void {
    this.bound.delete(socketKey(socket.localAddress.address, socket.localAddress.port));
  }

  private receive(datagram: Datagram): void {
    const socket = this.bound.get(socketKey(datagram.dst.address, datagram.dst.port));
    if (socket === undefined) {
      this.fabric.drop(datagram, 'no-socket', this.name);
      return;
    }
    this.fabric.delivered(datagram, this.name);
    socket.deliver(datagram.bytes, datagram.src);
  }

  /** A multicast datagram on the interface `address`: to every socket there on its port that joined the group. */
  private receiveMulticast(address: string, datagram: Datagram): void {
    let delivered = false;
    for (const socket of this.bound.values()) {
      const local = socket.localAddress;
      if (local.address !== address || local.port !== datagram.dst.port || !socket.memberships.has(datagram.dst.address)) continue;
      if (!delivered) this.fabric.delivered(datagram, this.name);
      delivered = true;
      socket.deliver(datagram.bytes, datagram.src);
    }
    if (!delivered) this.fabric.drop(datagram, 'no-socket', this.name);
  }

  private ephemeralPort(address: string): number {
    const { min, max } = EPHEMERAL_PORTS;
    for (let attempt = 0; attempt < 64; attempt++) {
      const port = this.random.integer(min, max);
      if (!this.bound.has(socketKey(address, port))) return port;
    }
    for (let port = min; port <= max; port++) if (!this.bound.has(socketKey(address, port))) return port;
    throw new SimBindError('EADDRINUSE', `${this.name}: no ephemeral port left on ${address}`);
  }
}

function socketKey(address: string, port: number): string {
  return `${address}|${port}`;
}

function isPort(port: number): boolean {
  return Number.isInteger(port) && port >= 1 && port <= 65535;
}
