// Runs a NatProbeEngine over borrowed DatagramSockets and a Clock, one promise per probe, for the discovery
// procedures written as plain sequences of tests. The sockets' handlers are put back on close(). New
// transactions are paced (RFC 5780 §5: no more than ten per second).
import type { Clock, TimerHandle } from '../net/clock.js';
import type { DatagramHandler, DatagramSocket, UnreachableHandler } from '../net/datagram-socket.js';
import { EngineDriver } from '../net/driver.js';
import type { SocketId } from '../net/engine.js';
import { formatTransportAddress, type TransportAddress } from '../net/transport-address.js';
import type { StunAttributeEntry } from '../stun/attribute-values.js';
import { NatDiscoveryError } from './errors.js';
import { NatProbeEngine, type ProbeEvent, type ProbeOutcome } from './probe-engine.js';

export interface ProbeSessionOptions {
  clock: Clock;
  /** Initial RTO of each probe (RFC 8489 §6.2.1 doubling). */
  rtoMs: number;
  /** How long a probe waits for its response before it counts as unanswered. */
  timeoutMs: number;
  /** Least time between the starts of two transactions (RFC 5780 §5: ≤ 10 per second → 100 ms). */
  minIntervalMs: number;
}

/** What a probe of the session resolves with: a refused server is not an outcome but a NatDiscoveryError. */
export type SessionOutcome = Exclude<ProbeOutcome, { kind: 'unreachable' }>;

interface Borrowed {
  socket: DatagramSocket;
  ondatagram: DatagramHandler | null;
  onclose: ((reason?: Error) => void) | null;
  onunreachable: UnreachableHandler | null | undefined;
}

interface Waiter {
  resolve: (outcome: SessionOutcome) => void;
  reject: (err: Error) => void;
  timer: TimerHandle;
}

export class ProbeSession {
  readonly engine: NatProbeEngine;
  private readonly driver: EngineDriver<ProbeEvent>;
  private readonly borrowed: Borrowed[] = [];
  private readonly waiters = new Map<number, Waiter>();
  private readonly requestWatchers = new Set<(event: Extract<ProbeEvent, { type: 'request' }>) => void>();
  /** Each pending wait (sleep, hairpin watch) registers how to end it early with an error. */
  private readonly aborts = new Set<(err: Error) => void>();
  private lastStart = -Infinity;
  private failure: NatDiscoveryError | undefined;
  private closed = false;

  constructor(private readonly options: ProbeSessionOptions) {
    this.engine = new NatProbeEngine({ rtoMs: options.rtoMs });
    this.driver = new EngineDriver(this.engine, { clock: options.clock, onEvent: (e) => this.onEvent(e) });
  }

  get clock(): Clock {
    return this.options.clock;
  }

  /** Borrows a socket (until close) and returns its id in the session. */
  attach(socket: DatagramSocket): SocketId {
    const id = this.borrowed.length;
    this.borrowed.push({ socket, ondatagram: socket.ondatagram, onclose: socket.onclose, onunreachable: socket.onunreachable });
    this.driver.attach(id, socket);
    socket.onclose = (reason) => this.fail(new NatDiscoveryError('SOCKET_CLOSED', `a socket closed during NAT discovery${reason ? `: ${reason.message}` : ''}`));
    return id;
  }

  localAddress(socket: SocketId): TransportAddress {
    return this.borrowed[socket].socket.localAddress;
  }

  /**
   * One Binding transaction; resolves with its outcome (a timeout is an outcome, not an error). Rejects
   * with an UNREACHABLE NatDiscoveryError at once when the way to `to` is refused.
   */
  async bind(to: TransportAddress, socket: SocketId, attributes: StunAttributeEntry[] = [], timeoutMs = this.options.timeoutMs): Promise<SessionOutcome> {
    await this.pace();
    this.check();
    const now = this.clock.now();
    this.lastStart = now;
    const probe = this.engine.bind(to, socket, attributes, now);
    const outcome = new Promise<SessionOutcome>((resolve, reject) => {
      const timer = this.clock.setTimer(() => {
        this.waiters.delete(probe);
        this.engine.cancel(probe);
        resolve({ kind: 'timeout', sends: 0 });
      }, now + timeoutMs);
      this.waiters.set(probe, { resolve, reject, timer });
    });
    this.driver.poll();
    return outcome;
  }

