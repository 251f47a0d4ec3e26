// What carries bridge frames between the page and the bridge: a WebSocket (one frame per message) or a
// WebTransport session (webtransport-carrier.ts). BridgeConnection speaks frames to a BridgeCarrier and never
// knows which one it is on; each carrier maps frames onto its transport as its protocol document says.
import { BridgeError } from './bridge-error.js';
import { BRIDGE_SUBPROTOCOL_V2 } from './bridge-frame.js';

/** Which transport a bridge connection runs on. */
export type BridgeCarrierKind = 'webtransport' | 'websocket';

/** How a carrier ended: the bridge's close code and reason, or `error` when the carrier itself failed. */
export interface CarrierClose {
  code: number;
  reason: string;
  /** Set when the carrier failed on its own (a handshake that failed, a broken stream), not closed by the bridge. */
  error?: BridgeError;
}

export interface BridgeCarrier {
  readonly kind: BridgeCarrierKind;
  /** True while frames can be sent (after the carrier is up, before it closes). */
  readonly open: boolean;
  /** Bytes queued on the carrier and not yet handed to the network; `sendData` drops above a bound of it. */
  readonly bufferedAmount: number;
  /** Sends one frame; a data frame may travel unreliably (a datagram), every other frame reliably and in order. */
  send(frame: Uint8Array): void;
  /** Ends the carrier; `onclose` is not called for a close asked for here. */
  close(code?: number, reason?: string): void;
  /** One frame from the bridge, as it arrived (the connection decodes it). */
  onframe: ((frame: Uint8Array) => void) | null;
  /** Something the carrier's mapping forbids arrived (e.g. a control frame in a datagram); counted and dropped. */
  onmalformed: (() => void) | null;
  /** Called once when the carrier ends without close() from this side. */
  onclose: ((close: CarrierClose) => void) | null;
}

/** Any WebSocket class: the platform's, or `ws`'s in Node. Only the standard API is used. */
export type WebSocketConstructor = new (url: string, protocols?: string | string[]) => object;

/** The part of the WHATWG WebSocket API used here; both the DOM's and `ws`'s have it. */
interface WebSocketLike {
  binaryType: string;
  readonly readyState: number;
  readonly bufferedAmount: number;
  send(data: Uint8Array): void;
  close(code?: number, reason?: string): void;
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: { code: number; reason: string }) => void) | null;
  onerror: ((event: unknown) => void) | null;
}

const OPEN = 1;

/** Carrier 1: one bridge frame per binary WebSocket message, the v2 subprotocol offered (bridge/README.md). */
export class WebSocketCarrier implements BridgeCarrier {
  readonly kind = 'websocket';
  onframe: ((frame: Uint8Array) => void) | null = null;
  onmalformed: (() => void) | null = null;
  onclose: ((close: CarrierClose) => void) | null = null;
  private readonly ws: WebSocketLike;
  /** The WebSocket opened (the HTTP upgrade succeeded): a close after this is the bridge's, not unreachability. */
  private opened = false;
  /** What the error event said, where the WebSocket class says anything (`ws` in Node does; browsers do not). */
  private errorDetail: string | undefined;

  /**
   * Throws a BridgeError('connect-failed') when the WebSocket class refuses the URL. A WebSocket that closes
   * without ever opening ends with a BridgeError('unreachable') naming the URL (without its token).
   */
  constructor(
    private readonly url: string,
    Ctor: WebSocketConstructor,
    binaryType = 'arraybuffer',
  ) {
    try {
      // Offering the v2 subprotocol is how a client asks for v2; a bridge that does not speak it says hello v1.
      this.ws = new Ctor(url, [BRIDGE_SUBPROTOCOL_V2]) as unknown as WebSocketLike;
    } catch (err) {
      throw new BridgeError('connect-failed', err instanceof Error ? err.message : String(err));
    }
    this.ws.binaryType = binaryType;
    this.ws.onmessage = (event) => this.onframe?.(bytesOf(event.data));
    this.ws.onopen = () => {
      this.opened = true;
    };
    this.ws.onerror = (event) => {
      const message = (event as { message?: unknown } | null)?.message;
      if (typeof message === 'string' && message !== '') this.errorDetail = message;
    };
    this.ws.onclose = (event) => {
      const close: CarrierClose = { code: event.code, reason: event.reason };
      if (!this.opened) close.error = unreachable(this.url, this.errorDetail, event.code);
      this.onclose?.(close);
    };
  }

  get open(): boolean {
    return this.ws.readyState === OPEN;
  }

  get bufferedAmount(): number {
    return this.ws.bufferedAmount;
  }

  send(frame: Uint8Array): void {
    this.ws.send(frame);
  }

  close(code = 1000, reason?: string): void {
    this.ws.onmessage = this.ws.onclose = this.ws.onerror = this.ws.onopen = null;
    if (this.ws.readyState <= OPEN) this.ws.close(code, reason);
  }
}

/**
 * The WebSocket never opened: nothing listening, a TLS handshake that failed (`wss://` to a plain port, a
 * certificate the platform rejects), or no bridge at that path (the upgrade refused). `ws` in Node says
 * which; a browser says nothing, so the message lists them. `closeCode` stays the WebSocket's (1006).
 */
function unreachable(url: string, detail: string | undefined, closeCode: number): BridgeError {
  const where = `could not reach the bridge at ${withoutToken(url)}`;
  if (detail === undefined) {
    return new BridgeError('unreachable', `${where}: the WebSocket never opened (connection refused, TLS failed, or no bridge at that URL; the browser does not say which)`, closeCode);
  }
  // OpenSSL's text for a server that answered TLS with something else is a long internal record.
  const cause = /wrong version number/i.test(detail) ? 'TLS handshake failed (the server did not answer in TLS: wrong version number)' : detail.trim();
  const tls = /\b(TLS|SSL|EPROTO|certificate)\b/i.test(cause);
  const hint = tls && url.startsWith('wss:') ? ' — is that port plain ws://, or is the certificate not trusted?' : '';
  return new BridgeError('unreachable', `${where}: ${cause}${hint}`, closeCode);
}

/** The URL as it may be logged: no query (it holds the credential) and no user info. */
export function withoutToken(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}${parsed.pathname}`;
  } catch {
    return url.replace(/[?#].*$/, '');
  }
}

function bytesOf(data: unknown): Uint8Array {
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return new Uint8Array(0); // a text message: decodes as EMPTY, counted as malformed
}
