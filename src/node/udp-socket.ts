// DatagramSocket over node:dgram, IPv4 or IPv6.
import { createSocket, type Socket } from 'node:dgram';
import { lookup as dnsLookup, type LookupOneOptions } from 'node:dns';
import { isIP } from 'node:net';
import { DestinationUnreachableError, type DatagramHandler, type DatagramSocket, type UnreachableHandler } from '../net/datagram-socket.js';
import { checkFamily, checkOptionsObject } from '../net/option-checks.js';
import { familyOf, sameTransportAddress, type TransportAddress } from '../net/transport-address.js';
import { portOption } from './listen-options.js';

export interface UdpSocketOptions {
  /** Local address to bind; default 0.0.0.0, or :: when `family` is IPv6. */
  address?: string;
  /** Local port; 0 (default) picks a free one. */
  port?: number;
  family?: 'IPv4' | 'IPv6';
  /** Socket buffer sizes in bytes (SO_RCVBUF/SO_SNDBUF); the OS default when omitted. */
  receiveBufferSize?: number;
  sendBufferSize?: number;
  /**
   * A socket for this one destination (a STUN or TURN server): it is connected to it, so the kernel's ICMP
   * port unreachable comes back at once as `onunreachable` (code `port-unreachable`), which an unconnected
   * UDP socket never hears of, and the caller does not wait out its retransmissions. Datagrams to anywhere
   * else are dropped (counted in `sendErrors`): Node can move a connected socket only by disconnecting,
   * which on Linux gives it another local port.
   */
  connect?: TransportAddress;
}

export class UdpSocket implements DatagramSocket {
  ondatagram: DatagramHandler | null = null;
  onclose: ((reason?: Error) => void) | null = null;
  /** With `connect`: the destination refused a datagram (ICMP port unreachable). */
  onunreachable: UnreachableHandler | null = null;
  /** Datagrams that could not be sent (the OS refused them); they are dropped, never thrown. */
  sendErrors = 0;
  private closed = false;
  /** Settles when node:dgram has closed the socket (its 'close' event). */
  private readonly released: Promise<void>;

  private constructor(
    private readonly socket: Socket,
    readonly localAddress: TransportAddress,
    private readonly peer?: TransportAddress,
  ) {
    socket.on('message', (msg, rinfo) => {
      // A view on Node's buffer, not a copy: engines read it synchronously.
      const bytes = new Uint8Array(msg.buffer, msg.byteOffset, msg.byteLength);
      this.ondatagram?.(bytes, { address: rinfo.address, port: rinfo.port });
    });
    // Send errors are counted and dropped; a connected socket's ECONNREFUSED is the peer's ICMP port unreachable.
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (peer && err.code === 'ECONNREFUSED') this.onunreachable?.(new DestinationUnreachableError('port-unreachable', peer, `nothing listens at ${peer.address}:${peer.port} (ICMP port unreachable)`));
      else this.sendErrors++;
    });
    this.released = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.on('close', () => this.onclose?.());
  }

  static async bind(options: UdpSocketOptions = {}): Promise<UdpSocket> {
    checkOptionsObject('UdpSocket.bind', options, '{ address?, port?, family?, connect?, … }');
    const port = portOption('port', options.port, 0);
    checkFamily(options.family);
    const family = options.family ?? (options.address ? familyOf(options.address) : 'IPv4');
    const socket = createSocket({
      type: family === 'IPv6' ? 'udp6' : 'udp4',
      ipv6Only: family === 'IPv6',
      recvBufferSize: options.receiveBufferSize,
      sendBufferSize: options.sendBufferSize,
      lookup: lastLiteralLookup(),
    });
    return new Promise((resolve, reject) => {
      const onError = (err: Error) => {
        // A socket whose bind failed (EADDRINUSE: a relay port search) still holds a file descriptor.
        try {
          socket.close();
        } catch {
          // already closed
        }
        reject(err);
      };
      socket.once('error', onError);
      // exclusive: in a cluster worker a shared bind would hand every socket of every worker the primary's one.
      socket.bind({ port, address: options.address ?? (family === 'IPv6' ? '::' : '0.0.0.0'), exclusive: true }, () => {
        const done = () => {
          socket.off('error', onError);
          const a = socket.address();
          resolve(new UdpSocket(socket, { address: a.address, port: a.port }, options.connect));
        };
        // A failed connect calls back with its error (no 'error' event then).
        if (options.connect) socket.connect(options.connect.port, options.connect.address, ((err?: Error) => (err ? onError(err) : done())) as () => void);
        else done();
      });
    });
  }

  send(bytes: Uint8Array, to: TransportAddress): void {
    if (this.closed) return;
    // No per-send callback (it costs about 1 µs): send errors surface as 'error' events, counted above.
    if (!this.peer) this.socket.send(bytes, to.port, to.address);
    else if (sameTransportAddress(to, this.peer)) this.socket.send(bytes);
    else this.sendErrors++;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.socket.close();
  }

  /** close(), then the moment the OS has let the port go; at once for a socket closed already. */
  closeAndWait(): Promise<void> {
    this.close();
    return this.released;
  }

  /** The underlying node:dgram socket, for the few Node-only needs (buffer sizes, unref). */
  get raw(): Socket {
    return this.socket;
  }
}

/**
 * literalLookup for one socket, remembering the last literal it saw: a relay socket sends to the same few
 * peers, and comparing a string with the one stored is cheaper than isIP's regular expressions, once per
 * datagram sent.
 */
function lastLiteralLookup(): typeof literalLookup {
  let lastHost: string | undefined;
  let lastFamily = 0;
  return (hostname, options, callback) => {
    if (hostname === lastHost) {
      callback(null, hostname, lastFamily);
      return;
    }
    const family = isIP(hostname);
    if (family === 0) {
      literalLookup(hostname, options, callback);
      return;
    }
    lastHost = hostname;
    lastFamily = family;
    callback(null, hostname, family);
  };
}

/**
 * dgram resolves every destination through dns.lookup, a nextTick even for an IP literal; engines always
 * send to literals, so answer those synchronously (about a fifth of a TURN server's CPU per relayed packet).
 */
function literalLookup(
  hostname: string,
  options: LookupOneOptions,
  callback: (err: NodeJS.ErrnoException | null, address: string, family: number) => void,
): void {
  const family = isIP(hostname);
  if (family !== 0) callback(null, hostname, family);
  else if (/\.local\.?$/i.test(hostname)) {
    // mDNS names (RFC 6762) are resolved by the ICE agent's mDNS querier, never by the system resolver, whose
    // lookups of them can hang for many seconds and hold the process open.
    const error: NodeJS.ErrnoException = new Error(`${hostname}: .local names are not sent to the system resolver`);
    error.code = 'ENOTFOUND';
    callback(error, '', 0);
  } else dnsLookup(hostname, options, callback);
}
