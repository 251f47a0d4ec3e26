// A page in headless Chromium for bench/bridge-carriers.ts: bench/pages/carrier-page.ts and its two
// Workers (icebridge's own, src/worker/worker.ts, and the bench Worker, bench/pages/carrier-worker.ts)
// bundled from the sources with esbuild in memory, served by node:http on 127.0.0.1. Unlike page-agent.ts,
// Chromium runs WITH QUIC (WebTransport is HTTP/3) and the page is cross-origin isolated (COOP + COEP), so
// performance.now() ticks in 5 µs steps instead of 100 µs, in the page and in its Workers. The browser is
// closed by close(), and killed at exit if that did not happen.
import { createServer, type Server } from 'node:http';
import { build } from 'esbuild';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { CHROMIUM, CHROMIUM_ARGS } from './page-agent.js';
import { atExit, repoRoot } from './processes.js';

/** page-agent's flags minus --disable-quic. */
export const CARRIER_CHROMIUM_ARGS = CHROMIUM_ARGS.filter((a) => a !== '--disable-quic');

const PAGE = `<!doctype html>
<meta charset="utf-8">
<title>icebridge bench: bridge carriers</title>
<script type="module" src="/page.js"></script>
`;

export interface CarrierPage {
  origin: string;
  version: string;
  /** The browser's main process id (its renderers are children). */
  browserPid: number | undefined;
  /** window[fn](...args) in the page. */
  call<T>(fn: 'workerCall' | 'appRtt' | 'isolation', ...args: unknown[]): Promise<T>;
  log(): string[];
  close(): Promise<void>;
}

async function bundle(): Promise<Map<string, string>> {
  const result = await build({
    absWorkingDir: repoRoot,
    entryPoints: { page: 'bench/pages/carrier-page.ts', worker: 'src/worker/worker.ts', 'carrier-worker': 'bench/pages/carrier-worker.ts' },
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

function serve(files: Map<string, string>): Promise<Server> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const body = path === '/' ? PAGE : files.get(path);
    if (path === '/favicon.ico') {
      res.writeHead(204).end();
      return;
    }
    if (body === undefined) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, {
      'content-type': path === '/' ? 'text/html; charset=utf-8' : 'text/javascript; charset=utf-8',
      'cache-control': 'no-store',
      'cross-origin-opener-policy': 'same-origin',
      'cross-origin-embedder-policy': 'require-corp',
      'cross-origin-resource-policy': 'same-origin',
    });
    res.end(body);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
}

export async function startCarrierPage(): Promise<CarrierPage> {
  const server = await serve(await bundle());
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
    browser = await puppeteer.launch({ executablePath: CHROMIUM, headless: true, args: CARRIER_CHROMIUM_ARGS, protocolTimeout: 180_000 });
    const proc = browser.process();
    unregister = atExit(() => {
      if (proc && proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
    });
    const version = await browser.version();
    const page: Page = await browser.newPage();
    page.on('console', (m) => keep(`console.${m.type()}: ${m.text()}`));
    page.on('pageerror', (e) => keep(`pageerror: ${e instanceof Error ? e.message : String(e)}`));
    await page.goto(`${origin}/`, { waitUntil: 'load', timeout: 30_000 });
    await page.waitForFunction('window.benchReady === true', { timeout: 30_000 });
    return {
      origin,
      version,
      browserPid: proc?.pid,
      call: <T>(fn: string, ...args: unknown[]) =>
        page.evaluate((f, a) => (window as unknown as Record<string, (...x: unknown[]) => Promise<unknown>>)[f](...a), fn, args) as Promise<T>,
      log: () => [...recent],
      close,
    };
  } catch (err) {
    await close();
    throw new Error(`${err instanceof Error ? err.message : String(err)}${recent.length > 0 ? `\npage output:\n${recent.join('\n')}` : ''}`);
  }
}
