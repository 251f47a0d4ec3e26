// Runs a TurnServer engine over any DatagramSockets — simulated in tests, node:dgram in Node, bridge sockets
// elsewhere — answering its relay-socket requests (see turn-server.ts) with a socket factory.
import type { Clock } from '../net/clock.js';
import type { DatagramSocket } from '../net/datagram-socket.js';
import { EngineDriver } from '../net/driver.js';
import type { SocketId } from '../net/engine.js';
import type { AddressFamily, TransportAddress } from '../net/transport-address.js';
import type { TurnServer, TurnServerEvent } from './turn-server.js';
import type { TurnTcpRelayFactory, TurnTcpRelayHandler } from './turn-tcp-driver.js';

export interface RelaySocketRequest {
  readonly family: AddressFamily;
  /** EVEN-PORT (RFC 8656 §14.6): the socket's port must be even, or the allocation fails with 508. */
  readonly evenPort: boolean;
  /**
   * EVEN-PORT R=1 (RFC 8656 §7.2): also bind the port above the even one, on the same address, and
   * resolve with `{ socket, reserved }` (the engine holds `reserved` under a RESERVATION-TOKEN).
   */
  readonly reserveNext: boolean;
}

/** What openRelaySocket resolves with for a `reserveNext` request: port N (even) and port N+1. */
export interface RelaySocketPair {
  readonly socket: DatagramSocket;
  readonly reserved: DatagramSocket;
}

export interface RunTurnServerOptions {
  engine: TurnServer;
  /** The sockets clients reach the server on (STUN and TURN share them); attached as ids 0, 1, … */
  listen: readonly DatagramSocket[];
  /**
   * Opens one relay socket (a pair for `reserveNext`); a rejection makes the Allocate fail with 508. A dual
   * allocation (RFC 8656 §7.2 step 9) calls it once per family.
   */
  openRelaySocket: (request: RelaySocketRequest) => Promise<DatagramSocket | RelaySocketPair>;
  /** The relayed transport address clients are told for a socket. Default: its localAddress. */
  relayedAddress?: (socket: DatagramSocket) => TransportAddress;
  /** Default: the real clock. */
  clock?: Clock;
  /** Every engine event, after the runner has acted on it (for logs). */
  onEvent?: (event: TurnServerEvent) => void;
  /**
   * RFC 6062 TCP relays: listeners, peer connections and splices (Node: createNodeTcpRelay in
   * src/node/turn-tcp-relay.ts). Default: none, and a TCP Allocate then fails with 508.
   */
  tcpRelay?: TurnTcpRelayFactory;
}

export interface RunningTurnEngine {
  readonly engine: TurnServer;
  readonly driver: EngineDriver<TurnServerEvent>;
  /** Relay sockets currently open. */
  readonly relaySocketCount: number;
  /** Stream connections from clients (TCP, TLS) currently attached. */
  readonly clientSocketCount: number;
  /**
   * Attaches a client's stream connection (TCP or TLS, framed: one datagram per STUN/ChannelData message) under
   * a fresh id; its allocations live as long as it does (RFC 8656 §3.1), and it is detached when it closes.
   * After close(), the socket is closed at once.
   */
  attachClientSocket(socket: DatagramSocket, transport: 'tcp' | 'tls'): SocketId;
  /** Deletes every allocation, closes the relay sockets and client connections, detaches the listening ones (which it leaves open). */
  close(): void;
}

