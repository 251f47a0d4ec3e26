// The packed package in a web app (test/consumers/web-app/: `import { IceAgent } from 'icebridge'`, nothing
// else), as each bundler makes it with no icebridge-specific configuration, loaded in headless Chromium
// against startIcebridgeServer from icebridge/node on 127.0.0.1 (its /config.json read cross-origin, CORS by
// allowOrigins): two agents gather through the bridge, connect and send data both ways. Also the library
// served from another origin than the page (a CDN: Worker started through a same-origin blob: module), and a
// Worker script that origin does not share (no CORS): a typed start-failed error instead of a hang.
// Where the Worker comes from in each case: Vite dev — the package's dist/worker.js (its dep cache has no
// worker.js); Vite build and webpack — the file they emit for `new Worker(new URL(…))`; esbuild ESM — the
// script it left behind 404s, the inline copy starts; esbuild IIFE — no import.meta.url, the inline copy.
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { build as esbuild } from 'esbuild';
import puppeteer, { type Browser } from 'puppeteer-core';
import { build as viteBuild, createServer as createViteServer, type ViteDevServer } from 'vite';
import webpack from 'webpack';
import { startIcebridgeServer, type RunningIcebridgeServer } from '../../src/node.js';
import { installFixture, removePackedTarball, type InstalledApp } from '../support/packed-tarball.js';
import { serveStatic, type StaticServer } from './static-server.js';

const CHROMIUM = process.env.CHROME_PATH || '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1',
];
/** One page: load, gather, connect, data both ways. Generous for a loaded 2-core machine; typically ~2 s. */
const PAGE_TIMEOUT_MS = 30_000;

interface PageResult {
  atA?: string;
  atB?: string;
  candidates?: number;
  error?: string;
  /** `<status> <url>` of every response the page and its Worker got. */
  responses?: string[];
}

function webpackBuild(dir: string, outDir: string): Promise<void> {
  return new Promise((resolve, reject) => {
    webpack(
      {
        mode: 'production',
        context: dir,
        entry: './src/main.js',
        output: { path: outDir, filename: 'main.js' },
        // Not minifying saves ~10 s of CPU; it changes nothing icebridge depends on.
        optimization: { minimize: false },
        performance: { hints: false },
        infrastructureLogging: { level: 'error' },
      },
      (err, stats) => {
        if (err) return reject(err);
        if (stats?.hasErrors()) return reject(new Error(stats.toString({ all: false, errors: true })));
        resolve();
      },
    );
  });
}

function page(dir: string, script: string, type: 'module' | 'classic', head = ''): void {
  mkdirSync(dir, { recursive: true });
  const tag = type === 'module' ? `<script type="module" src="${script}"></script>` : `<script src="${script}"></script>`;
  writeFileSync(join(dir, 'index.html'), `<!doctype html><html><head><meta charset="utf-8">${head}</head><body><pre id="out">starting</pre>${tag}</body></html>\n`);
}

