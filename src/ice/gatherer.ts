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
import { assignLocalPreferences } from './local-preference.js';

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
}

/** Like RTCPeerConnectionIceErrorEvent: a server that could not be used. */
export interface GatheringError {
  url: string;
  errorCode: number;
  errorText: string;
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
   * Resolves a server host name, in `family` when given (a resolver may ignore it: the answer's family is
   * checked); without it, only IP literals work.
   */
  resolve?: (host: string, family?: AddressFamily) => Promise<string>;
  /** Give up on a STUN server after this long. Default 5 000 ms. */
  stunTimeoutMs?: number;
  /** Give up on a TURN server after this long. Default 10 000 ms. */
  turnTimeoutMs?: number;
  /**
   * With host sockets of both families, ask each TURN server for one dual allocation (ADDITIONAL-ADDRESS-FAMILY,
   * RFC 8656 §7.1) instead of one allocation per family: one client port, both relayed candidates. Default
   * false: not every server supports it, and one allocation per family needs no server support.
   */
  relayDualStack?: boolean;
  onCandidate: (gathered: GatheredCandidate) => void;
  onError?: (error: GatheringError) => void;
}

interface HostRoute {
  demux: SocketDemux;
  route: DatagramSocket;
  address: TransportAddress;
  preference: number;
}

/** One allocation to make: from `host` (UDP) or a new stream (TCP/TLS), for `family` or a dual allocation. */
interface RelayPlan {
  host?: HostRoute;
  server: TransportAddress;
  family?: AddressFamily;
  dual?: boolean;
}

/** Host sockets come from the runtime (node:dgram, the bridge, the simulator); the gatherer shares them. */
export class IceGatherer {
  /** The routes of the host sockets that carry ICE checks and data (what no server claims). */
  readonly hostRoutes: DatagramSocket[] = [];
  private readonly demuxes: SocketDemux[] = [];
  private readonly relays: TurnRelaySocket[] = [];
  private closed = false;

  constructor(private readonly options: GathererOptions) {}

