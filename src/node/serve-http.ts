// The HTTP routes of `icebridge serve` (WebSocket upgrades are the bridge's and the signalling relay's):
//   GET /               → 302 /inspector/ (a plain list of routes when the pages are off)
//   GET /<page>/…       → the example pages and their bundled scripts (page-files.ts)
//   GET /icebridge/…    → the built page client: browser.js, worker-client.js, worker.js (+ .map)
//   GET /config.json    → bridge URL, ICE servers and freshly minted credentials, never cached; CORS for the
//                         listed origins (OPTIONS preflight too), so a page served elsewhere can fetch it
//   GET /metrics        → Prometheus text of every part
//   GET /healthz        → {"ok":true,…}
// Requests whose Host is neither an IP literal, localhost nor an allowed name are refused (421), so a DNS
// rebinding page cannot read /config.json's credentials through a name it controls.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { isIp } from '../net/ip.js';
import type { PageFiles } from './page-files.js';

export interface ServeHttpRoutes {
  /** The example pages and the page client; undefined when pages are off. */
  pages: PageFiles | undefined;
  /** The page opened at `/`. Default the first page. */
  home: string | undefined;
  /** /config.json for a request that reached us as `host` (the Host header, validated). */
  config: ((host: string) => unknown) | undefined;
  metrics: () => string | Promise<string>;
  health: () => Record<string, unknown>;
  /** WebSocket endpoints: a plain GET of one gets 426 Upgrade Required. */
  webSocketPaths: readonly string[];
  /** Host names accepted besides IP literals and localhost. */
  allowHosts: readonly string[];
  /**
   * Page origins (serialized, `https://app.example:5173`) that may read /config.json cross-origin: they get
   * Access-Control-Allow-Origin; any other origin gets no CORS header, so the browser keeps it from the page.
   */
  corsOrigins: readonly string[];
}

/** How long a browser may cache a /config.json preflight (Fetch standard: Access-Control-Max-Age, seconds). */
const CORS_MAX_AGE_SECONDS = 600;

/** Content-Security-Policy of the HTML pages: scripts from this origin only; any bridge or relay may be dialled. */
const PAGE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "connect-src 'self' ws: wss:",
  "worker-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join('; ');

const COMMON_HEADERS: Readonly<Record<string, string>> = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cross-origin-resource-policy': 'same-origin',
  'x-frame-options': 'DENY',
};

/** The hostname of a Host header (`127.0.0.1:8787`, `[::1]:8787`, `localhost`), or undefined if unreadable. */
export function hostnameOf(host: string | undefined): string | undefined {
  if (host === undefined || !/^[A-Za-z0-9.\-:[\]]{1,262}$/.test(host)) return undefined;
  const m = /^(\[[0-9A-Fa-f:.]+\]|[^:[\]]+)(?::\d{1,5})?$/.exec(host);
  return m ? m[1].toLowerCase() : undefined;
}

function hostAllowed(hostname: string, allow: readonly string[]): boolean {
  const bare = hostname.startsWith('[') ? hostname.slice(1, -1) : hostname;
  return isIp(bare) || hostname === 'localhost' || allow.includes(hostname);
}

function send(res: ServerResponse, head: boolean, status: number, headers: Record<string, string>, body: string | Uint8Array = ''): void {
  const bytes = typeof body === 'string' ? Buffer.from(body) : body;
  res.writeHead(status, { ...COMMON_HEADERS, 'content-length': String(bytes.byteLength), ...headers });
  res.end(head ? undefined : bytes);
}

