// The page's side: starts the icebridge Worker by itself and drives it through comlink. Every method has
// the name it has inside the Worker (connectBridge, resolve, stunBinding, discoverNat, allocateTurn,
// createIceAgent); errors come back as the same typed classes (BridgeError, TurnError, StunBindingError,
// IceCandidateError, NatDiscoveryError).
import { proxy, wrap, type Remote } from 'comlink';
import { BridgeError } from '../net/bridge-error.js';
import type { BridgeCarrierKind } from '../net/bridge-carrier.js';
import type { TransportAddress } from '../net/transport-address.js';
import type { StunBindingResult } from '../stun/binding.js';
import { WorkerIceAgent } from './client-agent.js';
import { WorkerBridgeSocket, WorkerRelaySocket } from './client-sockets.js';
import { deserializeError, IcebridgeWorkerError, isSerializedError } from './errors.js';
import { firstAttempt, inlineAttempt, startFailure, type WorkerAttempt } from './worker-start.js';
import { checkBridgeConfig, type BridgeConfig, type CloseListener, type ConnectionInfo, type IceAgentConfig, type NatDiscoveryConfig, type NatDiscoveryResult, type StunBindingConfig, type TurnAllocationConfig, type WorkerApi } from './protocol.js';
import type { AddressFamily } from '../net/transport-address.js';
import type { BridgeLimits, ResolvedAddress } from '../net/bridge-frame.js';
import { checkMilliseconds, checkOptionsObject } from '../net/option-checks.js';

export interface IcebridgeWorkerOptions {
  /** A Worker already running icebridge's `worker.js`, for apps that construct it themselves (CSP, bundlers). */
  worker?: Worker;
  /**
   * Where icebridge's Worker script (`icebridge/worker.js`) is served, when the app serves it itself. Another
   * origin is fine (it is imported by a same-origin blob: module; its server must send CORS headers).
   * Default: found by itself (next to this module, as the app's bundler emitted it, or the inline copy).
   */
  workerUrl?: string | URL;
  /** Fail every call when the Worker has not answered within this long of starting. Default 10 000 ms. */
  startTimeoutMs?: number;
}

export { IcebridgeWorkerError, type IcebridgeWorkerErrorCode } from './errors.js';

let shared: IcebridgeWorker | undefined;

export class IcebridgeWorker {
  private current: Worker | undefined;
  private api: Remote<WorkerApi> | undefined;
  private readonly ready: Promise<void>;
  /** Once up, calls go out synchronously: bytes are transferred before send() returns, and order is kept. */
  private up = false;
  private ended = false;
  /** Rejects when the Worker is unusable; raced against every call so none waits forever. */
  private readonly dead: Promise<never>;
  private kill!: (error: IcebridgeWorkerError) => void;
  /** What lives in the Worker and ends with it: agents, bridge sessions, sockets (told by terminate()). */
  private readonly residents = new Set<WorkerResident>();

  /**
   * Starts the Worker (see worker-start.ts for where its script is found). Throws IcebridgeWorkerError
   * `unsupported-runtime` where there is no Web Worker (Node: use `icebridge/node`) and `invalid-worker-url`,
   * and a TypeError or RangeError for options of the wrong shape; every other failure to start rejects the
   * calls with an IcebridgeWorkerError saying what was tried.
   */
  constructor(options: IcebridgeWorkerOptions = {}) {
    checkOptionsObject('IcebridgeWorker', options, '{ workerUrl?, worker?, startTimeoutMs? }');
    checkMilliseconds('startTimeoutMs', options.startTimeoutMs);
    const first = firstAttempt(options);
    this.current = first?.worker;
    this.dead = new Promise<never>((_, reject) => (this.kill = reject));
    this.dead.catch(() => {});
    const ms = options.startTimeoutMs ?? 10_000;
    const timer = setTimeout(() => this.kill(new IcebridgeWorkerError('start-timeout', `the icebridge Worker did not answer within ${ms} ms`)), ms);
    this.ready = Promise.race([this.start(first), this.dead]).then(() => {
      this.up = true;
      clearTimeout(timer);
    });
    this.ready.catch((err: unknown) => {
      clearTimeout(timer);
      this.ended = true;
      if (err instanceof IcebridgeWorkerError) this.kill(err);
      this.current?.terminate();
    });
  }

