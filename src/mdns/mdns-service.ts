// MdnsService: the MdnsEngine driven over multicast DatagramSockets and a clock, with a Promise API for the
// ICE agent — resolve a peer's `<uuid>.local` name, register and withdraw our own. The same code runs over
// Node sockets (src/node/mdns-sockets.ts) and over simulated ones.
import { realClock, type Clock } from '../net/clock.js';
import type { DatagramSocket } from '../net/datagram-socket.js';
import { EngineDriver } from '../net/driver.js';
import type { SocketId } from '../net/engine.js';
import type { AddressFamily } from '../net/transport-address.js';
import { canonicalName } from './dns-name.js';
import { MdnsEngine, type MdnsEngineOptions, type MdnsEvent, type MdnsUnresolvedReason } from './mdns-engine.js';

/** What the ICE agent needs of mDNS (IceAgentOptions.mdns). */
export interface MdnsHostNames {
  /** The addresses `name` resolves to; rejects with MdnsResolveError when it does not resolve. */
  resolve(name: string): Promise<string[]>;
  /** A fresh `<uuid>.local` name (or `name`, chosen elsewhere) answered with `address` until unregistered. */
  register(address: string, name?: string): string;
  /** Withdraws a registered name (goodbye packet). */
  unregister(name: string): void;
  /** Called by an agent that is done with this service (closed); a service shared by agents leaves it out. */
  release?(): void;
}

export class MdnsResolveError extends Error {
  override readonly name = 'MdnsResolveError';
  constructor(
    readonly hostname: string,
    readonly reason: MdnsUnresolvedReason,
  ) {
    super(`mDNS name ${hostname} did not resolve (${reason})`);
  }
}

/** One multicast socket: bound to port 5353 and joined to the family's mDNS group on one interface. */
export interface MdnsSocket {
  socket: DatagramSocket;
  family: AddressFamily;
}

export interface MdnsServiceOptions extends MdnsEngineOptions {
  clock?: Clock;
  sockets?: MdnsSocket[];
  /** Resolutions wait for this first (sockets still being opened). */
  ready?: Promise<unknown>;
}

export class MdnsService implements MdnsHostNames {
  readonly engine: MdnsEngine;
  private readonly driver: EngineDriver<MdnsEvent>;
  private readonly clock: Clock;
  private readonly owned: DatagramSocket[] = [];
  private readonly waiters = new Map<string, { resolve: (a: string[]) => void; reject: (e: Error) => void }[]>();
  private readonly ready: Promise<unknown>;
  private nextId: SocketId = 0;
  private closed = false;

  constructor(options: MdnsServiceOptions = {}) {
    this.clock = options.clock ?? realClock;
    this.engine = new MdnsEngine(options);
    this.driver = new EngineDriver(this.engine, { clock: this.clock, onEvent: (e) => this.onEvent(e) });
    this.ready = options.ready ?? Promise.resolve();
    for (const s of options.sockets ?? []) this.addSocket(s);
  }

  /** Adds a socket; the service closes it on close(). */
  addSocket({ socket, family }: MdnsSocket): void {
    if (this.closed) {
      socket.close();
      return;
    }
    const id = this.nextId++;
    this.owned.push(socket);
    this.driver.attach(id, socket);
    this.engine.addSocket(id, family, this.clock.now());
    this.driver.poll();
  }

  async resolve(name: string): Promise<string[]> {
    await this.ready.catch(() => undefined);
    if (this.closed) throw new MdnsResolveError(name, 'closed');
    return new Promise((resolve, reject) => {
      const key = canonicalName(name);
      const list = this.waiters.get(key) ?? [];
      list.push({ resolve, reject });
      this.waiters.set(key, list);
      this.engine.query(name, this.clock.now());
      this.driver.poll();
    });
  }

  register(address: string, chosen?: string): string {
    const name = this.engine.register(address, this.clock.now(), chosen);
    this.driver.poll();
    return name;
  }

  unregister(name: string): void {
    this.engine.unregister(name);
    this.driver.poll();
  }

  release(): void {
    this.close();
  }

  /** Goodbyes for every registered name, pending resolutions rejected, the sockets closed. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.engine.close();
    this.driver.poll();
    this.driver.close();
    for (const s of this.owned) s.close();
    // Waiters still there were never queried (close() came during `ready`): they end too.
    for (const [name, list] of this.waiters) for (const w of list) w.reject(new MdnsResolveError(name, 'closed'));
    this.waiters.clear();
  }

  private onEvent(e: MdnsEvent): void {
    const key = canonicalName(e.name);
    const list = this.waiters.get(key);
    if (!list) return;
    this.waiters.delete(key);
    for (const w of list) {
      if (e.type === 'resolved') w.resolve([...e.addresses]);
      else w.reject(new MdnsResolveError(e.name, e.reason));
    }
  }
}
