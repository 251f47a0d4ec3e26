// stunBinding(): one Binding transaction to a STUN server — "what is my address as the server sees it?"
// Runs the StunClient engine over any DatagramSocket (UDP, TCP/TLS, bridge, simulated) and a clock.
import { realClock, type Clock } from '../net/clock.js';
import type { DatagramSocket } from '../net/datagram-socket.js';
import { EngineDriver } from '../net/driver.js';
import type { IceServerTransport } from '../net/ice-server-uri.js';
import type { TransportAddress } from '../net/transport-address.js';
import { StunClient } from './client.js';
import { StunMethod } from './constants.js';
import { createStunMessage } from './message.js';
import { serverTarget } from './server-target.js';
import { checkMilliseconds, checkOptionsObject } from '../net/option-checks.js';

export interface StunBindingResult {
  /** The server-reflexive address: XOR-MAPPED-ADDRESS, or MAPPED-ADDRESS from an RFC 3489 server. */
  mapped: TransportAddress;
  /** The local address of the socket the request went out of. */
  local: TransportAddress;
  /** The server that answered. */
  server: TransportAddress;
  rttMs: number;
  /** RFC 5780 attributes, when the server sends them. */
  otherAddress?: TransportAddress;
  responseOrigin?: TransportAddress;
  software?: string;
}

/**
 * - `TIMEOUT`        no answer within the RFC 8489 §6.2 schedule or `timeoutMs`
 * - `ERROR_RESPONSE` the server answered with an error response
 * - `NO_ADDRESS`     the success response carries no (XOR-)MAPPED-ADDRESS
 * - `SOCKET_CLOSED`  the socket closed first
 * - `UNRESOLVED`     the server is a host name and no resolver was given
 * - `UNREACHABLE`    the way to the server is refused (the bridge's destination policy or rate limit): the
 *                    message is the refusal's `code: reason`, `cause` the DestinationUnreachableError
 */
export type StunBindingErrorCode = 'TIMEOUT' | 'ERROR_RESPONSE' | 'NO_ADDRESS' | 'SOCKET_CLOSED' | 'UNRESOLVED' | 'UNREACHABLE';