  /** Sends a loose Binding request (no transaction) and resolves true if it arrives on `watch` within `timeoutMs`. */
  async sendAndWatch(to: TransportAddress, from: SocketId, watch: SocketId, timeoutMs: number, resendMs: number): Promise<boolean> {
    await this.pace();
    this.check();
    this.lastStart = this.clock.now();
    const ids: Uint8Array[] = [];
    return new Promise<boolean>((resolve, reject) => {
      let resend: TimerHandle | undefined;
      const finish = (outcome: () => void) => {
        this.requestWatchers.delete(watcher);
        this.aborts.delete(abort);
        this.clock.clearTimer(deadline);
        if (resend !== undefined) this.clock.clearTimer(resend);
        outcome();
      };
      const abort = (err: Error) => finish(() => reject(err));
      const watcher = (e: Extract<ProbeEvent, { type: 'request' }>) => {
        if (e.socket === watch && ids.some((id) => sameBytes(id, e.transactionId))) finish(() => resolve(true));
      };
      const send = () => {
        ids.push(this.engine.sendRequest(to, from));
        this.driver.poll();
        resend = this.clock.setTimer(send, this.clock.now() + resendMs);
      };
      const deadline = this.clock.setTimer(() => finish(() => resolve(false)), this.clock.now() + timeoutMs);
      this.requestWatchers.add(watcher);
      this.aborts.add(abort);
      send();
    });
  }

  /** Waits on the session's clock (virtual in tests). */
  sleep(ms: number): Promise<void> {
    this.check();
    return new Promise<void>((resolve, reject) => {
      const timer = this.clock.setTimer(() => {
        this.aborts.delete(abort);
        resolve();
      }, this.clock.now() + ms);
      const abort = (err: Error) => {
        this.clock.clearTimer(timer);
        reject(err);
      };
      this.aborts.add(abort);
    });
  }

  /** Ends every probe and gives the sockets their handlers back. */
  close(): void {
    if (this.closed) return;
    this.fail(new NatDiscoveryError('SOCKET_CLOSED', 'the NAT discovery session was closed'));
    this.closed = true;
    this.driver.close();
    for (const b of this.borrowed) {
      b.socket.ondatagram = b.ondatagram;
      b.socket.onclose = b.onclose;
      b.socket.onunreachable = b.onunreachable;
    }
  }

  private async pace(): Promise<void> {
    const wait = this.lastStart + this.options.minIntervalMs - this.clock.now();
    if (wait > 0) await this.sleep(wait);
  }

  private check(): void {
    if (this.failure) throw this.failure;
  }

  private fail(err: NatDiscoveryError): void {
    if (this.failure) return;
    this.failure = err;
    for (const [probe, w] of this.waiters) {
      this.clock.clearTimer(w.timer);
      this.engine.cancel(probe);
      w.reject(err);
    }
    this.waiters.clear();
    for (const abort of [...this.aborts]) abort(err);
    this.aborts.clear();
  }

  private onEvent(event: ProbeEvent): void {
    if (event.type === 'request') {
      for (const watcher of [...this.requestWatchers]) watcher(event);
      return;
    }
    const waiter = this.waiters.get(event.probe);
    if (waiter === undefined) return;
    this.waiters.delete(event.probe);
    this.clock.clearTimer(waiter.timer);
    const outcome = event.outcome;
    if (outcome.kind === 'unreachable') {
      const to = formatTransportAddress(outcome.error.destination);
      waiter.reject(new NatDiscoveryError('UNREACHABLE', `${to} is unreachable: ${outcome.error.message}`, { cause: outcome.error }));
      return;
    }
    waiter.resolve(outcome);
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
