// openTurnTcpAllocation(): an RFC 6062 TCP allocation from Node — a control connection (TCP or TLS) run by
// the isomorphic turn/tcp-allocation-control.ts, and one new connection per peer that ConnectionBinds and then is
// the peer stream. A peer stream is the node:net (or node:tls) Socket of that data connection itself: a
// Duplex carrying the peer's bytes as-is (§4.5); ending or destroying it ends the peer connection (§4.6).
import { connect as connectTcp, type Socket } from 'node:net';
import { connect as connectTls, type ConnectionOptions } from 'node:tls';
import type { TransportAddress } from '../net/transport-address.js';
import { TurnError } from '../turn/errors.js';
import type { TurnTcpAllocationOptions } from '../turn/tcp-allocation.js';
import { openTcpAllocationControl } from '../turn/tcp-allocation-control.js';
import { ConnectionBinder } from '../turn/tcp-connection-bind.js';
import { StreamSocket } from './stream-socket.js';

export interface OpenTurnTcpAllocationOptions extends Omit<TurnTcpAllocationOptions, 'server'> {
  /** The TURN server (an IP address and port). */
  server: TransportAddress;
  /** The control and data connections' transport. Default 'tcp'. */
  transport?: 'tcp' | 'tls';
  /** node:tls options for 'tls' (e.g. `{ ca }` or `{ rejectUnauthorized: false }` for a test server). */
  tls?: ConnectionOptions;
  /** Give up connecting (or getting an answer to the Allocate / a ConnectionBind) after this long. Default 10 000 ms. */
  connectTimeoutMs?: number;
}

/** A TCP allocation: the relayed transport address, and peer streams opened or accepted through it. */
export interface TurnTcpAllocationHandle {
  readonly relayedAddress: TransportAddress;
  readonly mappedAddress: TransportAddress | undefined;
  /** §5.3: peers may connect to the relayed address only with a permission for their IP. */
  createPermission(peerIp: string): Promise<void>;
  /** §4.3: the server connects to `peer`; resolves with the peer stream once bound, rejects with a TurnError (447: no connection). */
  connect(peer: TransportAddress): Promise<Socket>;
  /** §4.4: a peer connected to the relayed address and its data connection is bound. Without a handler the connection is refused (closed). */
  onconnection: ((stream: Socket, peer: TransportAddress) => void) | null;
  /** The allocation ended (the control connection closed, a refresh failed, or close()). */
  onclose: ((error?: TurnError) => void) | null;
  /** Deletes the allocation and closes the control connection (peer streams are the caller's to close). */
  close(): void;
}

export async function openTurnTcpAllocation(options: OpenTurnTcpAllocationOptions): Promise<TurnTcpAllocationHandle> {
  const transport = options.transport ?? 'tcp';
  const connectTimeoutMs = options.connectTimeoutMs ?? 10_000;
  const tls = transport === 'tls' ? (options.tls ?? {}) : undefined;
  const socket = await StreamSocket.connect({ host: options.server.address, port: options.server.port, tls: tls ?? false, connectTimeoutMs });
  const control = await openTcpAllocationControl(socket, { ...options, server: socket.remoteAddress }, connectTimeoutMs);
  const openData = (connectionId: number): Promise<Socket> =>
    bindDataConnection(options, transport, tls, connectTimeoutMs, new ConnectionBinder(control.credentials, connectionId));
  const handle: TurnTcpAllocationHandle = {
    relayedAddress: control.relayedAddress,
    mappedAddress: control.mappedAddress,
    onconnection: null,
    onclose: null,
    createPermission: (peerIp) => control.createPermission(peerIp),
    connect: async (peer) => openData(await control.connect(peer)),
    close: () => control.close(),
  };
  control.onattempt = (connectionId, peer) => {
    const accept = handle.onconnection;
    if (!accept) return; // §5.3: no ConnectionBind, so the server closes it after its timeout
    openData(connectionId).then(
      (stream) => accept(stream, peer),
      () => {},
    );
  };
  control.onclose = (error) => handle.onclose?.(error);
  return handle;
}

/**
 * §4.3/§4.4: a new connection to the same server (so a different local transport address), ConnectionBind
 * with the allocation's credentials, and once it succeeds the socket is the peer stream. Bytes that came
 * after the response are put back into the socket, so the caller reads them first.
 */
function bindDataConnection(
  options: OpenTurnTcpAllocationOptions,
  transport: 'tcp' | 'tls',
  tls: ConnectionOptions | undefined,
  timeoutMs: number,
  binder: ConnectionBinder,
): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const { address, port } = options.server;
    const socket: Socket = transport === 'tls' ? connectTls({ host: address, port, ...tls }) : connectTcp({ host: address, port });
    const fail = (err: Error): void => {
      clearTimeout(timer);
      socket.destroy();
      reject(err);
    };
    const timer = setTimeout(() => fail(new TurnError(408, 'no answer to the ConnectionBind', 'allocate', 'timeout')), timeoutMs);
    // Paused mode ('readable'), so that once bound the caller's first 'data' listener starts the flow and
    // the bytes that followed the response (unshifted back) come first.
    const onReadable = (): void => {
      for (let chunk = socket.read() as Buffer | null; chunk !== null; chunk = socket.read() as Buffer | null) {
        const progress = binder.receive(chunk);
        for (const bytes of progress.send) socket.write(bytes);
        if (progress.error) return fail(progress.error);
        if (progress.bound) {
          clearTimeout(timer);
          socket.removeListener('readable', onReadable);
          socket.removeListener('error', fail);
          socket.on('error', () => {}); // 'close' follows an error; the caller listens for what it wants
          // What came after the response goes back in front of what is still unread.
          if (progress.bound.rest.length > 0) socket.unshift(progress.bound.rest);
          resolve(socket);
          return;
        }
      }
    };
    socket.once('error', fail);
    socket.once(transport === 'tls' ? 'secureConnect' : 'connect', () => {
      socket.setNoDelay(true);
      socket.on('readable', onReadable);
      socket.write(binder.start());
    });
  });
}
