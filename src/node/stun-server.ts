// Runs the StunServer engine on real UDP sockets: one per listening address, all answered by one engine.
import { EngineDriver } from '../net/driver.js';
import type { TransportAddress } from '../net/transport-address.js';
import type { Rfc5780Options } from '../server/rfc5780.js';
import { StunServer, type StunServerOptions } from '../server/stun-server.js';
import { listenRfc5780 } from './rfc5780-sockets.js';
import { UdpSocket } from './udp-socket.js';
import { hostsOption, portOption } from './listen-options.js';
import { checkOptionsObject } from '../net/option-checks.js';

export interface NodeStunServerOptions extends Omit<StunServerOptions, 'rfc5780'> {
  /** Addresses to listen on. Default ['127.0.0.1'] (this machine only, as startTurnServer); ['0.0.0.0'] for all IPv4. */
  hosts?: string[];
  /** UDP port; 0 picks a free one (the same free port is then used for every host where possible). Default 3478. */
  port?: number;
  /**
   * RFC 5780 NAT behaviour discovery: the second address. The server then listens on 2 addresses (the one
   * `hosts` entry, which must be specific, and this) × 2 ports (`port`, `altPort`). Default: none (off).
   */
  altAddress?: string;
  /** RFC 5780: the second port. Default `port` + 1 (coturn's --alt-listening-port default); a free one when `port` is 0. */
  altPort?: number;
  /** RFC 5780 settings other than the sockets (RESPONSE-PORT, PADDING). Default: the engine's defaults. */
  rfc5780?: Omit<Rfc5780Options, 'sockets'>;
  /** Socket receive buffer in bytes; larger survives bursts. Default: the OS default. */
  receiveBufferSize?: number;
}

export interface RunningStunServer {
  readonly engine: StunServer;
  readonly addresses: TransportAddress[];
  close(): Promise<void>;
}

export async function startStunServer(options: NodeStunServerOptions = {}): Promise<RunningStunServer> {
  checkOptionsObject('startStunServer', options, '{ hosts?, port?, … }');
  let port = portOption('port', options.port, 3478);
  const hosts = hostsOption(options.hosts);
  if (options.altAddress !== undefined) {
    const { sockets, grid } = await listenRfc5780({ ...options, hosts });
    let engine: StunServer;
    try {
      engine = new StunServer({ ...options, rfc5780: { ...options.rfc5780, sockets: grid } });
    } catch (err) {
      for (const s of sockets) s.close();
      throw err;
    }
    return run(engine, sockets);
  }
  const engine = new StunServer({ ...options, rfc5780: undefined });
  const sockets: UdpSocket[] = [];
  try {
    for (const host of hosts) {
      const socket = await UdpSocket.bind({ address: host, port, receiveBufferSize: options.receiveBufferSize });
      if (port === 0) port = socket.localAddress.port;
      sockets.push(socket);
    }
  } catch (err) {
    for (const s of sockets) s.close();
    throw err;
  }
  return run(engine, sockets);
}

function run(engine: StunServer, sockets: UdpSocket[]): RunningStunServer {
  const driver = new EngineDriver(engine);
  sockets.forEach((socket, i) => driver.attach(i, socket));
  return {
    engine,
    addresses: sockets.map((s) => s.localAddress),
    close: async () => {
      driver.close();
      await Promise.all(sockets.map((s) => s.closeAndWait()));
    },
  };
}
