// The long-term credential mechanism on the server side (RFC 8489 §9.2.4, required for TURN by RFC 8656
// §5 and §7.2 step 1): the 401 challenge (REALM, NONCE, PASSWORD-ALGORITHMS), the checks in the order the
// RFC lists them, and the key the response is then protected with. Passwords come from static user lists
// and/or TURN REST API shared secrets (draft-uberti-behave-turn-rest-00 §2.2), one set per realm the server
// serves (turn-realms.ts). A request is checked in the realm its REALM names; a realm not served gets 401
// and a challenge for the default realm. USERHASH (RFC 8489 §14.4) is accepted for static users; username
// anonymity is announced in the nonce (§9.2.1 bit 1) only when every username can be found from its hash,
// that is without REST secrets (a REST username cannot be looked up by its hash).
import type { Millis } from '../net/clock.js';
import type { TransportAddress } from '../net/transport-address.js';
import type { StunAttributeEntry, StunPasswordAlgorithm } from '../stun/attribute-values.js';
import { PasswordAlgorithm } from '../stun/constants.js';
import { verifyMessageIntegrity, verifyMessageIntegritySha256, type LongTermAlgorithm } from '../stun/integrity.js';
import type { StunMessage } from '../stun/message.js';
import { NonceIssuer } from './turn-nonce.js';
import { checkRealmCredentials, checkRealmName, RealmCredentials, type TurnRealmCredentials } from './turn-realms.js';

export type { TurnRealmCredentials } from './turn-realms.js';

export interface TurnCredentialOptions {
  /**
   * REALM (RFC 8489 §14.9); RECOMMENDED to be the provider's domain name. The default realm: challenges
   * name it, and `users` / `secret` are its credentials. Default 'icebridge'.
   */
  realm?: string;
  /**
   * More realms, name → credentials, as coturn serves several: a request naming one of them (its REALM,
   * with a key computed for that realm) is checked against that realm's users and secret only. A 401 to a
   * request in one of them challenges with that realm, otherwise with `realm`. Quotas count per realm and
   * user. An entry for `realm` itself adds to `users` / `secret`. Default none.
   */
  realms?: Readonly<Record<string, TurnRealmCredentials>>;
  /** Static long-term credentials of the default realm, username → password. Default none. */
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
  /** The real username (also when the request carried USERHASH). */
  readonly username: string;
  /** The realm the request authenticated in. */
  readonly realm: string;
  /** The user within the realm: the username, or a REST username's user part. */
  readonly user: string;
  /** The identity allocation quotas count against: realm and user. */
  readonly quotaKey: string;
  readonly key: Uint8Array;
  /** Add MESSAGE-INTEGRITY to responses. */
  readonly sha1: boolean;
  /** Add MESSAGE-INTEGRITY-SHA256 to responses. */
  readonly sha256: boolean;
}

export type TurnAuthOutcome =
  | { readonly ok: true; readonly auth: TurnAuthContext }
  | {
      readonly ok: false;
      readonly code: 400 | 401 | 438;
      readonly reason: string;
      /** Whether the error carries a challenge, and for which realm (pass it to `challenge`). */
      readonly challenge: boolean;
      readonly realm?: string;
    };

export const DEFAULT_REALM = 'icebridge';

const ALGORITHM_NUMBER: Record<LongTermAlgorithm, number> = { MD5: PasswordAlgorithm.MD5, 'SHA-256': PasswordAlgorithm.SHA256 };

export class TurnAuthenticator {
  /** The default realm. */
  readonly realm: string;
  /** False when no realm has users or a secret: every TURN request gets a 401 nobody can answer. */
  readonly enabled: boolean;
  private readonly realms = new Map<string, RealmCredentials>();
  private readonly algorithms: readonly StunPasswordAlgorithm[];
  private readonly nonces: NonceIssuer;
  private readonly unixEpochMs: number;

