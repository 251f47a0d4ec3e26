// allocateTurn(): a TURN allocation from a URI (RFC 7065: `turn:host[:port][?transport=udp|tcp]`,
// `turns:host[:port]`), over a UDP, TCP or TLS socket this opens, resolving host names. The relay socket
// owns that socket and closes it when the allocation ends.
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { ConnectionOptions } from 'node:tls';
import type { DatagramSocket } from '../net/datagram-socket.js';
import { parseIceServerUri, type IceServerTransport } from '../net/ice-server-uri.js';
import { familyOf, type TransportAddress } from '../net/transport-address.js';
import { allocateFollowing } from '../turn/allocate-following.js';
import type { TurnRelaySocket, TurnRelaySocketOptions } from '../turn/relay-socket.js';
import { StreamSocket } from './stream-socket.js';
import { UdpSocket } from './udp-socket.js';
import { checkOptionsObject } from '../net/option-checks.js';

export interface AllocateTurnOptions extends Omit<TurnRelaySocketOptions, 'server' | 'transport' | 'closeBase' | 'username' | 'credential'> {
  username: string;
  credential: string;
  /** node:tls options for `turns:` (e.g. `{ ca }`, or `{ rejectUnauthorized: false }` for a test server). */
  tls?: ConnectionOptions;
  /** Local address for the UDP socket. Default: any address of the server's family. */
  localAddress?: string;
  /** Give up connecting a TCP/TLS socket after this long. Default 10 000 ms. */
  connectTimeoutMs?: number;
  /**
   * RFC 8656 §7.4: after a 437 Allocation Mismatch the client SHOULD try again from a new local transport
   * address, three in all. Default 3 attempts (UDP; a new TCP/TLS connection is a new address too).
   */
  maxAttempts?: number;
}

/** The TURN server of a URI, resolved. */
export interface ResolvedTurnServer {
  address: TransportAddress;
  transport: IceServerTransport;
  /** The host as written in the URI (for TLS certificate checks). */
  host: string;
}

export async function resolveTurnUri(uri: string, family?: 'IPv4' | 'IPv6'): Promise<ResolvedTurnServer> {
  const parsed = parseIceServerUri(uri);
  if (parsed.scheme !== 'turn' && parsed.scheme !== 'turns') throw new TypeError(`'${uri}' is not a turn: or turns: URI`);
  const address = isIP(parsed.host) ? parsed.host : (await lookup(parsed.host, family ? { family: family === 'IPv6' ? 6 : 4 } : {})).address;
  return { address: { address, port: parsed.port }, transport: parsed.transport, host: parsed.host };
}

/**
 * Allocates a relayed address on the TURN server named by `uri`. Rejects with a TurnError when the server
 * refuses (401, 403, 486, 508, …) or does not answer, or with the socket error when it cannot be reached.
 * A 300 Try Alternate is followed on a new socket or connection (up to `maxRedirects`, default 3).
 */
export async function allocateTurn(uri: string, options: AllocateTurnOptions): Promise<TurnRelaySocket> {
  checkOptionsObject('allocateTurn', options, '{ username, credential, … }');
  return allocateFollowing(await resolveTurnUri(uri), options, (server) => openBase(server, options));
}

async function openBase(server: ResolvedTurnServer, options: AllocateTurnOptions): Promise<DatagramSocket> {
  if (server.transport === 'udp') {
    // Connected: a server that is not there refuses at once (ICMP port unreachable).
    return UdpSocket.bind({ family: familyOf(server.address.address), address: options.localAddress, connect: server.address });
  }
  const tls = server.transport === 'tls' ? { servername: isIP(server.host) ? undefined : server.host, ...(options.tls ?? {}) } : undefined;
  return StreamSocket.connect({
    host: server.address.address,
    port: server.address.port,
    tls: tls ?? undefined,
    connectTimeoutMs: options.connectTimeoutMs,
  });
}
