// Candidate gathering (RFC 8445 §5.1.1): a host candidate per socket, server-reflexive ones from every STUN
// server and relayed ones from every TURN server, all at once and each reported as soon as it is found
// (RFC 8838 trickle) — a dead server times out alone, it does not hold the others back.
import type { Clock } from '../net/clock.js';
import type { DatagramSocket } from '../net/datagram-socket.js';
import { parseIceServerUri, type IceServerTransport, type IceServerUri } from '../net/ice-server-uri.js';
import { isIp } from '../net/ip.js';
import { SocketDemux } from '../net/socket-demux.js';
import { familyOf, sameTransportAddress, type AddressFamily, type TransportAddress } from '../net/transport-address.js';
import { stunBinding } from '../stun/binding.js';
import { TurnRelaySocket } from '../turn/relay-socket.js';
import { computeFoundation, computePriority, type IceCandidate, type IceCandidateType } from './candidate.js';
import { LocalPreferences, type LocalPreferenceInput } from './local-preference.js';

/** Like RTCIceServer. */
export interface IceServerConfig {
  urls: string | string[];
  username?: string;
  credential?: string;
}

export type IceTransportPolicy = 'all' | 'relay';

/** A gathered candidate and the socket that sends from its base. */
export interface GatheredCandidate {
  candidate: IceCandidate;
  socket: DatagramSocket;
  base: TransportAddress;
  /** The host socket it was gathered on (its own for a host candidate; the relay's base socket for a relayed one). */
  host?: DatagramSocket;
  /** The STUN/TURN server URL a server-reflexive or relayed candidate came from. */
  url?: string;
}

/** Like RTCPeerConnectionIceErrorEvent: a server that could not be used. */
export interface GatheringError {
  /** The STUN/TURN server's URL as configured; '' when no server is involved. */
  url: string;
  /** The STUN error code the server answered (e.g. 401, 403, 486), or 701 when no answer came (W3C). */
  errorCode: number;
  errorText: string;
  /** The local address that was used (a host or relayed candidate's), when known. */
  address?: string | null;
  port?: number | null;
}

export interface GathererOptions {
  iceServers?: IceServerConfig[];
  iceTransportPolicy?: IceTransportPolicy;
  clock: Clock;
  /**
   * Opens a TCP/TLS connection to a TURN server (`?transport=tcp`, `turns:`); without it those are skipped.
   * `serverName` is the URI's host, for TLS certificate checks (SNI) when it is a name.
   */
  openStreamSocket?: (server: TransportAddress, transport: IceServerTransport, serverName: string) => Promise<DatagramSocket>;
  /**
   * Resolves a server host name, in `family` when given (the family of the host socket the relay is gathered
   * on); without it, only IP literals work.
   */
  resolve?: (host: string, family?: AddressFamily) => Promise<string>;
  /**
   * With host sockets of both families, ask TURN servers for a dual allocation (ADDITIONAL-ADDRESS-FAMILY,
   * RFC 8656 §7.1): both relayed candidates from one allocation. Default false: not every server supports it.
   */
  relayDualStack?: boolean;
  /** Give up on a STUN server after this long. Default 5 000 ms. */
  stunTimeoutMs?: number;
  /** Give up on a TURN server after this long. Default 10 000 ms. */
  turnTimeoutMs?: number;
  onCandidate: (gathered: GatheredCandidate) => void;
  onError?: (error: GatheringError) => void;
}

/** Host sockets come from the runtime (node:dgram, the bridge, the simulator); the gatherer shares them. */
export class IceGatherer {
  /** The routes of the host sockets that carry ICE checks and data (what no server claims). */
  readonly hostRoutes: DatagramSocket[] = [];
  private readonly demuxes: SocketDemux[] = [];
  private readonly relays: TurnRelaySocket[] = [];
  /** The host socket of each relay, so that forget() can end the relays of an address that went away, and what local preferences it holds. */
  private readonly relayHosts = new Map<TurnRelaySocket, { host: DatagramSocket; preferences: LocalPreferenceInput[] }>();
  /** Unique per type over the agent's life (§5.1.2.1): host (and server-reflexive) by base address, relays by transport band. */
  private readonly hostPreferences = new LocalPreferences();
  private readonly relayPreferences = new LocalPreferences({ relayed: true });
  private closed = false;

  constructor(private readonly options: GathererOptions) {}

