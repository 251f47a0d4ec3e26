// An Express app server that hands its pages their ICE configuration: `GET /ice-config` mints, for the user
// of the app's own session, short-lived TURN REST API credentials (one secret checks them at the bridge and
// at the TURN server) and answers
//   { bridge: { url, username, credential }, iceServers: [{ urls }, { urls, username, credential }], expiresAt }
// which a page passes straight to `new IceAgent({ bridge, iceServers })` from 'icebridge'. The bridge is
// attached to this same HTTP server at /bridge (startBridge), the STUN/TURN server runs in-process next to
// it (startTurnServer). CORS lets the page's origin (APP_ORIGIN, e.g. a Vite dev server) call /ice-config
// with its cookies.
//
//   ICEBRIDGE_SECRET=$(openssl rand -base64 32) APP_ORIGIN=http://localhost:5173 node examples/app-server-express/server.mjs
//
// Environment (all optional): HOST (127.0.0.1), PORT (3000), TURN_PORT (3478), APP_ORIGIN
// (http://localhost:5173), ICEBRIDGE_SECRET (default: random, printed), PUBLIC_HOST (the name pages reach
// this machine by; default HOST), BRIDGE_URL (what pages connect to, e.g. wss://app.example/bridge behind
// nginx: docs/deploy.md). The demo session (`POST /login {"user":"alice"}` sets a cookie) stands for the
// app's real one (express-session, passport, …): only `userOf(req)` has to change.
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import { pathToFileURL } from 'node:url';
import express from 'express';
import { mintRestCredential, startBridge, startTurnServer } from 'icebridge/node';

/** Credentials live this long: a page asks again for each new connection (or an ICE restart). */
export const CREDENTIAL_TTL_SECONDS = 600;

/** The value of cookie `name` in a Cookie header, or undefined. */
function cookie(header, name) {
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return decodeURIComponent(part.slice(eq + 1).trim());
  }
  return undefined;
}

/**
 * Starts the app server, the bridge on it, and the TURN server. Options override the environment; port 0
 * picks a free port (the tests do); `logger` takes the bridge's JSON log lines (default: stdout). Resolves to
 * { url, bridgeUrl, turnUri, secret, close }.
 */
export async function startAppServer(options = {}) {
  const env = process.env;
  const host = options.host ?? env.HOST ?? '127.0.0.1';
  const port = options.port ?? Number(env.PORT ?? 3000);
  const turnPort = options.turnPort ?? Number(env.TURN_PORT ?? 3478);
  const appOrigin = options.appOrigin ?? env.APP_ORIGIN ?? 'http://localhost:5173';
  const secret = options.secret ?? env.ICEBRIDGE_SECRET ?? randomBytes(32).toString('base64url');
  const publicHost = options.publicHost ?? env.PUBLIC_HOST ?? host;
  const ttlSeconds = options.ttlSeconds ?? CREDENTIAL_TTL_SECONDS;
  // Everything on one machine (development): let the bridge's sessions reach the TURN server on loopback.
  const local = host === '127.0.0.1' || host === 'localhost' || host === '::1';

  /** sid -> user: the app's session store, reduced to a Map for the example. */
  const sessions = new Map();
  const userOf = (req) => sessions.get(cookie(req.headers.cookie, 'sid'));

  const app = express();
  app.disable('x-powered-by');
  // CORS for the page's origin only, with credentials (its session cookie); every other origin gets no CORS headers.
  app.use((req, res, next) => {
    if (req.headers.origin !== appOrigin) return next();
    res.set({ 'access-control-allow-origin': appOrigin, 'access-control-allow-credentials': 'true', vary: 'Origin' });
    if (req.method !== 'OPTIONS') return next();
    res.set({ 'access-control-allow-methods': 'GET, POST', 'access-control-allow-headers': 'content-type', 'access-control-max-age': '600' });
    res.sendStatus(204);
  });

  // Demo sign-in. A real app has its own; it only has to tell /ice-config who the user is.
  app.post('/login', express.json(), (req, res) => {
    const user = req.body?.user;
    if (typeof user !== 'string' || !/^[A-Za-z0-9_.-]{1,64}$/.test(user)) return res.status(400).json({ error: 'user must be 1 to 64 of A-Z a-z 0-9 _ . -' });
    const sid = randomUUID();
    sessions.set(sid, user);
    res.cookie('sid', sid, { httpOnly: true, sameSite: 'lax', secure: req.secure, path: '/' }).json({ user });
  });

  app.get('/ice-config', (req, res) => {
    const user = userOf(req);
    if (user === undefined) return res.status(401).json({ error: 'not signed in' });
    // One REST credential serves the bridge and TURN: both check it against the same secret.
    const { username, credential } = mintRestCredential({ secret, user, ttlSeconds });
    res.set('cache-control', 'no-store').json({
      bridge: { url: bridgeUrl, username, credential },
      iceServers: [
        { urls: `stun:${publicHost}:${turn.addresses[0].port}` },
        { urls: `turn:${publicHost}:${turn.addresses[0].port}?transport=udp`, username, credential },
      ],
      expiresAt: Number(username.split(':')[0]),
    });
  });

  const turn = await startTurnServer({ hosts: [host], port: turnPort, secret, allowLoopback: local });
  const server = createServer(app);
  let bridge;
  try {
    await new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve());
    });
    bridge = await startBridge({ server, path: '/bridge', secret, allowOrigins: [appOrigin], allowLoopback: local, ...(options.logger ? { logger: options.logger } : {}) });
  } catch (err) {
    server.close();
    await turn.close();
    throw err;
  }
  const httpPort = server.address().port;
  const bridgeUrl = options.bridgeUrl ?? env.BRIDGE_URL ?? `ws://${publicHost}:${httpPort}/bridge`;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${httpPort}`;

  return {
    url,
    bridgeUrl,
    turnUri: `turn:${host}:${turn.addresses[0].port}`,
    secret,
    async close() {
      await bridge.close();
      await turn.close();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const running = await startAppServer();
  console.log(`app server on ${running.url}  (GET /ice-config, POST /login, bridge at ${running.bridgeUrl}, ${running.turnUri})`);
  if (!process.env.ICEBRIDGE_SECRET) console.log(`ICEBRIDGE_SECRET not set: using ${running.secret}`);
  const stop = () => running.close().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}
