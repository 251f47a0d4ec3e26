// `icebridge token --secret S --user U [--ttl N] [--bridge URL]`: mints a TURN REST API credential, the token
// the bridge (and a TURN server with the same secret) accepts.
import { parseArgs } from 'node:util';
import { mintRestCredential } from '../net/rest-credentials.js';
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
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      secret: { type: 'string' },
      user: { type: 'string' },
      ttl: { type: 'string', default: '86400' },
      bridge: { type: 'string' },
    },
  });
  const secret = values.secret ?? process.env.ICEBRIDGE_SECRET;
  const ttl = Number(values.ttl);
  if (positionals.length > 0 || !secret || values.user === undefined) {
    io.stderr(`Usage: ${tokenUsage}`);
    return 2;
  }
  if (!Number.isInteger(ttl) || ttl <= 0) {
    io.stderr('icebridge token: --ttl must be a positive whole number of seconds');
    return 2;
  }
  let url: string | undefined;
  const { username, credential } = mintRestCredential({ secret, user: values.user, ttlSeconds: ttl, nowSeconds: Date.now() / 1000 });
  if (values.bridge !== undefined) {
    let parsed: URL;
    try {
      parsed = new URL(values.bridge);
    } catch {
      io.stderr(`icebridge token: --bridge is not a URL: ${values.bridge}`);
      return 2;
    }
    if (parsed.protocol !== 'ws:' && parsed.protocol !== 'wss:') {
      io.stderr('icebridge token: --bridge must be a ws:// or wss:// URL');
      return 2;
    }
    parsed.searchParams.set('username', username);
    parsed.searchParams.set('credential', credential);
    url = parsed.toString();
  }
  io.stdout(JSON.stringify({ username, credential, ttl, ...(url ? { url } : {}) }, null, 2));
  return 0;
}