  /** Gathers on `sockets`; resolves when every server has answered or given up. */
  async gather(sockets: DatagramSocket[], component = 1): Promise<void> {
    const relayOnly = this.options.iceTransportPolicy === 'relay';
    const preferences = assignLocalPreferences(sockets.map((s) => ({ address: s.localAddress.address })));
    const hosts = sockets.map((socket, i) => {
      const demux = new SocketDemux(socket);
      this.demuxes.push(demux);
      const route = demux.rest();
      this.hostRoutes.push(route);
      return { demux, route, address: socket.localAddress, preference: preferences[i] };
    });
    if (!relayOnly) {
      for (const h of hosts) this.emit('host', h.address, h.address, h.route, h.preference, component);
    }

    const servers = this.servers();
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
        work.push(this.gatherRelays(hosts, uri, url, config, component));
      }
    }
    await Promise.all(work);
  }

  /** Ends the allocations and server routes; the host sockets belong to the caller. */
  close(): void {
    this.closed = true;
    for (const r of this.relays) r.close();
    this.relays.length = 0;
  }

  private servers(): { uri: IceServerUri; url: string; config: IceServerConfig }[] {
    const out: { uri: IceServerUri; url: string; config: IceServerConfig }[] = [];
    for (const config of this.options.iceServers ?? []) {
      for (const url of Array.isArray(config.urls) ? config.urls : [config.urls]) {
        try {
          out.push({ uri: parseIceServerUri(url), url, config });
        } catch (err) {
          this.options.onError?.({ url, errorCode: 701, errorText: err instanceof Error ? err.message : String(err) });
        }
      }
    }
    return out;
  }

  private async address(uri: IceServerUri): Promise<TransportAddress> {
    if (isIp(uri.host)) return { address: uri.host, port: uri.port };
    if (!this.options.resolve) throw new Error(`cannot resolve '${uri.host}': no resolver in this runtime`);
    return { address: await this.options.resolve(uri.host), port: uri.port };
  }

  private async gatherReflexive(
    host: { demux: SocketDemux; route: DatagramSocket; address: TransportAddress; preference: number },
    uri: IceServerUri,
    url: string,
    component: number,
  ): Promise<void> {
    let route: DatagramSocket | undefined;
    try {
      const server = await this.address(uri);
      if (familyOf(server.address) !== familyOf(host.address.address)) return;
      route = host.demux.routeFrom(server);
      const r = await stunBinding(server, { socket: route, clock: this.options.clock, timeoutMs: this.options.stunTimeoutMs ?? 5_000 });
      // §5.1.3: a server-reflexive candidate equal to its base is redundant.
      if (this.closed || sameTransportAddress(r.mapped, host.address)) return;
      this.emit('srflx', r.mapped, host.address, host.route, host.preference, component, server);
    } catch (err) {
      this.options.onError?.({ url, errorCode: 701, errorText: err instanceof Error ? err.message : String(err) });
    } finally {
      route?.close();
    }
  }

  /**
   * A relayed candidate per address family gathered on (RFC 8445 §5.1.1.2: candidates for each family the
   * agent has host addresses of): the relay's family follows the host socket's, asked for explicitly with
   * REQUESTED-ADDRESS-FAMILY (RFC 8656 §7.1) — a 440 brings one try of the other family (TurnClient's
   * familyFallback). Over UDP an allocation needs a host socket of the server's family: a family the server
   * cannot be reached in is asked for from an unused host socket of the server's family, if there is one.
   * With `relayDualStack`, one dual allocation serves both families.
   */
  private async gatherRelays(hosts: HostRoute[], uri: IceServerUri, url: string, config: IceServerConfig, component: number): Promise<void> {
    const families = [...new Set(hosts.map((h) => familyOf(h.address.address)))];
    let plans: RelayPlan[];
    try {
      plans = await this.planRelays(hosts, families, uri);
    } catch (err) {
      this.options.onError?.({ url, errorCode: 701, errorText: err instanceof Error ? err.message : String(err) });
      return;
    }
    if (plans.length === 0) {
      this.options.onError?.({ url, errorCode: 701, errorText: `no host socket can reach ${uri.host} over UDP (host families: ${families.join(', ')})` });
      return;
    }
    const granted = new Set<AddressFamily>();
    await Promise.all(plans.map((plan) => this.gatherRelayed(plan, uri, url, config, component, granted)));
  }

  /** Which allocations to make: a host route (UDP), the server address and the family or families to ask for. */
  private async planRelays(hosts: HostRoute[], families: AddressFamily[], uri: IceServerUri): Promise<RelayPlan[]> {
    const stream = uri.transport !== 'udp';
    if (this.options.relayDualStack && families.length === 2) {
      const server = await this.address(uri);
      const host = stream ? undefined : hosts.find((h) => familyOf(h.address.address) === familyOf(server.address));
      return stream || host ? [{ host, server, dual: true }] : [];
    }
    const plans: RelayPlan[] = [];
    const used = new Set<HostRoute>();
    const wanted: { family: AddressFamily; server?: TransportAddress }[] = [];
    for (const family of families) {
      // A name is looked up in the family wanted, so the relay's and the connection's families agree.
      const server = await this.addressIn(uri, family).catch(() => undefined);
      wanted.push({ family, server });
    }
    // Families the server is reachable in from a same-family host socket go first; the others take what is left.
    for (const direct of [true, false]) {
      for (const w of wanted) {
        if ((w.server !== undefined && familyOf(w.server.address) === w.family) !== direct) continue;
        const server = w.server ?? (await this.address(uri));
        if (stream) {
          plans.push({ server, family: w.family });
          continue;
        }
        const host = hosts.find((h) => !used.has(h) && familyOf(h.address.address) === familyOf(server.address));
        if (!host) continue;
        used.add(host);
        plans.push({ host, server, family: w.family });
      }
    }
    return plans;
  }

  private async gatherRelayed(plan: RelayPlan, uri: IceServerUri, url: string, config: IceServerConfig, component: number, granted: Set<AddressFamily>): Promise<void> {
    try {
      const { server } = plan;
      let base: DatagramSocket;
      if (plan.host) {
        base = plan.host.demux.routeFrom(server);
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
        // IPv4 is what a server relays without REQUESTED-ADDRESS-FAMILY (§7.2): left out, for servers that predate it.
        ...(plan.dual ? { dualStack: true } : plan.family === 'IPv6' ? { family: 'IPv6' as const } : {}),
      });
      // A fallback may have brought a family another allocation to this server already has: one is enough.
      const fresh = relay.relayedAddresses.filter((a) => !granted.has(familyOf(a.address)));
      if (this.closed || fresh.length === 0) {
        relay.close();
        return;
      }
      for (const a of fresh) granted.add(familyOf(a.address));
      this.relays.push(relay);
      // RFC 8445 §5.1.2.1: among relays, UDP to the server is preferred over TCP over TLS.
      const preference = uri.transport === 'udp' ? 65535 : uri.transport === 'tcp' ? 65534 : 65533;
      // A dual allocation: one socket per relayed address, so each candidate has its own (the agent keys on sockets).
      const sockets: DatagramSocket[] = relay.relayedAddresses.length > 1 ? [...relay.familySockets()] : [relay];
      for (const socket of sockets) {
        if (!fresh.some((a) => sameTransportAddress(a, socket.localAddress))) continue;
        this.emit('relay', socket.localAddress, socket.localAddress, socket, preference, component, server, relay.mappedAddress);
      }
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      this.options.onError?.({ url, errorCode: typeof code === 'number' ? code : 701, errorText: err instanceof Error ? err.message : String(err) });
    }
  }

  /** The server's address in `family`: a literal as it is (whatever its family), a name looked up in it. */
  private async addressIn(uri: IceServerUri, family: AddressFamily): Promise<TransportAddress> {
    if (isIp(uri.host) || !this.options.resolve) return this.address(uri);
    return { address: await this.options.resolve(uri.host, family), port: uri.port };
  }

  private emit(
    type: IceCandidateType,
    address: TransportAddress,
    base: TransportAddress,
    socket: DatagramSocket,
    localPreference: number,
    component: number,
    server?: TransportAddress,
    related?: TransportAddress,
  ): void {
    if (this.closed) return;
    const rel = type === 'host' ? undefined : (related ?? base);
    this.options.onCandidate({
      socket,
      base,
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
