// Runs a TurnServer engine over any DatagramSockets — simulated in tests, node:dgram in Node, bridge sockets
// elsewhere — answering its relay-socket requests (see turn-server.ts) with a socket factory.
import type { Clock } from '../net/clock.js';
import type { DatagramSocket } from '../net/datagram-socket.js';
import { EngineDriver } from '../net/driver.js';
import type { SocketId } from '../net/engine.js';
import type { AddressFamily, TransportAddress } from '../net/transport-address.js';
import type { TurnServer, TurnServerEvent } from './turn-server.js';

export interface RelaySocketRequest {
  readonly family: AddressFamily;
  /** EVEN-PORT (RFC 8656 §14.6): the socket's port must be even, or the allocation fails with 508. */
  readonly evenPort: boolean;
}

export interface RunTurnServerOptions {
  engine: TurnServer;
  /** The sockets clients reach the server on (STUN and TURN share them); attached as ids 0, 1, … */
  listen: readonly DatagramSocket[];
  /** Opens one relay socket; a rejection makes the Allocate fail with 508. */
  openRelaySocket: (request: RelaySocketRequest) => Promise<DatagramSocket>;
  /** The relayed transport address clients are told for a socket. Default: its localAddress. */
  relayedAddress?: (socket: DatagramSocket) => TransportAddress;
  /** Default: the real clock. */
  clock?: Clock;
  /** Every engine event, after the runner has acted on it (for logs). */
  onEvent?: (event: TurnServerEvent) => void;
}

export interface RunningTurnEngine {
  readonly engine: TurnServer;
  readonly driver: EngineDriver<TurnServerEvent>;
  /** Relay sockets currently open. */
  readonly relaySocketCount: number;
  /** Deletes every allocation, closes the relay sockets and detaches the listening ones (which it leaves open). */
  close(): void;
}

export function runTurnServer(options: RunTurnServerOptions): RunningTurnEngine {
  const { engine, listen, openRelaySocket } = options;
  const relayedAddress = options.relayedAddress ?? ((socket: DatagramSocket) => socket.localAddress);
  const onEvent = options.onEvent ?? (() => {});
  const relays = new Map<SocketId, DatagramSocket>();
  let nextRelayId = listen.length;
  let closed = false;

  const closeRelay = (id: SocketId): void => {
    const socket = driver.detach(id);
    relays.delete(id);
    if (socket === undefined) return;
    socket.onclose = null;
    socket.close();
  };

  const openRelay = (requestId: number, request: RelaySocketRequest): void => {
    let opening: Promise<DatagramSocket>;
    try {
      opening = openRelaySocket(request);
    } catch (err) {
      opening = Promise.reject(err);
    }
    opening.then(
      (socket) => {
        if (closed) {
          socket.close();
          return;
        }
        const id = nextRelayId++;
        relays.set(id, socket);
        driver.attach(id, socket);
        socket.onclose = () => {
          relays.delete(id);
          driver.detach(id);
          engine.relayClosed(id, driver.clock.now());
          driver.poll();
        };
        let address: TransportAddress;
        try {
          address = relayedAddress(socket);
        } catch {
          address = socket.localAddress;
        }
        engine.relayOpened(requestId, id, address, driver.clock.now());
        driver.poll();
      },
      (err: unknown) => {
        if (closed) return;
        engine.relayFailed(requestId, err instanceof Error ? err.message : String(err), driver.clock.now());
        driver.poll();
      },
    );
  };

  const driver: EngineDriver<TurnServerEvent> = new EngineDriver<TurnServerEvent>(engine, {
    clock: options.clock,
    onEvent: (event) => {
      if (event.type === 'open-relay') openRelay(event.requestId, event);
      else if (event.type === 'close-relay') closeRelay(event.socket);
      onEvent(event);
    },
  });
  listen.forEach((socket, i) => driver.attach(i, socket));
  driver.poll();

  return {
    engine,
    driver,
    get relaySocketCount() {
      return relays.size;
    },
    close() {
      if (closed) return;
      engine.close();
      driver.poll(); // delivers the close-relay events
      closed = true;
      for (const id of [...relays.keys()]) closeRelay(id);
      driver.close();
    },
  };
}
