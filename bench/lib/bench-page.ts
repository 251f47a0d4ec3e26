// One page of the benchmarks in headless Chromium: entry points bundled from the sources with esbuild in
// memory (so a bench measures the sources as they are now, never a stale dist/), served with an inline HTML
// page by node:http on 127.0.0.1, opened by puppeteer-core driving /usr/bin/chromium, ready once the page
// sets `window.benchReady`. The browser is closed by close(), and killed at exit if that did not happen.
import { createServer, type OutgoingHttpHeaders, type Server } from 'node:http';
import { build } from 'esbuild';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { atExit, repoRoot } from './processes.js';

export const CHROMIUM = '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--headless=new',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
  '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1',
];

export interface BenchPageOptions {
  /** esbuild entry points, name → path from the repository root; served as /<name>.js. */
  entryPoints: Record<string, string>;
  /** The HTML served at /. */
  html: string;
  chromiumArgs: readonly string[];
  protocolTimeoutMs: number;
  /** Extra response headers on every file (e.g. COOP/COEP for cross-origin isolation). */
  headers?: OutgoingHttpHeaders;
}

export interface BenchPage {
  /** http://127.0.0.1:<port> */
  origin: string;
  /** Chromium's version string. */
  version: string;
  /** The browser's main process id (its renderers are children). */
  browserPid: number | undefined;
  page: Page;
  /** Recent console output and page errors, for failure messages. */
  log(): string[];
  close(): Promise<void>;
}

async function bundle(entryPoints: Record<string, string>): Promise<Map<string, string>> {
  const result = await build({
    absWorkingDir: repoRoot,
    entryPoints,
    bundle: true,
    format: 'esm',
    target: 'es2022',
    platform: 'browser',
    outdir: '/bench-page',
    write: false,
    logLevel: 'warning',
  });
  return new Map(result.outputFiles.map((f) => [`/${f.path.slice(f.path.lastIndexOf('/') + 1)}`, f.text]));
}

function serve(files: Map<string, string>, html: string, headers: OutgoingHttpHeaders): Promise<Server> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/favicon.ico') {
      res.writeHead(204).end();
      return;
    }
    const body = path === '/' ? html : files.get(path);
    if (body === undefined) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': path === '/' ? 'text/html; charset=utf-8' : 'text/javascript; charset=utf-8', 'cache-control': 'no-store', ...headers });
    res.end(body);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
}

export async function openBenchPage(o: BenchPageOptions): Promise<BenchPage> {
  const server = await serve(await bundle(o.entryPoints), o.html, o.headers ?? {});
  const origin = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  const recent: string[] = [];
  const keep = (line: string) => {
    recent.push(line);
    if (recent.length > 20) recent.shift();
  };
  let browser: Browser | undefined;
  let unregister: (() => void) | undefined;
  const close = async () => {
    const b = browser;
    browser = undefined;
    if (b) {
      const proc = b.process();
      await Promise.race([b.close().catch(() => undefined), new Promise((resolve) => setTimeout(resolve, 5000).unref())]);
      if (proc && proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
    }
    unregister?.();
    unregister = undefined;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  try {
    browser = await puppeteer.launch({ executablePath: CHROMIUM, headless: true, args: [...o.chromiumArgs], protocolTimeout: o.protocolTimeoutMs });
    const proc = browser.process();
    // Whatever happens to the run, the browser does not outlive it.
    unregister = atExit(() => {
      if (proc && proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
    });
    const version = await browser.version();
    const page: Page = await browser.newPage();
    page.on('console', (m) => keep(`console.${m.type()}: ${m.text()}`));
    page.on('pageerror', (e) => keep(`pageerror: ${e instanceof Error ? e.message : String(e)}`));
    await page.goto(`${origin}/`, { waitUntil: 'load', timeout: 30_000 });
    await page.waitForFunction('window.benchReady === true', { timeout: 30_000 });
    return { origin, version, browserPid: proc?.pid, page, log: () => [...recent], close };
  } catch (err) {
    await close();
    throw new Error(`${err instanceof Error ? err.message : String(err)}${recent.length > 0 ? `\npage output:\n${recent.join('\n')}` : ''}`);
  }
}
