// A Fastify app server that hands its pages their ICE configuration: `GET /ice-config` mints, for the user
// of the app's own session, short-lived TURN REST API credentials and answers
//   { bridge: { url, username, credential }, iceServers: [{ urls }, { urls, username, credential }], expiresAt }
// for `new IceAgent({ bridge, iceServers })` from 'icebridge'. Here icebridge runs beside the app rather
// than inside its HTTP server: startIcebridgeServer gives the bridge (its own port, /bridge) and the
// STUN/TURN server, which only share the secret with this app — as `icebridge serve --secret` on another
// machine would (then set BRIDGE_URL and TURN_URI and drop startIcebridgeServer). CORS lets the page's
// origin (APP_ORIGIN) call /ice-config with its cookies.
//
//   ICEBRIDGE_SECRET=$(openssl rand -base64 32) APP_ORIGIN=http://localhost:5173 node examples/app-server-fastify/server.mjs
//
// Environment (all optional): HOST (127.0.0.1), PORT (3000), ICEBRIDGE_PORT (8787, the bridge's HTTP
// port), TURN_PORT (3478), APP_ORIGIN (http://localhost:5173), ICEBRIDGE_SECRET (default: random, printed),
// BRIDGE_URL and TURN_URI (what pages are told; default the in-process servers'). The demo session
// (`POST /login {"user":"alice"}` sets a cookie) stands for the app's real one (@fastify/session, …).
import { randomBytes, randomUUID } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import Fastify from 'fastify';
import { mintRestCredential, startIcebridgeServer } from 'icebridge/node';

/** Credentials live this long: a page asks again for each new connection (or an ICE restart). */
export const CREDENTIAL_TTL_SECONDS = 600;

function cookie(header, name) {
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return decodeURIComponent(part.slice(eq + 1).trim());
  }
  return undefined;
}

/**
 * Starts icebridge (bridge + STUN/TURN) and the Fastify app. Options override the environment; port 0
 * picks a free port (the tests do); `logger` takes the bridge's JSON log lines (default: stdout). Resolves to
 * { url, bridgeUrl, turnUri, secret, close }.
 */
export async function startAppServer(options = {}) {
  const env = process.env;
  const host = options.host ?? env.HOST ?? '127.0.0.1';
  const port = options.port ?? Number(env.PORT ?? 3000);
  const appOrigin = options.appOrigin ?? env.APP_ORIGIN ?? 'http://localhost:5173';
  const secret = options.secret ?? env.ICEBRIDGE_SECRET ?? randomBytes(32).toString('base64url');
  const ttlSeconds = options.ttlSeconds ?? CREDENTIAL_TTL_SECONDS;

  const icebridge = await startIcebridgeServer({
    host,
    port: options.icebridgePort ?? Number(env.ICEBRIDGE_PORT ?? 8787),
    stunPort: options.turnPort ?? Number(env.TURN_PORT ?? 3478),
    strictPorts: true,
    secret,
    // Only the bridge and TURN: the pages and the signalling relay are the app's business.
    pages: false,
    signal: false,
    webTransport: false,
    bridge: { allowOrigins: [appOrigin], ...(options.logger ? { logger: options.logger } : {}) },
  });
  const bridgeUrl = options.bridgeUrl ?? env.BRIDGE_URL ?? icebridge.bridgeUrl;
  const turnUri = options.turnUri ?? env.TURN_URI ?? icebridge.turnUri;
  const stunUri = turnUri.replace(/^turn:/, 'stun:').replace(/\?.*$/, '');

  /** sid -> user: the app's session store, reduced to a Map for the example. */
  const sessions = new Map();
  const app = Fastify({ logger: false });

  // CORS for the page's origin only, with credentials (its session cookie).
  app.addHook('onRequest', async (req, reply) => {
    if (req.headers.origin !== appOrigin) return;
    reply.header('access-control-allow-origin', appOrigin).header('access-control-allow-credentials', 'true').header('vary', 'Origin');
    if (req.method === 'OPTIONS') {
      reply.header('access-control-allow-methods', 'GET, POST').header('access-control-allow-headers', 'content-type').header('access-control-max-age', '600');
      return reply.code(204).send();
    }
  });
  // Preflights are answered by the hook; this route only makes OPTIONS a known method for every path.
  app.options('/*', async (_req, reply) => reply.code(204).send());

  // Demo sign-in. A real app has its own; it only has to tell /ice-config who the user is.
  app.post('/login', async (req, reply) => {
    const user = req.body?.user;
    if (typeof user !== 'string' || !/^[A-Za-z0-9_.-]{1,64}$/.test(user)) return reply.code(400).send({ error: 'user must be 1 to 64 of A-Z a-z 0-9 _ . -' });
    const sid = randomUUID();
    sessions.set(sid, user);
    return reply.header('set-cookie', `sid=${sid}; Path=/; HttpOnly; SameSite=Lax${req.protocol === 'https' ? '; Secure' : ''}`).send({ user });
  });

  app.get('/ice-config', async (req, reply) => {
    const user = sessions.get(cookie(req.headers.cookie, 'sid'));
    if (user === undefined) return reply.code(401).send({ error: 'not signed in' });
    // One REST credential serves the bridge and TURN: both check it against the same secret.
    const { username, credential } = mintRestCredential({ secret, user, ttlSeconds });
    return reply.header('cache-control', 'no-store').send({
      bridge: { url: bridgeUrl, username, credential },
      iceServers: [{ urls: stunUri }, { urls: turnUri, username, credential }],
      expiresAt: Number(username.split(':')[0]),
    });
  });

  try {
    await app.listen({ host, port });
  } catch (err) {
    await icebridge.close();
    throw err;
  }
  const { port: httpPort } = app.server.address();
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${httpPort}`,
    bridgeUrl,
    turnUri,
    secret,
    async close() {
      await app.close();
      await icebridge.close();
    },
  };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const running = await startAppServer();
  console.log(`app server on ${running.url}  (GET /ice-config, POST /login; bridge at ${running.bridgeUrl}, ${running.turnUri})`);
  if (!process.env.ICEBRIDGE_SECRET) console.log(`ICEBRIDGE_SECRET not set: using ${running.secret}`);
  const stop = () => running.close().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}
