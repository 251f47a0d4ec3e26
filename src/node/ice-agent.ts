// createIceAgent(): an IceAgent for Node. Its host sockets are node:dgram sockets, one per local interface
// address (RFC 8445 §5.1.1.1), TURN over TCP/TLS uses StreamSocket and server names resolve through DNS.
import { networkInterfaces } from 'node:os';
import type { ConnectionOptions } from 'node:tls';
import { IceAgent, type IceAgentOptions } from '../ice/ice-agent.js';
import type { DatagramSocket } from '../net/datagram-socket.js';
import { formatIp, isIp, parseIp } from '../net/ip.js';
import type { TransportAddress } from '../net/transport-address.js';
import { nodeByteStream, StreamSocket } from './stream-socket.js';
import { openTurnTcpAllocation } from './turn-tcp-client.js';
import type { OpenTcpRelay, TcpRelayAllocation } from '../ice/tcp-relays.js';
import { resolveHost } from './stun-binding.js';
import { UdpSocket } from './udp-socket.js';
import type { MdnsHostNames } from '../mdns/mdns-service.js';
import { lazyNodeMdns } from './mdns-sockets.js';
import { DEFAULT_NETWORK_POLL_INTERVAL_MS, NetworkWatcher, type WatchedSocket } from './network-watcher.js';
import { TcpActiveSocket, TcpPassiveSocket, type TcpCandidateOptions } from './tcp-candidate-sockets.js';
import { checkConfigurationObject } from '../ice/ice-server-validation.js';
import { checkMilliseconds } from '../net/option-checks.js';

export interface NodeIceAgentOptions extends Omit<IceAgentOptions, 'sockets' | 'tcpSockets' | 'openStreamSocket' | 'resolve' | 'mdns'> {
  /**
   * Which transports to gather host candidates of: UDP sockets, and with 'tcp' an active and a passive TCP
   * candidate per address (RFC 6544: checks and data in RFC 4571 frames; a UDP pair always outranks a TCP
   * one). Default ['udp']. `tcp` limits the TCP candidates' connections.
   */
  candidateProtocols?: readonly ('udp' | 'tcp')[];
  tcp?: TcpCandidateOptions;
  /**
   * mDNS for `.local` candidates. Default: multicast sockets on 5353 (224.0.0.251, ff02::fb) on the interfaces
   * gathered on, opened only when a `.local` candidate arrives or `mdnsHostCandidates` is 'on', unref'd.
   * `false`: none — `.local` candidates are dropped with an 'icecandidateerror'. Or a service of your own.
   */
  mdns?: MdnsHostNames | false;
  /**
   * Which interface addresses to gather host candidates on. Without it, loopback addresses are left out
   * (RFC 8445 §5.1.1.1); a filter that accepts a loopback address is taken as asking for it (tests,
   * one-machine demos — deliberately not per spec then). Addresses are passed in RFC 5952 form, no zone.
   */
  addressFilter?: (address: string) => boolean;
  /** Bind exactly these local addresses (e.g. ['127.0.0.1']) instead of listing the interfaces. */
  addresses?: string[];
  /** Also gather on IPv6 link-local (fe80::/10) addresses, bound to their interface. Default false. */
  includeLinkLocal?: boolean;
  /** Gather on IPv4 / IPv6 addresses. Both default true. */
  ipv4?: boolean;
  ipv6?: boolean;
  /** node:tls options for `turns:` servers (e.g. `{ ca }`, `{ servername }`, `{ rejectUnauthorized: false }`). */
  tls?: ConnectionOptions;
  /** Give up connecting a TCP/TLS socket to a TURN server after this long. Default 10 000 ms. */
  connectTimeoutMs?: number;
  /** Socket buffer sizes for the host sockets (SO_RCVBUF / SO_SNDBUF); the OS default when omitted. */
  receiveBufferSize?: number;
  sendBufferSize?: number;
  /** Overrides, e.g. for a resolver that only answers from a test zone. */
  openStreamSocket?: IceAgentOptions['openStreamSocket'];
  resolve?: IceAgentOptions['resolve'];
  /** Told about each address a host socket could not be bound to (the others are still used). */
  onBindError?: (address: string, error: Error) => void;
  /**
   * With gatherPolicy 'continual': how often the interfaces are looked at (os.networkInterfaces(), through
   * `addressFilter` and the family options); an address that appears is gathered on and trickled, one that
   * goes away has its candidates removed and its pairs failed at once. Default 2 000 ms. Not with `addresses`.
   */
  networkPollIntervalMs?: number;
  /** Where continual gathering reads the addresses from; default the interfaces as selectHostAddresses() lists them. */
  listAddresses?: () => readonly string[];
}

