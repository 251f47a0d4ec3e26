// The token check of both carriers' admissions (bridge/websocket-admission.ts, bridge/webtransport/admission.ts):
// the URL's TURN REST credential (draft-uberti-behave-turn-rest §2.2) under any of the bridge's secrets.
import { BridgeCloseCode } from './close-codes.js';
import type { RefusalReason } from './metrics.js';
import { verifyRestCredential } from '../net/rest-credentials.js';

export type TokenCheck = { ok: true; user: string | undefined } | { ok: false; code: number; refusal: RefusalReason; reason: string };

/** `query`: the session URL's; without username and credential, admitted only with `allowAnonymous`. */
export function checkToken(rules: { readonly secrets: readonly string[]; readonly allowAnonymous: boolean }, query: URLSearchParams, nowSeconds: number): TokenCheck {
  const username = query.get('username');
  // A '+' of base64 left unencoded in the URL arrives as a space; base64 has no spaces, so put it back.
  const credential = query.get('credential')?.replace(/ /g, '+') ?? null;
  const unauthorized = (reason: string): TokenCheck => ({ ok: false, code: BridgeCloseCode.unauthorized, refusal: 'unauthorized', reason });
  if (username === null && credential === null) {
    return rules.allowAnonymous ? { ok: true, user: undefined } : unauthorized('unauthorized: no token');
  }
  if (username === null || credential === null) return unauthorized('unauthorized: username and credential both needed');
  let expired = false;
  let malformed = false;
  for (const secret of rules.secrets) {
    const check = verifyRestCredential(secret, username, credential, nowSeconds);
    if (check.ok) return { ok: true, user: check.user };
    if (check.reason === 'expired') expired = true;
    if (check.reason === 'malformed') malformed = true;
  }
  if (expired) return { ok: false, code: BridgeCloseCode.credentialExpired, refusal: 'credential-expired', reason: 'credential expired' };
  return unauthorized(malformed ? 'unauthorized: malformed token' : 'unauthorized: bad signature');
}
