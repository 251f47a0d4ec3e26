// Frames toward one client's WebSocket. Control frames go to ws at once. A datagram's frame goes at once
// while the connection keeps up (nothing waiting in ws: the kernel took everything); otherwise it waits here,
// stamped with the datagram's arrival, and is handed to ws only when ws has written everything before it —
// or dropped (`queue-delay`) once it has waited over maxQueueDelayMs. So a slow client gets its datagrams
// fresh or not at all, never seconds late, and what waits here can still be dropped (unlike ws's buffer).
// Limit: time in the kernel's TCP send buffer toward the client is not seen.
import type { WebSocket } from 'ws';
import { Queue } from '../src/net/engine.js';
import type { DropReason } from '../src/bridge/metrics.js';

/** ws send options of every frame: one object, not one per datagram. */
const BINARY = { binary: true } as const;

export class ClientWriteQueue {
  private readonly frames = new Queue<Uint8Array>();
  private readonly arrivals = new Queue<number>();
  /** Bytes of the frames waiting here (part of the session's carrier backlog). */
  bytes = 0;

  constructor(
    private readonly ws: WebSocket,
    private readonly maxQueueDelayMs: number,
    private readonly dropped: (reason: DropReason) => void,
    /** After each frame ws has written out. */
    private readonly written: () => void,
    private readonly clock: () => number = () => performance.now(),
  ) {}

  /** Bytes waiting toward the client: here and in ws. */
  get backlog(): number {
    return this.ws.bufferedAmount + this.bytes;
  }

  sendControl(frame: Uint8Array): void {
    if (this.ws.readyState === this.ws.OPEN) this.ws.send(frame, BINARY, this.onWritten);
  }

  /** The frame of a datagram that arrived at `arrived`. */
  sendData(frame: Uint8Array, arrived: number): void {
    if (this.ws.readyState !== this.ws.OPEN) return this.dropped('session-closed');
    if (this.frames.length === 0 && this.ws.bufferedAmount === 0) {
      this.ws.send(frame, BINARY, this.onWritten);
      return;
    }
    this.frames.push(frame);
    this.arrivals.push(arrived);
    this.bytes += frame.length;
  }

  /** The session ended: what still waits is dropped. */
  discard(): void {
    for (let f = this.frames.shift(); f; f = this.frames.shift()) this.dropped('session-closed');
    this.arrivals.clear();
    this.bytes = 0;
  }

  private readonly onWritten = (): void => {
    this.flush();
    this.written();
  };

  private flush(): void {
    if (this.frames.length === 0) return;
    if (this.ws.readyState !== this.ws.OPEN) return this.discard();
    while (this.frames.length > 0 && this.ws.bufferedAmount === 0) {
      const frame = this.frames.shift()!;
      const arrived = this.arrivals.shift()!;
      this.bytes -= frame.length;
      if (this.clock() - arrived > this.maxQueueDelayMs) this.dropped('queue-delay');
      else this.ws.send(frame, BINARY, this.onWritten);
    }
  }
}