/** A local address to bind a host socket to. */
export interface HostAddress {
  /** RFC 5952 form, no zone: what the candidate says. */
  address: string;
  family: 'IPv4' | 'IPv6';
  /** The interface, for binding link-local IPv6 addresses (`fe80::1%eth0`). */
  interfaceName?: string;
  linkLocal: boolean;
  loopback: boolean;
}

function prefixIs(bytes: Uint8Array, prefix: number[], mask: number[]): boolean {
  return prefix.every((p, i) => (bytes[i] & mask[i]) === p);
}

/** RFC 8445 §5.1.1.1 classes of an IPv6 address: the ones that MUST (or SHOULD) NOT be gathered. */
function ipv6Class(bytes: Uint8Array): 'link-local' | 'site-local' | 'v4-compatible' | 'v4-mapped' | 'loopback' | 'unicast' {
  if (prefixIs(bytes, [0xfe, 0x80], [0xff, 0xc0])) return 'link-local';
  if (prefixIs(bytes, [0xfe, 0xc0], [0xff, 0xc0])) return 'site-local';
  const zeros10 = bytes.subarray(0, 10).every((b) => b === 0);
  if (zeros10 && bytes[10] === 0xff && bytes[11] === 0xff) return 'v4-mapped';
  if (zeros10 && bytes[10] === 0 && bytes[11] === 0) {
    const tail = bytes.subarray(12);
    if (tail.every((b, i) => b === (i === 3 ? 1 : 0))) return 'loopback';
    if (tail.some((b) => b !== 0)) return 'v4-compatible';
  }
  return 'unicast';
}

/**
 * The interface addresses host candidates may be gathered on: IPv4 and IPv6, without the IPv6 addresses
 * RFC 8445 §5.1.1.1 rules out (site-local, IPv4-compatible, IPv4-mapped) and, unless asked, link-local
 * ones. Loopback addresses are listed, flagged; createIceAgent leaves them out unless a filter takes them.
 */
export function listHostAddresses(options: { includeLinkLocal?: boolean; ipv4?: boolean; ipv6?: boolean } = {}): HostAddress[] {
  const out: HostAddress[] = [];
  const seen = new Set<string>();
  for (const [name, infos] of Object.entries(networkInterfaces())) {
    for (const info of infos ?? []) {
      const raw = info.address.split('%')[0];
      if (!isIp(raw)) continue;
      const bytes = parseIp(raw);
      const address = formatIp(bytes);
      if (bytes.length === 4) {
        if (options.ipv4 === false) continue;
        if (seen.has(address)) continue;
        seen.add(address);
        out.push({ address, family: 'IPv4', linkLocal: bytes[0] === 169 && bytes[1] === 254, loopback: bytes[0] === 127 });
        continue;
      }
      if (options.ipv6 === false) continue;
      const kind = ipv6Class(bytes);
      if (kind === 'site-local' || kind === 'v4-compatible' || kind === 'v4-mapped') continue;
      if (kind === 'link-local' && !options.includeLinkLocal) continue;
      // Link-local addresses repeat across interfaces; each is its own host candidate then.
      const key = kind === 'link-local' ? `${address}%${name}` : address;
      if (seen.has(key)) continue;
      seen.add(key);
      out.push({
        address,
        family: 'IPv6',
        interfaceName: kind === 'link-local' ? name : undefined,
        linkLocal: kind === 'link-local',
        loopback: kind === 'loopback',
      });
    }
  }
  return out;
}

/** The addresses createIceAgent binds for these options. */
export function selectHostAddresses(options: Pick<NodeIceAgentOptions, 'addressFilter' | 'addresses' | 'includeLinkLocal' | 'ipv4' | 'ipv6'> = {}): HostAddress[] {
  if (options.addresses) {
    if (!Array.isArray(options.addresses)) throw new TypeError(`addresses must be an array of IP addresses, got ${JSON.stringify(options.addresses)}`);
    return options.addresses.map((text) => {
      const raw = typeof text === 'string' ? text.split('%')[0] : '';
      if (!isIp(raw)) throw new TypeError(`addresses: ${JSON.stringify(text)} is not an IP address`);
      const bytes = parseIp(raw);
      const zone = text.includes('%') ? text.slice(text.indexOf('%') + 1) : undefined;
      const v6 = bytes.length === 16 ? ipv6Class(bytes) : undefined;
      return {
        address: formatIp(bytes),
        family: bytes.length === 4 ? 'IPv4' : 'IPv6',
        interfaceName: zone,
        linkLocal: v6 === 'link-local',
        loopback: bytes.length === 4 ? bytes[0] === 127 : v6 === 'loopback',
      };
    });
  }
  const all = listHostAddresses(options);
  const filter = options.addressFilter;
  return filter ? all.filter((a) => filter(a.address)) : all.filter((a) => !a.loopback);
}

