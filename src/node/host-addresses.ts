// The host's own IP addresses, for the destination policies of the bridge and the TURN server (a page or a
// TURN client must not reach this host's services: src/net/address-policy.ts). Interfaces come and go (DHCP,
// VPNs, containers), so a watcher re-reads them.
import { networkInterfaces } from 'node:os';

/** How often a watcher re-reads the interfaces by default, in ms. */
export const HOST_ADDRESS_INTERVAL_MS = 5000;

/** Every address of every interface, internal ones included, without `%zone`, sorted and without duplicates. */
export function hostAddresses(): string[] {
  const found = new Set<string>();
  for (const list of Object.values(networkInterfaces())) {
    for (const info of list ?? []) {
      const zone = info.address.indexOf('%');
      found.add(zone < 0 ? info.address : info.address.slice(0, zone));
    }
  }
  return [...found].sort();
}

export interface HostAddressWatcherOptions {
  /** How often to re-read. Default 5000 ms. */
  intervalMs?: number;
  /** Where the addresses come from. Default `hostAddresses` (tests substitute their own). */
  read?: () => readonly string[];
}

export interface HostAddressWatcher {
  /** The addresses last read. */
  readonly addresses: readonly string[];
  /** Stops re-reading; idempotent. */
  stop(): void;
}

/**
 * Reads the host's addresses now and calls `onChange` with them at once (so a policy is fed before its
 * first check), then re-reads every `intervalMs` and calls it again whenever the set differs. The timer is
 * unref()ed: it never keeps a process alive. A failing first read throws; a failing later read keeps the
 * last list.
 */
export function watchHostAddresses(onChange: (addresses: string[]) => void, options: HostAddressWatcherOptions = {}): HostAddressWatcher {
  const intervalMs = options.intervalMs ?? HOST_ADDRESS_INTERVAL_MS;
  if (!Number.isInteger(intervalMs) || intervalMs < 1 || intervalMs > 0x7fffffff) throw new RangeError(`intervalMs must be a positive whole number of ms, got ${intervalMs}`);
  const read = options.read ?? hostAddresses;
  const normalize = (list: readonly string[]) => [...new Set(list)].sort();
  let current = normalize(read());
  onChange([...current]);
  const timer = setInterval(() => {
    try {
      const next = normalize(read());
      if (next.length === current.length && next.every((a, i) => a === current[i])) return;
      current = next;
      onChange([...next]);
    } catch {
      // os.networkInterfaces() can fail transiently (EMFILE): the last list stays in force, and a timer
      // callback must never throw into (and crash) the server.
    }
  }, intervalMs);
  timer.unref();
  return {
    get addresses() {
      return current;
    },
    stop() {
      clearInterval(timer);
    },
  };
}
