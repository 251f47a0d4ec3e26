// Runs the TurnServer engine on real UDP: listening sockets (STUN Binding and TURN share them, 3478 by
// default) and one relay socket per allocation, bound on a relay address at a random port of the dynamic
// range (RFC 8656 §7.2: SHOULD allocate from 49152–65535; RECOMMENDED randomized, RFC 6056). Optionally
// TCP and TLS listeners too (RFC 8656 §3.1, turn-stream-listener.ts): the same engine, framed streams.
import { networkInterfaces } from 'node:os';
import type { DatagramSocket } from '../net/datagram-socket.js';
import { familyOf, type AddressFamily, type TransportAddress } from '../net/transport-address.js';
import { isIp } from '../net/ip.js';
import { runTurnServer, type RunningTurnEngine } from '../server/turn-server-runner.js';
import { TurnServer, type TurnServerEvent, type TurnServerOptions } from '../server/turn-server.js';
import type { Rfc5780Options, Rfc5780Socket } from '../server/rfc5780.js';
import { watchHostAddresses, type HostAddressWatcher } from './host-addresses.js';
import { listenRfc5780 } from './rfc5780-sockets.js';
import { TurnStreamListeners, type TurnStreamLimits } from './turn-stream-listener.js';
import { relaySocketOpener } from './turn-relay-ports.js';
import { UdpSocket } from './udp-socket.js';
import { createNodeTcpRelay } from './turn-tcp-relay.js';
import { hostsOption, portOption, SERVER_DEFAULT_HOSTS } from './listen-options.js';
import { checkOptionsObject } from '../net/option-checks.js';

export interface NodeTurnServerOptions extends Omit<TurnServerOptions, 'rfc5780'> {
  /**
   * Addresses to listen on. Default ['127.0.0.1'], as `icebridge serve` (this machine only); ['0.0.0.0']
   * serves other machines too.
   */
  hosts?: string[];
  /**
   * Relay to 127.0.0.0/8 and ::1. Default: true when every `hosts` address is a loopback one (the default
   * setup: clients, peers and server all on this machine, as `icebridge serve` allows by default), false
   * otherwise — a server other machines reach must not relay into this one's loopback services. A refused
   * peer is answered 403, which clients report at once (an icecandidateerror, the pair's failureReason).
   */
  allowLoopback?: boolean;
  /** UDP port; 0 picks a free one (then reused for every host where possible). Default 3478. */
  port?: number;
  /**
   * RFC 5780 NAT behaviour discovery: the second address. The server then listens on 2 addresses (the one
   * `hosts` entry, which must be specific, and this) × 2 ports (`port`, `altPort`), STUN and TURN on all
   * four. Default: none (off).
   */
  altAddress?: string;
  /** RFC 5780: the second port. Default `port` + 1 (coturn's --alt-listening-port default); a free one when `port` is 0. */
  altPort?: number;
  /** RFC 5780 settings other than the sockets (RESPONSE-PORT, PADDING). Default: the engine's defaults. */
  rfc5780?: Omit<Rfc5780Options, 'sockets'>;
  /**
   * Where relay sockets are bound, at most one address per family; their addresses are what clients are
   * told (XOR-RELAYED-ADDRESS), so they must be specific, not 0.0.0.0 or ::. Default: each listening
   * host that is specific, else the first non-internal interface address of its family (loopback if none).
   */
  relayAddress?: string | readonly string[];
  /**
   * The public address clients are told instead of the relay address, one per family, for a server behind
   * a 1:1 NAT (a cloud VM: coturn's --external-ip). The port is the relay socket's. Default: none.
   */
  externalAddress?: string | readonly string[];
  /** Ports relay sockets are taken from. Default { min: 49152, max: 65535 }. */
  relayPortRange?: { min: number; max: number };
  /** Tries at a random free port before an Allocate fails with 508. Default 32. */
  relayBindAttempts?: number;
  /** Receive buffer of the listening sockets in bytes. Default: the OS default. */
  receiveBufferSize?: number;
  /** TURN over TCP (RFC 8656 §3.1) on every host at this port; 0 picks a free one. Default: none (no TCP listener). */
  tcpPort?: number;
  /** TURN over TLS (`turns:`) on every host at this port; 0 picks a free one; needs `cert` and `key`. Default: none (no TLS listener). */
  tlsPort?: number;
  /** The TLS listener's certificate chain as PEM text (not a file path). Required with `tlsPort`. */
  cert?: string;
  /** The TLS listener's private key as PEM text (not a file path). Required with `tlsPort`. */
  key?: string;
  /** Limits of the TCP and TLS connections. Default: TURN_STREAM_DEFAULTS (turn-stream-listener.ts). */
  streamLimits?: TurnStreamLimits;
  /** Every engine event (allocations created and deleted, relay sockets), for logs. */
  onEvent?: (event: TurnServerEvent) => void;
}

