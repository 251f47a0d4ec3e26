// The credentials of one realm the TURN server serves (coturn's multi-realm setup): static users, a TURN
// REST API secret (draft-uberti-behave-turn-rest-00 §2.2), the USERHASH lookup table over the static users
// (RFC 8489 §14.4) and a cache of their long-term keys. The key is always computed with this realm's name
// (RFC 8489 §9.2.2), so a request's REALM picks the RealmCredentials it is checked with.
import { HmacSha1, toBase64, toHex, utf8Encode } from '../crypto/index.js';
import { verifyRestCredential } from '../net/rest-credentials.js';
import { longTermKey, userHash, type LongTermAlgorithm } from '../stun/integrity.js';

/** The credentials of one realm: static users and/or a TURN REST API secret. */
export interface TurnRealmCredentials {
  /** Static long-term credentials, username → password. Default none. */
  users?: Readonly<Record<string, string>>;
  /** TURN REST API shared secret (see TurnCredentialOptions.secret). Default none. */
  secret?: string | Uint8Array;
}

export interface RealmPassword {
  readonly password: string;
  /** The identity quotas count against within the realm: the username, or a REST username's user part. */
  readonly user: string;
  readonly cacheable: boolean;
}

/** RFC 8489 §14.9: REALM is fewer than 128 characters; 763 bytes of UTF-8 is the attribute's cap. */
export function checkRealmName(realm: unknown): string {
  if (typeof realm !== 'string' || realm.length === 0 || realm.length > 763) {
    throw new RangeError('TURN realm must be 1..763 characters (RFC 8489 §14.9)');
  }
  return realm;
}

/**
 * TypeErrors for credentials of another shape, before they are spread or hashed: `users` as a string would
 * spread into users '0', '1', … with one-character passwords.
 */
export function checkRealmCredentials(where: string, credentials: TurnRealmCredentials | undefined): void {
  const { users, secret } = credentials ?? {};
  if (users !== undefined) {
    if (typeof users !== 'object' || users === null || Array.isArray(users)) throw new TypeError(`${where}users must be an object of username → password`);
    for (const [name, password] of Object.entries(users)) {
      if (name === '' || typeof password !== 'string') throw new TypeError(`${where}users: ${JSON.stringify(name)} needs a non-empty name and a string password`);
    }
  }
  if (secret !== undefined && typeof secret !== 'string' && !(secret instanceof Uint8Array)) throw new TypeError(`${where}secret must be a string or a Uint8Array`);
}

export class RealmCredentials {
  private readonly users: Map<string, string>;
  /** hex(USERHASH) → username, over the static users only. */
  private readonly byHash = new Map<string, string>();
  private readonly restHmac: HmacSha1 | undefined;
  private readonly restSecret: string | Uint8Array | undefined;
  private readonly keyCache = new Map<string, Uint8Array>();

  constructor(
    readonly realm: string,
    credentials: TurnRealmCredentials,
  ) {
    this.users = new Map(Object.entries(credentials.users ?? {}));
    for (const username of this.users.keys()) this.byHash.set(toHex(userHash(username, realm)), username);
    this.restSecret = credentials.secret;
    const secretBytes = typeof credentials.secret === 'string' ? utf8Encode(credentials.secret) : credentials.secret;
    this.restHmac = secretBytes !== undefined && secretBytes.length > 0 ? new HmacSha1(secretBytes) : undefined;
  }

  /** Whether anyone can authenticate in this realm. */
  get enabled(): boolean {
    return this.users.size > 0 || this.restHmac !== undefined;
  }

  /** Whether every username of this realm can be found from its USERHASH: static users only, no REST secret. */
  get hashable(): boolean {
    return this.users.size > 0 && this.restHmac === undefined;
  }

  /**
   * RFC 8489 §9.2.4: the username a USERHASH stands for. Static users only: a REST username is derived
   * from its expiry and cannot be found from its hash, so such a request gets 401.
   */
  usernameForHash(hash: Uint8Array): string | undefined {
    return this.byHash.get(toHex(hash));
  }

  /**
   * The password of `username`: a static user's, or the REST API password derived from it (refused once
   * expired, but for `allocationUsername`'s own allocation: the draft's expiry "does not affect existing
   * TURN allocations"). `unixNowS` is the wall-clock time in Unix seconds.
   */
  passwordFor(username: string, unixNowS: number, allocationUsername: string | undefined): RealmPassword | undefined {
    const password = this.users.get(username);
    if (password !== undefined) return { password, user: username, cacheable: true };
    if (this.restHmac === undefined || this.restSecret === undefined) return undefined;
    // The server derives the password from the username; verifyRestCredential then checks form and expiry.
    const derived = toBase64(this.restHmac.digest(utf8Encode(username)));
    const check = verifyRestCredential(this.restSecret, username, derived, unixNowS);
    if (check.ok) return { password: derived, user: check.user || username, cacheable: false };
    if (check.reason === 'expired' && username === allocationUsername) {
      const colon = username.indexOf(':');
      return { password: derived, user: colon < 0 ? username : username.slice(colon + 1) || username, cacheable: false };
    }
    return undefined;
  }

  /** The long-term key (RFC 8489 §9.2.2), always with the real username, cached for static users. */
  key(username: string, credential: RealmPassword, algorithm: LongTermAlgorithm): Uint8Array {
    if (!credential.cacheable) return longTermKey(username, this.realm, credential.password, algorithm);
    const id = `${algorithm}\u0000${username}`;
    let key = this.keyCache.get(id);
    if (key === undefined) {
      key = longTermKey(username, this.realm, credential.password, algorithm);
      this.keyCache.set(id, key);
    }
    return key;
  }
}
