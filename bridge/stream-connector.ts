// TCP and TLS connections for bridge sessions (protocol v2 streams), made by node:net and node:tls. TLS is
// made here, by the bridge, and checks the server's certificate against the name the client gave (the
// operator may add CAs; an insecure mode for tests accepts any certificate and is logged at start).
import { connect as connectTcp, type Socket } from 'node:net';
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
  socket.on('data', (chunk: Buffer) => events.data(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength)));
  socket.on('end', () => events.ended());
  let error: string | undefined;
  socket.on('error', (err: Error & { code?: string }) => {
    error = err.code ? `${err.code}: ${err.message}` : err.message;
  });
  socket.on('close', () => {
    if (connected) events.closed(error);
    else events.failed(tcpConnected ? 'tls-failed' : 'connect-failed', error ?? 'the connection closed before it was made');
  });
  return socket;
}