export class StunBindingError extends Error {
  override readonly name = 'StunBindingError';
  constructor(
    readonly code: StunBindingErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export interface StunBindingOptions {
  /** The socket to send from. Either this or `openSocket`. */
  socket?: DatagramSocket;
  /** Opens a socket for the server's transport (udp / tcp / tls); it is closed when done. */
  openSocket?: (server: TransportAddress, transport: IceServerTransport) => Promise<DatagramSocket>;
  /** Turns a host name from a URI into an IP address; needed only for names. */
  resolve?: (host: string) => Promise<string>;
  /** Give up after this long; default: the full RFC 8489 schedule (39.5 s). */
  timeoutMs?: number;
  /** Initial retransmission timeout; default 500 ms (RFC 8489 §6.2.1). */
  rtoMs?: number;
  /** Over a stream (TCP/TLS) a request is sent once; default: whatever the URI says, or false. */
  reliable?: boolean;
  clock?: Clock;
}

/**
 * Sends a Binding request to `server` (`stun:host:port`, `host:port`, or a TransportAddress) and resolves
 * with the mapped address and the round-trip time.
 */
export async function stunBinding(server: string | TransportAddress, options: StunBindingOptions): Promise<StunBindingResult> {
  checkOptionsObject('stunBinding', options, '{ socket | openSocket, timeoutMs?, … }');
  checkMilliseconds('timeoutMs', options.timeoutMs);
  checkMilliseconds('rtoMs', options.rtoMs);
  const target = await resolveServer(server, options.resolve);
  const opened = options.socket ? undefined : await openFor(target, options);
  const socket = options.socket ?? opened!;
  try {
    return await bindOnce(socket, target.address, options.reliable ?? target.transport !== 'udp', options);
  } finally {
    opened?.close();
  }
}

async function openFor(target: { address: TransportAddress; transport: IceServerTransport }, options: StunBindingOptions): Promise<DatagramSocket> {
  if (!options.openSocket) throw new TypeError('stunBinding needs a `socket` or an `openSocket` function');
  return options.openSocket(target.address, target.transport);
}

function bindOnce(socket: DatagramSocket, server: TransportAddress, reliable: boolean, options: StunBindingOptions): Promise<StunBindingResult> {
  const clock = options.clock ?? realClock;
  const client = new StunClient({ rtoMs: options.rtoMs });
  return new Promise((resolve, reject) => {
    let deadline: ReturnType<Clock['setTimer']> | undefined;
    // The socket is borrowed: its handlers are put back when the transaction ends. One stunBinding at a
    // time per socket (concurrent ones would take each other's responses; share a socket with SocketDemux).
    const previousOnClose = socket.onclose;
    const previousOnDatagram = socket.ondatagram;
    const previousOnUnreachable = socket.onunreachable;
    const finish = (outcome: () => void) => {
      if (deadline !== undefined) clock.clearTimer(deadline);
      driver.close();
      socket.onclose = previousOnClose;
      socket.ondatagram = previousOnDatagram;
      socket.onunreachable = previousOnUnreachable;
      outcome();
    };
    const driver = new EngineDriver(client, {
      clock,
      onEvent: (event) => {
        const r = event.result;
        if (r.kind === 'success') {
          const mapped = r.response.get('XOR-MAPPED-ADDRESS') ?? r.response.get('MAPPED-ADDRESS');
          if (!mapped) {
            finish(() => reject(new StunBindingError('NO_ADDRESS', 'the Binding response carries no (XOR-)MAPPED-ADDRESS')));
            return;
          }
          finish(() =>
            resolve({
              mapped,
              local: socket.localAddress,
              server,
              rttMs: r.rttMs,
              otherAddress: r.response.get('OTHER-ADDRESS'),
              responseOrigin: r.response.get('RESPONSE-ORIGIN'),
              software: r.response.get('SOFTWARE'),
            }),
          );
        } else if (r.kind === 'timeout') {
          finish(() => reject(new StunBindingError('TIMEOUT', `no answer from ${server.address}:${server.port} after ${r.sends} request(s)`)));
        } else if (r.kind === 'unreachable') {
          // Like an ICMP unreachable: fail now, not after 39.5 s of retransmissions into a refusal.
          finish(() => reject(new StunBindingError('UNREACHABLE', r.error.message, { cause: r.error })));
        } else {
          const code = 'code' in r ? r.code : 0;
          finish(() => reject(new StunBindingError('ERROR_RESPONSE', `the server answered with error ${code}`)));
        }
      },
    });
    socket.onclose = (reason) => {
      finish(() => reject(new StunBindingError('SOCKET_CLOSED', `the socket closed${reason ? `: ${reason.message}` : ''}`)));
    };
    driver.attach(0, socket);
    if (options.timeoutMs !== undefined) {
      deadline = clock.setTimer(() => {
        finish(() => reject(new StunBindingError('TIMEOUT', `no answer from ${server.address}:${server.port} within ${options.timeoutMs} ms`)));
      }, clock.now() + options.timeoutMs);
    }
    client.request(createStunMessage({ method: StunMethod.Binding, class: 'request' }), server, 0, clock.now(), undefined, { reliable });
    driver.poll();
  });
}

async function resolveServer(
  server: string | TransportAddress,
  resolve: ((host: string) => Promise<string>) | undefined,
): Promise<{ address: TransportAddress; transport: IceServerTransport }> {
  const target = serverTarget(server, 'stunBinding');
  let address = target.host;
  if (target.isName) {
    if (!resolve) throw new StunBindingError('UNRESOLVED', `'${target.host}' is a name; give stunBinding a resolve() function or an IP address`);
    address = await resolve(target.host);
  }
  return { address: { address, port: target.port }, transport: target.transport };
}