  /** The Worker icebridge runs in; undefined while its inline copy is being loaded. */
  get worker(): Worker | undefined {
    return this.current;
  }

  /** The first script, then (if it failed before answering and the app did not choose it) the inline copy. */
  private async start(first: WorkerAttempt | undefined): Promise<void> {
    let failure: IcebridgeWorkerError | undefined;
    if (first) {
      try {
        return await this.attempt(first);
      } catch (err) {
        if (!first.fallback || !(err instanceof IcebridgeWorkerError) || this.ended) throw err;
        failure = err;
      }
    }
    const inline = await inlineAttempt(failure);
    if (this.ended) {
      inline.worker.terminate();
      throw new IcebridgeWorkerError('terminated', 'the icebridge Worker was terminated');
    }
    this.current = inline.worker;
    try {
      await this.attempt(inline);
    } catch (err) {
      throw err instanceof IcebridgeWorkerError && failure ? startFailure(inline, err.message, failure) : err;
    }
  }

  /** Resolves when the Worker answers a ping; rejects if it fires 'error' first (its script did not load). */
  private attempt(attempt: WorkerAttempt): Promise<void> {
    const { worker } = attempt;
    const api = wrap<WorkerApi>(worker);
    return new Promise<void>((resolve, reject) => {
      // A script that fails to load fires 'error' on the Worker and nothing else: comlink calls would hang.
      const failed = (e: Event) => {
        worker.terminate();
        reject(startFailure(attempt, (e as ErrorEvent).message || 'its script did not load (404, a MIME type that is not JavaScript, CORS) or threw'));
      };
      worker.addEventListener('error', failed, { once: true });
      api.ping().then(() => {
        worker.removeEventListener('error', failed);
        this.api = api;
        resolve();
      }, reject);
    }).finally(() => {
      if (attempt.blobUrl) URL.revokeObjectURL(attempt.blobUrl);
    });
  }

  /**
   * One Worker per page, started on first use, shared by the module-level functions of `icebridge/worker`
   * and the page `IceAgent`; `options` apply to the call that starts it.
   */
  static shared(options: Pick<IcebridgeWorkerOptions, 'workerUrl'> = {}): IcebridgeWorker {
    return (shared ??= new IcebridgeWorker(options));
  }

  /** Opens a bridge session in the Worker; rejects with a BridgeError when the bridge refuses (bad token: 4001). */
  async connectBridge(bridge: BridgeConfig): Promise<WorkerBridgeConnection> {
    checkBridgeConfig(bridge);
    const connection = new WorkerBridgeConnection(this);
    const info = await this.call((api) => api.connect(bridge, proxy<CloseListener>((e) => connection.closedBy(e && (deserializeError(e) as BridgeError)))));
    connection.opened(info);
    return connection;
  }

  /** Resolves `name` on the bridge host (A and AAAA unless `families` says), on a bridge connection of its own. */
  async resolve(name: string, options: { bridge: BridgeConfig; families?: AddressFamily[] }): Promise<ResolvedAddress[]> {
    const connection = await this.connectBridge(options?.bridge);
    try {
      return await connection.resolve(name, options);
    } finally {
      connection.close();
    }
  }

  /** One Binding request through the bridge: the bridge host's address as `server` sees it. */
  async stunBinding(server: string | TransportAddress, options: StunBindingConfig & { bridge: BridgeConfig }): Promise<StunBindingResult> {
    const connection = await this.connectBridge(options?.bridge);
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
    const connection = await this.connectBridge(options?.bridge);
    try {
      return await connection.discoverNat(server, options);
    } finally {
      connection.close();
    }
  }

