// Who may open a WebSocket session, decided at the upgrade: the Origin, then the token (a TURN REST
// credential under any of the bridge's secrets), then the session cap. Apart from startBridge (server.ts),
// which only acts on the answer.
import type { IncomingMessage } from 'node:http';
import { verifyRestCredential } from '../src/net/rest-credentials.js';
import { BridgeCloseCode } from './close-codes.js';
import type { RefusalReason } from './metrics.js';
import { normalizeOrigin, type ResolvedBridgeOptions } from './options.js';

export type Admission =
  | { ok: true; user: string | undefined }
  | { ok: false; code: number; refusal: RefusalReason; reason: string };

/** Origin, then token, then capacity: the cheapest checks that reveal the least come first. */
export function admit(o: ResolvedBridgeOptions, req: IncomingMessage, openSessions: number): Admission {
  const origin = headerOf(req, 'origin');
  if (origin === undefined ? !o.allowMissingOrigin : o.allowOrigins !== undefined && !o.allowOrigins.has(normalizeOrigin(origin))) {
    return { ok: false, code: BridgeCloseCode.originNotAllowed, refusal: 'origin-not-allowed', reason: 'origin not allowed' };
  }
  const auth = authenticate(o, req);
  if (!auth.ok) return auth;
  if (openSessions >= o.maxSessions) {
    return { ok: false, code: BridgeCloseCode.tooManySessions, refusal: 'too-many-sessions', reason: 'too many sessions' };
  }
  return auth;
}

function authenticate(o: ResolvedBridgeOptions, req: IncomingMessage): Admission {
  const query = new URL(req.url ?? '/', 'http://bridge').searchParams;
  const username = query.get('username');
  // A '+' of base64 left unencoded in the URL arrives as a space; base64 has no spaces, so put it back.
  const credential = query.get('credential')?.replace(/ /g, '+') ?? null;
  const unauthorized = (reason: string): Admission => ({ ok: false, code: BridgeCloseCode.unauthorized, refusal: 'unauthorized', reason });
  if (username === null && credential === null) {
    return o.allowAnonymous ? { ok: true, user: undefined } : unauthorized('unauthorized: no token');
  }
  if (username === null || credential === null) return unauthorized('unauthorized: username and credential both needed');
  const now = Date.now() / 1000;
  let expired = false;
  let malformed = false;
  for (const secret of o.secrets) {
    const check = verifyRestCredential(secret, username, credential, now);
    if (check.ok) return { ok: true, user: check.user };
    if (check.reason === 'expired') expired = true;
    if (check.reason === 'malformed') malformed = true;
  }
  if (expired) return { ok: false, code: BridgeCloseCode.credentialExpired, refusal: 'credential-expired', reason: 'credential expired' };
  return unauthorized(malformed ? 'unauthorized: malformed token' : 'unauthorized: bad signature');
}

export function headerOf(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}