describe('the package in bundled web apps, in Chromium', { concurrency: 1 }, () => {
  let app: InstalledApp;
  let out: string;
  let site: StaticServer;
  let cdn: StaticServer;
  let noCors: StaticServer;
  let vite: ViteDevServer | undefined;
  let viteOrigin: string;
  let server: RunningIcebridgeServer;
  let browser: Browser;
  /** Each build's failure, if it failed: reported by the test of its page. */
  const buildErrors = new Map<string, Error | undefined>();

  before(
    async () => {
      app = await installFixture('web-app');
      out = join(app.dir, 'out');
      const entry = join(app.dir, 'src', 'main.js');
      const dist = join(app.dir, 'node_modules', 'icebridge', 'dist');
      // The builds, side by side (each bundler with its defaults: no icebridge-specific option anywhere). A
      // build that fails fails its own test, not the others.
      const settle = (p: Promise<unknown>) => p.then(() => undefined, (err: unknown) => (err instanceof Error ? err : new Error(String(err))));
      const results = await Promise.all([
        settle(esbuild({ entryPoints: [entry], bundle: true, format: 'esm', outdir: join(out, 'esbuild'), absWorkingDir: app.dir, logLevel: 'silent' })),
        settle(esbuild({ entryPoints: [entry], bundle: true, format: 'iife', outdir: join(out, 'esbuild-iife'), absWorkingDir: app.dir, logLevel: 'silent' })),
        settle(webpackBuild(app.dir, join(out, 'webpack'))),
        settle(viteBuild({ root: app.dir, configFile: false, logLevel: 'silent', base: '/vite-build/', build: { outDir: join(out, 'vite-build'), emptyOutDir: true } })),
      ]);
      ['esbuild', 'esbuild-iife', 'webpack', 'vite-build'].forEach((name, i) => buildErrors.set(name, results[i]));
      page(join(out, 'esbuild'), './main.js', 'module');
      page(join(out, 'esbuild-iife'), './main.js', 'classic');
      page(join(out, 'webpack'), './main.js', 'classic');
      site = await serveStatic(out);
      cdn = await serveStatic(join(app.dir, 'node_modules', 'icebridge'), { cors: true });
      noCors = await serveStatic(join(app.dir, 'node_modules', 'icebridge'));
      // The page of another origin than the library: the unbundled app, `icebridge` mapped to the CDN's file.
      const importMap = `<script type="importmap">${JSON.stringify({ imports: { icebridge: `${cdn.origin}/dist/browser.js` } })}</script>`;
      page(join(out, 'cdn'), './main.js', 'module', importMap);
      copyFileSync(entry, join(out, 'cdn', 'main.js'));
      page(join(out, 'cdn-no-cors-worker'), './main.js', 'module', importMap);
      writeFileSync(
        join(out, 'cdn-no-cors-worker', 'main.js'),
        `import { IcebridgeWorker } from 'icebridge';
const worker = new IcebridgeWorker({ workerUrl: ${JSON.stringify(`${noCors.origin}/dist/worker.js`)} });
window.icebridgeResult = worker.connectBridge('ws://127.0.0.1:9/').then(() => ({ error: 'connected?' }), (e) => ({ error: e.name + ' (' + e.code + '): ' + e.message }));\n`,
      );
      assert.ok(readFileSync(join(dist, 'worker-inline.js'), 'utf8').startsWith('//'), 'dist/worker-inline.js is in the package');
      vite = await createViteServer({ root: app.dir, configFile: false, logLevel: 'error', server: { host: '127.0.0.1', port: 0, hmr: false } });
      await vite.listen();
      const address = vite.httpServer?.address();
      assert.ok(address && typeof address === 'object', 'the Vite dev server listens');
      viteOrigin = `http://127.0.0.1:${address.port}`;
      server = await startIcebridgeServer({
        host: '127.0.0.1',
        port: 0,
        stunPort: 0,
        webTransport: false,
        pages: false,
        signal: false,
        // The bridge's sockets on loopback only: host candidates are 127.0.0.1, nothing leaves the machine.
        bridge: { allowOrigins: [site.origin, viteOrigin], udpBindAddress: { IPv4: '127.0.0.1', IPv6: '::1' }, logger: () => {} },
      });
      browser = await puppeteer.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
    },
    { timeout: 120_000 },
  );

  after(async () => {
    await browser?.close();
    await vite?.close();
    await Promise.allSettled([site?.close(), cdn?.close(), noCors?.close(), server?.close()]);
    app?.remove();
    removePackedTarball();
  });

  /** Opens `url`, awaits window.icebridgeResult; on failure the message says what the page logged and what 404'd. */
  async function load(url: string): Promise<PageResult> {
    const tab = await browser.newPage();
    const log: string[] = [];
    const responses: string[] = [];
    tab.on('console', (m) => log.push(`console.${m.type()}: ${m.text()}`));
    tab.on('pageerror', (e) => log.push(`pageerror: ${String(e)}`));
    tab.on('response', (r) => {
      responses.push(`${r.status()} ${r.url()}`);
      if (r.status() >= 400) log.push(`${r.status()} ${r.url()}`);
    });
    tab.on('requestfailed', (r) => log.push(`failed ${r.url()}: ${r.failure()?.errorText}`));
    try {
      const target = `${url}?server=${encodeURIComponent(server.httpUrl)}`;
      await tab.goto(target, { waitUntil: 'load', timeout: PAGE_TIMEOUT_MS });
      let result: PageResult | undefined;
      // Vite's dev server may reload the page once after optimising a dependency: then ask the new page.
      for (let attempt = 0; attempt < 2 && result === undefined; attempt++) {
        try {
          await tab.waitForFunction('window.icebridgeResult !== undefined', { timeout: PAGE_TIMEOUT_MS });
          result = (await tab.evaluate('window.icebridgeResult')) as PageResult;
        } catch (err) {
          if (attempt === 1 || !/context was destroyed|navigation/i.test(String(err))) throw err;
        }
      }
      assert.ok(result, 'a result');
      if (result.error) result.error += `\n${log.join('\n')}`;
      return { ...result, responses };
    } catch (err) {
      throw new Error(`${url}: ${(err as Error).message}\n${log.join('\n')}`);
    } finally {
      await tab.close();
    }
  }

  function seen(pattern: RegExp): (responses: string[]) => void {
    return (responses) => assert.ok(responses.some((r) => pattern.test(r)), `a response matching ${pattern} among:\n${responses.join('\n')}`);
  }

  function none(pattern: RegExp): (responses: string[]) => void {
    return (responses) => assert.ok(!responses.some((r) => pattern.test(r)), `no response matching ${pattern} among:\n${responses.join('\n')}`);
  }

  function assertConnected(result: PageResult): void {
    assert.equal(result.error, undefined);
    assert.equal(result.atB, 'ping from a');
    assert.equal(result.atA, 'pong from b');
    assert.ok((result.candidates ?? 0) >= 2, `candidates exchanged: ${result.candidates}`);
  }

  /** Each page, and what its Worker's script request must look like (which way the Worker was found). */
  const cases: [string, () => string, (responses: string[]) => void, string?][] = [
    ['Vite 7 dev server (no config)', () => `${viteOrigin}/`, seen(/^200 .*\/node_modules\/icebridge\/dist\/worker\.js$/)],
    ['vite build (no config but base), served statically', () => `${site.origin}/vite-build/`, seen(/^200 .*\/vite-build\/assets\/worker-[\w-]+\.js$/), 'vite-build'],
    ['esbuild ESM bundle (the Worker script left behind: inline copy)', () => `${site.origin}/esbuild/`, seen(/^404 .*\/esbuild\/worker\.js$/), 'esbuild'],
    ['esbuild IIFE bundle (no import.meta.url: inline copy)', () => `${site.origin}/esbuild-iife/`, none(/worker/), 'esbuild-iife'],
    ['webpack 5 (Node API, no outputModule)', () => `${site.origin}/webpack/`, none(/^4\d\d /), 'webpack'],
    ['the library on another origin (CDN with CORS) than the page', () => `${site.origin}/cdn/`, seen(/^200 http:\/\/127\.0\.0\.1:\d+\/dist\/worker\.js$/)],
  ];
  for (const [name, url, check, built] of cases) {
    it(`${name}: two agents connect and exchange data`, { timeout: PAGE_TIMEOUT_MS * 2 + 5000 }, async () => {
      const failed = built && buildErrors.get(built);
      if (failed) throw new Error(`the ${built} build failed: ${failed.message}`);
      const result = await load(url());
      assertConnected(result);
      check(result.responses ?? []);
    });
  }

  it('a workerUrl on an origin without CORS fails with start-failed naming it, at once', { timeout: PAGE_TIMEOUT_MS + 5000 }, async () => {
    const started = Date.now();
    const result = await load(`${site.origin}/cdn-no-cors-worker/`);
    assert.match(result.error ?? '', /^IcebridgeWorkerError \(start-failed\): the icebridge Worker did not start from http:\/\/127\.0\.0\.1:\d+\/dist\/worker\.js/);
    assert.match(result.error ?? '', /CORS/);
    assert.ok(Date.now() - started < 9000, 'before the 10 s start timeout');
  });
});
