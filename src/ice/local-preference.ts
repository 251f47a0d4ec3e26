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
   * (transport, address, port) rather than per address.
   */
  relayed?: boolean;
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
 * One local preference per input, in input order: equal for inputs with the same base address (the
 * same transport, address and port when `relayed`), distinct otherwise, highest first in RFC 8421 order.
 * Deterministic. Throws TypeError for an input that is not an IP address, RangeError when the values
 * would not fit in 0..max.
 */
export function assignLocalPreferences(
  addresses: readonly LocalPreferenceInput[],
  opts: LocalPreferenceOptions = {},
): number[] {
  const max = opts.max ?? 0xffff;
  const step = opts.step ?? 1;
  if (!Number.isInteger(max) || max < 0 || max > 0xffff) throw new RangeError(`max must be an integer in 0..65535, got ${max}`);
  if (!Number.isInteger(step) || step < 1) throw new RangeError(`step must be a positive integer, got ${step}`);

  const keyOf = addresses.map((a) => {
    const ip = identity(a.address);
    if (!opts.relayed) return ip;
    const transport = a.relayTransport ?? 'udp';
    if (!RELAY_ORDER.includes(transport)) throw new TypeError(`unknown relay transport ${String(transport)}`);
    return `${transport} ${ip} ${a.port ?? ''}`;
  });
  const distinct = new Map<string, { key: string; v6: boolean; band: number }>();
  addresses.forEach((a, i) => {
    const key = keyOf[i];
    if (distinct.has(key)) return;
    const band = opts.relayed ? RELAY_ORDER.indexOf(a.relayTransport ?? 'udp') : 0;
    distinct.set(key, { key, v6: a.address.includes(':'), band });
  });

  const order: string[] = [];
  for (let band = 0; band < RELAY_ORDER.length; band++) {
    order.push(...intermingle([...distinct.values()].filter((d) => d.band === band)));
  }
  if (order.length > 0 && max - (order.length - 1) * step < 0) {
    throw new RangeError(`${order.length} addresses with step ${step} do not fit below ${max}`);
  }
  const value = new Map(order.map((key, rank) => [key, max - rank * step]));
  return keyOf.map((key) => value.get(key) as number);
}
