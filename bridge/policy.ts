// Where a bridge session may send. The defaults keep a page from reaching the bridge host itself (its own
// addresses, loopback), its network's link-local and reserved ranges and the cloud metadata service (an SSRF
// over UDP otherwise), in any IPv6 form that embeds them. The table and the matching are shared with the TURN
// server's peer policy: src/net/address-policy.ts. bridge/README.md "Destination policy" is the reference.
import type { DriverListener, DriverListenerEvents } from '../src/bridge/session-driver.js';
import { CountedSet } from '../src/net/counted-set.js';
import { AddressPolicy, DENIED_RANGES, cidrContains, parseCidr, type AddressVerdict, type Cidr, type DeniedRange } from '../src/net/address-policy.js';

export { cidrContains, parseCidr, type Cidr, type DeniedRange };

/** Refused unless `allow` names them (loopback too, unless `allowLoopback`; the host's own addresses unless `allowHostAddresses`). */
export const DEFAULT_DENIED: readonly DeniedRange[] = DENIED_RANGES;

export interface DestinationPolicyOptions {
  /** Let sessions reach 127.0.0.0/8 and ::1 (local use and tests). Default false. */
  allowLoopback?: boolean;
  /** CIDR blocks let through even though a default denies them. */
  allow?: string[];
  /** CIDR blocks refused; an explicit deny wins over `allow`. */
  deny?: string[];
  /**
   * Let sessions reach the bridge host's own addresses (those given to `setHostAddresses`) on any port.
   * Default false: a page must not reach the host's own services. Loopback is `allowLoopback`'s alone.
   */
  allowHostAddresses?: boolean;
  /**
   * Ports of the host's own addresses sessions may reach all the same — a STUN/TURN server running beside
   * the bridge (`icebridge serve` sets its own). Default none.
   */
  allowHostPorts?: readonly number[];
}

export type DestinationVerdict = 'allowed' | 'invalid-destination' | 'destination-denied';

/**
 * A session listener (both carriers' drivers): once it listens, its port is a session port for TCP — pages on
 * one bridge reach each other's listeners on its host addresses, as its UDP sockets — until it closes.
 */
export function withSessionPort<S>(policy: DestinationPolicy, events: DriverListenerEvents<S>, listen: (events: DriverListenerEvents<S>) => DriverListener): DriverListener {
  let held: number | undefined;
  const listener = listen({
    ...events,
    listening: (local) => {
      held = local.port;
      policy.addSessionPort(held, 'tcp');
      events.listening(local);
    },
  });
  return {
    close: () => {
      if (held !== undefined) policy.releaseSessionPort(held, 'tcp');
      held = undefined;
      listener.close();
    },
  };
}

export class DestinationPolicy {
  private readonly policy: AddressPolicy;
  private readonly hostPorts: ReadonlySet<number>;
  /** UDP ports of the bridge's own session sockets (port → how many sockets hold it, one per family at most). */
  private readonly sessionPorts = new CountedSet<number>();
  /** TCP ports of the sessions' listeners (`listen`), the same way. */
  private readonly sessionTcpPorts = new CountedSet<number>();
  /** Verdicts of recent destinations by address (ports are judged on top): a session sends to few peers, many times. */
  private readonly recent = new Map<string, AddressVerdict>();

  /** Throws a TypeError for a malformed CIDR block and a RangeError for a bad port, so bad configuration fails at start. */
  constructor(options: DestinationPolicyOptions = {}) {
    for (const port of options.allowHostPorts ?? []) {
      if (!Number.isInteger(port) || port < 1 || port > 0xffff) throw new RangeError(`allowHostPorts: not a port: ${String(port)}`);
    }
    this.hostPorts = new Set(options.allowHostPorts ?? []);
    this.policy = new AddressPolicy({
      defaults: DEFAULT_DENIED.map((d) => d.cidr),
      allowLoopback: options.allowLoopback,
      allow: options.allow,
      deny: options.deny,
      allowHostAddresses: options.allowHostAddresses,
      precedence: 'deny',
    });
  }

  /**
   * The bridge host's own addresses (every interface, and any address it is announced at); the bridge
   * server feeds it from a watcher (src/node/host-addresses.ts). Cached verdicts are dropped when they change.
   */
  setHostAddresses(addresses: readonly string[]): void {
    if (this.policy.setHostAddresses(addresses)) this.recent.clear();
  }

  /** The host addresses in force (loopback left out: `allowLoopback` governs it). */
  get hostAddresses(): readonly string[] {
    return this.policy.hostAddresses;
  }

  /** Decides for a DNS answer, before any port is known: an address that no port of may be reached is denied. */
  checkAnswer(address: string): DestinationVerdict {
    const v = this.verdictOf(address);
    if (v === 'host') return this.hostPorts.size > 0 ? 'allowed' : 'destination-denied';
    return v === 'allowed' ? 'allowed' : v === 'invalid' ? 'invalid-destination' : 'destination-denied';
  }

  /**
   * A UDP socket the bridge bound for a session: pages on one bridge share its host addresses as their host
   * candidates, so a datagram from one page's socket to another's must pass (it stays on the host), while
   * every other UDP service of the host stays out of reach. A session's TCP listener the same, for TCP.
   * Call releaseSessionPort when it closes.
   */
  addSessionPort(port: number, transport: 'udp' | 'tcp' = 'udp'): void {
    (transport === 'udp' ? this.sessionPorts : this.sessionTcpPorts).add(port);
  }

  releaseSessionPort(port: number, transport: 'udp' | 'tcp' = 'udp'): void {
    (transport === 'udp' ? this.sessionPorts : this.sessionTcpPorts).delete(port);
  }

  /**
   * Decides for one destination without allocating: it runs once per outgoing datagram. On the host's own
   * addresses, `allowHostPorts` open a port for both transports; the session sockets' ports for UDP, the
   * session listeners' for TCP.
   */
  check(address: string, port: number, transport: 'udp' | 'tcp' = 'udp'): DestinationVerdict {
    if (!Number.isInteger(port) || port < 1 || port > 0xffff) return 'invalid-destination';
    const v = this.verdictOf(address);
    if (v === 'allowed' || (v === 'host' && (this.hostPorts.has(port) || (transport === 'udp' ? this.sessionPorts : this.sessionTcpPorts).has(port)))) return 'allowed';
    return v === 'invalid' ? 'invalid-destination' : 'destination-denied';
  }

  private verdictOf(address: string): AddressVerdict {
    let v = this.recent.get(address);
    if (v === undefined) {
      v = this.policy.check(address);
      if (this.recent.size >= 1024) this.recent.clear();
      this.recent.set(address, v);
    }
    return v;
  }
}
