// The bridge requests in flight — bind, resolve, connect, listen, mdns-register — in one request id space, each with a timeout. An
// answer is matched by its id and kind; an answer nobody waits for any more is the caller's to undo.
import type { BoundFrame, ConnectedFrame, ListeningFrame, MdnsRegisteredFrame, ResolvedFrame } from './bridge-frame.js';
import { BridgeError } from './bridge-error.js';

/** The answer frame of each kind of request. */
export interface AnswerOf {
  bind: BoundFrame;
  resolve: ResolvedFrame;
  connect: ConnectedFrame;
  'mdns-register': MdnsRegisteredFrame;
  listen: ListeningFrame;
}
export type BridgeRequestKind = keyof AnswerOf;
export type BridgeAnswer = AnswerOf[BridgeRequestKind];

const KIND_OF_ANSWER: Record<BridgeAnswer['type'], BridgeRequestKind> = {
  bound: 'bind',
  resolved: 'resolve',
  connected: 'connect',
  'mdns-registered': 'mdns-register',
  listening: 'listen',
};

interface PendingRequest {
  readonly kind: BridgeRequestKind;
  readonly timer: ReturnType<typeof setTimeout>;
  answer(frame: BridgeAnswer): void;
  fail(error: Error): void;
}

export class BridgeRequests {
  private readonly pending = new Map<number, PendingRequest>();
  private nextRequestId = 1;

  constructor(private readonly timeoutMs: number) {}

  /** Requests waiting for an answer. */
  get size(): number {
    return this.pending.size;
  }

  /**
   * Sends the frame `encode(requestId)` makes and waits for its answer, which `accept` turns into the result.
   * Rejects with what `encode`, `send` or `accept` throw, an error frame's BridgeError, or `timeout`.
   */
  start<K extends BridgeRequestKind, T>(
    kind: K,
    encode: (requestId: number) => Uint8Array,
    send: (frame: Uint8Array) => void,
    accept: (answer: AnswerOf[K]) => T,
  ): Promise<T> {
    const requestId = this.allocateId();
    let frame: Uint8Array;
    try {
      frame = encode(requestId);
    } catch (err) {
      return Promise.reject(err);
    }
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(requestId);
        reject(new BridgeError('timeout', `the bridge did not answer ${kind} ${requestId} within ${this.timeoutMs} ms`));
      }, this.timeoutMs);
      this.pending.set(requestId, {
        kind,
        timer,
        // The kind was checked against the frame's type in answer(), so this is the frame `accept` expects.
        answer: (answer) => resolve(accept(answer as AnswerOf[K])),
        fail: reject,
      });
      try {
        send(frame);
      } catch (err) {
        this.fail(requestId, err instanceof Error ? err : new Error(String(err)));
      }
    });
  }

  /** Settles the request `frame` answers; false when none of its kind waits (it timed out, or a stray). */
  answer(frame: BridgeAnswer): boolean {
    const pending = this.pending.get(frame.requestId);
    if (!pending || pending.kind !== KIND_OF_ANSWER[frame.type]) return false;
    this.pending.delete(frame.requestId);
    clearTimeout(pending.timer);
    try {
      pending.answer(frame);
    } catch (err) {
      pending.fail(err instanceof Error ? err : new Error(String(err)));
    }
    return true;
  }

  /** Rejects one request; false when it is not pending. */
  fail(requestId: number, error: Error): boolean {
    const pending = this.pending.get(requestId);
    if (!pending) return false;
    this.pending.delete(requestId);
    clearTimeout(pending.timer);
    pending.fail(error);
    return true;
  }

  failAll(error: Error): void {
    const all = [...this.pending.values()];
    this.pending.clear();
    for (const p of all) {
      clearTimeout(p.timer);
      p.fail(error);
    }
  }

  private allocateId(): number {
    let id = this.nextRequestId;
    while (this.pending.has(id)) id = id === 0xffffffff ? 1 : id + 1; // after a wrap, skip ids still waiting
    this.nextRequestId = id === 0xffffffff ? 1 : id + 1;
    return id;
  }
}