  /** Gathers on `sockets`; resolves when every server has answered or given up. */
  async gather(sockets: DatagramSocket[], component = 1): Promise<void> {
    const relayOnly = this.options.iceTransportPolicy === 'relay';
    const preferences = this.hostPreferences.take(sockets.map((s) => ({ address: s.localAddress.address })));
    const hosts = sockets.map((socket, i) => {
      const demux = new SocketDemux(socket);
      this.demuxes.push(demux);
      const route = demux.rest();
      this.hostRoutes.push(route);
      return { socket, demux, route, address: socket.localAddress, preference: preferences[i] };
    });
    if (!relayOnly) {
      for (const h of hosts) this.emit('host', h.address, h.address, h.route, h.preference, component, h.socket);
    }

    const servers = this.serverUris();
    const work: Promise<void>[] = [];
    for (const { uri, url, config } of servers) {
      if (uri.scheme === 'stun' || uri.scheme === 'stuns') {
        if (relayOnly || uri.transport !== 'udp') continue; // srflx over TCP is of no use to UDP ICE
        for (const h of hosts) work.push(this.gatherReflexive(h, uri, url, component));
      } else {
        if (!config.username || config.credential === undefined) {
          this.options.onError?.({ url, errorCode: 701, errorText: 'a TURN server needs username and credential' });
          continue;
        }
        // RFC 8445 §5.1.1.2: a relayed candidate per family gathered on. A server name is looked up in each
        // host family; a literal is reached from a host of its family only; a dual allocation serves both.
        const families = [...new Set(hosts.map((h) => familyOf(h.address.address)))];
        const dual = this.options.relayDualStack === true && families.length === 2;
        const bases =
          dual || isIp(uri.host)
            ? [hosts.find((h) => !isIp(uri.host) || familyOf(h.address.address) === familyOf(uri.host)) ?? hosts[0]]
            : families.map((family) => hosts.find((h) => familyOf(h.address.address) === family));
        for (const base of bases) if (base) work.push(this.gatherRelayed(base, uri, url, config, component, dual));
      }
    }
    await Promise.all(work);
  }

  /** A host socket is going away (its address did): its relays end and its routes are dropped; the socket is the caller's. */
  forget(socket: DatagramSocket): void {
    for (const [relay, { host, preferences }] of this.relayHosts) {
      if (host !== socket) continue;
      relay.close();
      this.relayHosts.delete(relay);
      this.relays.splice(this.relays.indexOf(relay), 1);
      for (const p of preferences) this.relayPreferences.release(p);
    }
    const i = this.demuxes.findIndex((d) => d.socket === socket);
    if (i < 0) return;
    this.hostPreferences.release({ address: socket.localAddress.address });
    const [demux] = this.demuxes.splice(i, 1);
    const rest = demux.rest();
    const r = this.hostRoutes.indexOf(rest);
    if (r >= 0) this.hostRoutes.splice(r, 1);
  }

  /** Ends the allocations and server routes; the host sockets belong to the caller. */
  close(): void {
    this.closed = true;
    for (const r of this.relays) r.close();
    this.relays.length = 0;
  }

  /** A server that could not be used, told as the gatherer's own failures are. */
  reportError(error: GatheringError): void {
    if (!this.closed) this.options.onError?.(error);
  }

  /** The configured servers' URLs, parsed; one that does not parse is left out (and reported to onError when `report`). */
  serverUris(report = true): { uri: IceServerUri; url: string; config: IceServerConfig }[] {
    const out: { uri: IceServerUri; url: string; config: IceServerConfig }[] = [];
    for (const config of this.options.iceServers ?? []) {
      for (const url of Array.isArray(config.urls) ? config.urls : [config.urls]) {
        try {
          out.push({ uri: parseIceServerUri(url), url, config });
        } catch (err) {
          if (report) this.options.onError?.({ url, errorCode: 701, errorText: err instanceof Error ? err.message : String(err) });
        }
      }
    }
    return out;
  }

  /** A server URL's host as an address (resolved in `family` when given) and its port. */
  async serverAddress(uri: IceServerUri, family?: AddressFamily): Promise<TransportAddress> {
    if (isIp(uri.host)) return { address: uri.host, port: uri.port };
    if (!this.options.resolve) throw new Error(`cannot resolve '${uri.host}': no resolver in this runtime`);
    return { address: await this.options.resolve(uri.host, family), port: uri.port };
  }

