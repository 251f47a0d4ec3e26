/**
 * Local preferences for the RFC 8445 §5.1.2.1 priority formula: unique per base address (§5.1.2.1),
 * IPv6 and IPv4 intermingled as RFC 8421 §4 recommends, and relayed candidates ranked by the transport
 * to their TURN server.
 */
import { formatIp, isIp, parseIp } from '../net/ip.js';

/** The transport between the agent and its TURN server (RFC 8656 §3.1): UDP, TCP, or TLS over TCP. */
export type RelayTransport = 'udp' | 'tcp' | 'tls';

export interface LocalPreferenceInput {
  /** The candidate's base IP address (for relayed candidates, the relayed address). */
  address: string;
  /** Relayed candidates only: their port, so two allocations on one TURN server IP stay distinct. */
  port?: number;
  /** Relayed candidates only (default 'udp'). */
  relayTransport?: RelayTransport;
}

export interface LocalPreferenceOptions {
  /** The highest value, given to the first address. Default 65535 (RFC 8445 §5.1.2.1 range 0..65535). */
  max?: number;
  /** The gap between consecutive values. Default 1. */
  step?: number;
  /**
   * The inputs are relayed candidates: rank them first by relay transport, UDP > TCP > TLS (RFC 8445
   * §5.1.2.2 lets local preference order TURN servers; UDP avoids TCP's head-of-line blocking and TLS adds
   * its cost on top), then intermingle IPv6 and IPv4 within each transport. Distinct values per
   * (transport, address, port) rather than per address. A list names the transports there are, in that
   * order (`['tcp', 'tls']` for relayed TCP candidates); `true` is all three.
   */
  relayed?: boolean | readonly RelayTransport[];
}

/** Relay transports in preference order. */
const RELAY_ORDER: readonly RelayTransport[] = ['udp', 'tcp', 'tls'];

/** The same text for the same address however it is written; a `%zone` keeps link-local bases apart. */
function identity(address: string): string {
  if (!isIp(address)) throw new TypeError(`local preference needs an IP address, got ${JSON.stringify(address)}`);
  const zone = address.indexOf('%');
  return formatIp(parseIp(address)) + (zone < 0 ? '' : address.slice(zone));
}

/**
 * RFC 8421 §4: IPv6 first, IPv4 intermingled. Hi = (N4 + N6) / N4 IPv6 addresses, rounded down, come
 * before each IPv4 address, until one family runs out and the other follows: with 2 IPv4 and 6 IPv6,
 * Hi = 4 and the order is 6 6 6 6 4 6 6 4. Keys keep their input order within a family.
 */
function intermingle(keys: readonly { key: string; v6: boolean }[]): string[] {
  const v6 = keys.filter((k) => k.v6).map((k) => k.key);
  const v4 = keys.filter((k) => !k.v6).map((k) => k.key);
  if (v4.length === 0 || v6.length === 0) return [...v6, ...v4];
  const headStart = Math.floor((v4.length + v6.length) / v4.length);
  const order: string[] = [];
  let i6 = 0;
  let i4 = 0;
  while (i6 < v6.length || i4 < v4.length) {
    for (let n = 0; n < headStart && i6 < v6.length; n++) order.push(v6[i6++]);
    if (i4 < v4.length) order.push(v4[i4++]);
  }
  return order;
}

/**
 * Local preferences over an agent's life (RFC 8445 §5.1.2.1: "the local preference MUST be unique" among
 * a component's candidates of one type), however many times gathering adds candidates: a continual agent
 * gathers on an address that appeared long after the first ones. A key (a base address; with `relayed`,
 * transport, relayed address and port) keeps its value while it is held; new keys, taken together, get
 * free values in RFC 8421 order below those in use, highest first. With `relayed`, the range is split in
 * one band per transport, in preference order, so that a TCP relay gathered first still ranks below a UDP
 * relay gathered later. Values come back when their key is released as often as it was taken.
 */
export class LocalPreferences {
  private readonly max: number;
  private readonly step: number;
  private readonly bands: readonly RelayTransport[];
  private readonly held = new Map<string, { value: number; band: number; count: number }>();

  constructor(private readonly opts: LocalPreferenceOptions = {}) {
    this.max = opts.max ?? 0xffff;
    this.step = opts.step ?? 1;
    if (!Number.isInteger(this.max) || this.max < 0 || this.max > 0xffff) throw new RangeError(`max must be an integer in 0..65535, got ${this.max}`);
    if (!Number.isInteger(this.step) || this.step < 1) throw new RangeError(`step must be a positive integer, got ${this.step}`);
    this.bands = opts.relayed ? (opts.relayed === true ? RELAY_ORDER : opts.relayed) : ['udp'];
  }

  /**
   * One value per input, in input order: equal for inputs with the same key, distinct otherwise. Throws
   * TypeError for an input that is not an IP address (or a relay transport not in the bands), RangeError
   * when a band has no free value left.
   */
  take(inputs: readonly LocalPreferenceInput[]): number[] {
    const keys = inputs.map((a) => this.keyOf(a));
    const fresh = new Map<string, { key: string; v6: boolean; band: number }>();
    inputs.forEach((a, i) => {
      const key = keys[i];
      if (!this.held.has(key) && !fresh.has(key)) fresh.set(key, { key, v6: a.address.includes(':'), band: this.bands.indexOf(a.relayTransport ?? 'udp') });
    });
    const given = new Map<string, number>();
    for (let band = 0; band < this.bands.length; band++) {
      const order = intermingle([...fresh.values()].filter((d) => d.band === band));
      const values = this.free(band, order.length);
      order.forEach((key, i) => given.set(key, values[i]));
    }
    return keys.map((key) => {
      const h = this.held.get(key);
      if (h) {
        h.count++;
        return h.value;
      }
      const value = given.get(key) as number;
      this.held.set(key, { value, band: fresh.get(key)!.band, count: 1 });
      return value;
    });
  }

  /** Gives back what one `take` of `input` held; its value is free once every taker has released it. */
  release(input: LocalPreferenceInput): void {
    const key = this.keyOf(input);
    const h = this.held.get(key);
    if (h && --h.count === 0) this.held.delete(key);
  }

  private keyOf(a: LocalPreferenceInput): string {
    const ip = identity(a.address);
    if (!this.opts.relayed) return ip;
    const transport = a.relayTransport ?? 'udp';
    if (!this.bands.includes(transport)) throw new TypeError(`unknown relay transport ${String(transport)}`);
    return `${transport} ${ip} ${a.port ?? ''}`;
  }

  /** `n` free values of `band`, highest first: below the lowest in use there, else any left. */
  private free(band: number, n: number): number[] {
    if (n === 0) return [];
    const size = Math.floor((this.max + 1) / this.bands.length);
    const top = this.max - band * size;
    const bottom = top - size + 1;
    const used = new Set([...this.held.values()].filter((h) => h.band === band).map((h) => h.value));
    const lowest = Math.min(top + this.step, ...used);
    const out: number[] = [];
    for (let v = lowest - this.step; v >= bottom && out.length < n; v -= this.step) out.push(v);
    // Below the lowest is taken already: the rest are the gaps above it.
    for (let v = top; v > lowest && out.length < n; v -= this.step) if (!used.has(v)) out.push(v);
    if (out.length < n) throw new RangeError(`${used.size + n} local preferences with step ${this.step} do not fit in ${bottom}..${top}`);
    return out;
  }
}