  constructor(options: TurnCredentialOptions, defaultNonceLifetimeMs: Millis) {
    this.realm = checkRealmName(options.realm ?? DEFAULT_REALM);
    const extra = options.realms ?? {};
    checkRealmCredentials('TURN server option ', options);
    for (const [name, credentials] of Object.entries(extra)) checkRealmCredentials(`TURN server option realms[${JSON.stringify(name)}].`, credentials);
    const own = extra[this.realm];
    this.realms.set(
      this.realm,
      new RealmCredentials(this.realm, { users: { ...own?.users, ...options.users }, secret: options.secret ?? own?.secret }),
    );
    for (const [name, credentials] of Object.entries(extra)) {
      if (name !== this.realm) this.realms.set(checkRealmName(name), new RealmCredentials(name, credentials ?? {}));
    }
    const served = [...this.realms.values()];
    this.enabled = served.some((r) => r.enabled);
    const names = options.passwordAlgorithms ?? ['SHA-256', 'MD5'];
    for (const name of names) if (!(name in ALGORITHM_NUMBER)) throw new RangeError(`unknown password algorithm ${String(name)}`);
    this.algorithms = names.map((name) => ({ algorithm: ALGORITHM_NUMBER[name], parameters: new Uint8Array(0) }));
    const lifetime = options.nonceLifetimeMs ?? defaultNonceLifetimeMs;
    if (!(lifetime > 0)) throw new RangeError('nonceLifetimeMs must be > 0');
    const key = options.nonceKey ?? crypto.getRandomValues(new Uint8Array(32));
    // RFC 8489 §9.2.1 bit 1: clients then send USERHASH instead of USERNAME, so it is offered only when
    // every realm in use can map a hash back to its user (static users, no REST secret).
    const anonymity = this.enabled && served.every((r) => !r.enabled || r.hashable);
    this.nonces = new NonceIssuer(key, lifetime, { passwordAlgorithms: this.algorithms.length > 0, usernameAnonymity: anonymity });
    this.unixEpochMs = options.unixEpochMs ?? Date.now() - performance.now();
  }

  /** Every realm served, the default first. */
  get realmNames(): string[] {
    return [...this.realms.keys()];
  }

  /**
   * REALM, a fresh NONCE and PASSWORD-ALGORITHMS: what a 401 or 438 carries (RFC 8489 §9.2.4). `realm`
   * when it is one the server serves, else the default realm.
   */
  challenge(client: TransportAddress, now: Millis, realm?: string): StunAttributeEntry[] {
    const attributes: StunAttributeEntry[] = [
      ['REALM', realm !== undefined && this.realms.has(realm) ? realm : this.realm],
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
    const named = request.get('USERNAME');
    const hash = request.get('USERHASH');
    const realmName = request.get('REALM');
    const nonce = request.get('NONCE');
    if ((named === undefined && hash === undefined) || realmName === undefined || nonce === undefined) {
      return fail(400, 'Bad Request: USERNAME or USERHASH, REALM and NONCE are required with MESSAGE-INTEGRITY', false);
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

    // The key is computed with the request's REALM (§9.2.2): a realm this server does not serve can only
    // be answered with a challenge for one it does, never accepted with another realm's passwords.
    const realm = this.realms.get(realmName);
    if (realm === undefined) return fail(401, 'Unauthenticated: unknown realm', true);
    const username = named ?? (hash !== undefined ? realm.usernameForHash(hash) : undefined);
    if (username === undefined) return fail(401, 'Unauthenticated: unknown USERHASH', true, realm.realm);
    const credential = realm.passwordFor(username, (this.unixEpochMs + now) / 1000, allocationUsername);
    if (credential === undefined) return fail(401, 'Unauthenticated: unknown or expired username', true, realm.realm);
    const key = realm.key(username, credential, algorithm);
    const intact = hasSha256 ? verifyMessageIntegritySha256(request, key) : verifyMessageIntegrity(request, key);
    if (!intact) return fail(401, 'Unauthenticated: integrity check failed', true, realm.realm);

    if (this.nonces.check(nonce, client, now) !== 'valid') return fail(438, 'Stale Nonce', true, realm.realm);
    return {
      ok: true,
      auth: {
        username,
        realm: realm.realm,
        user: credential.user,
        quotaKey: `${realm.realm}\u0000${credential.user}`,
        key,
        sha1: hasSha1 && !negotiated,
        sha256: hasSha256 || negotiated,
      },
    };
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

function fail(code: 400 | 401 | 438, reason: string, challenge: boolean, realm?: string): TurnAuthOutcome {
  return { ok: false, code, reason, challenge, realm };
}
