import type { Clock } from '../net/clock.js';
import { AddressPool } from './address-pool.js';
import { SimFabric } from './fabric.js';
import { SimHost, type SimHostOptions, type SimSegment } from './host.js';
import type { LinkConditions } from './link.js';
import type { SimNatOptions } from './nat-options.js';
import { SimNat } from './nat.js';
import { SeededRandom } from './random.js';
import type { RefusalMatch, RefusalOptions } from './refusal.js';
import { SimRouter } from './router.js';
import { SimStats, type SimTraceEvent } from './stats.js';
import { SimTcp } from './tcp.js';
import type { TransportAddress } from '../net/transport-address.js';

/**
 * A simulated IP network for deterministic tests: a public internet, hosts on it, NATs with LANs behind
 * them (nested if need be), per-interface loss and delay, all on one clock — normally a `VirtualClock`, so
 * nothing happens until the test moves time. Sockets are `DatagramSocket`s, the same interface engines run
 * on over real UDP. With the same seed and the same calls, every run sends, loses, delays and translates
 * exactly the same datagrams.
 *
 * ```ts
 * const clock = new VirtualClock();
 * const net = new SimNetwork({ clock, seed: 42 });
 * const server = net.addHost('192.0.2.1');                       // public host
 * const home = net.addNat({
 *   publicAddress: '203.0.113.10',
 *   mapping: 'endpoint-independent',
 *   filtering: 'address-and-port-dependent',
 *   link: { delayMs: 20, lossRate: 0.01 },                       // the home uplink
 * });
 * const laptop = home.addHost('10.0.0.2');                       // on the NAT's LAN
 *
 * const s = server.bind(3478);
 * s.ondatagram = (bytes, from) => s.send(bytes, from);           // echo; `from` is the NAT's mapping
 * const c = laptop.bind();                                       // ephemeral port
 * c.ondatagram = (bytes, from) => console.log('echo from', from);
 * c.send(new Uint8Array([1]), { address: '192.0.2.1', port: 3478 });
 * clock.runUntilIdle();
 * net.stats.delivered; // 2
 * ```
 *
 * Addresses left out are assigned: public hosts from 192.0.2.0/24 then 198.51.100.0/24, NATs' public
 * addresses from 203.0.113.0/24, LAN hosts from the NAT's `internalNetwork` (10.0.<n>.0/24, .1 being the
 * NAT). IPv6 public hosts (2001:db8::/32) work; NATs are IPv4 only.
 */
export interface SimNetworkOptions {
  /** The clock all delivery is scheduled on. */
  clock: Clock;
  /** Seeds every random choice: ephemeral and NAT ports, loss, jitter. Default 1. */
  seed?: number | string;
  /** Link conditions for every interface and NAT uplink created without its own. */
  link?: LinkConditions;
}

export const PUBLIC_HOST_PREFIXES = ['192.0.2.0/24', '198.51.100.0/24'] as const;
export const PUBLIC_NAT_PREFIXES = ['203.0.113.0/24'] as const;

export class SimNetwork implements SimSegment {
  readonly clock: Clock;
  readonly seed: number | string;
  readonly stats = new SimStats();
  /** The public internet. */
  readonly router: SimRouter;
  /** TCP streams between public hosts (ICE-TCP tests; see tcp.ts for what is modelled). */
  readonly tcp: SimTcp;
  private readonly fabric: SimFabric;

  constructor(options: SimNetworkOptions) {
    this.clock = options.clock;
    this.seed = options.seed ?? 1;
    this.fabric = new SimFabric(this.clock, new SeededRandom(this.seed), this.stats, { ...options.link });
    this.router = new SimRouter(
      this.fabric,
      'internet',
      { hosts: new AddressPool(PUBLIC_HOST_PREFIXES), nats: new AddressPool(PUBLIC_NAT_PREFIXES) },
      null,
    );
    this.tcp = new SimTcp(this.fabric, this.router);
  }

  /**
   * A firewall rule on every host's way out: UDP datagrams for which `match(src, dst)` holds are dropped
   * silently (counted as 'blocked'), as `iptables -p udp -j DROP` does. Returns the undo.
   */
  blockUdp(match: (src: TransportAddress, dst: TransportAddress) => boolean): () => void {
    this.fabric.udpBlocks.add(match);
    return () => void this.fabric.udpBlocks.delete(match);
  }

  /** Called for every send, NAT translation, delivery and drop (debugging, tests). */
  get ontrace(): ((event: SimTraceEvent) => void) | null {
    return this.fabric.ontrace;
  }

  set ontrace(listener: ((event: SimTraceEvent) => void) | null) {
    this.fabric.ontrace = listener;
  }

  /** A host on the public internet; a string is its address. */
  addHost(options: string | SimHostOptions = {}): SimHost {
    return new SimHost(this.fabric, this.router, typeof options === 'string' ? { address: options } : options);
  }

  /**
   * Refuses datagrams from every host to `match`, as a bridge in front of each would (see `SimHost.refuse`
   * for one host): the sender's `onunreachable` hears of it from a clock timer. Returns the undo.
   */
  refuse(match: RefusalMatch, options?: RefusalOptions): () => void {
    return this.fabric.refusals.add(match, options);
  }

  /** A NAT with its public side on the internet; add hosts to its LAN with `nat.addHost()`. */
  addNat(options: SimNatOptions = {}): SimNat {
    return new SimNat(this.fabric, this.router, options);
  }
}
