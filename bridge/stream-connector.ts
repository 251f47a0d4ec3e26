// TCP and TLS connections for bridge sessions (protocol v2 streams), made by node:net and node:tls. TLS is
// made here, by the bridge, and checks the server's certificate against the name the client gave (the
// operator may add CAs; an insecure mode for tests accepts any certificate and is logged at start).
import { connect as connectTcp, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { connect as connectTls, rootCertificates, type TLSSocket } from 'node:tls';
import type { TransportAddress } from '../src/net/transport-address.js';

export interface StreamConnectOptions {
  remote: TransportAddress;
  tls: boolean;
  /** SNI and the certificate check; '' checks the certificate against the address. */
  serverName: string;
  /** Extra CAs trusted for TLS (PEM), added to Node's. */
  ca: string[] | undefined;
  /** Accept any certificate (tests only). */
  insecure: boolean;
}

export interface StreamEvents {
  connected(local: TransportAddress, remote: TransportAddress): void;
  /** The connection or the TLS handshake failed before `connected`. */
  failed(failure: 'connect-failed' | 'tls-failed', reason: string): void;
  data(bytes: Uint8Array): void;
  /** The peer sent FIN. */
  ended(): void;
  /** Gone, after `connected`; with the error text if it died of one. */
  closed(error: string | undefined): void;
}

/** Opens one connection; the socket is returned at once so that a close before it connects can destroy it. */
export function openStream(o: StreamConnectOptions, events: StreamEvents): Socket {
  const { address, port } = o.remote;
  // TCP: allowHalfOpen, so the peer's FIN ends one direction only (the `end` frame), as TCP means it. TLS
  // ends both ways on the peer's close_notify, as Node's TLS does.
  const socket: Socket | TLSSocket = o.tls
    ? connectTls({
        host: address,
        port,
        servername: o.serverName === '' ? undefined : o.serverName,
        // `ca` replaces Node's trust store: the operator's CAs are added to it, not put in its place.
        ca: o.ca ? [...rootCertificates, ...o.ca] : undefined,
        rejectUnauthorized: !o.insecure,
      })
    : connectTcp({ host: address, port, allowHalfOpen: true });
  let connected = false;
  // Whatever ends a TLS stream after TCP connected and before secureConnect is the handshake's failure: a
  // certificate refused, or a server that hung up or spoke no TLS.
  let tcpConnected = false;
  if (o.tls) socket.once('connect', () => (tcpConnected = true));
  socket.once(o.tls ? 'secureConnect' : 'connect', () => {
    connected = true;
    socket.setNoDelay(true);
    events.connected(
      { address: socket.localAddress ?? '', port: socket.localPort ?? 0 },
      { address: socket.remoteAddress ?? address, port: socket.remotePort ?? port },
    );
  });
  wireStream(socket, events, () => connected, () => (tcpConnected ? 'tls-failed' : 'connect-failed'));
  return socket;
}

/** A socket's bytes, FIN and close as stream events; before `isConnected`, a close is a failed connect. */
function wireStream(socket: Socket, events: Omit<StreamEvents, 'connected'>, isConnected: () => boolean, failure: () => 'connect-failed' | 'tls-failed'): void {
  socket.on('data', (chunk: Buffer) => events.data(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength)));
  socket.on('end', () => events.ended());
  let error: string | undefined;
  socket.on('error', (err: Error & { code?: string }) => {
    error = err.code ? `${err.code}: ${err.message}` : err.message;
  });
  socket.on('close', () => {
    if (isConnected()) events.closed(error);
    else events.failed(failure(), error ?? 'the connection closed before it was made');
  });
}

export interface ListenerEvents {
  listening(local: TransportAddress): void;
  failed(reason: string): void;
  /** A connection came in; `wire` gives it its events (else the caller destroys it). */
  accepted(socket: Socket, local: TransportAddress, remote: TransportAddress, wire: (events: StreamEvents) => void): void;
  closed(error: string | undefined): void;
}

/** How many ports of a range a listen for port 0 tries before it gives up. */
const LISTEN_ATTEMPTS = 32;

/**
 * Listens for TCP on `address` at `port`, or with port 0 at a free port: one of `range` (tried from a random
 * point) when given, else any the OS picks. allowHalfOpen, as connected streams have it.
 */
export function listenTcp(address: string, port: number, range: readonly [number, number] | undefined, events: ListenerEvents): { close(): void } {
  const server: Server = createServer({ allowHalfOpen: true });
  let closedByUs = false;
  const ports: number[] = [];
  if (port !== 0 || range === undefined) ports.push(port);
  else {
    const span = range[1] - range[0] + 1;
    const start = Math.floor(Math.random() * span);
    for (let i = 0; i < Math.min(span, LISTEN_ATTEMPTS); i++) ports.push(range[0] + ((start + i) % span));
  }
  const attempt = (i: number) => {
    const onError = (err: Error & { code?: string }) => {
      if (closedByUs) return;
      if (err.code === 'EADDRINUSE' && i + 1 < ports.length) return attempt(i + 1);
      events.failed(err.code ? `${err.code}: ${err.message}` : err.message);
    };
    server.once('error', onError);
    // One family per listener: an IPv6 one does not take IPv4 connections as ::ffff: addresses.
    server.listen({ host: address, port: ports[i], exclusive: true, ipv6Only: address.includes(':') }, () => {
      server.off('error', onError);
      const bound = server.address() as AddressInfo;
      server.on('error', (err: Error & { code?: string }) => {
        if (!closedByUs) events.closed(err.code ? `${err.code}: ${err.message}` : err.message);
      });
      events.listening({ address: bound.address, port: bound.port });
    });
  };
  server.on('connection', (socket: Socket) => {
    socket.on('error', () => {}); // one before it is wired (or destroyed) must not throw
    if (closedByUs || socket.remoteAddress === undefined) return socket.destroy();
    socket.setNoDelay(true);
    const localAddress = { address: socket.localAddress ?? address, port: socket.localPort ?? 0 };
    const remote = { address: socket.remoteAddress, port: socket.remotePort ?? 0 };
    events.accepted(socket, localAddress, remote, (streamEvents) => wireStream(socket, streamEvents, () => true, () => 'connect-failed'));
  });
  attempt(0);
  return {
    close: () => {
      closedByUs = true;
      server.close();
    },
  };
}