export function runTurnServer(options: RunTurnServerOptions): RunningTurnEngine {
  const { engine, listen, openRelaySocket } = options;
  const relayedAddress = options.relayedAddress ?? ((socket: DatagramSocket) => socket.localAddress);
  const onEvent = options.onEvent ?? (() => {});
  const relays = new Map<SocketId, DatagramSocket>();
  const clients = new Map<SocketId, DatagramSocket>();
  let nextRelayId = listen.length;
  let tcpRelay: TurnTcpRelayHandler | undefined;
  let closed = false;

  const closeRelay = (id: SocketId): void => {
    const socket = driver.detach(id);
    relays.delete(id);
    if (socket === undefined) return;
    socket.onclose = null;
    socket.close();
  };

  const attachRelay = (socket: DatagramSocket): { socket: SocketId; relayed: TransportAddress } => {
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
    return { socket: id, relayed: address };
  };

  const openOne = (request: RelaySocketRequest): Promise<DatagramSocket | RelaySocketPair> => {
    try {
      return openRelaySocket(request);
    } catch (err) {
      return Promise.reject(err);
    }
  };

  // One socket per family (two for a dual allocation), all or nothing: one answer for the whole request.
  const openRelay = (event: Extract<TurnServerEvent, { type: 'open-relay' }>): void => {
    const families = event.families.length > 0 ? event.families : [event.family];
    const openings = families.map((family) => openOne({ family, evenPort: event.evenPort, reserveNext: event.reserveNext && families.length === 1 }));
    void Promise.allSettled(openings).then((results) => {
      const opened: { socket: DatagramSocket; reserved?: DatagramSocket }[] = [];
      let failure: unknown;
      for (const result of results) {
        if (result.status === 'rejected') failure ??= result.reason ?? new Error('relay socket not opened');
        else opened.push(isPair(result.value) ? result.value : { socket: result.value });
      }
      if (closed || failure !== undefined) {
        for (const o of opened) {
          o.socket.close();
          o.reserved?.close();
        }
        if (closed) return;
        engine.relayFailed(event.requestId, failure instanceof Error ? failure.message : String(failure), driver.clock.now());
        driver.poll();
        return;
      }
      const [first, second] = opened.map((o) => attachRelay(o.socket));
      const reserved = opened[0].reserved === undefined ? undefined : attachRelay(opened[0].reserved);
      engine.relayOpened(event.requestId, first.socket, first.relayed, driver.clock.now(), reserved, second);
      driver.poll();
    });
  };

  const driver: EngineDriver<TurnServerEvent> = new EngineDriver<TurnServerEvent>(engine, {
    clock: options.clock,
    onEvent: (event) => {
      if (tcpRelay?.handleEvent(event) === true) {
        // RFC 6062: its events, and close-relay for its listeners (turn-tcp-driver.ts)
      } else if (event.type === 'open-tcp-relay') {
        engine.relayFailed(event.requestId, 'TCP relays are not available', driver.clock.now());
        driver.poll();
      } else if (event.type === 'open-relay') openRelay(event);
      else if (event.type === 'close-relay') closeRelay(event.socket);
      onEvent(event);
    },
  });
  listen.forEach((socket, i) => driver.attach(i, socket));
  tcpRelay = options.tcpRelay?.({ engine, driver, nextSocketId: () => nextRelayId++ });
  driver.poll();

  return {
    engine,
    driver,
    get relaySocketCount() {
      return relays.size;
    },
    get clientSocketCount() {
      return clients.size;
    },
    attachClientSocket(socket, transport) {
      // Relay and client sockets share one id counter: the engine tells them apart by id.
      const id = nextRelayId++;
      if (closed) {
        socket.close();
        return id;
      }
      clients.set(id, socket);
      driver.attach(id, socket);
      socket.onclose = () => {
        clients.delete(id);
        driver.detach(id);
        engine.clientSocketClosed(id, driver.clock.now());
        driver.poll();
      };
      engine.clientSocketOpened(id, transport, driver.clock.now());
      driver.poll();
      return id;
    },
    close() {
      if (closed) return;
      engine.close();
      driver.poll(); // delivers the close-relay events
      tcpRelay?.close();
      closed = true;
      for (const id of [...relays.keys()]) closeRelay(id);
      for (const [id, socket] of [...clients]) {
        clients.delete(id);
        driver.detach(id);
        socket.onclose = null;
        socket.close();
      }
      driver.close();
    },
  };
}

function isPair(value: DatagramSocket | RelaySocketPair): value is RelaySocketPair {
  return 'reserved' in value && 'socket' in value && typeof (value as RelaySocketPair).reserved === 'object';
}
