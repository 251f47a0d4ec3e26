// A page running icebridge's page client in headless Chromium, for benchmarks: the page entry and its
// Worker bundled from src/ with esbuild in memory, laid out as scripts/build.mjs lays out dist/ (browser.js
// with worker.js beside it — the page finds its Worker by `new URL('./worker.js', import.meta.url)`), so
// the bench measures the sources as they are now, never a stale dist/. A tiny node:http server on
// 127.0.0.1 serves them and an inline page that imports /browser.js and defines `measureGather`.
// The browser is puppeteer-core driving /usr/bin/chromium; it is closed by close(), and killed at exit if
// that did not happen.
import { createServer, type Server } from 'node:http';
import { build } from 'esbuild';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { atExit, repoRoot } from './processes.js';
import type { GatherTiming } from './gather-time.js';

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

// The timed part, in the page: from just before `new IceAgent` to the first srflx candidate and to
// gathering complete, one fresh agent (and so one fresh bridge session) per call, closed before it returns.
const PAGE = `<!doctype html>
<meta charset="utf-8">
<title>icebridge bench: gathering through the bridge</title>
<script type="module">
import { IceAgent } from '/browser.js';
window.measureGather = async ({ bridge, stunUrl, timeoutMs }) => {
  const t0 = performance.now();
  const agent = new IceAgent({ bridge, iceServers: [{ urls: stunUrl }] });
  const r = { srflxMs: null, firstCandidateMs: null, completeMs: null, candidates: [], errors: [] };
  const complete = new Promise((resolve) => {
    agent.addEventListener('icecandidate', (e) => {
      if (!e.candidate) return;
      const now = performance.now() - t0;
      r.firstCandidateMs ??= now;
      if (r.srflxMs === null && / typ srflx/.test(e.candidate.candidate)) r.srflxMs = now;
      r.candidates.push(e.candidate.candidate);
    });
    agent.addEventListener('icecandidateerror', (e) => r.errors.push(e.error.errorCode + ' ' + e.error.errorText));
    agent.addEventListener('gatheringstatechange', () => {
      if (agent.gatheringState === 'complete') {
        r.completeMs = performance.now() - t0;
        resolve();
      }
    });
  });
  const gathering = agent.gather().catch((e) => r.errors.push('gather: ' + (e && e.message || e)));
  let timer;
  await Promise.race([complete, gathering, new Promise((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
  clearTimeout(timer);
  await agent.close().catch(() => {});
  return r;
};
window.benchReady = true;
</script>
`;

export interface PageAgentHost {
  /** The page's origin, http://127.0.0.1:<port>. */
  origin: string;
  /** Chromium's version string. */
  version: string;
  /** One fresh agent in the (one, reused) page: new IceAgent → first srflx and gathering complete. */
  measureGather(args: { bridge: string; stunUrl: string; timeoutMs: number }): Promise<GatherTiming>;
  /** Recent console output and page errors, for failure messages. */
  log(): string[];
  close(): Promise<void>;
}

async function bundle(): Promise<Map<string, string>> {
  const result = await build({
    absWorkingDir: repoRoot,
    entryPoints: { browser: 'src/browser.ts', worker: 'src/worker/worker.ts' },
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
    if (body === undefined) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': path === '/' ? 'text/html; charset=utf-8' : 'text/javascript; charset=utf-8', 'cache-control': 'no-store' });
    res.end(body);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
}

export async function startPageAgentHost(): Promise<PageAgentHost> {
  const files = await bundle();
  const server = await serve(files);
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
    browser = await puppeteer.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, protocolTimeout: 60_000 });
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
    return {
      origin,
      version,
      measureGather: (args) =>
        page.evaluate(
          (a) => (window as unknown as { measureGather(x: typeof a): Promise<GatherTiming> }).measureGather(a),
          args,
        ),
      log: () => [...recent],
      close,
    };
  } catch (err) {
    await close();
    throw new Error(`${err instanceof Error ? err.message : String(err)}${recent.length > 0 ? `\npage output:\n${recent.join('\n')}` : ''}`);
  }
}
