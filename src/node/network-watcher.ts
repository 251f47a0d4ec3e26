// Continual gathering for the Node agent (gatherPolicy 'continual'): polls the interface addresses and
// tells the agent when one appears (a socket is bound there and gathered on: its candidates trickle) or
// goes away (its socket is removed: its pairs fail at once and the selected pair fails over, no restart).
// Polling, because Node has no interface-change event; the interval is an option.
import type { IceAgent } from '../ice/ice-agent.js';
import type { DatagramSocket } from '../net/datagram-socket.js';

/** Default interval between looks at the interfaces, in ms. */
export const DEFAULT_NETWORK_POLL_INTERVAL_MS = 2_000;

/** A socket the watcher keeps for an address: a UDP host socket, or with `tcpType` a TCP candidate's (RFC 6544). */
export interface WatchedSocket {
  socket: DatagramSocket;
  tcpType?: 'active' | 'passive';
}

export interface NetworkWatcherOptions {
  /** The addresses to gather on now (RFC 5952 form). */
  list: () => readonly string[];
  /** Opens the sockets of an address that appeared (UDP, TCP or both: the agent's candidateProtocols). */
  bind: (address: string) => Promise<WatchedSocket[]>;
  intervalMs: number;
  /** Told about an address that could not be bound (it is tried again at the next look). */
  onBindError?: (address: string, error: Error) => void;
}

export class NetworkWatcher {
  private readonly sockets = new Map<string, WatchedSocket[]>();
  private readonly binding = new Set<string>();
  private timer: ReturnType<typeof setInterval> | undefined;
  private stopped = false;

  constructor(
    private readonly agent: IceAgent,
    private readonly options: NetworkWatcherOptions,
  ) {
    this.agent.addEventListener('statechange', () => {
      if (this.agent.state === 'closed') this.stop();
    });
  }

  /**
   * Watches from sockets gather() opened (the UDP ones, then the TCP ones: each adopted as it comes); the
   * first call starts the looks.
   */
  adopt(initial: readonly WatchedSocket[]): void {
    for (const w of initial) this.keep(w.socket.localAddress.address, w);
    if (this.timer !== undefined || this.stopped) return;
    this.timer = setInterval(() => this.look(), this.options.intervalMs);
    this.timer.unref?.();
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private keep(address: string, w: WatchedSocket): void {
    const list = this.sockets.get(address);
    if (list) list.push(w);
    else this.sockets.set(address, [w]);
  }

  /** One look at the interfaces (the timer's; tests call it directly). */
  look(): void {
    if (this.agent.state === 'closed') return this.stop();
    let now: Set<string>;
    try {
      now = new Set(this.options.list());
    } catch {
      return; // An interface list that cannot be read now may be readable at the next look.
    }
    for (const [address, list] of this.sockets) {
      if (now.has(address)) continue;
      this.sockets.delete(address);
      for (const w of list) this.agent.removeSocket(w.socket);
    }
    for (const address of now) {
      if (this.sockets.has(address) || this.binding.has(address)) continue;
      this.binding.add(address);
      this.options
        .bind(address)
        .then(async (opened) => {
          if (this.agent.state === 'closed' || this.stopped) {
            for (const w of opened) w.socket.close();
            return;
          }
          // Kept even when nothing opened (a link-local address has no TCP candidate): not tried again.
          if (!this.sockets.has(address)) this.sockets.set(address, []);
          for (const w of opened) this.keep(address, w);
          for (const w of opened) await this.agent.addSocket(w.socket, w.tcpType);
        })
        .catch((err: unknown) => this.options.onBindError?.(address, err instanceof Error ? err : new Error(String(err))))
        .finally(() => this.binding.delete(address));
    }
  }
}