  /** A TURN allocation through the bridge on a connection of its own, closed with the relay. */
  async allocateTurn(server: string | TransportAddress, options: TurnAllocationConfig & { bridge: BridgeConfig }): Promise<WorkerRelaySocket> {
    const connection = await this.connectBridge(options?.bridge);
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
    try {
      checkBridgeConfig(config?.bridge);
    } catch (err) {
      return Promise.reject(err);
    }
    // Page-side options that reach here with the rest (IceAgentInit) are not the Worker's: a URL does not even clone.
    const { worker: _worker, workerUrl: _url, ...rest } = config as IceAgentConfig & { worker?: unknown; workerUrl?: unknown };
    return WorkerIceAgent.create(this, rest);
  }

  /**
   * Stops the Worker and everything in it. Calls still waiting reject with IcebridgeWorkerError 'terminated',
   * as do later ones; agents move to 'closed' (a statechange event), bridge connections and sockets call
   * their onclose.
   */
  terminate(): void {
    this.ended = true;
    const error = new IcebridgeWorkerError('terminated', 'the icebridge Worker was terminated');
    this.kill(error);
    this.current?.terminate();
    if (shared === this) shared = undefined;
    const residents = [...this.residents];
    this.residents.clear();
    for (const r of residents) r.workerEnded(error);
  }

  /** @internal `resident` lives in this Worker until release(): terminate() tells it. */
  adopt(resident: WorkerResident): void {
    if (!this.ended) this.residents.add(resident);
  }

  /** @internal */
  release(resident: WorkerResident): void {
    this.residents.delete(resident);
  }

  /** @internal A call into the Worker: waits for it to be up, rebuilds typed errors, never hangs on a dead Worker. */
  call<T>(body: (api: Remote<WorkerApi>) => Promise<T>): Promise<T> {
    const settle = (reply: Promise<T>) =>
      Promise.race([reply, this.dead]).catch((err: unknown) => {
        throw isSerializedError(err) ? deserializeError(err) : err;
      });
    if (this.up) return settle(body(this.api!));
    return this.ready.then(() => settle(body(this.api!)));
  }

  /** @internal A call whose answer nobody waits for (send, close); its failure is dropped. */
  post(body: (api: Remote<WorkerApi>) => Promise<unknown>): void {
    this.call(body).catch(() => {});
  }
}

/** @internal A page-side handle on something in the Worker, which ends when the Worker is terminated. */
export interface WorkerResident {
  workerEnded(error: IcebridgeWorkerError): void;
}

/** A bridge session held in the Worker: several sockets, bindings, relays and agents share its carrier. */
export class WorkerBridgeConnection implements WorkerResident {
  /** Called once if the session ends without close() (bridge shut down, idle timeout, …). */
  onclose: ((error: BridgeError | undefined) => void) | null = null;
  limits: BridgeLimits | undefined;
  /** Which carrier the session runs on: 'webtransport' or 'websocket'. */
  carrier: BridgeCarrierKind = 'websocket';
  /** In `auto`, why WebTransport was not used (BridgeError `handshake-failed`, `timeout`, `not-supported`, …). */
  fallbackReason: BridgeError | undefined;
  private id = 0;
  /** Why the session ended, what every call after it rejects with (as BridgeConnection's do in Node). */
  private endedWith: BridgeError | undefined;

  /** @internal made by IcebridgeWorker.connectBridge(). */
  constructor(readonly owner: IcebridgeWorker) {}

  get closed(): boolean {
    return this.endedWith !== undefined;
  }

  /** A UDP socket on the bridge host, as a DatagramSocket-shaped proxy. */
  async bind(options: { family?: AddressFamily; port?: number } = {}): Promise<WorkerBridgeSocket> {
    checkOptionsObject('bind', options, '{ family?, port? }');
    if (this.endedWith) throw this.endedWith;
    return WorkerBridgeSocket.open(this.owner, this.id, options);
  }

