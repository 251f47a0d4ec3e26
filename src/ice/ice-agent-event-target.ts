// The EventTarget both IceAgent classes (Node/core and page) extend: addEventListener/removeEventListener
// overloads keyed by IceAgentEventMap, as lib.dom declares RTCPeerConnection's, and the on<type> handler
// properties. Its types are structural (no lib.dom names), so they check in a Node app without the DOM lib.
import type { IceAgentEventMap, IceCandidateErrorEvent, IceCandidateEvent, IceDataEvent, IceRemoteCandidateEvent } from './ice-agent-events.js';

/** A listener function or object, as EventTarget takes (lib.dom's EventListenerOrEventListenerObject). */
export type IceEventListener = ((event: Event) => unknown) | { handleEvent(event: Event): unknown };

/** lib.dom's AddEventListenerOptions, spelled out. */
export interface IceAddEventListenerOptions {
  capture?: boolean;
  once?: boolean;
  passive?: boolean;
  signal?: AbortSignal;
}

/** An on<type> handler: called with the agent as `this`, like an RTCPeerConnection's. */
export type IceEventHandler<T, E> = ((this: T, event: E) => unknown) | null;

export class IceAgentEventTarget extends EventTarget {
  readonly #handlers = new Map<string, (event: Event) => unknown>();
  /** The types whose handler listener is registered (it stays, as HTML's does, when the handler is nulled). */
  readonly #registered = new Set<string>();

  override addEventListener<K extends keyof IceAgentEventMap>(
    type: K,
    listener: ((this: this, event: IceAgentEventMap[K]) => unknown) | { handleEvent(event: IceAgentEventMap[K]): unknown } | null,
    options?: boolean | IceAddEventListenerOptions,
  ): void;
  override addEventListener(type: string, listener: IceEventListener | null, options?: boolean | IceAddEventListenerOptions): void;
  override addEventListener(type: string, listener: IceEventListener | null, options?: boolean | IceAddEventListenerOptions): void {
    super.addEventListener(type, listener, options);
  }

  override removeEventListener<K extends keyof IceAgentEventMap>(
    type: K,
    listener: ((this: this, event: IceAgentEventMap[K]) => unknown) | { handleEvent(event: IceAgentEventMap[K]): unknown } | null,
    options?: boolean | { capture?: boolean },
  ): void;
  override removeEventListener(type: string, listener: IceEventListener | null, options?: boolean | { capture?: boolean }): void;
  override removeEventListener(type: string, listener: IceEventListener | null, options?: boolean | { capture?: boolean }): void {
    super.removeEventListener(type, listener, options);
  }

  get onicecandidate(): IceEventHandler<this, IceCandidateEvent> {
    return this.getHandler('icecandidate');
  }
  set onicecandidate(handler: IceEventHandler<this, IceCandidateEvent>) {
    this.setHandler('icecandidate', handler);
  }

  get onicecandidateerror(): IceEventHandler<this, IceCandidateErrorEvent> {
    return this.getHandler('icecandidateerror');
  }
  set onicecandidateerror(handler: IceEventHandler<this, IceCandidateErrorEvent>) {
    this.setHandler('icecandidateerror', handler);
  }

  get ongatheringstatechange(): IceEventHandler<this, Event> {
    return this.getHandler('gatheringstatechange');
  }
  set ongatheringstatechange(handler: IceEventHandler<this, Event>) {
    this.setHandler('gatheringstatechange', handler);
  }

  get onstatechange(): IceEventHandler<this, Event> {
    return this.getHandler('statechange');
  }
  set onstatechange(handler: IceEventHandler<this, Event>) {
    this.setHandler('statechange', handler);
  }

  get onselectedcandidatepairchange(): IceEventHandler<this, Event> {
    return this.getHandler('selectedcandidatepairchange');
  }
  set onselectedcandidatepairchange(handler: IceEventHandler<this, Event>) {
    this.setHandler('selectedcandidatepairchange', handler);
  }

  get onrolechange(): IceEventHandler<this, Event> {
    return this.getHandler('rolechange');
  }
  set onrolechange(handler: IceEventHandler<this, Event>) {
    this.setHandler('rolechange', handler);
  }

  get onremotecandidate(): IceEventHandler<this, IceRemoteCandidateEvent> {
    return this.getHandler('remotecandidate');
  }
  set onremotecandidate(handler: IceEventHandler<this, IceRemoteCandidateEvent>) {
    this.setHandler('remotecandidate', handler);
  }

  get ondata(): IceEventHandler<this, IceDataEvent> {
    return this.getHandler('data');
  }
  set ondata(handler: IceEventHandler<this, IceDataEvent>) {
    this.setHandler('data', handler);
  }

  protected getHandler<E>(type: string): IceEventHandler<this, E> {
    return (this.#handlers.get(type) as IceEventHandler<this, E> | undefined) ?? null;
  }

  /**
   * HTML's event handler semantics: the first handler set registers one listener, which stays in its place
   * among the others and calls whatever handler is current; null (or a non-function) turns it off.
   */
  protected setHandler<E>(type: string, handler: IceEventHandler<this, E>): void {
    if (typeof handler !== 'function') {
      this.#handlers.delete(type);
      return;
    }
    if (!this.#registered.has(type)) {
      this.#registered.add(type);
      super.addEventListener(type, (event) => {
        this.#handlers.get(type)?.call(this, event);
      });
    }
    this.#handlers.set(type, handler as (event: Event) => unknown);
  }
}
