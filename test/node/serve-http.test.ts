// startIcebridgeServer's HTTP side on 127.0.0.1: the routes, the headers, paths that try to leave the served
// folders, /config.json's credentials (checked, then used on the bridge and for a TURN allocation), ports
// that are taken, and close() releasing every port.
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { request, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { WebSocket } from 'ws';
import { verifyRestCredential } from '../../src/net/rest-credentials.js';
import { connectBridge } from '../../src/node/bridge-client.js';
import { startIcebridgeServer, type RunningIcebridgeServer } from '../../src/node/serve.js';
import { allocateTurn } from '../../src/node/turn-client.js';
import { stunBinding } from '../../src/stun/binding.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A GET with the path sent exactly as written (fetch would normalise `..` away before sending). */
function get(base: string, path: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Reply> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, path, method, headers, timeout: 10_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (t: string) => (body += t));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${path} timed out`)));
    req.on('error', reject);
    req.end();
  });
}

interface IceConfig {
  bridge: { url: string; username: string; credential: string };
  iceServers: { urls: string; username?: string; credential?: string }[];
  signal: { url: string };
}

describe('icebridge serve over HTTP', { timeout: 60_000 }, () => {
  let s: RunningIcebridgeServer;
  before(async () => {
    s = await startIcebridgeServer({ host: '127.0.0.1', port: 0, stunPort: 0, pages: { root: ROOT }, bridge: { logger: () => {} } });
  });
  after(async () => {
    await s?.close();
  });

  it('reports its URLs and a generated secret', () => {
    assert.match(s.httpUrl, /^http:\/\/127\.0\.0\.1:\d+\/$/);
    assert.equal(s.bridgeUrl, `${s.httpUrl.replace('http:', 'ws:')}bridge`);
    assert.equal(s.signalUrl, `${s.httpUrl.replace('http:', 'ws:')}signal`);
    assert.match(s.stunUri ?? '', /^stun:127\.0\.0\.1:\d+$/);
    assert.equal(s.turnUri, s.stunUri?.replace('stun:', 'turn:'));
    assert.equal(s.secretGenerated, true);
    assert.ok((s.secret ?? '').length >= 24);
    assert.deepEqual(s.notices, []);
  });

  it('redirects / to the inspector and /inspector to /inspector/', async () => {
    const root = await get(s.httpUrl, '/');
    assert.equal(root.status, 302);
    assert.equal(root.headers.location, '/inspector/');
    const bare = await get(s.httpUrl, '/inspector');
    assert.equal(bare.status, 301);
    assert.equal(bare.headers.location, '/inspector/');
  });

  it('serves the example pages with sane headers', async (t) => {
    const page = await get(s.httpUrl, '/inspector/');
    if (page.status === 404) return t.skip('examples/inspector/index.html does not exist yet');
    assert.equal(page.status, 200);
    assert.match(String(page.headers['content-type']), /^text\/html/);
    assert.match(page.body, /<html/i);
    assert.equal(page.headers['x-content-type-options'], 'nosniff');
    assert.match(String(page.headers['content-security-policy']), /script-src 'self'/);
    assert.match(String(page.headers['content-security-policy']), /frame-ancestors 'none'/);
    const css = await get(s.httpUrl, '/inspector/style.css');
    if (css.status !== 404) assert.match(String(css.headers['content-type']), /^text\/css/);
  });

  it('bundles a page entry point on request, leaving the page client as a separate import', async (t) => {
    const main = await get(s.httpUrl, '/inspector/main.js');
    if (main.status === 404) return t.skip('examples/inspector/main.ts does not exist yet');
    assert.equal(main.status, 200, main.body);
    assert.match(String(main.headers['content-type']), /^text\/javascript/);
    assert.doesNotMatch(main.body, /from ["']node:/, 'no Node imports in a page');
    assert.doesNotMatch(main.body, /new Worker\(/, 'the page client is not bundled into the page');
    const ts = await get(s.httpUrl, '/inspector/main.ts');
    assert.equal(ts.status, 200);
    assert.match(String(ts.headers['content-type']), /^text\/javascript/);
  });

  it('serves the page client and its Worker under /icebridge/, nothing else from dist', async () => {
    for (const file of ['worker-client.js', 'worker.js', 'browser.js']) {
      const r = await get(s.httpUrl, `/icebridge/${file}`);
      assert.equal(r.status, 200, `${file}: ${r.body.slice(0, 200)}`);
      assert.match(String(r.headers['content-type']), /^text\/javascript/);
      assert.doesNotMatch(r.body, /from ["']node:/);
    }
    for (const file of ['cli.js', 'node.js', 'index.js', 'examples/inspector/main.js', '']) {
      assert.equal((await get(s.httpUrl, `/icebridge/${file}`)).status, 404, file);
    }
  });

  it('never serves a file outside the served folders, however the path is spelled', async () => {
    const attempts = [
      '/inspector/../package.json',
      '/inspector/../../package.json',
      '/inspector/%2e%2e/package.json',
      '/inspector/%2e%2e%2fpackage.json',
      '/inspector/..%2f..%2fpackage.json',
      '/inspector/.%2e/.%2e/package.json',
      '/inspector/%252e%252e/package.json',
      '/inspector/..%5cpackage.json',
      '/inspector/..\\..\\package.json',
      '/inspector/%2fetc%2fpasswd',
      '/inspector/%00',
      '/inspector/main.ts%00.html',
      '/inspector/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd',
      '/icebridge/..%2fpackage.json',
      '/icebridge/%2e%2e/package.json',
      '/icebridge/../src/node/serve.ts',
      '/chat/../inspector/../../src/node/serve.ts',
      '/shared/dom.ts',
      '/node-peer/main.ts',
      '/dist/cli.js',
      '/src/node/serve.ts',
      '/package.json',
      '//etc/passwd',
      '/inspector/.hidden',
      '/inspector/%E0%A4%A',
    ];
    for (const path of attempts) {
      const r = await get(s.httpUrl, path);
      assert.ok([400, 404].includes(r.status), `${path}: HTTP ${r.status}`);
      assert.doesNotMatch(r.body, /"name": "icebridge"|root:x:0|startIcebridgeServer/, path);
    }
  });

  it('hands out /config.json with fresh credentials that verify, never cached', async () => {
    const one = await get(s.httpUrl, '/config.json');
    assert.equal(one.status, 200);
    assert.match(String(one.headers['content-type']), /^application\/json/);
    assert.match(String(one.headers['cache-control']), /no-store/);
    const config = JSON.parse(one.body) as IceConfig;
    assert.equal(config.bridge.url, s.bridgeUrl);
    assert.equal(config.signal.url, s.signalUrl);
    assert.deepEqual(config.iceServers[0], { urls: s.stunUri });
    assert.equal(config.iceServers[1].urls, s.turnUri);
    const now = Date.now() / 1000;
    for (const c of [config.bridge, config.iceServers[1]]) {
      const check = verifyRestCredential(s.secret!, c.username!, c.credential!, now);
      assert.equal(check.ok, true, JSON.stringify(check));
      if (check.ok) assert.ok(check.expiresAt > now + 3500 && check.expiresAt <= now + 3601, 'an hour to live');
    }
    const two = JSON.parse((await get(s.httpUrl, '/config.json')).body) as IceConfig;
    assert.notEqual(two.bridge.username, config.bridge.username, 'minted per request');
  });

  it('config.json credentials open a bridge session (which reaches the STUN server on loopback) and a TURN allocation', async () => {
    const config = JSON.parse((await get(s.httpUrl, '/config.json')).body) as IceConfig;
    const url = new URL(config.bridge.url);
    url.searchParams.set('username', config.bridge.username);
    url.searchParams.set('credential', config.bridge.credential);
    const connection = await connectBridge(url.toString(), { connectTimeoutMs: 5000 });
    try {
      const socket = await connection.bind({ family: 'IPv4' });
      const result = await stunBinding(config.iceServers[0].urls, { socket, timeoutMs: 5000, rtoMs: 100 });
      assert.equal(result.mapped.address, '127.0.0.1');
    } finally {
      connection.close();
    }
    const turn = config.iceServers[1];
    const relay = await allocateTurn(turn.urls, { username: turn.username!, credential: turn.credential!, localAddress: '127.0.0.1', timeoutMs: 5000 });
    try {
      assert.equal(relay.localAddress.address, '127.0.0.1', 'XOR-RELAYED-ADDRESS on loopback');
    } finally {
      relay.close();
    }
    const metrics = (await get(s.httpUrl, '/metrics')).body;
    assert.match(metrics, /^icebridge_bridge_sessions_total\{carrier="websocket"\} 1$/m);
    assert.match(metrics, /^icebridge_bridge_sessions_total\{carrier="webtransport"\} 0$/m, 'the WebTransport carrier runs beside it (deno is a devDependency)');
    assert.match(metrics, /^icebridge_turn_allocations_total\{event="created"\} 1$/m);
    assert.match(metrics, /^icebridge_stun_binding_responses_total [1-9]/m);
  });

  it('refuses a bridge session with a forged credential', async () => {
    const url = new URL(s.bridgeUrl!);
    url.searchParams.set('username', `${Math.floor(Date.now() / 1000) + 60}:x`);
    url.searchParams.set('credential', 'AAAAAAAAAAAAAAAAAAAAAAAAAAA=');
    await assert.rejects(connectBridge(url.toString(), { connectTimeoutMs: 5000 }), (err: Error & { closeCode?: number }) => err.closeCode === 4001);
  });

  it('serves /metrics of every part and /healthz', async () => {
    const metrics = await get(s.httpUrl, '/metrics');
    assert.equal(metrics.status, 200);
    assert.match(String(metrics.headers['content-type']), /^text\/plain; version=0\.0\.4/);
    for (const name of ['icebridge_bridge_sessions_open', 'icebridge_stun_datagrams_received_total', 'icebridge_turn_allocations_open', 'icebridge_signaling_rooms_open']) {
      assert.match(metrics.body, new RegExp(`^# TYPE ${name} `, 'm'), name);
    }
    const health = await get(s.httpUrl, '/healthz');
    assert.equal(health.status, 200);
    assert.equal((JSON.parse(health.body) as { ok: boolean }).ok, true);
  });

  it('answers only GET and HEAD, only for hosts that are IPs or localhost, and 404s unknown WebSocket paths', async () => {
    assert.equal((await get(s.httpUrl, '/config.json', {}, 'POST')).status, 405);
    const head = await get(s.httpUrl, '/healthz', {}, 'HEAD');
    assert.equal(head.status, 200);
    assert.equal(head.body, '');
    const port = new URL(s.httpUrl).port;
    const rebound = await get(s.httpUrl, '/config.json', { host: `attacker.example:${port}` });
    assert.equal(rebound.status, 421);
    assert.doesNotMatch(rebound.body, /credential/);
    assert.equal((await get(s.httpUrl, '/config.json', { host: `localhost:${port}` })).status, 200);
    const viaLocalhost = JSON.parse((await get(s.httpUrl, '/config.json', { host: `localhost:${port}` })).body) as IceConfig;
    assert.equal(viaLocalhost.bridge.url, `ws://localhost:${port}/bridge`, 'the bridge URL follows the host the page used');
    assert.equal((await get(s.httpUrl, '/bridge')).status, 426);
    const status = await new Promise<number>((resolve) => {
      const ws = new WebSocket(`${s.httpUrl.replace('http:', 'ws:')}nowhere`);
      ws.on('unexpected-response', (_, res) => {
        resolve(res.statusCode ?? 0);
        ws.terminate();
      });
      ws.on('error', () => resolve(-1));
    });
    assert.equal(status, 404);
  });
});