  private async gatherReflexive(
    host: { socket: DatagramSocket; demux: SocketDemux; route: DatagramSocket; address: TransportAddress; preference: number },
    uri: IceServerUri,
    url: string,
    component: number,
  ): Promise<void> {
    let route: DatagramSocket | undefined;
    try {
      const server = await this.serverAddress(uri);
      if (familyOf(server.address) !== familyOf(host.address.address)) return;
      route = host.demux.routeFrom(server);
      const r = await stunBinding(server, { socket: route, clock: this.options.clock, timeoutMs: this.options.stunTimeoutMs ?? 5_000 });
      // §5.1.3: a server-reflexive candidate equal to its base is redundant.
      if (this.closed || sameTransportAddress(r.mapped, host.address)) return;
      this.emit('srflx', r.mapped, host.address, host.route, host.preference, component, host.socket, server, undefined, url);
    } catch (err) {
      this.options.onError?.({ url, errorCode: 701, errorText: err instanceof Error ? err.message : String(err), address: host.address.address, port: host.address.port });
    } finally {
      route?.close();
    }
  }

  private async gatherRelayed(
    host: { socket: DatagramSocket; demux: SocketDemux; address: TransportAddress },
    uri: IceServerUri,
    url: string,
    config: IceServerConfig,
    component: number,
    dual: boolean,
  ): Promise<void> {
    try {
      // The relay's family follows its base's (RFC 8656 §7.1): IPv6 asked for with REQUESTED-ADDRESS-FAMILY,
      // IPv4 left to the server's default (servers that predate the attribute); on a 440 the TurnClient tries
      // the other family once (familyFallback).
      const family = familyOf(host.address.address);
      const server = await this.serverAddress(uri, family);
      let base: DatagramSocket;
      if (uri.transport === 'udp') {
        base = host.demux.routeFrom(server);
      } else {
        if (!this.options.openStreamSocket) throw new Error(`${uri.transport.toUpperCase()} to TURN servers is not available in this runtime`);
        base = await this.options.openStreamSocket(server, uri.transport, uri.host);
      }
      const relay = await TurnRelaySocket.allocate(base, {
        server,
        username: config.username!,
        credential: config.credential!,
        transport: uri.transport,
        clock: this.options.clock,
        closeBase: true,
        timeoutMs: this.options.turnTimeoutMs ?? 10_000,
        ...(dual ? { dualStack: true } : family === 'IPv6' ? { family: 'IPv6' as const } : {}),
      });
      if (this.closed) {
        relay.close();
        return;
      }
      this.relays.push(relay);
      // A dual allocation: one socket per relayed address, so each candidate has its own (the agent keys on sockets).
      const sockets: readonly DatagramSocket[] = relay.relayedAddresses.length > 1 ? relay.familySockets() : [relay];
      // RFC 8445 §5.1.2.1: among relays, UDP to the server is preferred over TCP over TLS (one band each).
      const held = relay.relayedAddresses.map(({ address, port }) => ({ address, port, relayTransport: uri.transport }));
      const preferences = this.relayPreferences.take(held);
      this.relayHosts.set(relay, { host: host.socket, preferences: held });
      sockets.forEach((socket, i) => this.emit('relay', socket.localAddress, socket.localAddress, socket, preferences[i], component, host.socket, server, relay.mappedAddress, url));
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      this.options.onError?.({ url, errorCode: typeof code === 'number' ? code : 701, errorText: err instanceof Error ? err.message : String(err), address: host.address.address, port: host.address.port });
    }
  }

  private emit(
    type: IceCandidateType,
    address: TransportAddress,
    base: TransportAddress,
    socket: DatagramSocket,
    localPreference: number,
    component: number,
    host: DatagramSocket,
    server?: TransportAddress,
    related?: TransportAddress,
    url?: string,
  ): void {
    if (this.closed) return;
    const rel = type === 'host' ? undefined : (related ?? base);
    this.options.onCandidate({
      socket,
      base,
      host,
      ...(url === undefined ? {} : { url }),
      candidate: {
        foundation: computeFoundation(type, base.address, 'udp', server?.address),
        component,
        protocol: 'udp',
        priority: computePriority(type, localPreference, component),
        address: address.address,
        port: address.port,
        type,
        relatedAddress: rel?.address,
        relatedPort: rel?.port,
        extensions: [],
      },
    });
  }
}
