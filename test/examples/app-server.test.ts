// The app-server examples (examples/app-server-express, examples/app-server-fastify), started as a user
// would run them but on 127.0.0.1 free ports: /ice-config is fetched like a page would (Origin, cookie), and
// the credentials it hands out are used for real — a bridge session opened with connectBridge and a TURN
// allocation on the example's TURN server. Wrong and expired credentials must be refused by both.
// The examples import 'icebridge/node' (the package's self-reference: dist/, built before the Node tests).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { allocateTurn, connectBridge, mintRestCredential } from 'icebridge/node';

interface IceConfig {
  bridge: { url: string; username: string; credential: string };
  iceServers: { urls: string; username?: string; credential?: string }[];
  expiresAt: number;
}

interface RunningExample {
  url: string;
  bridgeUrl: string;
  turnUri: string;
  secret: string;
  close(): Promise<void>;
}

type Start = (options: Record<string, unknown>) => Promise<RunningExample>;

const APP_ORIGIN = 'http://app.localhost:5173';
const TTL_SECONDS = 600;

function withToken(url: string, username: string, credential: string): string {
  const u = new URL(url);
  u.searchParams.set('username', username);
  u.searchParams.set('credential', credential);
  return u.href;
}

/** The bridge's close code when it refuses, or 'open' when it let the session in. */
async function bridgeOutcome(url: string, origin = APP_ORIGIN): Promise<number | 'open'> {
  try {
    const connection = await connectBridge(url, { origin, connectTimeoutMs: 5_000 });
    connection.close();
    return 'open';
  } catch (err) {
    assert.equal((err as Error).name, 'BridgeError', String(err));
    return (err as { closeCode?: number }).closeCode ?? -1;
  }
}

/** The TURN server's error code for an Allocate with these credentials, or 'allocated'. */
async function turnOutcome(uri: string, username: string, credential: string): Promise<number | 'allocated'> {
  try {
    const relay = await allocateTurn(uri, { username, credential });
    relay.close();
    return 'allocated';
  } catch (err) {
    assert.equal((err as Error).name, 'TurnError', String(err));
    return (err as { code: number }).code;
  }
}