describe('icebridge serve pages from a package root', () => {
  let root: string;
  before(() => {
    root = mkdtempSync(join(tmpdir(), 'icebridge-pages-'));
    mkdirSync(join(root, 'examples', 'inspector'), { recursive: true });
    mkdirSync(join(root, 'dist', 'examples', 'inspector'), { recursive: true });
    writeFileSync(join(root, 'package.json'), JSON.stringify({ name: 'icebridge' }));
    writeFileSync(join(root, 'secret.txt'), 'outside');
    writeFileSync(join(root, 'examples', 'inspector', 'index.html'), '<!doctype html><html><script type="module" src="./main.js"></script></html>');
    writeFileSync(join(root, 'examples', 'inspector', 'main.ts'), 'const n: number = 1; export default n;');
    writeFileSync(join(root, 'dist', 'examples', 'inspector', 'main.js'), '/* prebuilt */ export default 1;');
    symlinkSync(join(root, 'secret.txt'), join(root, 'examples', 'inspector', 'link.txt'));
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  it('serves prebuilt bundles without esbuild, and follows no symlink out of the folder', async () => {
    const s = await startIcebridgeServer({ port: 0, stunPort: 0, turn: false, bridge: false, signal: false, pages: { root, bundler: 'prebuilt' } });
    try {
      const main = await get(s.httpUrl, '/inspector/main.js');
      assert.equal(main.status, 200);
      assert.match(main.body, /prebuilt/);
      assert.equal((await get(s.httpUrl, '/inspector/main.ts')).status, 200, 'main.ts names the same prebuilt bundle');
      assert.equal((await get(s.httpUrl, '/inspector/link.txt')).status, 404);
      assert.equal((await get(s.httpUrl, '/icebridge/worker.js')).status, 503, 'no dist/worker.js and no bundler: say so');
      assert.equal((await get(s.httpUrl, '/chat/')).status, 404, 'a page with no folder');
    } finally {
      await s.close();
    }
  });

  it('bundles from source with esbuild, and rebuilds when the source changes', async () => {
    const s = await startIcebridgeServer({ port: 0, stunPort: 0, turn: false, bridge: false, signal: false, pages: { root, bundler: 'esbuild' } });
    try {
      const first = await get(s.httpUrl, '/inspector/main.js');
      assert.equal(first.status, 200, first.body);
      assert.doesNotMatch(first.body, /prebuilt/);
      assert.doesNotMatch(first.body, /: number/, 'types stripped');
      writeFileSync(join(root, 'examples', 'inspector', 'main.ts'), 'import { IceAgent } from "icebridge"; export default IceAgent;');
      const second = await get(s.httpUrl, '/inspector/main.js');
      assert.match(second.body, /from "\/icebridge\/browser\.js"/, "'icebridge' is the page entry served beside the pages");
      writeFileSync(join(root, 'examples', 'inspector', 'main.ts'), 'export const = ;');
      const broken = await get(s.httpUrl, '/inspector/main.js');
      assert.equal(broken.status, 500);
      assert.match(broken.body, /main\.ts:1/);
    } finally {
      await s.close();
    }
  });
});

describe('icebridge serve ports', () => {
  it('takes free ports when the default ones are taken, fails when asked for them strictly, and releases them on close', async () => {
    const tcp = createServer();
    await new Promise<void>((resolve) => tcp.listen(0, '127.0.0.1', resolve));
    const udp = createSocket('udp4');
    await new Promise<void>((resolve) => udp.bind(0, '127.0.0.1', resolve));
    const takenHttp = (tcp.address() as AddressInfo).port;
    const takenUdp = udp.address().port;
    try {
      await assert.rejects(startIcebridgeServer({ port: takenHttp, stunPort: 0, strictPorts: true, pages: false }), { code: 'EADDRINUSE' });
      await assert.rejects(startIcebridgeServer({ port: 0, stunPort: takenUdp, strictPorts: true, pages: false }), { code: 'EADDRINUSE' });
      const s = await startIcebridgeServer({ port: takenHttp, stunPort: takenUdp, pages: false, bridge: { logger: () => {} } });
      const httpPort = Number(new URL(s.httpUrl).port);
      const udpPort = s.turn!.addresses[0].port;
      assert.notEqual(httpPort, takenHttp);
      assert.notEqual(udpPort, takenUdp);
      assert.equal(s.notices.length, 2);
      assert.match(s.notices.join('\n'), new RegExp(`UDP port ${takenUdp} is taken; the STUN/TURN server took ${udpPort} instead`));
      assert.match(s.notices.join('\n'), new RegExp(`TCP port ${takenHttp} is taken; the HTTP server took ${httpPort} instead`));
      await s.close();
      // Released: both ports bind again.
      const again = createServer();
      await new Promise<void>((resolve, reject) => again.once('error', reject).listen(httpPort, '127.0.0.1', resolve));
      await new Promise<void>((resolve) => again.close(() => resolve()));
      const udpAgain = createSocket('udp4');
      await new Promise<void>((resolve, reject) => {
        udpAgain.once('error', reject);
        udpAgain.bind(udpPort, '127.0.0.1', resolve);
      });
      udpAgain.close();
    } finally {
      tcp.close();
      udp.close();
    }
  });

  it('rejects bad options before listening', async () => {
    await assert.rejects(startIcebridgeServer({ port: 70000 }), RangeError);
    await assert.rejects(startIcebridgeServer({ port: 0, stunPort: 0, credentialTtlSeconds: 0 }), RangeError);
    await assert.rejects(startIcebridgeServer({ port: 0, stunPort: 0, secret: '' }), TypeError);
    await assert.rejects(startIcebridgeServer({ port: 0, stunPort: 0, pages: { pages: ['../etc'] } }), TypeError);
  });
});

describe('/config.json CORS for the origins the bridge allows (bridge.allowOrigins, `--allow-origin`)', { timeout: 60_000 }, () => {
  const APP = 'http://localhost:5173';
  let s: RunningIcebridgeServer;
  before(async () => {
    s = await startIcebridgeServer({ host: '127.0.0.1', port: 0, stunPort: 0, webTransport: false, pages: { root: ROOT }, bridge: { logger: () => {}, allowOrigins: [APP, 'https://App.Example'] } });
  });
  after(async () => {
    await s?.close();
  });

  it('answers a listed origin with Access-Control-Allow-Origin (that origin, not *) and Vary: Origin', async () => {
    for (const origin of [APP, 'https://app.example']) {
      const r = await get(s.httpUrl, '/config.json', { origin });
      assert.equal(r.status, 200);
      assert.equal(r.headers['access-control-allow-origin'], origin);
      assert.match(String(r.headers.vary), /Origin/);
      assert.ok((JSON.parse(r.body) as IceConfig).bridge.credential);
    }
  });

  it('gives no CORS header to another origin, nor to a same-origin request (Vary: Origin all the same)', async () => {
    const cases: Record<string, string>[] = [{ origin: 'http://evil.example' }, { origin: 'http://localhost:5174' }, {}];
    for (const headers of cases) {
      const r = await get(s.httpUrl, '/config.json', headers);
      assert.equal(r.status, 200, JSON.stringify(headers));
      assert.equal(r.headers['access-control-allow-origin'], undefined, JSON.stringify(headers));
      assert.match(String(r.headers.vary), /Origin/);
    }
  });

  it('answers an OPTIONS preflight: 204 with the methods for a listed origin, no CORS header for another', async () => {
    const ok = await get(s.httpUrl, '/config.json', { origin: APP, 'access-control-request-method': 'GET' }, 'OPTIONS');
    assert.equal(ok.status, 204);
    assert.equal(ok.headers['access-control-allow-origin'], APP);
    assert.match(String(ok.headers['access-control-allow-methods']), /GET/);
    assert.ok(Number(ok.headers['access-control-max-age']) > 0);
    const other = await get(s.httpUrl, '/config.json', { origin: 'http://evil.example', 'access-control-request-method': 'GET' }, 'OPTIONS');
    assert.equal(other.status, 204);
    assert.equal(other.headers['access-control-allow-origin'], undefined);
    assert.equal(other.headers['access-control-allow-methods'], undefined);
    // CORS is for /config.json only: other routes keep refusing OPTIONS.
    assert.equal((await get(s.httpUrl, '/metrics', { origin: APP }, 'OPTIONS')).status, 405);
    assert.equal((await get(s.httpUrl, '/metrics', { origin: APP })).headers['access-control-allow-origin'], undefined);
  });

  it('without allowOrigins there is no CORS at all: no header, OPTIONS refused', async () => {
    const plain = await startIcebridgeServer({ host: '127.0.0.1', port: 0, stunPort: 0, webTransport: false, pages: false, signal: false, bridge: { logger: () => {} } });
    try {
      const r = await get(plain.httpUrl, '/config.json', { origin: APP });
      assert.equal(r.status, 200);
      assert.equal(r.headers['access-control-allow-origin'], undefined);
      assert.equal((await get(plain.httpUrl, '/config.json', { origin: APP }, 'OPTIONS')).status, 405);
    } finally {
      await plain.close();
    }
  });
});
