// Relayed TCP candidates (RFC 6544 §5.5 with RFC 6062 TURN TCP allocations): an allocation at each TURN
// server reached over TCP or TLS (`turn:…?transport=tcp`, `turns:`) gives a passive relayed candidate — the
// peer's active candidate connects to the relayed address, the server tells us (CONNECTION-ATTEMPT) and the
// connection it binds carries RFC 4571 frames as any passive candidate's — and, where the allocation can
// Connect (§4.3), an active one at the relayed IP, port 9 (§4.5): its checks go out on a connection the
// server opens to the peer's passive candidate, for a peer behind a firewall that only lets it listen.
import type { IceServerTransport } from '../net/ice-server-uri.js';
import { isIp } from '../net/ip.js';
import { ActiveStreamSocket, PassiveStreamSocket, type StreamCandidateOptions } from '../net/stream-candidate-socket.js';
import { familyOf, type TransportAddress } from '../net/transport-address.js';
import { computeFoundation, computeTcpPriority } from './candidate.js';
import type { GatheredCandidate, IceGatherer } from './gatherer.js';
import { LocalPreferences } from './local-preference.js';
import type { TcpRelayAllocation } from '../turn/tcp-allocation-streams.js';

export type { TcpRelayAllocation } from '../turn/tcp-allocation-streams.js';

/** Opens a TCP allocation at `server` over its control connection's transport. Rejects with the server's error (its `code`). */
export type OpenTcpRelay = (
  server: TransportAddress,
  transport: Exclude<IceServerTransport, 'udp'>,
  serverName: string,
  credentials: { username: string; credential: string },
) => Promise<TcpRelayAllocation>;

/** The socket of a passive relayed TCP candidate: the allocation's peer connections, by peer address. */
export class RelayedPassiveSocket extends PassiveStreamSocket {
  private readonly permitted = new Set<string>();

  constructor(
    private readonly allocation: TcpRelayAllocation,
    options: StreamCandidateOptions = {},
  ) {
    super(allocation.relayedAddress, () => allocation.close(), options);
    allocation.onconnection = (stream, peer) => this.accept(stream, peer);
    allocation.onclose = () => this.close();
  }

  /** Lets `ip` (a peer candidate's address) connect to the relayed address, once per IP; settles when the server answered. */
  permit(ip: string): Promise<void> {
    if (this.permitted.has(ip) || !isIp(ip) || familyOf(ip) !== familyOf(this.localAddress.address)) return Promise.resolve();
    this.permitted.add(ip);
    // A refused permission leaves that peer unable to connect: its pairs fail, as a UDP relay's would.
    return this.allocation.createPermission(ip).catch(() => {
      this.permitted.delete(ip);
    });
  }
}

/**
 * Opens a TCP allocation at each TURN server of the gatherer's reached over TCP or TLS, and makes its
 * passive relayed candidate and, where it can Connect, its active one: TCP type preference 0, below every
 * other (RFC 6544 §4.2), the server's URL kept. The active one's sockets close with the allocation.
 * A server that fails is reported to `onError` as the UDP relays' are (its STUN code, or 701).
 */
export async function gatherTcpRelays(gatherer: IceGatherer, open: OpenTcpRelay, component = 1): Promise<GatheredCandidate[]> {
  const out: GatheredCandidate[] = [];
  // Other-pref unique per allocation (§4.2 with RFC 8445 §5.1.2.1), TCP to the server above TLS (a band each).
  const otherPreferences = new LocalPreferences({ max: 8191, relayed: ['tcp', 'tls'] });
  const work = gatherer.serverUris(false).map(async ({ uri, url, config }) => {
    if (uri.scheme !== 'turn' && uri.scheme !== 'turns') return;
    if (uri.transport === 'udp' || !config.username || config.credential === undefined) return;
    try {
      const server = await gatherer.serverAddress(uri);
      const allocation = await open(server, uri.transport, uri.host, { username: config.username, credential: config.credential });
      const socket = new RelayedPassiveSocket(allocation);
      const relayed = allocation.relayedAddress;
      const related = allocation.mappedAddress ?? relayed;
      const [otherPreference] = otherPreferences.take([{ ...relayed, relayTransport: uri.transport }]);
      const candidate = (tcpType: 'active' | 'passive') => ({
        foundation: computeFoundation('relay', relayed.address, 'tcp', server.address),
        component,
        protocol: 'tcp' as const,
        priority: computeTcpPriority('relay', tcpType, otherPreference, component),
        address: relayed.address,
        port: tcpType === 'active' ? 9 : relayed.port,
        type: 'relay' as const,
        tcpType,
        relatedAddress: related.address,
        relatedPort: related.port,
        extensions: [],
      });
      out.push({ socket, host: socket, base: relayed, url, candidate: candidate('passive') });
      const connect = allocation.connect?.bind(allocation);
      if (connect) {
        // A connection per remote, each opened by a Connect from the relayed address.
        const active = new ActiveStreamSocket(relayed.address, connect);
        const closePassive = allocation.onclose;
        allocation.onclose = (error) => {
          closePassive?.(error);
          active.close();
        };
        out.push({ socket: active, host: active, base: { address: relayed.address, port: 9 }, url, candidate: candidate('active') });
      }
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      gatherer.reportError({ url, errorCode: typeof code === 'number' ? code : 701, errorText: err instanceof Error ? err.message : String(err) });
    }
  });
  await Promise.all(work);
  return out;
}
