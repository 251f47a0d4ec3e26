// `icebridge token --secret S --user U [--ttl N] [--bridge URL]`: mints a TURN REST API credential, the token
// the bridge (and a TURN server with the same secret) accepts.
import { MAX_REST_USERNAME_LENGTH, mintRestCredential } from '../net/rest-credentials.js';
import { missing, parseCommandArgs, positiveInteger, UsageError } from './args.js';
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
  if (!secret) throw missing('--secret (or set ICEBRIDGE_SECRET)');
  if (values.user === undefined) throw missing('--user');
  const ttl = positiveInteger('ttl', values.ttl)!;
  // The username is "<expiry>:<user>"; the expiry takes up to 12 digits and the colon (rest-credentials.ts).
  if (values.user.length > MAX_REST_USERNAME_LENGTH - 13) throw new UsageError(`--user must be at most ${MAX_REST_USERNAME_LENGTH - 13} characters, got ${values.user.length}`);
  let url: string | undefined;
  const { username, credential } = mintRestCredential({ secret, user: values.user, ttlSeconds: ttl });
  if (values.bridge !== undefined) {
    let parsed: URL;
    try {
      parsed = new URL(values.bridge);
    } catch {
      throw new UsageError(`--bridge must be a ws:// or wss:// URL, got ${JSON.stringify(values.bridge)}`);
    }
    if (parsed.protocol !== 'ws:' && parsed.protocol !== 'wss:') throw new UsageError(`--bridge must be a ws:// or wss:// URL, got ${JSON.stringify(values.bridge)}`);
    parsed.searchParams.set('username', username);
    parsed.searchParams.set('credential', credential);
    url = parsed.toString();
  }
  io.stdout(JSON.stringify({ username, credential, ttl, ...(url ? { url } : {}) }, null, 2));
  return 0;
}