export interface RunningTurnServer {
  readonly engine: TurnServer;
  /** The listening transport addresses (UDP). */
  readonly addresses: TransportAddress[];
  /** The TCP listening addresses; empty without `tcpPort`. */
  readonly tcpAddresses: TransportAddress[];
  /** The TLS listening addresses; empty without `tlsPort`. */
  readonly tlsAddresses: TransportAddress[];
  /** The TCP/TLS listeners' counters and open connections; undefined when neither runs. */
  readonly streams: TurnStreamListeners | undefined;
  /** The addresses relay sockets are bound on, one per family. */
  readonly relayAddresses: string[];
  close(): Promise<void>;
}

const UNSPECIFIED = new Set(['0.0.0.0', '::']);

/** The address relay sockets of `family` bind on when none is configured. */
function defaultRelayAddress(family: AddressFamily): string {
  for (const list of Object.values(networkInterfaces())) {
    for (const info of list ?? []) {
      if (!info.internal && info.family === family && !(family === 'IPv6' && info.address.startsWith('fe80'))) return info.address;
    }
  }
  return family === 'IPv6' ? '::1' : '127.0.0.1';
}

function chooseRelayAddresses(options: NodeTurnServerOptions, hosts: readonly string[]): Map<AddressFamily, string> {
  const byFamily = new Map<AddressFamily, string>();
  const configured = addressList('relayAddress', options.relayAddress);
  for (const address of configured) {
    if (UNSPECIFIED.has(address)) throw new RangeError(`relayAddress ${address} is unspecified: clients need an address they can reach`);
    const family = familyOf(address);
    if (!byFamily.has(family)) byFamily.set(family, address);
  }
  if (configured.length === 0) {
    for (const host of hosts) {
      const family = familyOf(host);
      if (!byFamily.has(family)) byFamily.set(family, UNSPECIFIED.has(host) ? defaultRelayAddress(family) : host);
    }
  }
  return byFamily;
}

/** `relayAddress` / `externalAddress`: one IP address or a list of them (TypeError otherwise, before anything is bound). */
function addressList(name: string, value: string | readonly string[] | undefined): readonly string[] {
  const list: unknown = value === undefined ? [] : typeof value === 'string' ? [value] : value;
  if (!Array.isArray(list)) throw new TypeError(`${name} must be an IP address or a list of them, got ${JSON.stringify(value)}`);
  for (const address of list) if (typeof address !== 'string' || !isIp(address)) throw new TypeError(`${name}: ${JSON.stringify(address)} is not an IP address`);
  return list as readonly string[];
}

/** Where startTurnServer listens without `hosts`: this machine only, as `icebridge serve` does. */
export const TURN_SERVER_DEFAULT_HOSTS: readonly string[] = SERVER_DEFAULT_HOSTS;

function isLoopbackAddress(address: string): boolean {
  return address === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(address);
}

