// The kernel's receive-buffer drops on the bridge's UDP sockets, so /metrics counts datagrams that never
// reached the bridge (drops_total{reason="receive-buffer"}).
//
// Method (Linux): /proc/net/udp and /proc/net/udp6 list every UDP socket of the network namespace with its
// `drops` column (sk_drops: datagrams the kernel discarded on that socket, in practice because its receive
// buffer was full). node:dgram does not expose a socket's file descriptor (hence not its inode), so a socket
// is found by its local address and port: the bridge binds without SO_REUSEADDR/SO_REUSEPORT, so no other
// socket of the namespace shares them. The counter dies with the socket, so it is read at every scrape
// (refresh) and once more just before a socket closes (the close waits for one batched read, in the next
// turn of the event loop).
// Limits: Linux only (elsewhere `available` is false and the reason is absent from /metrics); datagrams
// dropped between that last read and the close are not seen; a socket some other process bound to the same
// address and port with SO_REUSEPORT would be counted with ours.
import { readFileSync } from 'node:fs';
import { endianness } from 'node:os';
import { parseIp } from '../src/net/ip.js';
import type { AddressFamily } from '../src/net/transport-address.js';

/** Reads /proc/net/udp (IPv4) or /proc/net/udp6 (IPv6); undefined where there is none. */
export type UdpTableReader = (family: AddressFamily) => string | undefined;

export function readProcNetUdp(family: AddressFamily): string | undefined {
  try {
    return readFileSync(family === 'IPv6' ? '/proc/net/udp6' : '/proc/net/udp', 'latin1');
  } catch {
    return undefined;
  }
}

const LITTLE_ENDIAN = endianness() === 'LE';

/** `ADDR:PORT` as /proc prints it: each 32-bit word of the address in host byte order, hex, upper case. */
export function procSocketKey(address: string, port: number): string {
  const bytes = parseIp(address);
  let hex = '';
  for (let w = 0; w < bytes.length; w += 4) {
    const word = LITTLE_ENDIAN ? [bytes[w + 3], bytes[w + 2], bytes[w + 1], bytes[w]] : [bytes[w], bytes[w + 1], bytes[w + 2], bytes[w + 3]];
    for (const b of word) hex += b!.toString(16).padStart(2, '0');
  }
  return `${hex.toUpperCase()}:${port.toString(16).toUpperCase().padStart(4, '0')}`;
}

/** Calls `each(localKey, drops)` for every socket row of a /proc/net/udp{,6} text. */
export function forEachUdpRow(table: string, each: (key: string, drops: number) => void): void {
  let start = table.indexOf('\n') + 1; // the header line
  while (start > 0 && start < table.length) {
    let end = table.indexOf('\n', start);
    if (end < 0) end = table.length;
    const fields = table.slice(start, end).trim().split(/\s+/);
    // sl local rem st tx:rx tr:when retrnsmt uid timeout inode ref pointer drops
    if (fields.length >= 13) {
      const drops = Number(fields[12]);
      if (Number.isFinite(drops)) each(fields[1]!, drops);
    }
    start = end + 1;
  }
}

export class UdpDropCounter {
  /** False where the kernel's counters cannot be read (not Linux): nothing is counted then. */
  readonly available: boolean;
  /** Per family: socket key → the drops already counted for it. */
  private readonly watched: Record<AddressFamily, Map<string, number>> = { IPv4: new Map(), IPv6: new Map() };
  private closing: { family: AddressFamily; key: string; close: () => void }[] = [];

  constructor(
    /** Receives every increase of the kernel's counters (the bridge adds it to drops{reason="receive-buffer"}). */
    private readonly onDrops: (count: number) => void,
    private readonly read: UdpTableReader = readProcNetUdp,
    private readonly defer: (run: () => void) => void = setImmediate,
  ) {
    this.available = read('IPv4') !== undefined;
  }

  /** Starts counting for a bound socket; returns its key for `release`. A new socket's counter starts at 0. */
  watch(family: AddressFamily, address: string, port: number): string {
    const key = procSocketKey(address, port);
    if (this.available) this.watched[family].set(key, 0);
    return key;
  }

  /** Reads every watched socket's counter now and counts what it gained. */
  refresh(): void {
    if (!this.available) return;
    for (const family of ['IPv4', 'IPv6'] as const) {
      const watched = this.watched[family];
      if (watched.size === 0) continue;
      const table = this.read(family);
      if (table === undefined) continue;
      let gained = 0;
      forEachUdpRow(table, (key, drops) => {
        const seen = watched.get(key);
        if (seen !== undefined && drops > seen) {
          gained += drops - seen;
          watched.set(key, drops);
        }
      });
      if (gained > 0) this.onDrops(gained);
    }
  }

  /** The socket is done with: `close` runs after its counter was read one last time (batched, next turn). */
  release(family: AddressFamily, key: string, close: () => void): void {
    if (!this.available || !this.watched[family].has(key)) return close();
    this.closing.push({ family, key, close });
    if (this.closing.length === 1) this.defer(() => this.flush());
  }

  /** Reads once for every socket waiting to close, then closes them. */
  flush(): void {
    const closing = this.closing;
    if (closing.length === 0) return;
    this.closing = [];
    try {
      this.refresh();
    } finally {
      for (const c of closing) {
        this.watched[c.family].delete(c.key);
        c.close();
      }
    }
  }
}
