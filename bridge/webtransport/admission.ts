// Who may open a WebTransport session: the URL's path, then the token (the same TURN REST credential as the
// WebSocket carrier, bridge/server.ts), then capacity. Pure, so it is the same decision in either runtime.
//
// No Origin check here: Deno 2.9's upgradeWebTransport() answers the extended CONNECT itself and gives the
// script only the URL (op_webtransport_accept returns url + stream ids; no request headers), so the Origin a
// browser sends cannot be read. The supervisor therefore does not start this carrier at all when the bridge
// has an Origin rule (allowOrigins, or allowMissingOrigin false): those pages stay on the WebSocket carrier,
// where the rule is enforced. It never pretends to check what it cannot see.
import { BridgeCloseCode } from '../../src/bridge/close-codes.js';
import type { RefusalReason } from '../../src/bridge/metrics.js';
import { checkToken } from '../../src/bridge/token-check.js';

export type Admission =
  | { ok: true; user: string | undefined }
  | { ok: false; code: number; refusal: RefusalReason | 'not-found'; reason: string };

export interface AdmissionRules {
  path: string;
  secrets: readonly string[];
  allowAnonymous: boolean;
  maxSessions: number;
}

export function admit(rules: AdmissionRules, url: string, openSessions: number, nowSeconds: number): Admission {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return { ok: false, code: BridgeCloseCode.unauthorized, refusal: 'unauthorized', reason: 'unauthorized: unreadable request' };
  }
  if (parsed.pathname !== rules.path) return { ok: false, code: 4004, refusal: 'not-found', reason: `no bridge at ${parsed.pathname}` };
  const auth = checkToken(rules, parsed.searchParams, nowSeconds);
  if (!auth.ok) return auth;
  if (openSessions >= rules.maxSessions) {
    return { ok: false, code: BridgeCloseCode.tooManySessions, refusal: 'too-many-sessions', reason: 'too many sessions' };
  }
  return auth;
}
