// The control connection of an RFC 6062 TCP allocation, for every runtime: the sans-I/O TurnTcpAllocation
// driven over a framed stream to the TURN server (RFC 8489 §6.2.2), with the Allocate, permissions (§5.3)
// and Connects (§4.3) as promises and CONNECTION-ATTEMPTs (§4.4) as a callback. How a data connection is
// opened and ConnectionBound is the runtime's (tcp-allocation-streams.ts over any ByteStream; Node's own
// sockets in node/turn-tcp-client.ts).
import type { DatagramSocket } from '../net/datagram-socket.js';
import { EngineDriver } from '../net/driver.js';
import type { TransportAddress } from '../net/transport-address.js';
import { TurnError } from './errors.js';
import type { LongTermCredentials } from './credentials.js';
import { TurnTcpAllocation, type TurnTcpAllocationEvent, type TurnTcpAllocationOptions } from './tcp-allocation.js';

export interface TcpAllocationControl {
  readonly relayedAddress: TransportAddress;
  readonly mappedAddress: TransportAddress | undefined;
  /** What a data connection's ConnectionBind is signed with (the allocation's long-term credentials). */
  readonly credentials: LongTermCredentials;
  readonly ended: boolean;
  /** §5.3: a peer may connect to the relayed address only with a permission for its IP. */
  createPermission(peerIp: string): Promise<void>;
  /** §4.3: the server connects to `peer`; resolves with the CONNECTION-ID to bind, rejects with a TurnError (447: no connection). */
  connect(peer: TransportAddress): Promise<number>;
  /** §4.4: a peer connected to the relayed address; its connection waits for a ConnectionBind with `connectionId`. */
  onattempt: ((connectionId: number, peer: TransportAddress) => void) | null;
  /** The allocation ended (the control connection closed, a refresh failed, or close()). */
  onclose: ((error?: TurnError) => void) | null;
  /** Deletes the allocation (a Refresh with LIFETIME 0) and closes the control connection. */
  close(): void;
}

type Waiter<T> = { resolve: (value: T) => void; reject: (err: Error) => void };

/** Resolves once the allocation is made; rejects with a TurnError (its code: 401, 437, 486, 408 for no answer). */
export async function openTcpAllocationControl(control: DatagramSocket, options: TurnTcpAllocationOptions, timeoutMs: number): Promise<TcpAllocationControl> {
  const engine = new TurnTcpAllocation(options);
  const connects = new Map<string, Waiter<number>>();
  const permissions = new Map<string, Waiter<void>[]>();
  let settle: ((error?: TurnError) => void) | undefined;
  let addresses: { relayed: TransportAddress; mapped: TransportAddress | undefined } | undefined;
  let allocation: TcpAllocationControl | undefined;
  let ended = false;

  const end = (error?: TurnError): void => {
    if (ended) return;
    ended = true;
    const reason = error ?? new TurnError(0, 'the TCP allocation closed', 'allocate', 'closed');
    settle?.(reason);
    for (const w of connects.values()) w.reject(reason);
    for (const list of permissions.values()) for (const w of list) w.reject(reason);
    connects.clear();
    permissions.clear();
    control.onclose = null;
    driver.poll(); // the deallocating Refresh, if any, goes out before the connection closes
    driver.close();
    control.close();
    allocation?.onclose?.(error);
  };
  const onEvent = (event: TurnTcpAllocationEvent): void => {
    switch (event.type) {
      case 'allocated':
        addresses = { relayed: event.relayed, mapped: event.mapped };
        settle?.();
        break;
      case 'connect': {
        const key = peerKey(event.peer);
        const waiter = connects.get(key);
        connects.delete(key);
        // The engine gives a connection id or an error, never neither.
        if (event.connectionId !== undefined) waiter?.resolve(event.connectionId);
        else waiter?.reject(event.error ?? new TurnError(500, 'Connect failed', 'connect', 'protocol'));
        break;
      }
      case 'permission': {
        const waiters = permissions.get(event.peer) ?? [];
        permissions.delete(event.peer);
        for (const w of waiters) if (event.error) w.reject(event.error);
        else w.resolve();
        break;
      }
      case 'connection-attempt':
        // §5.3: without a ConnectionBind the server closes the peer's connection after its timeout.
        allocation?.onattempt?.(event.connectionId, event.peer);
        break;
      case 'closed':
        end(event.error);
        break;
    }
  };
  const driver = new EngineDriver(engine, { onEvent });
  driver.attach(0, control);
  control.onclose = () => {
    engine.close(driver.clock.now());
    end(new TurnError(0, 'the control connection closed', 'allocate', 'closed'));
  };

  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      settle = undefined;
      reject(new TurnError(408, 'no answer to the Allocate', 'allocate', 'timeout'));
      end();
    }, timeoutMs);
    settle = (error) => {
      clearTimeout(timer);
      settle = undefined;
      if (error) reject(error);
      else resolve();
    };
    engine.allocate(driver.clock.now());
    driver.poll();
  });

  const closedError = (operation: 'permission' | 'connect') => new TurnError(0, 'the TCP allocation is closed', operation, 'closed');
  allocation = {
    relayedAddress: addresses!.relayed,
    mappedAddress: addresses!.mapped,
    credentials: engine.credentials,
    get ended() {
      return ended;
    },
    onattempt: null,
    onclose: null,
    createPermission(peerIp) {
      if (ended) return Promise.reject(closedError('permission'));
      return new Promise<void>((resolve, reject) => {
        const list = permissions.get(peerIp) ?? [];
        list.push({ resolve, reject });
        permissions.set(peerIp, list);
        engine.createPermission(peerIp, driver.clock.now());
        driver.poll();
      });
    },
    connect(peer) {
      if (ended) return Promise.reject(closedError('connect'));
      const key = peerKey(peer);
      if (connects.has(key)) return Promise.reject(new TurnError(446, 'a Connect to this peer is in progress', 'connect', 'limit'));
      return new Promise<number>((resolve, reject) => {
        connects.set(key, { resolve, reject });
        engine.connect(peer, driver.clock.now());
        driver.poll();
      });
    },
    close() {
      if (ended) return;
      engine.close(driver.clock.now());
      end();
    },
  };
  return allocation;
}

function peerKey(peer: TransportAddress): string {
  return `${peer.address}|${peer.port}`;
}
