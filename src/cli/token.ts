// `icebridge token --secret S --user U [--ttl N] [--bridge URL]`: mints a TURN REST API credential, the token
// the bridge (and a TURN server with the same secret) accepts.
import { MAX_REST_USERNAME_LENGTH, mintRestCredential } from '../net/rest-credentials.js';
import { parseCommandArgs, positiveInteger, UsageChecks } from './args.js';
import type { CliIO } from './main.js';

export const tokenUsage = `icebridge token --secret S --user U [options]

Mints a time-limited credential (draft-uberti-behave-turn-rest): username "<unix expiry>:<user>",
credential base64(HMAC-SHA1(secret, username)). Prints {"username","credential","ttl"} as JSON.

Options:
  --secret S      the shared secret (or set ICEBRIDGE_SECRET, which keeps it out of the process list)
  --user U        the user id to embed; opaque ids are better, usernames travel in clear
  --ttl N         lifetime in seconds (default 86400, one day, as the draft recommends)
  --bridge URL    also print "url": the bridge URL with the token in its query, ready to connect`;

export async function runToken(args: string[], io: CliIO): Promise<number> {
  const { values } = parseCommandArgs(
    args,
    {
      secret: { type: 'string' },
      user: { type: 'string' },
      ttl: { type: 'string', default: '86400' },
      bridge: { type: 'string' },
    },
    false,
  );
  const secret = values.secret ?? process.env.ICEBRIDGE_SECRET;
  const user = values.user ?? '';
  const checks = new UsageChecks();
  checks.fail(!secret, 'missing --secret (or set ICEBRIDGE_SECRET)');
  checks.fail(values.user === undefined, 'missing --user');
  const ttl = checks.take(() => positiveInteger('ttl', values.ttl));
  // The username is "<expiry>:<user>"; the expiry takes up to 12 digits and the colon (rest-credentials.ts).
  checks.fail(user.length > MAX_REST_USERNAME_LENGTH - 13, `--user must be at most ${MAX_REST_USERNAME_LENGTH - 13} characters, got ${user.length}`);
  const parsed = values.bridge === undefined ? undefined : urlOrUndefined(values.bridge);
  checks.fail(
    values.bridge !== undefined && parsed?.protocol !== 'ws:' && parsed?.protocol !== 'wss:',
    `--bridge must be a ws:// or wss:// URL, got ${JSON.stringify(values.bridge)}`,
  );
  checks.done();
  let url: string | undefined;
  // done() threw unless there is a secret and --ttl (default 86400) parsed.
  const { username, credential } = mintRestCredential({ secret: secret!, user, ttlSeconds: ttl! });
  if (parsed) {
    parsed.searchParams.set('username', username);
    parsed.searchParams.set('credential', credential);
    url = parsed.toString();
  }
  io.stdout(JSON.stringify({ username, credential, ttl, ...(url ? { url } : {}) }, null, 2));
  return 0;
}

/** `new URL(text)`, or undefined for what is not a URL (URL.parse is Node 22+). */
function urlOrUndefined(text: string): URL | undefined {
  try {
    return new URL(text);
  } catch {
    return undefined;
  }
}
