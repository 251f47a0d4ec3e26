// The long-term credential mechanism on the server side (RFC 8489 §9.2.4, required for TURN by RFC 8656
// §5 and §7.2 step 1): the 401 challenge (REALM, NONCE, PASSWORD-ALGORITHMS), the checks in the order the
// RFC lists them, and the key the response is then protected with. Passwords come from a static user list
// and/or the TURN REST API shared secret (draft-uberti-behave-turn-rest-00 §2.2). Deliberately not offered:
// username anonymity (USERHASH, RFC 8489 §9.2.1 bit 1) — REST usernames cannot be looked up by their hash.
import { HmacSha1, toBase64, utf8Encode } from '../crypto/index.js';
import type { Millis } from '../net/clock.js';
import { verifyRestCredential } from '../net/rest-credentials.js';
import type { TransportAddress } from '../net/transport-address.js';
import type { StunAttributeEntry, StunPasswordAlgorithm } from '../stun/attribute-values.js';
import { PasswordAlgorithm } from '../stun/constants.js';
import { longTermKey, verifyMessageIntegrity, verifyMessageIntegritySha256, type LongTermAlgorithm } from '../stun/integrity.js';
import type { StunMessage } from '../stun/message.js';
import { NonceIssuer } from './turn-nonce.js';

export interface TurnCredentialOptions {
  /** REALM (RFC 8489 §14.9); RECOMMENDED to be the provider's domain name. Default 'icebridge'. */
  realm?: string;
  /** Static long-term credentials, username → password. Default none. */
  users?: Readonly<Record<string, string>>;
  /**
   * TURN REST API shared secret: username "<unix expiry>:<user>", password base64(HMAC-SHA1(secret,
   * username)). Expired usernames are refused for new allocations (401) but keep working for the
   * allocation they created (draft §2: expiry "does not affect existing TURN allocations"). Default none.
   */
  secret?: string | Uint8Array;
  /**
   * Long-term key algorithms offered in PASSWORD-ALGORITHMS, preferred first (RFC 8489 §9.2.4).
   * Default ['SHA-256', 'MD5']; [] offers none (RFC 5389 behaviour: MD5 and MESSAGE-INTEGRITY only).
   */
  passwordAlgorithms?: readonly LongTermAlgorithm[];
  /** How long a nonce is valid before it earns a 438 Stale Nonce. Default TURN_NONCE_LIFETIME_MS (1 h). */
  nonceLifetimeMs?: Millis;
  /** Key that signs nonces; servers behind one load balancer may share it. Default: 32 random bytes. */
  nonceKey?: Uint8Array;
  /**
   * Unix time in ms at which the engine's clock read 0, to compare REST expiry timestamps (Unix seconds)
   * with `now` (a monotonic clock). Default `Date.now() - performance.now()`, right for the real clock;
   * tests on a VirtualClock set it. Deliberately the one place the engine reads a wall clock, and only
   * at construction.
   */
  unixEpochMs?: number;
}

/** What a request authenticated as, and how its responses are to be protected (RFC 8489 §9.2.4, last paragraph). */
export interface TurnAuthContext {
  readonly username: string;
  /** The identity allocation quotas count against: the username, or a REST username's user part. */
  readonly user: string;
  readonly key: Uint8Array;
  /** Add MESSAGE-INTEGRITY to responses. */
  readonly sha1: boolean;
  /** Add MESSAGE-INTEGRITY-SHA256 to responses. */
  readonly sha256: boolean;
}

export type TurnAuthOutcome =
  | { readonly ok: true; readonly auth: TurnAuthContext }
  | { readonly ok: false; readonly code: 400 | 401 | 438; readonly reason: string; readonly challenge: boolean };

export const DEFAULT_REALM = 'icebridge';

const ALGORITHM_NUMBER: Record<LongTermAlgorithm, number> = { MD5: PasswordAlgorithm.MD5, 'SHA-256': PasswordAlgorithm.SHA256 };

export class TurnAuthenticator {
  readonly realm: string;
  /** False when neither users nor a secret are configured: every TURN request gets a 401 nobody can answer. */
  readonly enabled: boolean;
  private readonly users: Map<string, string>;
  private readonly restHmac: HmacSha1 | undefined;
  private readonly restSecret: string | Uint8Array | undefined;
  private readonly algorithms: readonly StunPasswordAlgorithm[];
  private readonly nonces: NonceIssuer;
  private readonly unixEpochMs: number;
  private readonly keyCache = new Map<string, Uint8Array>();

  constructor(options: TurnCredentialOptions, defaultNonceLifetimeMs: Millis) {
    const realm = options.realm ?? DEFAULT_REALM;
    if (typeof realm !== 'string' || realm.length === 0 || realm.length > 763) {
      throw new RangeError('TURN realm must be 1..763 characters (RFC 8489 §14.9)');
    }
    this.realm = realm;
    this.users = new Map(Object.entries(options.users ?? {}));
    this.restSecret = options.secret;
    const secretBytes = typeof options.secret === 'string' ? utf8Encode(options.secret) : options.secret;
    this.restHmac = secretBytes !== undefined && secretBytes.length > 0 ? new HmacSha1(secretBytes) : undefined;
    this.enabled = this.users.size > 0 || this.restHmac !== undefined;
    const names = options.passwordAlgorithms ?? ['SHA-256', 'MD5'];
    for (const name of names) if (!(name in ALGORITHM_NUMBER)) throw new RangeError(`unknown password algorithm ${String(name)}`);
    this.algorithms = names.map((name) => ({ algorithm: ALGORITHM_NUMBER[name], parameters: new Uint8Array(0) }));
    const lifetime = options.nonceLifetimeMs ?? defaultNonceLifetimeMs;
    if (!(lifetime > 0)) throw new RangeError('nonceLifetimeMs must be > 0');
    const key = options.nonceKey ?? crypto.getRandomValues(new Uint8Array(32));
    this.nonces = new NonceIssuer(key, lifetime, this.algorithms.length > 0);
    this.unixEpochMs = options.unixEpochMs ?? Date.now() - performance.now();
  }

