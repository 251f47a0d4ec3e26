// TCP streams between public hosts of the simulated network, for ICE-TCP (RFC 6544) engine tests: ordered,
// lossless byte streams whose bytes arrive after the two hosts' link delays, listeners per address and port,
// a connection refused (after a round trip) where nothing listens. What the ICE tests need of TCP, not TCP:
// no segments, windows or retransmissions, link loss does not apply, and hosts behind a simulated NAT get
// an error — its NAT translates UDP only (TCP through NATs, RFC 5382, is not modelled).
import type { ByteStream } from '../net/framed-stream-socket.js';
import type { TransportAddress } from '../net/transport-address.js';
import type { SimFabric } from './fabric.js';
import type { SimHost } from './host.js';
import { canonicalAddress } from './ip-address.js';
import type { SimRouter } from './router.js';

export interface SimTcpListener {
  readonly localAddress: TransportAddress;
  /** A connection accepted: the stream and where it comes from. */
  onconnection: ((stream: ByteStream, remote: TransportAddress) => void) | null;
  close(): void;
}

interface Listening {
  host: SimHost;
  listener: SimTcpListener;
}

/** One direction's end of a connection: writes arrive at the other end in order, after `delayMs`. */
class SimStreamEnd implements ByteStream {
  ondata: ((bytes: Uint8Array) => void) | null = null;
  onclose: ((reason?: Error) => void) | null = null;
  peer!: SimStreamEnd;
  private closed = false;
  private lastArrival = 0;

  constructor(
    private readonly fabric: SimFabric,
    private readonly delayMs: number,
  ) {}

  write(bytes: Uint8Array): boolean {
    if (this.closed) return false;
    const copy = bytes.slice();
    this.toPeer(() => this.peer.ondata?.(copy));
    return true;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.fabric.schedule(0, () => this.onclose?.());
    this.toPeer(() => this.peer.remoteClosed());
  }

  private remoteClosed(): void {
    if (this.closed) return;
    this.closed = true;
    this.onclose?.();
  }

  /** In order: never before what was written earlier, whatever the delays. */
  private toPeer(task: () => void): void {
    const at = Math.max(this.lastArrival, this.fabric.clock.now() + this.delayMs);
    this.lastArrival = at;
    this.fabric.schedule(at - this.fabric.clock.now(), task);
  }
}

export class SimTcp {
  private readonly listening = new Map<string, Listening>();
  private nextPort = 40_000;

  /** @internal Use `SimNetwork.tcp`. */
  constructor(
    private readonly fabric: SimFabric,
    /** The public internet: only its hosts have TCP here. */
    private readonly internet: SimRouter,
  ) {}

  /** Listens on `host`'s `address` (default its first) at `port` (default: a free one). */
  listen(host: SimHost, address = host.addresses[0], port?: number): SimTcpListener {
    const local = { address: this.own(host, address), port: port ?? this.freePort(address) };
    const key = keyOf(local);
    if (this.listening.has(key)) throw new Error(`${host.name}: TCP ${local.address}:${local.port} is in use`);
    const listener: SimTcpListener = {
      localAddress: local,
      onconnection: null,
      close: () => void this.listening.delete(key),
    };
    this.listening.set(key, { host, listener });
    return listener;
  }

  /** Connects from `host`'s `address` to `to`; rejects after a round trip when nothing listens there. */
  connect(host: SimHost, address: string, to: TransportAddress): Promise<ByteStream> {
    const from = { address: this.own(host, address), port: this.freePort(address) };
    const there = this.listening.get(keyOf({ address: canonicalAddress(to.address) ?? to.address, port: to.port }));
    const oneWay = this.linkDelay(host, from.address) + (there ? this.linkDelay(there.host, there.listener.localAddress.address) : 0);
    return new Promise((resolve, reject) => {
      this.fabric.schedule(2 * oneWay, () => {
        const now = this.listening.get(keyOf(to));
        if (!now || now.listener.onconnection === null) return reject(new Error(`connect ECONNREFUSED ${to.address}:${to.port}`));
        const a = new SimStreamEnd(this.fabric, oneWay);
        const b = new SimStreamEnd(this.fabric, oneWay);
        a.peer = b;
        b.peer = a;
        now.listener.onconnection(b, from);
        resolve(a);
      });
    });
  }

  private own(host: SimHost, address: string): string {
    const canonical = canonicalAddress(address);
    const iface = host.interfaces.find((i) => i.address === canonical);
    if (canonical === undefined || !iface) throw new Error(`${host.name}: ${address} is not an address of this host`);
    if (iface.router !== this.internet) throw new Error(`${host.name}: TCP behind a simulated NAT is not modelled`);
    return canonical;
  }

  private freePort(address: string): number {
    for (;;) {
      const port = this.nextPort++;
      if (this.nextPort > 48_000) this.nextPort = 40_000;
      if (!this.listening.has(keyOf({ address, port }))) return port;
    }
  }

  private linkDelay(host: SimHost, address: string): number {
    return host.interfaces.find((i) => i.address === address)?.link.delayMs ?? 0;
  }
}

function keyOf(a: TransportAddress): string {
  return `${a.address}|${a.port}`;
}
