// Data frames from clients wait here, stamped with their arrival, while control frames (bind, close,
// resolve, connect, stream, window, …) are served the moment ws hands them over. One queue for the whole
// bridge, in arrival order, drained after the event loop's I/O phase in slices, so under overload the
// bridge still reads every socket often (fresh arrival stamps, binds and new sessions answered at once) and
// the engine drops what waited over maxQueueDelayMs (`queue-delay`) instead of sending it late.
import { Queue } from '../src/net/engine.js';

/** A session that queued data frames. */
export interface QueuedFrameSink {
  /** `arrived`: when ws handed the frame over; `now`: now. */
  handleQueuedFrame(bytes: Uint8Array, arrived: number, now: number): void;
}

/**
 * How long one drain may run at least before the event loop reads its sockets again; while behind, it runs as long as
 * the rest of the loop took since the last drain, so under overload forwarding gets half the time and reading
 * (fresh stamps, control frames, new sessions) the other half. A scheduling slice, not a limit on clients.
 */
const SLICE_MS = 5;
/** …and at most this long (a quarter of the default maxQueueDelayMs). */
const MAX_SLICE_MS = 50;

export class DataFrameScheduler {
  private readonly sinks = new Queue<QueuedFrameSink>();
  private readonly frames = new Queue<Uint8Array>();
  private readonly arrivals = new Queue<number>();
  private scheduled = false;
  /** When the last drain ended with frames left over (the bridge is behind); undefined when it emptied the queue. */
  private behindSince: number | undefined;

  constructor(
    private readonly clock: () => number = () => performance.now(),
    private readonly defer: (run: () => void) => void = setImmediate,
  ) {}

  get length(): number {
    return this.frames.length;
  }

  push(sink: QueuedFrameSink, bytes: Uint8Array, arrived: number): void {
    this.sinks.push(sink);
    this.frames.push(bytes);
    this.arrivals.push(arrived);
    if (!this.scheduled) {
      this.scheduled = true;
      this.defer(this.drain);
    }
  }

  /** Serves queued frames for one slice; what is left waits for the next turn of the loop. */
  readonly drain = (): void => {
    this.scheduled = false;
    const start = this.clock();
    const slice = this.behindSince === undefined ? SLICE_MS : Math.min(MAX_SLICE_MS, Math.max(SLICE_MS, start - this.behindSince));
    while (this.frames.length > 0) {
      // Read for every frame (tens of ns): a frame's age is never underestimated.
      const now = this.clock();
      if (now - start >= slice) break;
      this.sinks.shift()!.handleQueuedFrame(this.frames.shift()!, this.arrivals.shift()!, now);
    }
    this.behindSince = this.frames.length > 0 ? this.clock() : undefined;
    if (this.frames.length > 0 && !this.scheduled) {
      this.scheduled = true;
      this.defer(this.drain);
    }
  };
}
