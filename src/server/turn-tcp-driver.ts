// How the TURN server runner hands RFC 6062 work to a TCP relay driver (Node's: src/node/turn-tcp-relay.ts):
// the runner passes every engine event on, and the driver answers through `host.engine` (relayOpened,
// engine.tcp.*) and `host.driver.poll()`. The event protocol itself is described in turn-tcp-events.ts.
import type { EngineDriver } from '../net/driver.js';
import type { SocketId } from '../net/engine.js';
import type { TurnServer } from './turn-server.js';
import type { TurnServerEvent } from './turn-server-events.js';

export interface TurnTcpRelayHost {
  readonly engine: TurnServer;
  /** The runner's driver: `socket(id)` is a client connection (a data connection to splice), `poll()` after calling the engine. */
  readonly driver: EngineDriver<TurnServerEvent>;
  /** A socket id not used by anything else (the runner's relay-socket counter), for a TCP listener. */
  nextSocketId(): SocketId;
}

export interface TurnTcpRelayHandler {
  /** Acts on an RFC 6062 event, or on a close-relay for a listener it owns, and returns true; false for anything else. */
  handleEvent(event: TurnServerEvent): boolean;
  /** Closes every listener and connection left (the runner is closing). */
  close(): void;
}

export type TurnTcpRelayFactory = (host: TurnTcpRelayHost) => TurnTcpRelayHandler;
