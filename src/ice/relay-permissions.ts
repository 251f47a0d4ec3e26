// TURN permissions on our relays for a peer's candidate, asked for the moment IceAgent learns it. Apart from
// the agent because each kind of relayed candidate asks its own way (a relay socket, a dual allocation's
// per-family view of one, an RFC 6062 passive relay).
import { TurnRelayFamilySocket } from '../turn/relay-family-socket.js';
import { TurnRelaySocket } from '../turn/relay-socket.js';
import type { IceCandidate } from './candidate.js';
import type { GatheredCandidate } from './gatherer.js';
import { RelayedPassiveSocket } from './tcp-relays.js';

/**
 * RFC 8445 §7.2.1: a relayed candidate needs a TURN permission for the peer before checks can flow; ask
 * for it as soon as the peer's candidate is known, so the first check is not dropped at the server.
 */
export function permitOnRelays(local: readonly GatheredCandidate[], remote: IceCandidate): void {
  for (const g of local) {
    if (g.socket instanceof RelayedPassiveSocket) {
      void g.socket.permit(remote.address); // RFC 6062 §5.3: the peer connects to it
      continue;
    }
    // A dual allocation's relayed candidates sit on per-family views of one relay socket.
    if (g.candidate.type !== 'relay' || !(g.socket instanceof TurnRelaySocket || g.socket instanceof TurnRelayFamilySocket)) continue;
    if (g.candidate.address.includes(':') !== remote.address.includes(':')) continue;
    g.socket.createPermission({ address: remote.address, port: remote.port }).catch(() => {
      // A 403 reaches the engine as a refusal (onunreachable): the pairs fail with its reason and an
      // 'icecandidateerror' names the server (IceAgent's onEngineEvent). Other failures leave the checks to time out.
    });
  }
}
