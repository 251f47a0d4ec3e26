// Runs one sans-I/O engine over DatagramSockets and a clock. This is the only place where an engine meets
// real sockets and timers; with the simulated network and VirtualClock it runs on virtual time instead.
import { realClock, type Clock, type TimerHandle } from './clock.js';
import type { DatagramSocket } from './datagram-socket.js';
import type { DatagramSource, Engine, SocketId } from './engine.js';

export interface EngineDriverOptions<Event> {
  clock?: Clock;
  /** Receives every event the engine emits, in order. */
  onEvent?: (event: Event) => void;
}

export class EngineDriver<Event> {
  readonly clock: Clock;
  /** Datagrams the engine asked to send through a socket id no longer attached. */
  droppedTransmits = 0;
  private readonly sockets = new Map<SocketId, DatagramSocket>();
  private readonly onEvent: (event: Event) => void;
  private timer: TimerHandle | undefined;
  private timerAt: number | undefined;
  private polling = false;
  private pollAgain = false;
  private closed = false;

  constructor(
    readonly engine: Engine<Event>,
    options: EngineDriverOptions<Event> = {},
  ) {
    this.clock = options.clock ?? realClock;
    this.onEvent = options.onEvent ?? (() => {});
  }

  /**
   * Feeds the socket's datagrams (and its refusals, see DatagramSocket.onunreachable) to the engine as `id`,
   * and sends the engine's `id` transmits through it.
   */
  attach(id: SocketId, socket: DatagramSocket): void {
    this.sockets.set(id, socket);
    // A stream socket hands every message over with the same `from` object: one DatagramSource (read-only)
    // serves them all instead of a new one per message. A UDP socket's `from` is new each time.
    let source: DatagramSource = { socket: id, from: socket.localAddress };
    socket.ondatagram = (bytes, from) => {
      if (this.closed) return;
      if (source.from !== from) source = { socket: id, from };
      this.engine.handleDatagram(bytes, source, this.clock.now());
      this.poll();
    };
    socket.onunreachable = (error) => {
      if (this.closed || this.sockets.get(id) !== socket) return;
      this.engine.handleUnreachable?.(error, { socket: id, from: error.destination }, this.clock.now());
      this.poll();
    };
  }

  detach(id: SocketId): DatagramSocket | undefined {
    const socket = this.sockets.get(id);
    if (socket) {
      socket.ondatagram = null;
      socket.onunreachable = null;
    }
    this.sockets.delete(id);
    return socket;
  }

  socket(id: SocketId): DatagramSocket | undefined {
    return this.sockets.get(id);
  }

  /**
   * Sends what the engine has queued, delivers its events and re-arms the timer. Call it after calling into
   * the engine from outside (a new request, a new remote candidate). Safe to call from inside an event handler.
   */
  poll(): void {
    if (this.closed) return;
    if (this.polling) {
      this.pollAgain = true;
      return;
    }
    this.polling = true;
    try {
      do {
        this.pollAgain = false;
        for (let t = this.engine.pollTransmit(); t; t = this.engine.pollTransmit()) {
          const socket = this.sockets.get(t.socket);
          if (socket) socket.send(t.bytes, t.to);
          else this.droppedTransmits++;
        }
        for (let e = this.engine.pollEvent(); e !== undefined; e = this.engine.pollEvent()) {
          this.onEvent(e);
          if (this.closed) return;
        }
      } while (this.pollAgain);
      this.arm(this.engine.pollTimeout());
    } finally {
      this.polling = false;
    }
  }

  /** Stops the timer and detaches every socket (it does not close them: whoever opened them does). */
  close(): void {
    this.closed = true;
    this.arm(undefined);
    for (const id of [...this.sockets.keys()]) this.detach(id);
  }

  private arm(at: number | undefined): void {
    if (at === this.timerAt && (at === undefined || this.timer !== undefined)) return;
    if (this.timer !== undefined) this.clock.clearTimer(this.timer);
    this.timer = undefined;
    this.timerAt = at;
    if (at === undefined || this.closed) return;
    this.timer = this.clock.setTimer(() => {
      this.timer = undefined;
      this.timerAt = undefined;
      if (this.closed) return;
      this.engine.handleTimeout(this.clock.now());
      this.poll();
    }, at);
  }
}
