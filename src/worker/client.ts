// The page's side: starts the icebridge Worker by itself and drives it through comlink. Every method has
// the name it has inside the Worker (connectBridge, resolve, stunBinding, discoverNat, allocateTurn,
// createIceAgent); errors come back as the same typed classes (BridgeError, TurnError, StunBindingError,
// IceCandidateError, NatDiscoveryError).
import { proxy, wrap, type Remote } from 'comlink';
import type { BridgeError } from '../net/bridge-client.js';
import type { BridgeCarrierKind } from '../net/bridge-carrier.js';
import type { TransportAddress } from '../net/transport-address.js';
import type { StunBindingResult } from '../stun/binding.js';
import { WorkerIceAgent } from './client-agent.js';
import { WorkerBridgeSocket, WorkerRelaySocket } from './client-sockets.js';
import { deserializeError, isSerializedError } from './errors.js';
import type { BridgeConfig, CloseListener, ConnectionInfo, IceAgentConfig, NatDiscoveryConfig, NatDiscoveryResult, StunBindingConfig, TurnAllocationConfig, WorkerApi } from './protocol.js';
import type { AddressFamily } from '../net/transport-address.js';
import type { BridgeLimits, ResolvedAddress } from '../net/bridge-frame.js';

export interface IcebridgeWorkerOptions {
  /** A Worker already running icebridge's `worker.js`, for apps that construct it themselves (CSP, bundlers). */
  worker?: Worker;
  /** Fail every call when the Worker has not answered within this long of starting. Default 10 000 ms. */
  startTimeoutMs?: number;
}

/** The Worker could not be started (its script did not load), did not answer, or was terminated. */
export class IcebridgeWorkerError extends Error {
  override readonly name = 'IcebridgeWorkerError';
  constructor(
    readonly code: 'start-failed' | 'start-timeout' | 'terminated',
    message: string,
  ) {
    super(message);
  }
}

let shared: IcebridgeWorker | undefined;

export class IcebridgeWorker {
  readonly worker: Worker;
  private readonly api: Remote<WorkerApi>;
  private readonly ready: Promise<void>;
  /** Once up, calls go out synchronously: bytes are transferred before send() returns, and order is kept. */
  private up = false;
  /** Rejects when the Worker is unusable; raced against every call so none waits forever. */
  private readonly dead: Promise<never>;
  private kill!: (error: IcebridgeWorkerError) => void;

  constructor(options: IcebridgeWorkerOptions = {}) {
    // Written out literally so bundlers (and esbuild's dist layout) find the Worker script next to this file.
    this.worker = options.worker ?? new Worker(new URL('./worker.js', import.meta.url), { type: 'module', name: 'icebridge' });
    this.api = wrap<WorkerApi>(this.worker);
    this.dead = new Promise<never>((_, reject) => (this.kill = reject));
    this.dead.catch(() => {});
    let started = false;
    // A script that fails to load fires 'error' on the Worker and nothing else: comlink calls would hang.
    this.worker.addEventListener('error', (e) => {
      if (!started) this.kill(new IcebridgeWorkerError('start-failed', `the icebridge Worker did not start: ${(e as ErrorEvent).message || 'its script did not load'}`));
    });
    const ms = options.startTimeoutMs ?? 10_000;
    const timer = setTimeout(() => this.kill(new IcebridgeWorkerError('start-timeout', `the icebridge Worker did not answer within ${ms} ms`)), ms);
    this.ready = Promise.race([this.api.ping(), this.dead]).then(() => {
      started = this.up = true;
      clearTimeout(timer);
    });
    this.ready.catch(() => clearTimeout(timer));
  }

  /** One Worker per page, started on first use, shared by the module-level functions of `icebridge/worker`. */
  static shared(): IcebridgeWorker {
    return (shared ??= new IcebridgeWorker());
  }

  /** Opens a bridge session in the Worker; rejects with a BridgeError when the bridge refuses (bad token: 4001). */
  async connectBridge(bridge: BridgeConfig): Promise<WorkerBridgeConnection> {
    const connection = new WorkerBridgeConnection(this);
    const info = await this.call((api) => api.connect(bridge, proxy<CloseListener>((e) => connection.closedBy(e && (deserializeError(e) as BridgeError)))));
    connection.opened(info);
    return connection;
  }

  /** Resolves `name` on the bridge host (A and AAAA unless `families` says), on a bridge connection of its own. */
  async resolve(name: string, options: { bridge: BridgeConfig; families?: AddressFamily[] }): Promise<ResolvedAddress[]> {
    const connection = await this.connectBridge(options.bridge);
    try {
      return await connection.resolve(name, options);
    } finally {
      connection.close();
    }
  }

  /** One Binding request through the bridge: the bridge host's address as `server` sees it. */
  async stunBinding(server: string | TransportAddress, options: StunBindingConfig & { bridge: BridgeConfig }): Promise<StunBindingResult> {
    const connection = await this.connectBridge(options.bridge);
    try {
      return await connection.stunBinding(server, options);
    } finally {
      connection.close();
    }
  }

  /**
   * RFC 5780 NAT behaviour discovery for the bridge host's UDP against `server` (a `stun:` URI or `host:port`
   * of an RFC 5780 server), on a bridge connection of its own. Rejects with an Error named
   * 'NatDiscoveryError' whose `code` says why (`NO_RFC5780`: the server has no second address and port).
   */
  async discoverNat(server: string | TransportAddress, options: NatDiscoveryConfig & { bridge: BridgeConfig }): Promise<NatDiscoveryResult> {
    const connection = await this.connectBridge(options.bridge);
    try {
      return await connection.discoverNat(server, options);
    } finally {
      connection.close();
    }
  }

