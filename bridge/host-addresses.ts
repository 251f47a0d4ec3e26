// The bridge host's addresses, both ways: which ones a page's host candidates show for a session's socket,
// and which ones the policy keeps sessions from sending to (its own). Both follow the operator's
// `hostAddresses`, else the host's interfaces, which are watched.
import { networkInterfaces } from 'node:os';
import type { AddressFamily, TransportAddress } from '../src/net/transport-address.js';
import { watchHostAddresses } from '../src/node/host-addresses.js';
import type { ResolvedBridgeOptions } from './options.js';

/** The addresses a page should use as its host candidates for a socket bound to `bound`. */
export function hostAddressesFor(o: ResolvedBridgeOptions, family: AddressFamily, bound: TransportAddress): string[] {
  const fam = (a: string) => (a.includes(':') ? 'IPv6' : 'IPv4') === family;
  if (o.hostAddresses) return o.hostAddresses.filter(fam);
  if (bound.address !== '0.0.0.0' && bound.address !== '::') return [bound.address];
  const found: string[] = [];
  for (const list of Object.values(networkInterfaces())) {
    for (const i of list ?? []) {
      if (i.family !== family || (i.internal && !o.allowLoopback)) continue;
      // An IPv6 link-local address needs a zone that means nothing to the page.
      if (family === 'IPv6' && /^fe[89ab]/i.test(i.address)) continue;
      found.push(i.address);
    }
  }
  return found;
}

/**
 * Tells the policy the host's own addresses (destinations only with allowHostAddresses, or on allowHostPorts):
 * its interfaces, read now (synchronously) and then watched, and the operator's `hostAddresses`; `update()`
 * tells it again once those changed. `interfacesChanged` runs when the interfaces change and no operator list
 * overrides them: what the sessions' sockets are announced at changed.
 */
export function watchOwnAddresses(o: ResolvedBridgeOptions, interfacesChanged: () => void): { update(): void; stop(): void } {
  let interfaces: string[] = [];
  const update = () => {
    if (!o.allowHostAddresses) o.policy.setHostAddresses([...interfaces, ...(o.hostAddresses ?? [])]);
  };
  const hostWatch = watchHostAddresses(
    (found) => {
      interfaces = found;
      update();
      if (o.hostAddresses === undefined) interfacesChanged();
    },
    { intervalMs: o.hostAddressIntervalMs },
  );
  return { update, stop: () => hostWatch?.stop() };
}