for (const [name, path] of [
  ['express', '../../examples/app-server-express/server.mjs'],
  ['fastify', '../../examples/app-server-fastify/server.mjs'],
] as const) {
  describe(`examples/app-server-${name}`, () => {
    let server: RunningExample;
    let cookie: string;
    const bridgeLog: string[] = [];

    before(async () => {
      const { startAppServer } = (await import(path)) as { startAppServer: Start };
      server = await startAppServer({ host: '127.0.0.1', port: 0, turnPort: 0, icebridgePort: 0, appOrigin: APP_ORIGIN, secret: `test-secret-${name}`, logger: (line: string) => bridgeLog.push(line) });
      const login = await fetch(`${server.url}/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ user: 'alice' }) });
      assert.equal(login.status, 200);
      const setCookie = login.headers.get('set-cookie') ?? '';
      assert.ok(setCookie.startsWith('sid='), `set-cookie: ${setCookie}`);
      assert.match(setCookie, /HttpOnly/i);
      cookie = setCookie.split(';')[0];
    });

    after(async () => {
      await server?.close();
    });

    const iceConfig = (headers: Record<string, string>) => fetch(`${server.url}/ice-config`, { headers });

    it('answers /ice-config only for a signed-in user, with CORS for the app origin only', async () => {
      assert.equal((await iceConfig({ origin: APP_ORIGIN })).status, 401);
      const ok = await iceConfig({ origin: APP_ORIGIN, cookie });
      assert.equal(ok.status, 200);
      assert.equal(ok.headers.get('access-control-allow-origin'), APP_ORIGIN);
      assert.equal(ok.headers.get('access-control-allow-credentials'), 'true');
      assert.equal(ok.headers.get('cache-control'), 'no-store');
      const other = await iceConfig({ origin: 'http://evil.localhost', cookie });
      assert.equal(other.headers.get('access-control-allow-origin'), null);
      const preflight = await fetch(`${server.url}/ice-config`, { method: 'OPTIONS', headers: { origin: APP_ORIGIN, 'access-control-request-method': 'GET' } });
      assert.equal(preflight.status, 204);
      assert.equal(preflight.headers.get('access-control-allow-origin'), APP_ORIGIN);
      assert.match(preflight.headers.get('access-control-allow-methods') ?? '', /GET/);
    });

    it('mints short-lived credentials for the session user, for the bridge and TURN alike', async () => {
      const config = (await (await iceConfig({ origin: APP_ORIGIN, cookie })).json()) as IceConfig;
      const now = Math.floor(Date.now() / 1000);
      assert.match(config.bridge.username, /^[0-9]+:alice$/);
      assert.ok(Math.abs(config.expiresAt - (now + TTL_SECONDS)) <= 5, `expiresAt ${config.expiresAt}, now ${now}`);
      assert.equal(config.bridge.url, server.bridgeUrl);
      assert.match(config.bridge.url, /^ws:\/\/127\.0\.0\.1:[0-9]+\/bridge$/);
      const [stun, turn] = config.iceServers;
      assert.match(stun.urls, /^stun:127\.0\.0\.1:[0-9]+$/);
      assert.match(turn.urls, /^turn:127\.0\.0\.1:[0-9]+/);
      assert.equal(turn.username, config.bridge.username);
      assert.equal(turn.credential, config.bridge.credential);
    });

    it('the bridge opens a session with the credentials and refuses wrong, expired or foreign-origin ones', async () => {
      const { bridge } = (await (await iceConfig({ origin: APP_ORIGIN, cookie })).json()) as IceConfig;
      const connection = await connectBridge(withToken(bridge.url, bridge.username, bridge.credential), { origin: APP_ORIGIN });
      try {
        const socket = await connection.bind({ family: 'IPv4' });
        assert.ok(socket.localAddress.port > 0, 'the bridge bound a UDP socket for the session');
      } finally {
        connection.close();
      }
      const wrong = bridge.credential.slice(0, -4) + (bridge.credential.endsWith('AAA=') ? 'BBB=' : 'AAA=');
      assert.equal(await bridgeOutcome(withToken(bridge.url, bridge.username, wrong)), 4001, 'a wrong credential');
      const expired = mintRestCredential({ secret: server.secret, user: 'alice', ttlSeconds: 60, nowSeconds: Date.now() / 1000 - 3600 });
      assert.equal(await bridgeOutcome(withToken(bridge.url, expired.username, expired.credential)), 4002, 'an expired credential');
      const otherSecret = mintRestCredential({ secret: 'not-the-secret', user: 'alice', ttlSeconds: 600 });
      assert.equal(await bridgeOutcome(withToken(bridge.url, otherSecret.username, otherSecret.credential)), 4001, 'another secret');
      assert.equal(await bridgeOutcome(withToken(bridge.url, bridge.username, bridge.credential), 'http://evil.localhost'), 4003, 'another origin');
      // The bridge logged the session under the app's user.
      assert.ok(bridgeLog.some((l) => l.includes('"session-open"') && l.includes('"user":"alice"')), bridgeLog.join('\n'));
    });

    it('the TURN server allocates with the credentials and refuses wrong or expired ones', async () => {
      const { iceServers } = (await (await iceConfig({ origin: APP_ORIGIN, cookie })).json()) as IceConfig;
      const turn = iceServers[1];
      assert.ok(turn.username && turn.credential);
      const relay = await allocateTurn(turn.urls, { username: turn.username, credential: turn.credential });
      try {
        assert.equal(relay.localAddress.address, '127.0.0.1');
        assert.ok(relay.localAddress.port > 0, 'a relayed transport address');
      } finally {
        relay.close();
      }
      assert.equal(await turnOutcome(turn.urls, turn.username, 'd3JvbmcgY3JlZGVudGlhbCEhISE='), 401, 'a wrong credential');
      const expired = mintRestCredential({ secret: server.secret, user: 'alice', ttlSeconds: 60, nowSeconds: Date.now() / 1000 - 3600 });
      assert.equal(await turnOutcome(turn.urls, expired.username, expired.credential), 401, 'an expired credential');
    });
  });
}