/** A UDP socket whose candidate address carries no zone (RFC 8839 §5.1 connection-address has none). */
async function bindHost(host: HostAddress, options: NodeIceAgentOptions): Promise<DatagramSocket> {
  const socket = await UdpSocket.bind({
    address: host.interfaceName ? `${host.address}%${host.interfaceName}` : host.address,
    family: host.family,
    receiveBufferSize: options.receiveBufferSize,
    sendBufferSize: options.sendBufferSize,
  });
  if (!socket.localAddress.address.includes('%')) return socket;
  const localAddress: TransportAddress = { address: socket.localAddress.address.split('%')[0], port: socket.localAddress.port };
  return {
    localAddress,
    send: (bytes, to) => socket.send(bytes, to),
    get ondatagram() {
      return socket.ondatagram;
    },
    set ondatagram(handler) {
      socket.ondatagram = handler;
    },
    get onclose() {
      return socket.onclose;
    },
    set onclose(handler) {
      socket.onclose = handler;
    },
    close: () => socket.close(),
  };
}

/** RFC 6062 TCP allocations for relayed TCP candidates, their peer connections as byte streams. */
function tcpRelayOpener(options: NodeIceAgentOptions): OpenTcpRelay {
  return async (server, transport, serverName, { username, credential }) => {
    const handle = await openTurnTcpAllocation({
      server,
      transport,
      username,
      credential,
      ...(server.address.includes(':') ? { family: 'IPv6' as const } : {}),
      tls: transport === 'tls' ? { servername: serverName, ...options.tls } : undefined,
      connectTimeoutMs: options.connectTimeoutMs,
    });
    const allocation: TcpRelayAllocation = {
      relayedAddress: handle.relayedAddress,
      mappedAddress: handle.mappedAddress,
      createPermission: (ip) => handle.createPermission(ip),
      connect: async (peer) => {
        const socket = await handle.connect(peer);
        socket.setNoDelay(true);
        return nodeByteStream(socket);
      },
      onconnection: null,
      onclose: null,
      close: () => handle.close(),
    };
    handle.onconnection = (socket, peer) => {
      socket.setNoDelay(true);
      if (allocation.onconnection) allocation.onconnection(nodeByteStream(socket), peer);
      else socket.destroy();
    };
    handle.onclose = (error) => allocation.onclose?.(error);
    return allocation;
  };
}

/** Opens a TCP or TLS connection to a TURN server (`turn:…?transport=tcp`, `turns:`). */
function streamOpener(options: NodeIceAgentOptions): NonNullable<IceAgentOptions['openStreamSocket']> {
  return (server, transport, serverName) =>
    StreamSocket.connect({
      host: server.address,
      port: server.port,
      servername: serverName,
      tls: transport === 'tls' ? (options.tls ?? true) : undefined,
      connectTimeoutMs: options.connectTimeoutMs,
    });
}

/**
 * An IceAgent over real UDP: `gather()` binds one socket per selected interface address (see
 * `addressFilter`, `addresses`) and gathers on them. Sockets are closed by `agent.close()`.
 */
