// The sans-I/O engine contract (DESIGN.md, "The three rules", rule 1). An engine never touches a socket or a
// timer: it is fed datagrams and the time, and asked what to send, when to wake up and what happened.
import type { Millis } from './clock.js';
import type { DestinationUnreachableError } from './datagram-socket.js';
import type { TransportAddress } from './transport-address.js';

/** Names one of the sockets an engine sends through; the driver maps it to a real DatagramSocket. */
export type SocketId = number;

/** Where a datagram arrived: on which of the engine's sockets, and from whom. */
export interface DatagramSource {
  readonly socket: SocketId;
  readonly from: TransportAddress;
}

/** A datagram the engine wants sent. */
export interface Transmit {
  readonly socket: SocketId;
  readonly to: TransportAddress;
  readonly bytes: Uint8Array;
}

export interface Engine<Event> {
  handleDatagram(bytes: Uint8Array, source: DatagramSource, now: Millis): void;
  /**
   * Datagrams from `source.socket` to `source.from` are refused (the bridge's policy or rate limit, a TURN
   * server's 403: what an ICMP unreachable tells a native stack). Whatever waits for an answer from there
   * should give up now rather than retransmit until its timeout. Optional: an engine without it times out.
   */
  handleUnreachable?(error: DestinationUnreachableError, source: DatagramSource, now: Millis): void;
  handleTimeout(now: Millis): void;
  pollTransmit(): Transmit | undefined;
  /** The absolute time of the next wake-up, or undefined when nothing is scheduled. */
  pollTimeout(): Millis | undefined;
  pollEvent(): Event | undefined;
}

/** A first-in first-out queue with O(1) shift, for transmits and events (Array.shift is O(n)). */
export class Queue<T> {
  private items: (T | undefined)[] = [];
  private head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  push(item: T): void {
    this.items.push(item);
  }

  shift(): T | undefined {
    if (this.head >= this.items.length) return undefined;
    const item = this.items[this.head];
    this.items[this.head++] = undefined;
    if (this.head > 64 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }

  clear(): void {
    this.items = [];
    this.head = 0;
  }
}
