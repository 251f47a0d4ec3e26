// MdnsHostNames for an IceAgent whose host sockets are a bridge's: a peer's `<uuid>.local` candidate is
// resolved by the bridge (a `resolve` frame with the mDNS flag), on the bridge's LAN — where the agent's
// datagrams go from. Our own host candidates are the bridge host's addresses, which only the bridge can
// answer for on its LAN: `register` picks the `<uuid>.local` name here (the interface returns it at once)
// and has the bridge answer for it (`mdns-register`); the bridge withdraws every name when the session ends.
import type { BridgeConnection } from '../net/bridge-client.js';
import type { MdnsHostNames } from '../mdns/mdns-service.js';
import { generateMdnsName } from '../mdns/mdns-names.js';

export interface BridgeMdnsOptions {
  /** Told when the bridge refused a name (the candidate then resolves for no peer). Default: ignored. */
  onRegisterError?: (name: string, error: Error) => void;
}

export function bridgeMdnsHostNames(connection: BridgeConnection, options: BridgeMdnsOptions = {}): MdnsHostNames {
  const names = new Set<string>();
  return {
    // Both families: the name may stand for either; the agent pairs it only with sockets of its family. A
    // bridge without mDNS refuses at once (`not-supported`), and the candidate is dropped with its reason.
    resolve: async (name) => (await connection.resolve(name, { families: ['IPv4', 'IPv6'] })).map((a) => a.address),
    register: (address) => {
      const name = generateMdnsName();
      names.add(name);
      connection.registerMdnsName(address, name).catch((err: unknown) => {
        names.delete(name);
        options.onRegisterError?.(name, err instanceof Error ? err : new Error(String(err)));
      });
      return name;
    },
    unregister: (name) => {
      if (names.delete(name)) connection.unregisterMdnsName(name);
    },
    // The agent is done: its names go (a shared connection lives on, so the bridge would keep them).
    release: () => {
      for (const name of names) connection.unregisterMdnsName(name);
      names.clear();
    },
  };
}