export async function startTurnServer(options: NodeTurnServerOptions = {}): Promise<RunningTurnServer> {
  checkOptionsObject('startTurnServer', options, '{ hosts?, port?, users?, secret?, … }');
  const hosts = hostsOption(options.hosts);
  const allowLoopback = options.allowLoopback ?? hosts.every(isLoopbackAddress);
  const relayAddresses = chooseRelayAddresses(options, hosts);
  const range = options.relayPortRange ?? { min: 49152, max: 65535 };
  if (!(Number.isInteger(range.min) && Number.isInteger(range.max) && range.min >= 1 && range.min <= range.max && range.max <= 65535)) {
    throw new RangeError('relayPortRange must be 1 <= min <= max <= 65535');
  }
  const attempts = options.relayBindAttempts ?? 32;
  // Stream options are checked before any socket is bound (a bad certificate throws here).
  const port = portOption('port', options.port, 3478);
  for (const [name, value] of [['tcpPort', options.tcpPort], ['tlsPort', options.tlsPort]] as const) if (value !== undefined) portOption(name, value, 0);
  if (options.tlsPort !== undefined && (options.cert === undefined || options.key === undefined)) throw new TypeError('tlsPort needs cert and key (PEM text)');
  let streams: TurnStreamListeners | undefined;
  let runningEngine: RunningTurnEngine | undefined;
  if (options.tcpPort !== undefined || options.tlsPort !== undefined) {
    streams = new TurnStreamListeners(options.streamLimits ?? {}, {
      attach: (socket, transport) => {
        if (runningEngine === undefined) socket.close();
        else runningEngine.attachClientSocket(socket, transport);
      },
      // The engine answers on the connection to its remote address: an allocation of that client is on it.
      hasAllocation: (socket) => {
        const remote = socket.remoteAddress;
        return runningEngine?.engine.allocationInfo().some((a) => a.client.port === remote.port && a.client.address === remote.address) ?? false;
      },
    });
    if (options.tlsPort !== undefined) streams.setTlsCredentials({ cert: options.cert!, key: options.key! });
  }
  const engineOptions: TurnServerOptions = { ...options, allowLoopback, relayFamilies: options.relayFamilies ?? [...relayAddresses.keys()], rfc5780: undefined };
  // Checked before any socket is bound; with RFC 5780 the engine needs the sockets' addresses, so it comes after.
  const early = options.altAddress === undefined ? new TurnServer(engineOptions) : undefined;
  const external = new Map<AddressFamily, string>();
  for (const address of addressList('externalAddress', options.externalAddress)) {
    if (UNSPECIFIED.has(address)) throw new RangeError(`externalAddress ${address} is unspecified`);
    if (!external.has(familyOf(address))) external.set(familyOf(address), address);
  }
  const relayedAddress = (socket: DatagramSocket): TransportAddress => {
    const mapped = external.get(familyOf(socket.localAddress.address));
    return mapped === undefined ? socket.localAddress : { address: mapped, port: socket.localAddress.port };
  };

  const listen: UdpSocket[] = [];
  let grid: Rfc5780Socket[] = [];
  try {
    if (options.altAddress !== undefined) {
      const bound = await listenRfc5780({ ...options, hosts });
      listen.push(...bound.sockets);
      grid = bound.grid;
    } else {
      let bound = port;
      for (const host of hosts) {
        const socket = await UdpSocket.bind({ address: host, port: bound, receiveBufferSize: options.receiveBufferSize });
        if (bound === 0) bound = socket.localAddress.port;
        listen.push(socket);
      }
    }
  } catch (err) {
    await Promise.all(listen.map((s) => s.closeAndWait()));
    throw err;
  }
  let engine: TurnServer;
  try {
    engine = early ?? new TurnServer({ ...engineOptions, rfc5780: { ...options.rfc5780, sockets: grid } });
  } catch (err) {
    await Promise.all(listen.map((s) => s.closeAndWait()));
    throw err;
  }

  // Even ports and R=1 pairs (RFC 8656 §7.2) are bound there too.
  const openRelaySocket = relaySocketOpener({ addresses: relayAddresses, range, attempts });

  // RFC 8656 §9: this host's own addresses are refused as peers (but for its live relayed addresses, see
  // turn-requests.ts) unless allowHostAddresses: every interface, re-read, plus the addresses it is
  // configured with (an external address is not on any interface, yet reaches this host through its NAT).
  const configured = [...hosts, ...relayAddresses.values(), ...external.values(), ...(options.altAddress === undefined ? [] : [options.altAddress])];
  let hostWatch: HostAddressWatcher | undefined;
  try {
    if (options.allowHostAddresses !== true) hostWatch = watchHostAddresses((found) => engine.setHostAddresses([...found, ...configured]));
  } catch (err) {
    await Promise.all(listen.map((s) => s.closeAndWait()));
    throw err;
  }
  // RFC 6062 TCP relays: listeners on the same relay addresses and port range as the UDP relays.
  const tcpRelay = createNodeTcpRelay({ relayAddresses, externalAddresses: external, portRange: range, bindAttempts: attempts });
  const running = runTurnServer({ engine, listen, openRelaySocket, relayedAddress, onEvent: options.onEvent, tcpRelay });
  runningEngine = running;
  // Once: a second close() gets the first one's promise, as the streams and the engine close only once.
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closing ??= (async () => {
      hostWatch?.stop();
      await streams?.close(); // their allocations go with the connections
      running.close();
      await Promise.all(listen.map((s) => s.closeAndWait()));
    })());
  let tcpAddresses: TransportAddress[] = [];
  let tlsAddresses: TransportAddress[] = [];
  try {
    if (streams && options.tcpPort !== undefined) tcpAddresses = await streams.listen('tcp', hosts, options.tcpPort);
    if (streams && options.tlsPort !== undefined) tlsAddresses = await streams.listen('tls', hosts, options.tlsPort);
  } catch (err) {
    await close();
    throw err;
  }
  return {
    engine,
    addresses: listen.map((s) => s.localAddress),
    tcpAddresses,
    tlsAddresses,
    streams,
    relayAddresses: [...relayAddresses.values()],
    close,
  };
}
