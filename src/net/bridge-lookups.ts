// Name lookups through the bridge (protocol v2 `resolve`): names checked before they go, IP literals answered
// here without a frame, and concurrent lookups of one name sharing one request. A `.local` name is asked with
// the mDNS flag (RFC 6762 §3: never the DNS), and only of a bridge that announced mDNS.
import { BridgeError } from './bridge-error.js';
import { isHostName, type ResolvedAddress } from './bridge-frame.js';
import { isIp } from './ip.js';
import { familyOf, type AddressFamily } from './transport-address.js';

/** The TTL given to an IP literal "resolved" to itself: the largest a resolved frame carries. */
export const LITERAL_TTL = 0xffffffff;

export interface ResolveOptions {
  /** The address families wanted (A, AAAA). Default both. */
  families?: AddressFamily[];
}

export class BridgeLookups {
  private readonly inFlight = new Map<string, Promise<ResolvedAddress[]>>();

  /** `ask` sends one resolve request and waits for its answer; `mdns`: the bridge resolves `.local` names. */
  constructor(
    private readonly ask: (name: string, families: AddressFamily[], mdns: boolean) => Promise<ResolvedAddress[]>,
    private readonly mdns = false,
  ) {}

  resolve(name: string, options: ResolveOptions = {}): Promise<ResolvedAddress[]> {
    const families = options.families ?? ['IPv4', 'IPv6'];
    if (typeof name !== 'string') return Promise.reject(new TypeError('resolve takes a host name string'));
    if (!Array.isArray(families) || families.length === 0 || families.some((f) => f !== 'IPv4' && f !== 'IPv6')) {
      return Promise.reject(new TypeError(`families must be a non-empty list of 'IPv4' and 'IPv6', got ${JSON.stringify(families)}`));
    }
    if (isIp(name)) {
      const family = familyOf(name);
      if (!families.includes(family)) return Promise.reject(new BridgeError('name-not-found', `${name} is an ${family} address, not ${families.join(' or ')}`));
      return Promise.resolve([{ address: name, ttl: LITERAL_TTL }]);
    }
    if (!isHostName(name)) return Promise.reject(new TypeError(`not a host name: ${JSON.stringify(name)}`));
    const local = /(^|\.)local\.?$/i.test(name);
    if (local && !this.mdns) return Promise.reject(new BridgeError('not-supported', `${name} is an mDNS name and this bridge does not resolve mDNS names (its operator has not enabled mdns)`));
    // DNS names are case-insensitive (RFC 4343) and a final dot changes nothing.
    const key = `${name.toLowerCase().replace(/\.$/, '')} ${[...new Set(families)].sort().join(',')}`;
    let lookup = this.inFlight.get(key);
    if (!lookup) {
      const started = this.ask(name, [...new Set(families)], local);
      const forget = () => {
        if (this.inFlight.get(key) === started) this.inFlight.delete(key);
      };
      started.then(forget, forget);
      this.inFlight.set(key, started);
      lookup = started;
    }
    // Each caller gets its own copies of the shared answer.
    return lookup.then((addresses) => addresses.map((a) => ({ ...a })));
  }

  /** The first address of `family` (or of either family) that `name` resolves to. */
  async resolveHost(name: string, family?: AddressFamily): Promise<string> {
    const addresses = await this.resolve(name, family ? { families: [family] } : {});
    const first = addresses.find((a) => family === undefined || familyOf(a.address) === family);
    if (!first) throw new BridgeError('name-not-found', `${name} has no ${family ? `${family} ` : ''}address`);
    return first.address;
  }
}
