// Continual gathering for the Node agent (gatherPolicy 'continual'): polls the interface addresses and
// tells the agent when one appears (a socket is bound there and gathered on: its candidates trickle) or
// goes away (its socket is removed: its pairs fail at once and the selected pair fails over, no restart).
// Polling, because Node has no interface-change event; the interval is an option.
import type { IceAgent } from '../ice/ice-agent.js';
import type { DatagramSocket } from '../net/datagram-socket.js';

/** Default interval between looks at the interfaces, in ms. */
export const DEFAULT_NETWORK_POLL_INTERVAL_MS = 2_000;

export interface NetworkWatcherOptions {
  /** The addresses to gather on now (RFC 5952 form). */
  list: () => readonly string[];
  /** Binds a host socket on an address that appeared. */
  bind: (address: string) => Promise<DatagramSocket>;
  intervalMs: number;
  /** Told about an address that could not be bound (it is tried again at the next look). */
  onBindError?: (address: string, error: Error) => void;
}

export class NetworkWatcher {
  private readonly sockets = new Map<string, DatagramSocket>();
  private readonly binding = new Set<string>();
  private timer: ReturnType<typeof setInterval> | undefined;

  constructor(
    private readonly agent: IceAgent,
    private readonly options: NetworkWatcherOptions,
  ) {}

  /** Starts watching from the sockets gather() bound. */
  start(initial: readonly DatagramSocket[]): void {
    for (const s of initial) this.sockets.set(s.localAddress.address, s);
    this.timer = setInterval(() => this.look(), this.options.intervalMs);
    this.timer.unref?.();
    this.agent.addEventListener('statechange', () => {
      if (this.agent.state === 'closed') this.stop();
    });
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
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
    for (const [address, socket] of this.sockets) {
      if (now.has(address)) continue;
      this.sockets.delete(address);
      this.agent.removeSocket(socket);
    }
    for (const address of now) {
      if (this.sockets.has(address) || this.binding.has(address)) continue;
      this.binding.add(address);
      this.options
        .bind(address)
        .then(async (socket) => {
          if (this.agent.state === 'closed' || this.timer === undefined) return socket.close();
          this.sockets.set(address, socket);
          await this.agent.addSocket(socket);
        })
        .catch((err: unknown) => this.options.onBindError?.(address, err instanceof Error ? err : new Error(String(err))))
        .finally(() => this.binding.delete(address));
    }
  }
}
