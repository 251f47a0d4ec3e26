// MdnsHostNames for an IceAgent whose host sockets are a bridge's: a peer's `<uuid>.local` candidate is
// resolved by the bridge (a `resolve` frame with the mDNS flag), on the bridge's LAN — where the agent's
// datagrams go from. Registering names of our own is not offered: our host candidates are the bridge
// host's addresses, which only the bridge could answer for on its LAN, and the protocol has no frame for
// that; so the page's mdnsHostCandidates is 'off'.
import type { BridgeConnection } from '../net/bridge-client.js';
import type { MdnsHostNames } from '../mdns/mdns-service.js';

export function bridgeMdnsHostNames(connection: BridgeConnection): MdnsHostNames {
  return {
    // Both families: the name may stand for either; the agent pairs it only with sockets of its family. A
    // bridge without mDNS refuses at once (`not-supported`), and the candidate is dropped with its reason.
    resolve: async (name) => (await connection.resolve(name, { families: ['IPv4', 'IPv6'] })).map((a) => a.address),
    register: () => {
      throw new TypeError("mdnsHostCandidates 'on' is not available through a bridge: the bridge cannot answer mDNS queries for a page's names");
    },
    unregister: () => {},
  };
}
