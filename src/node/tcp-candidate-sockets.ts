// Host TCP candidates for the Node agent (RFC 6544) over node:net: an active one connects from its address
// to each remote it sends to, a passive one listens and answers on the connection each packet came in on.
// The framing and the connection bookkeeping are the isomorphic net/stream-candidate-socket.ts.
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import type { ByteStream } from '../net/framed-stream-socket.js';
import { formatIp, parseIp } from '../net/ip.js';
import { ActiveStreamSocket, PassiveStreamSocket, STREAM_CANDIDATE_DEFAULTS, type StreamCandidateOptions } from '../net/stream-candidate-socket.js';
import type { TransportAddress } from '../net/transport-address.js';
import { nodeByteStream } from './stream-socket.js';

export interface TcpCandidateOptions extends StreamCandidateOptions {
  /** An active connection that is not up after this long fails. Default 5 000 ms. */
  connectTimeoutMs?: number;
}

export const TCP_CANDIDATE_DEFAULTS = { ...STREAM_CANDIDATE_DEFAULTS, connectTimeoutMs: 5_000 } as const;

/** ::ffff:1.2.3.4 from a dual-stack listener as 1.2.3.4, and every address in RFC 5952 form. */
function remoteOf(socket: Socket): TransportAddress | undefined {
  if (socket.remoteAddress === undefined || socket.remotePort === undefined) return undefined;
  const raw = socket.remoteAddress.startsWith('::ffff:') && socket.remoteAddress.includes('.') ? socket.remoteAddress.slice(7) : socket.remoteAddress;
  return { address: formatIp(parseIp(raw.split('%')[0])), port: socket.remotePort };
}

function connected(socket: Socket): ByteStream {
  socket.setNoDelay(true);
  return nodeByteStream(socket);
}

/** tcptype active: connects to each remote it sends to, from its own address and a fresh port. */
export class TcpActiveSocket extends ActiveStreamSocket {
  constructor(address: string, options: TcpCandidateOptions = {}) {
    const timeoutMs = options.connectTimeoutMs ?? TCP_CANDIDATE_DEFAULTS.connectTimeoutMs;
    super(
      address,
      (to) =>
        new Promise((resolve, reject) => {
          const socket = connect({ host: to.address, port: to.port, localAddress: address });
          const timer = setTimeout(() => socket.destroy(new Error(`not connected within ${timeoutMs} ms`)), timeoutMs);
          socket.once('connect', () => {
            clearTimeout(timer);
            resolve(connected(socket));
          });
          socket.once('error', (err) => {
            clearTimeout(timer);
            reject(err);
          });
        }),
      options,
    );
  }
}

/** tcptype passive: listens on its address; packets go back on the connection they came in on. */
export class TcpPassiveSocket extends PassiveStreamSocket {
  private constructor(server: Server, localAddress: TransportAddress, options: StreamCandidateOptions) {
    super(localAddress, () => server.close(), options);
    server.on('connection', (socket) => {
      const remote = remoteOf(socket);
      if (remote === undefined) socket.destroy();
      else this.accept(connected(socket), remote);
    });
  }

  /** Listens on `address`, at `port` (default: one the OS picks). */
  static listen(address: string, options: StreamCandidateOptions & { port?: number } = {}): Promise<TcpPassiveSocket> {
    const server = createServer();
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 0, address, () => {
        server.off('error', reject);
        const bound = server.address() as AddressInfo;
        resolve(new TcpPassiveSocket(server, { address: formatIp(parseIp(bound.address.split('%')[0])), port: bound.port }, options));
      });
    });
  }
}