  /**
   * Resolves `name` on the bridge host, as the bridge's sockets and streams would reach it (an IP literal
   * answers itself). Rejects with BridgeError: `name-not-found`, `destination-denied` (the bridge's policy
   * refused every answer), `resolve-timeout`, `rate-limited`, `not-supported`, …
   */
  async resolve(name: string, options: { families?: AddressFamily[] } = {}): Promise<ResolvedAddress[]> {
    checkOptionsObject('resolve', options, '{ families? }');
    const { families } = options;
    return this.call((api) => api.resolve(this.id, name, families));
  }

  /** One Binding request (UDP, or TLS for `stuns:`); a server name resolves on the bridge. */
  async stunBinding(server: string | TransportAddress, options: StunBindingConfig = {}): Promise<StunBindingResult> {
    checkOptionsObject('stunBinding', options, '{ timeoutMs?, rtoMs? }');
    const { timeoutMs, rtoMs } = options;
    return this.call((api) => api.stunBinding(this.id, server, { timeoutMs, rtoMs }));
  }

  /** RFC 5780 NAT behaviour discovery from sockets of this session (see IcebridgeWorker.discoverNat). */
  async discoverNat(server: string | TransportAddress, options: NatDiscoveryConfig = {}): Promise<NatDiscoveryResult> {
    checkOptionsObject('discoverNat', options, '{ timeoutMs?, rtoMs?, hairpinning? }');
    const { timeoutMs, rtoMs, hairpinning } = options;
    return this.call((api) => api.discoverNat(this.id, server, { timeoutMs, rtoMs, hairpinning }));
  }

  /** A TURN allocation over UDP, or a bridge stream for `turn:…?transport=tcp` and `turns:`; a name resolves on the bridge. */
  async allocateTurn(server: string | TransportAddress, options: TurnAllocationConfig): Promise<WorkerRelaySocket> {
    checkOptionsObject('allocateTurn', options, '{ username, credential, … }');
    const { username, credential, family, lifetimeSeconds, timeoutMs } = options;
    if (this.endedWith) throw this.endedWith;
    return WorkerRelaySocket.allocate(this.owner, this.id, server, { username, credential, family, lifetimeSeconds, timeoutMs });
  }

  /** An IceAgent whose host sockets are opened on this connection (`config.bridge` is ignored). */
  createIceAgent(config: Omit<IceAgentConfig, 'bridge'> = {}): Promise<WorkerIceAgent> {
    return this.endedWith ? Promise.reject(this.endedWith) : WorkerIceAgent.create(this.owner, config, this.id);
  }

  /** Closes the session and with it every socket, relay and agent on it. */
  close(): void {
    if (this.endedWith) return;
    this.endedWith = new BridgeError('closed', 'closed by the application', 1000);
    this.owner.release(this);
    this.owner.post((api) => api.closeConnection(this.id));
  }

  /** @internal */
  opened(info: ConnectionInfo): void {
    this.owner.adopt(this);
    this.id = info.id;
    this.limits = info.limits;
    this.carrier = info.carrier;
    this.fallbackReason = info.fallbackReason && (deserializeError(info.fallbackReason) as BridgeError);
  }

  /** @internal the bridge ended the session. */
  closedBy(error: BridgeError | undefined): void {
    if (this.endedWith) return;
    this.endedWith = error ?? new BridgeError('closed', 'the bridge session ended');
    this.owner.release(this);
    this.onclose?.(error);
  }

  /** @internal the session went with its Worker. */
  workerEnded(error: IcebridgeWorkerError): void {
    this.closedBy(new BridgeError('closed', error.message));
  }

  private call<T>(body: (api: Remote<WorkerApi>) => Promise<T>): Promise<T> {
    return this.endedWith ? Promise.reject(this.endedWith) : this.owner.call(body);
  }
}