function text(res: ServerResponse, head: boolean, status: number, message: string, extra: Record<string, string> = {}): void {
  send(res, head, status, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store', ...extra }, `${message}\n`);
}

/**
 * CORS for /config.json: the request's own origin echoed when listed (never `*`: the body holds credentials),
 * and `Vary: Origin` either way, since the answer depends on it.
 */
function corsHeaders(origin: string | undefined, allowed: readonly string[]): Record<string, string> {
  const headers: Record<string, string> = { vary: 'Origin' };
  if (origin !== undefined && allowed.includes(origin.toLowerCase())) headers['access-control-allow-origin'] = origin;
  return headers;
}

function pathnameOf(url: string): string {
  const q = url.search(/[?#]/);
  return q < 0 ? url : url.slice(0, q);
}

export function createRequestHandler(routes: ServeHttpRoutes): (req: IncomingMessage, res: ServerResponse) => void {
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const head = req.method === 'HEAD';
    const url = req.url ?? '/';
    const path = pathnameOf(url);
    const configCors = path === '/config.json' && routes.config !== undefined && routes.corsOrigins.length > 0;
    const preflight = req.method === 'OPTIONS' && configCors;
    if (req.method !== 'GET' && !head && !preflight) return text(res, false, 405, 'method not allowed', { allow: configCors ? 'GET, HEAD, OPTIONS' : 'GET, HEAD' });
    const hostname = hostnameOf(req.headers.host);
    if (hostname === undefined || !hostAllowed(hostname, routes.allowHosts)) return text(res, head, 421, 'unknown Host: open the URL icebridge serve printed');
    if (!url.startsWith('/')) return text(res, head, 400, 'bad request target');
    const cors = configCors ? corsHeaders(req.headers.origin, routes.corsOrigins) : {};
    if (preflight) {
      const allowed = 'access-control-allow-origin' in cors;
      const extra: Record<string, string> = allowed ? { 'access-control-allow-methods': 'GET, HEAD', 'access-control-max-age': String(CORS_MAX_AGE_SECONDS) } : {};
      return send(res, false, 204, { ...cors, ...extra, 'cache-control': 'no-store' });
    }
    if (path === '/') {
      if (routes.home !== undefined) return send(res, head, 302, { location: `/${routes.home}/`, 'cache-control': 'no-store' });
      return text(res, head, 200, ['icebridge serve', '', 'GET /config.json', 'GET /metrics', 'GET /healthz', ...routes.webSocketPaths.map((p) => `WebSocket ${p}`)].join('\n'));
    }
    if (path === '/config.json' && routes.config) {
      const body = JSON.stringify(routes.config(req.headers.host ?? hostname), null, 2);
      return send(res, head, 200, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', pragma: 'no-cache', ...cors }, `${body}\n`);
    }
    if (path === '/metrics') return send(res, head, 200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8', 'cache-control': 'no-store' }, await routes.metrics());
    if (path === '/healthz') {
      return send(res, head, 200, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' }, `${JSON.stringify({ ok: true, ...routes.health() })}\n`);
    }
    if (routes.webSocketPaths.includes(path)) return text(res, head, 426, 'connect with a WebSocket', { upgrade: 'websocket' });
    const found = await routes.pages?.get(path);
    if (found === undefined) return text(res, head, 404, 'not found');
    if (found.status === 301) return send(res, head, 301, { location: found.location, 'cache-control': 'no-store' });
    if (found.status !== 200) return text(res, head, found.status, found.message);
    const headers: Record<string, string> = { 'content-type': found.contentType, 'cache-control': 'no-cache' };
    if (found.contentType.startsWith('text/html')) headers['content-security-policy'] = PAGE_CSP;
    return send(res, head, 200, headers, found.body);
  };
  return (req, res) => {
    handle(req, res).catch((err: unknown) => {
      // A bug here must cost one request, not the server.
      if (!res.headersSent) text(res, false, 500, `internal error: ${err instanceof Error ? err.message : String(err)}`);
      else res.destroy();
    });
  };
}

/** The last 'upgrade' listener: refuses WebSocket requests that no endpoint took (404). */
export function refuseOtherUpgrades(webSocketPaths: () => readonly string[]): (req: IncomingMessage, socket: Duplex) => void {
  return (req, socket) => {
    if (webSocketPaths().includes(pathnameOf(req.url ?? '/'))) return;
    socket.on('error', () => {});
    socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
  };
}