  /** A TURN allocation through the bridge on a connection of its own, closed with the relay. */
  async allocateTurn(server: string | TransportAddress, options: TurnAllocationConfig & { bridge: BridgeConfig }): Promise<WorkerRelaySocket> {
    const connection = await this.connectBridge(options.bridge);
    try {
      const relay = await connection.allocateTurn(server, options);
      relay.owns(connection);
      return relay;
    } catch (err) {
      connection.close();
      throw err;
    }
  }

  /** An IceAgent in the Worker on a bridge connection of its own (`config.bridge`), closed with the agent. */
  createIceAgent(config: IceAgentConfig): Promise<WorkerIceAgent> {
    if (config.bridge === undefined) return Promise.reject(new TypeError('createIceAgent needs config.bridge'));
    return WorkerIceAgent.create(this, config);
  }

  /** Stops the Worker and everything in it; calls still waiting reject with IcebridgeWorkerError 'terminated'. */
  terminate(): void {
    this.kill(new IcebridgeWorkerError('terminated', 'the icebridge Worker was terminated'));
    this.worker.terminate();
    if (shared === this) shared = undefined;
  }

  /** @internal A call into the Worker: waits for it to be up, rebuilds typed errors, never hangs on a dead Worker. */
  call<T>(body: (api: Remote<WorkerApi>) => Promise<T>): Promise<T> {
    const settle = (reply: Promise<T>) =>
      Promise.race([reply, this.dead]).catch((err: unknown) => {
        throw isSerializedError(err) ? deserializeError(err) : err;
      });
    if (this.up) return settle(body(this.api));
    return this.ready.then(() => settle(body(this.api)));
  }

  /** @internal A call whose answer nobody waits for (send, close); its failure is dropped. */
  post(body: (api: Remote<WorkerApi>) => Promise<unknown>): void {
    this.call(body).catch(() => {});
  }
}

/** A bridge session held in the Worker: several sockets, bindings, relays and agents share its carrier. */
export class WorkerBridgeConnection {
  /** Called once if the session ends without close() (bridge shut down, idle timeout, …). */
  onclose: ((error: BridgeError | undefined) => void) | null = null;
  limits: BridgeLimits | undefined;
  /** Which carrier the session runs on: 'webtransport' or 'websocket'. */
  carrier: BridgeCarrierKind = 'websocket';
  /** In `auto`, why WebTransport was not used (BridgeError `handshake-failed`, `timeout`, `not-supported`, …). */
  fallbackReason: BridgeError | undefined;
  private id = 0;
  private ended = false;

  /** @internal made by IcebridgeWorker.connectBridge(). */
  constructor(readonly owner: IcebridgeWorker) {}

  get closed(): boolean {
    return this.ended;
  }

  /** A UDP socket on the bridge host, as a DatagramSocket-shaped proxy. */
  bind(options: { family?: AddressFamily; port?: number } = {}): Promise<WorkerBridgeSocket> {
    return WorkerBridgeSocket.open(this.owner, this.id, options);
  }

  /**
   * Resolves `name` on the bridge host, as the bridge's sockets and streams would reach it (an IP literal
   * answers itself). Rejects with BridgeError: `name-not-found`, `destination-denied` (the bridge's policy
   * refused every answer), `resolve-timeout`, `rate-limited`, `not-supported`, …
   */
  resolve(name: string, options: { families?: AddressFamily[] } = {}): Promise<ResolvedAddress[]> {
    const { families } = options;
    return this.owner.call((api) => api.resolve(this.id, name, families));
  }

  /** One Binding request (UDP, or TLS for `stuns:`); a server name resolves on the bridge. */
  stunBinding(server: string | TransportAddress, options: StunBindingConfig = {}): Promise<StunBindingResult> {
    const { timeoutMs, rtoMs } = options;
    return this.owner.call((api) => api.stunBinding(this.id, server, { timeoutMs, rtoMs }));
  }

  /** RFC 5780 NAT behaviour discovery from sockets of this session (see IcebridgeWorker.discoverNat). */
  discoverNat(server: string | TransportAddress, options: NatDiscoveryConfig = {}): Promise<NatDiscoveryResult> {
    const { timeoutMs, rtoMs, hairpinning } = options;
    return this.owner.call((api) => api.discoverNat(this.id, server, { timeoutMs, rtoMs, hairpinning }));
  }

  /** A TURN allocation over UDP, or a bridge stream for `turn:…?transport=tcp` and `turns:`; a name resolves on the bridge. */
  allocateTurn(server: string | TransportAddress, options: TurnAllocationConfig): Promise<WorkerRelaySocket> {
    const { username, credential, family, lifetimeSeconds, timeoutMs } = options;
    return WorkerRelaySocket.allocate(this.owner, this.id, server, { username, credential, family, lifetimeSeconds, timeoutMs });
  }

  /** An IceAgent whose host sockets are opened on this connection (`config.bridge` is ignored). */
  createIceAgent(config: Omit<IceAgentConfig, 'bridge'> = {}): Promise<WorkerIceAgent> {
    return WorkerIceAgent.create(this.owner, config, this.id);
  }

  /** Closes the session and with it every socket, relay and agent on it. */
  close(): void {
    if (this.ended) return;
    this.ended = true;
    this.owner.post((api) => api.closeConnection(this.id));
  }

  /** @internal */
  opened(info: ConnectionInfo): void {
    this.id = info.id;
    this.limits = info.limits;
    this.carrier = info.carrier;
    this.fallbackReason = info.fallbackReason && (deserializeError(info.fallbackReason) as BridgeError);
  }

  /** @internal the bridge ended the session. */
  closedBy(error: BridgeError | undefined): void {
    if (this.ended) return;
    this.ended = true;
    this.onclose?.(error);
  }
}
