// The options of BridgeConnection.connect (timeouts, queue bounds and the carrier choice, validated once)
// and of its connect() for a TCP/TLS stream.
import type { BridgeCarrierKind, WebSocketConstructor } from './bridge-carrier.js';
import type { CertificateHash, WebTransportConstructor } from './webtransport-carrier.js';
import { checkOptionsObject } from './option-checks.js';

export interface BridgeStreamConnectOptions {
  /** An IP address, or a host name the bridge resolves first. */
  address: string;
  port: number;
  /** TLS over the TCP connection (the bridge checks the server's certificate). Default false. */
  tls?: boolean;
  /** The TLS server name (SNI and certificate check). Default: `address` when it is a name, else none. */
  serverName?: string;
}

/** Which carrier to use: WebTransport first then WebSocket (`auto`), or one of them only. */
export type BridgeCarrierChoice = 'auto' | BridgeCarrierKind;

export interface BridgeConnectOptions {
  /** The WebSocket class; default the global one (Node 20 has none: pass `ws`'s, or use `connectBridge`). */
  WebSocket?: WebSocketConstructor;
  /** The WebTransport class; default the global one (pages and Workers of browsers that have it). */
  WebTransport?: WebTransportConstructor;
  /**
   * `websocket`: the URL given to connect(); `webtransport`: `webTransportUrl` (or the URL itself when it is
   * https:) only; `auto`: WebTransport within `webTransportTimeoutMs`, else WebSocket (`fallbackReason` says why).
   * Default `auto` when `webTransportUrl` is given, else `websocket`.
   */
  carrier?: BridgeCarrierChoice;
  /** The bridge's WebTransport URL (`https://HOST:PORT/bridge?username=…&credential=…`, bridge/webtransport/PROTOCOL.md). */
  webTransportUrl?: string;
  /** SHA-256 hashes of the bridge's self-signed WebTransport certificate (W3C `serverCertificateHashes`). */
  certificateHashes?: CertificateHash[];
  /** In `auto`, how long WebTransport has to say hello before WebSocket is tried. Default 3000 ms. */
  webTransportTimeoutMs?: number;
  /** Give up when the bridge has not said hello within this long. Default 10 000 ms. */
  connectTimeoutMs?: number;
  /** Give up on a bind, resolve or connect the bridge has not answered within this long. Default 10 000 ms. */
  requestTimeoutMs?: number;
  /** Above this many bytes queued on the carrier, `send` drops datagrams instead of queueing. Default 1 MiB. */
  maxBufferedBytes?: number;
  /** The WebSocket's binaryType: 'arraybuffer' (default); Node's `ws` avoids a copy per message with 'nodebuffer'. */
  binaryType?: string;
  /** Bytes a stream lets the bridge send before this side grants more (announced in `connect`). Default 256 KiB. */
  streamReceiveWindow?: number;
  /** Above this many bytes queued on a stream for want of credit, `BridgeStream.write` returns false. Default 1 MiB. */
  maxStreamBufferedBytes?: number;
}

export type ConnectionOptions = Required<Pick<BridgeConnectOptions, 'connectTimeoutMs' | 'requestTimeoutMs' | 'maxBufferedBytes' | 'streamReceiveWindow' | 'maxStreamBufferedBytes'>>;

/** The numeric options with their defaults, each checked once, at connect. */
export function resolveConnectOptions(options: BridgeConnectOptions): { resolved: ConnectionOptions; webTransportTimeoutMs: number } {
  return {
    resolved: {
      connectTimeoutMs: integerOption('connectTimeoutMs', options.connectTimeoutMs, 10_000, 1),
      requestTimeoutMs: integerOption('requestTimeoutMs', options.requestTimeoutMs, 10_000, 1),
      maxBufferedBytes: integerOption('maxBufferedBytes', options.maxBufferedBytes, 1_048_576, 0),
      streamReceiveWindow: integerOption('streamReceiveWindow', options.streamReceiveWindow, 262_144, 1, 0xffffffff),
      maxStreamBufferedBytes: integerOption('maxStreamBufferedBytes', options.maxStreamBufferedBytes, 1_048_576, 0),
    },
    webTransportTimeoutMs: integerOption('webTransportTimeoutMs', options.webTransportTimeoutMs, 3000, 1),
  };
}

/** The carrier the options ask for, and the WebTransport URL it needs. */
export function carrierChoice(url: string, options: BridgeConnectOptions): { choice: BridgeCarrierChoice; webTransportUrl: string | undefined } {
  const webTransportUrl = options.webTransportUrl ?? (options.carrier === 'webtransport' && /^https:/i.test(url) ? url : undefined);
  const choice = options.carrier ?? (webTransportUrl !== undefined ? 'auto' : 'websocket');
  if (choice !== 'auto' && choice !== 'webtransport' && choice !== 'websocket') throw new TypeError(`carrier must be 'auto', 'webtransport' or 'websocket', got ${JSON.stringify(choice)}`);
  if (choice !== 'websocket' && webTransportUrl === undefined) throw new TypeError(`carrier '${choice}' needs webTransportUrl (the bridge's https:// WebTransport URL)`);
  return { choice, webTransportUrl };
}

/** An integer option in min..max, or its default when absent; checked once, at connect. */
function integerOption(name: string, value: number | undefined, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < min || value > max) throw new RangeError(`${name} must be an integer in ${min}..${max}, got ${value}`);
  return value;
}

/** The URL and options of connect(): typed errors for what is neither (the page's `{ url, … }` form included). */
export function checkBridgeUrl(url: unknown, options: unknown): void {
  if (typeof url !== 'string') {
    const got = url === null ? 'null' : typeof url === 'object' ? 'an object (pass its url, and the other fields as options)' : typeof url;
    throw new TypeError(`connect: the bridge URL must be a ws:// or wss:// (or https: WebTransport) string, got ${got}`);
  }
  checkOptionsObject('connect', options);
}