export function createIceAgent(options: NodeIceAgentOptions = {}): IceAgent {
  checkConfigurationObject(options); // the core agent's constructor checks the rest (validateIceConfiguration)
  // Validated now, not at gather(): a bad `addresses` entry is the caller's mistake.
  const hosts = options.addresses ? selectHostAddresses(options) : undefined;
  const continual = options.gatherPolicy === 'continual';
  if (continual && hosts) throw new TypeError("gatherPolicy 'continual' watches the interfaces: it does not go with a fixed `addresses` list");
  const pollMs = options.networkPollIntervalMs ?? DEFAULT_NETWORK_POLL_INTERVAL_MS;
  if (!(pollMs > 0)) throw new RangeError(`networkPollIntervalMs must be > 0, got ${pollMs}`);
  // The addresses to gather on now: the interfaces through the filters, or the caller's list.
  const current = (): HostAddress[] => {
    if (!options.listAddresses) return selectHostAddresses(options);
    const interfaces = listHostAddresses(options);
    return options.listAddresses().map((a) => interfaces.find((h) => h.address === a) ?? selectHostAddresses({ addresses: [a] })[0]);
  };
  const mdns = options.mdns === false ? undefined : (options.mdns ?? lazyNodeMdns(() => hosts ?? selectHostAddresses(options)));
  const protocols = options.candidateProtocols ?? ['udp'];
  if (!Array.isArray(protocols) || protocols.length === 0 || !protocols.every((p) => p === 'udp' || p === 'tcp')) {
    throw new TypeError(`candidateProtocols must list 'udp' and/or 'tcp', got ${JSON.stringify(protocols)}`);
  }
  const { connectTimeoutMs, addressFilter } = options;
  checkMilliseconds('connectTimeoutMs', connectTimeoutMs);
  if (addressFilter !== undefined && typeof addressFilter !== 'function') throw new TypeError(`addressFilter must be a function (address: string) => boolean, got ${typeof addressFilter}`);
  // A host's TCP candidates: an active one, and a passive one where it can listen.
  const openTcp = async (h: HostAddress): Promise<Required<WatchedSocket>[]> => {
    if (h.linkLocal) return []; // A TCP connection to fe80:: needs a zone the candidate cannot carry.
    const opened: Required<WatchedSocket>[] = [{ socket: new TcpActiveSocket(h.address, options.tcp), tcpType: 'active' }];
    try {
      opened.push({ socket: await TcpPassiveSocket.listen(h.address, options.tcp), tcpType: 'passive' });
    } catch (err) {
      options.onBindError?.(h.address, err instanceof Error ? err : new Error(String(err)));
    }
    return opened;
  };
  let listed: HostAddress[] = [];
  const hostOf = (address: string) => listed.find((h) => h.address === address) ?? selectHostAddresses({ addresses: [address] })[0];
  let watcher: NetworkWatcher | undefined;
  // gatherPolicy 'continual': the sockets gather() opened are watched, UDP and TCP alike.
  const watch = (opened: WatchedSocket[]) => {
    if (!continual) return;
    watcher ??= new NetworkWatcher(agent, {
      list: () => (listed = current()).map((h) => h.address),
      bind: async (address) => {
        const host = hostOf(address);
        const udp: WatchedSocket[] = protocols.includes('udp') ? [{ socket: await bindHost(host, options) }] : [];
        return [...udp, ...(protocols.includes('tcp') ? await openTcp(host) : [])];
      },
      intervalMs: pollMs,
      onBindError: options.onBindError,
    });
    watcher.adopt(opened);
  };
  const tcpSockets = async () => {
    const opened = (await Promise.all((hosts ?? current()).map(openTcp))).flat();
    watch(opened);
    return opened;
  };
  const agent: IceAgent = new IceAgent({
    ...options,
    mdns,
    ...(protocols.includes('tcp') ? { tcpSockets, openTcpRelay: tcpRelayOpener(options) } : {}),
    openStreamSocket: options.openStreamSocket ?? streamOpener(options),
    resolve: options.resolve ?? resolveHost,
    sockets: async () => {
      if (!protocols.includes('udp')) return [];
      const selected = hosts ?? current();
      const results = await Promise.allSettled(selected.map((h) => bindHost(h, options)));
      const sockets: DatagramSocket[] = [];
      const failures: string[] = [];
      results.forEach((r, i) => {
        if (r.status === 'fulfilled') sockets.push(r.value);
        else {
          const error = r.reason instanceof Error ? r.reason : new Error(String(r.reason));
          failures.push(`${selected[i].address}: ${error.message}`);
          options.onBindError?.(selected[i].address, error);
        }
      });
      // The agent may have been closed while the sockets were being bound: nobody would close them then.
      if (agent.state === 'closed') {
        for (const s of sockets) s.close();
        return [];
      }
      // Addresses the caller named are a requirement, not a wish.
      if (hosts && failures.length > 0) {
        for (const s of sockets) s.close();
        throw new Error(`cannot bind ${failures.join('; ')}`);
      }
      if (continual) {
        listed = selected;
        watch(sockets.map((socket) => ({ socket })));
      }
      return sockets;
    },
  });
  return agent;
}