  /** REALM, a fresh NONCE and PASSWORD-ALGORITHMS: what a 401 or 438 carries (RFC 8489 §9.2.4). */
  challenge(client: TransportAddress, now: Millis): StunAttributeEntry[] {
    const attributes: StunAttributeEntry[] = [
      ['REALM', this.realm],
      ['NONCE', this.nonces.issue(client, now)],
    ];
    if (this.algorithms.length > 0) attributes.push(['PASSWORD-ALGORITHMS', this.algorithms]);
    return attributes;
  }

  /**
   * Runs the checks of RFC 8489 §9.2.4 in order. `allocationUsername` is the username of the allocation
   * on this 5-tuple, if any: its REST credential stays usable after expiry.
   */
  authenticate(request: StunMessage, client: TransportAddress, now: Millis, allocationUsername?: string): TurnAuthOutcome {
    const hasSha1 = request.integrityOffset >= 0;
    const hasSha256 = request.integritySha256Offset >= 0;
    if (!hasSha1 && !hasSha256) return fail(401, 'Unauthenticated', true);
    const username = request.get('USERNAME');
    const nonce = request.get('NONCE');
    if (username === undefined || request.get('REALM') === undefined || nonce === undefined) {
      return fail(400, 'Bad Request: USERNAME, REALM and NONCE are required with MESSAGE-INTEGRITY', false);
    }

    let algorithm: LongTermAlgorithm = 'MD5';
    let negotiated = false;
    if (NonceIssuer.announcesPasswordAlgorithms(nonce)) {
      const chosen = request.get('PASSWORD-ALGORITHM');
      const offered = request.get('PASSWORD-ALGORITHMS');
      if (chosen !== undefined || offered !== undefined) {
        if (chosen === undefined || offered === undefined || !this.sameAlgorithms(offered) || !offered.some((a) => sameAlgorithm(a, chosen))) {
          return fail(400, 'Bad Request: PASSWORD-ALGORITHM(S) do not match what the server offered', false);
        }
        algorithm = chosen.algorithm === PasswordAlgorithm.SHA256 ? 'SHA-256' : 'MD5';
        negotiated = true;
      }
    }

    const credential = this.passwordFor(username, now, allocationUsername);
    if (credential === undefined) return fail(401, 'Unauthenticated: unknown or expired username', true);
    const key = this.key(username, credential.password, algorithm, credential.cacheable);
    const intact = hasSha256 ? verifyMessageIntegritySha256(request, key) : verifyMessageIntegrity(request, key);
    if (!intact) return fail(401, 'Unauthenticated: integrity check failed', true);

    if (this.nonces.check(nonce, client, now) !== 'valid') return fail(438, 'Stale Nonce', true);
    return {
      ok: true,
      auth: { username, user: credential.user, key, sha1: hasSha1 && !negotiated, sha256: hasSha256 || negotiated },
    };
  }

  private passwordFor(username: string, now: Millis, allocationUsername: string | undefined): { password: string; user: string; cacheable: boolean } | undefined {
    const password = this.users.get(username);
    if (password !== undefined) return { password, user: username, cacheable: true };
    if (this.restHmac === undefined || this.restSecret === undefined) return undefined;
    // The server derives the password from the username; verifyRestCredential then checks form and expiry.
    const derived = toBase64(this.restHmac.digest(utf8Encode(username)));
    const check = verifyRestCredential(this.restSecret, username, derived, (this.unixEpochMs + now) / 1000);
    if (check.ok) return { password: derived, user: check.user || username, cacheable: false };
    if (check.reason === 'expired' && username === allocationUsername) {
      const colon = username.indexOf(':');
      return { password: derived, user: colon < 0 ? username : username.slice(colon + 1) || username, cacheable: false };
    }
    return undefined;
  }

  private key(username: string, password: string, algorithm: LongTermAlgorithm, cacheable: boolean): Uint8Array {
    if (!cacheable) return longTermKey(username, this.realm, password, algorithm);
    const id = `${algorithm}\u0000${username}`;
    let key = this.keyCache.get(id);
    if (key === undefined) {
      key = longTermKey(username, this.realm, password, algorithm);
      this.keyCache.set(id, key);
    }
    return key;
  }

  /** RFC 8489 §9.2.4: the echoed PASSWORD-ALGORITHMS must be exactly the list this server sent. */
  private sameAlgorithms(echoed: readonly StunPasswordAlgorithm[]): boolean {
    if (echoed.length !== this.algorithms.length) return false;
    return echoed.every((a, i) => sameAlgorithm(a, this.algorithms[i]));
  }
}

function sameAlgorithm(a: StunPasswordAlgorithm, b: StunPasswordAlgorithm): boolean {
  if (a.algorithm !== b.algorithm || a.parameters.length !== b.parameters.length) return false;
  for (let i = 0; i < a.parameters.length; i++) if (a.parameters[i] !== b.parameters[i]) return false;
  return true;
}

function fail(code: 400 | 401 | 438, reason: string, challenge: boolean): TurnAuthOutcome {
  return { ok: false, code, reason, challenge };
}
