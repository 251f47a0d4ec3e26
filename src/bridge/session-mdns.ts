// The `<uuid>.local` names one bridge session has the bridge answer mDNS queries for: a page's host
// candidates are the bridge's UDP sockets, so only the bridge can answer for them on its LAN
// (draft-ietf-mmusic-mdns-ice-candidates §3.1.1). Only the addresses announced for this session's own
// sockets may be named — else a page could make the bridge claim any address on its LAN — and only
// names of the §3.1 form, at most `maxMdnsNames` of them; all are withdrawn (goodbye) when the session ends.
import type { ErrorFrame, MdnsRegisterFrame } from '../net/bridge-frame.js';
import { encodeBridgeFrame } from '../net/bridge-frame.js';
import { isUuidLocalName } from '../mdns/mdns-names.js';
import { canonicalName } from '../mdns/dns-name.js';
import type { SessionAction, SessionContext } from './session-types.js';

/** What the names need of their session. */
export interface MdnsNamesHost {
  readonly ctx: SessionContext;
  sendFrame(frame: Uint8Array): void;
  sendError(frame: ErrorFrame): void;
  act(action: SessionAction): void;
  /** Whether `address` was announced for one of the session's bound sockets. */
  isOwnAddress(address: string): boolean;
}

export class SessionMdnsNames {
  /** Canonical name → the name as registered; pending ones too, so the limit counts them. */
  private readonly names = new Map<string, string>();

  constructor(private readonly host: MdnsNamesHost) {}

  get count(): number {
    return this.names.size;
  }

  handleRegister(frame: MdnsRegisterFrame): void {
    const { limits } = this.host.ctx;
    const refuse = (code: string, reason: string) => this.host.sendError({ type: 'error', code, reason, requestId: frame.requestId });
    if (!limits.resolve || !limits.mdns || limits.maxMdnsNames === 0) {
      return refuse('not-supported', 'this bridge does not answer mDNS for a session (its operator has not enabled mdns, or this carrier offers no registration)');
    }
    if (!isUuidLocalName(frame.name)) return refuse('invalid-name', `only <uuid>.local names are registered (draft-ietf-mmusic-mdns-ice-candidates §3.1.1), not ${frame.name}`);
    const key = canonicalName(frame.name);
    if (this.names.has(key)) return refuse('name-in-use', `${frame.name} is registered already`);
    if (!this.host.isOwnAddress(frame.address)) return refuse('address-not-owned', `${frame.address} is not an address announced for a socket of this session`);
    if (this.names.size >= limits.maxMdnsNames) return refuse('mdns-name-limit', `at most ${limits.maxMdnsNames} mDNS names per session`);
    this.names.set(key, frame.name);
    this.host.act({ type: 'mdns-register', requestId: frame.requestId, name: frame.name, address: frame.address });
  }

  handleUnregister(name: string): void {
    const key = canonicalName(name);
    const registered = this.names.get(key);
    if (registered === undefined) return; // already gone, or never ours: nothing to withdraw
    this.names.delete(key);
    this.host.act({ type: 'mdns-unregister', name: registered });
  }

  handleRegistered(requestId: number): void {
    this.host.sendFrame(encodeBridgeFrame({ type: 'mdns-registered', requestId }));
  }

  /** The driver could not register (another session holds the name, the responder refused): forgotten. */
  handleRegisterFailed(requestId: number, name: string, code: string, reason: string): void {
    this.names.delete(canonicalName(name));
    this.host.sendError({ type: 'error', code, reason, requestId });
  }

  /** Goodbyes for every name: the session ended. */
  releaseAll(): void {
    for (const name of this.names.values()) this.host.act({ type: 'mdns-unregister', name });
    this.names.clear();
  }
}
