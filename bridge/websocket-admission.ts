// Who may open a WebSocket session, decided at the upgrade: the Origin, then the token (a TURN REST
// credential under any of the bridge's secrets), then the session cap. Apart from startBridge (server.ts),
// which only acts on the answer.
import type { IncomingMessage } from 'node:http';
import { checkToken, type TokenCheck } from '../src/bridge/token-check.js';
import { BridgeCloseCode } from './close-codes.js';
import { normalizeOrigin, type ResolvedBridgeOptions } from './options.js';

export type Admission = TokenCheck;

/** Origin, then token, then capacity: the cheapest checks that reveal the least come first. */
export function admit(o: ResolvedBridgeOptions, req: IncomingMessage, openSessions: number): Admission {
  const origin = headerOf(req, 'origin');
  if (origin === undefined ? !o.allowMissingOrigin : o.allowOrigins !== undefined && !o.allowOrigins.has(normalizeOrigin(origin))) {
    return { ok: false, code: BridgeCloseCode.originNotAllowed, refusal: 'origin-not-allowed', reason: 'origin not allowed' };
  }
  const auth = checkToken(o, new URL(req.url ?? '/', 'http://bridge').searchParams, Date.now() / 1000);
  if (!auth.ok) return auth;
  if (openSessions >= o.maxSessions) {
    return { ok: false, code: BridgeCloseCode.tooManySessions, refusal: 'too-many-sessions', reason: 'too many sessions' };
  }
  return auth;
}

export function headerOf(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}
