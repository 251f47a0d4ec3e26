// The module Worker: exposes IcebridgeService to the page with comlink. What it adds to the service is only
// the boundary: listeners are comlink proxies, received bytes are transferred (not cloned), errors are sent
// as SerializedError, and a call answers only after the events it caused have reached the page.
import { expose, releaseProxy, transfer, type Remote } from 'comlink';
import type { TransportAddress } from '../net/transport-address.js';
import { serializeError } from './errors.js';
import type { AgentEventMessage, AgentListener, CloseListener, DatagramListener, WorkerApi } from './protocol.js';
import { IcebridgeService } from './service.js';

/** An own, exact-size copy to transfer: received bytes are views into a larger WebSocket frame. */
function owned(bytes: Uint8Array): Uint8Array {
  return bytes.slice();
}

/**
 * Deliveries to the page in flight. Proxied listeners use their own MessagePorts, which are not ordered
 * with the call replies; waiting for these before replying keeps "gather() resolved after its
 * icecandidate events" true in the page.
 */
const inFlight = new Set<Promise<unknown>>();

function deliver(call: () => Promise<unknown>): void {
  const p = call().catch(() => {}); // a listener that throws, or a page that went away: nothing to do here
  inFlight.add(p);
  void p.finally(() => inFlight.delete(p));
}

/** Waits for what was sent so far (not for later traffic, which could go on for ever). */
async function delivered(): Promise<void> {
  if (inFlight.size > 0) await Promise.all([...inFlight]);
}

function datagramsTo(listener: Remote<DatagramListener>): (bytes: Uint8Array, from: TransportAddress) => void {
  return (bytes, from) => {
    const copy = owned(bytes);
    deliver(() => listener(transfer(copy, [copy.buffer]), { address: from.address, port: from.port }));
  };
}

function closesTo(listener: Remote<CloseListener> | undefined, alsoRelease: Remote<object>[] = []): (error: Error | undefined) => void {
  return (error) => {
    if (listener) deliver(() => listener(error === undefined ? undefined : serializeError(error)));
    releaseAfterDelivery(listener ? [listener, ...alsoRelease] : alsoRelease);
  };
}

function eventsTo(listener: Remote<AgentListener>): (event: AgentEventMessage) => void {
  return (event) => {
    if (event.data) {
      const data = owned(event.data);
      deliver(() => listener(transfer({ ...event, data }, [data.buffer])));
    } else {
      deliver(() => listener(event));
    }
    // A closed agent sends nothing more, however it was closed (by the page, or with its bridge).
    if (event.type === 'statechange' && event.state === 'closed') releaseAfterDelivery([listener]);
  };
}

const service = new IcebridgeService();
/** Listener proxies by object (`c1`, `s2`, `r3`, `a4`), released when the page closes the object. */
const proxies = new Map<string, Remote<object>[]>();
const released = new WeakSet<object>();

/** Lets go of proxies once what was sent through them has arrived (a released proxy cannot be called). */
function releaseAfterDelivery(list: Remote<object>[]): void {
  void delivered().then(() => {
    for (const p of list) {
      if (released.has(p)) continue;
      released.add(p);
      p[releaseProxy]();
    }
  });
}

function release(key: string): void {
  const list = proxies.get(key);
  proxies.delete(key);
  if (list) releaseAfterDelivery(list);
}

/** Runs a service call; replies after the events it caused, throws a SerializedError when it fails. */
async function run<T>(call: () => T | Promise<T>): Promise<T> {
  let result: T;
  try {
    result = await call();
  } catch (err) {
    await delivered();
    throw serializeError(err);
  }
  await delivered();
  return result;
}

/** What comlink hands the Worker for a listener argument: a proxy whose calls return promises. */
type Proxied<T> = T extends (...args: never[]) => unknown ? Remote<T> : T;
type ProxiedArgs<A extends unknown[]> = { [I in keyof A]: Proxied<A[I]> };
type WorkerSide = { [K in keyof WorkerApi]: (...args: ProxiedArgs<Parameters<WorkerApi[K]>>) => ReturnType<WorkerApi[K]> };

const api: WorkerSide = {
  ping: async () => 'icebridge',
  connect: (bridge, onclose?: Remote<CloseListener>) =>
    run(async () => {
      const info = await service.connect(bridge, closesTo(onclose));
      if (onclose) proxies.set(`c${info.id}`, [onclose]);
      return info;
    }),
  closeConnection: (id) => run(() => (service.closeConnection(id), release(`c${id}`))),
  bindSocket: (connection, options, ondatagram: Remote<DatagramListener>, onclose?: Remote<CloseListener>) =>
    run(async () => {
      const info = await service.bindSocket(connection, options, datagramsTo(ondatagram), closesTo(onclose, [ondatagram]));
      proxies.set(`s${info.id}`, onclose ? [ondatagram, onclose] : [ondatagram]);
      return info;
    }),
  socketSend: (id, bytes, to) => run(() => service.socketSend(id, bytes, to)),
  closeSocket: (id) => run(() => (service.closeSocket(id), release(`s${id}`))),
  resolve: (connection, name, families) => run(() => service.resolve(connection, name, families)),
  stunBinding: (connection, server, options) => run(() => service.stunBinding(connection, server, options)),
  discoverNat: (connection, server, options) => run(() => service.discoverNat(connection, server, options)),
  allocateTurn: (connection, server, options, ondatagram: Remote<DatagramListener>, onclose?: Remote<CloseListener>) =>
    run(async () => {
      const info = await service.allocateTurn(connection, server, options, datagramsTo(ondatagram), closesTo(onclose, [ondatagram]));
      proxies.set(`r${info.id}`, onclose ? [ondatagram, onclose] : [ondatagram]);
      return info;
    }),
  relaySend: (id, bytes, to) => run(() => service.relaySend(id, bytes, to)),
  relayCreatePermission: (id, peer) => run(() => service.relayCreatePermission(id, peer)),
  relayBindChannel: (id, peer) => run(() => service.relayBindChannel(id, peer)),
  closeRelay: (id) => run(() => (service.closeRelay(id), release(`r${id}`))),
  createAgent: (config, listener: Remote<AgentListener>, connection?: number) =>
    run(async () => {
      const info = await service.createAgent(config, eventsTo(listener), connection);
      proxies.set(`a${info.id}`, [listener]);
      return info;
    }),
  agentGather: (id) => run(() => service.agentGather(id)),
  agentSetRemoteParameters: (id, parameters) => run(() => service.agentSetRemoteParameters(id, parameters)),
  agentAddRemoteCandidate: (id, candidate) => run(() => service.agentAddRemoteCandidate(id, candidate)),
  agentSend: (id, data) => run(() => service.agentSend(id, data)),
  agentRestart: (id) => run(() => service.agentRestart(id)),
  agentGetStats: (id) => run(() => service.agentGetStats(id)),
  agentGetSelectedCandidatePair: (id) => run(() => service.agentGetSelectedCandidatePair(id)),
  agentClose: (id) => run(() => (service.agentClose(id), release(`a${id}`))),
  close: () =>
    run(() => {
      service.close();
      for (const key of [...proxies.keys()]) release(key);
    }),
};

expose(api);
