// mDNS lookups for bridge sessions: a page's peer hid its host address behind `<uuid>.local`
// (draft-ietf-mmusic-mdns-ice-candidates §3.1), and only the bridge host can ask its LAN for it. Off unless
// the operator says `mdns` — the answer is about the bridge's network. The engine has already checked the
// name (a `<uuid>.local` one) and judges the answers by the destination policy afterwards.
import type { LookupAnswer } from '../src/bridge/session-types.js';
import { MdnsResolveError } from '../src/mdns/mdns-service.js';
import type { AddressFamily } from '../src/net/transport-address.js';
import { familyOf } from '../src/net/transport-address.js';
import { isIp } from '../src/net/ip.js';
import { selectHostAddresses } from '../src/node/ice-agent.js';
import { lazyNodeMdns, type MdnsInterface } from '../src/node/mdns-sockets.js';
import { LookupError } from './resolver.js';

/**
 * What the bridge needs of mDNS: the addresses a `.local` name has on the bridge's LAN (reject when it has
 * none). `mdns: true` uses multicast sockets on the host's interfaces; tests pass their own.
 */
export interface BridgeMdnsResolver {
  resolve(name: string): Promise<readonly string[]>;
  /**
   * Answers mDNS queries for `name` (a `<uuid>.local` name a page made) with `address` until unregistered;
   * throws when it cannot. Absent: sessions cannot register names (`not-supported`).
   */
  register?(name: string, address: string): void;
  /** Withdraws a registered name (goodbye, RFC 6762 §10.1). */
  unregister?(name: string): void;
  /** Called once when the bridge closes. */
  close?(): void;
}

/**
 * Multicast DNS over node:dgram on the interfaces the bridge's UDP sockets use: the bound address when it is
 * specific, else every non-loopback interface of the family. Sockets open at the first lookup, unref'd.
 */
export function nodeBridgeMdns(udpBindAddress: { IPv4: string; IPv6: string }, queryTimeoutMs: number): BridgeMdnsResolver {
  const interfaces = (): MdnsInterface[] => {
    const out: MdnsInterface[] = [];
    const v4 = udpBindAddress.IPv4 !== '0.0.0.0' ? [udpBindAddress.IPv4] : undefined;
    const v6 = udpBindAddress.IPv6 !== '::' ? [udpBindAddress.IPv6] : undefined;
    for (const h of selectHostAddresses({ ipv6: true })) {
      if (h.loopback) continue;
      const wanted = h.family === 'IPv4' ? v4 : v6;
      if (wanted && !wanted.includes(h.address)) continue;
      out.push({ address: h.address, family: h.family, interfaceName: h.interfaceName });
    }
    return out;
  };
  const mdns = lazyNodeMdns(interfaces, { queryTimeoutMs });
  return {
    resolve: (name) => mdns.resolve(name),
    // The page chose the name (MdnsHostNames.register is synchronous there); the responder announces it as is.
    register: (name, address) => {
      mdns.register(address, name);
    },
    unregister: (name) => mdns.unregister(name.toLowerCase()),
    close: () => mdns.release?.(),
  };
}

/** A session lookup by mDNS: only addresses of the families asked for, TTL 0 (the mDNS cache is the mDNS engine's). */
export function makeMdnsLookup(resolver: BridgeMdnsResolver): (name: string, families: AddressFamily[]) => Promise<LookupAnswer[]> {
  return async (name, families) => {
    let addresses: readonly string[];
    try {
      addresses = await resolver.resolve(name);
    } catch (err) {
      if (err instanceof MdnsResolveError && err.reason === 'timeout') throw new LookupError('resolve-timeout', `no mDNS answer for ${name}`);
      if (err instanceof LookupError) throw err;
      throw new LookupError('resolve-failed', `mDNS: ${err instanceof Error ? err.message : String(err)}`);
    }
    const answers = addresses.filter((a) => typeof a === 'string' && isIp(a) && families.includes(familyOf(a))).map((address) => ({ address, ttl: 0 }));
    if (answers.length === 0) throw new LookupError('name-not-found', `${name} has no ${families.join(' or ')} address on the bridge's LAN`);
    return answers;
  };
}
