// Runs the StunServer engine on real UDP sockets: one per listening address, all answered by one engine.
import { EngineDriver } from '../net/driver.js';
import type { TransportAddress } from '../net/transport-address.js';
import { StunServer, type StunServerOptions } from '../server/stun-server.js';
import { UdpSocket } from './udp-socket.js';

export interface NodeStunServerOptions extends StunServerOptions {
  /** Addresses to listen on. Default ['0.0.0.0']. */
  hosts?: string[];
  /** UDP port; 0 picks a free one (the same free port is then used for every host where possible). Default 3478. */
  port?: number;
  /** Socket receive buffer in bytes; larger survives bursts. Default: the OS default. */
  receiveBufferSize?: number;
}

export interface RunningStunServer {
  readonly engine: StunServer;
  readonly addresses: TransportAddress[];
  close(): Promise<void>;
}

export async function startStunServer(options: NodeStunServerOptions = {}): Promise<RunningStunServer> {
  const engine = new StunServer(options);
  const driver = new EngineDriver(engine);
  const sockets: UdpSocket[] = [];
  try {
    let port = options.port ?? 3478;
    for (const [i, host] of (options.hosts ?? ['0.0.0.0']).entries()) {
      const socket = await UdpSocket.bind({ address: host, port, receiveBufferSize: options.receiveBufferSize });
      if (port === 0) port = socket.localAddress.port;
      sockets.push(socket);
      driver.attach(i, socket);
    }
  } catch (err) {
    for (const s of sockets) s.close();
    throw err;
  }
  return {
    engine,
    addresses: sockets.map((s) => s.localAddress),
    close: async () => {
      driver.close();
      await Promise.all(
        sockets.map(
          (s) =>
            new Promise<void>((resolve) => {
              s.raw.once('close', () => resolve());
              s.close();
            }),
        ),
      );
    },
  };
}
