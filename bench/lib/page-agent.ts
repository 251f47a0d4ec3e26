// A page running icebridge's page client in headless Chromium (bench-page.ts), for bench/bridge-v2.ts: the
// page entry and its Worker laid out as scripts/build.mjs lays out dist/ (browser.js with worker.js beside
// it — the page finds its Worker by `new URL('./worker.js', import.meta.url)`), and an inline page that
// imports /browser.js and defines `measureGather`.
import { CHROMIUM_ARGS, openBenchPage } from './bench-page.js';
import type { GatherTiming } from './gather-time.js';


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

export async function startPageAgentHost(): Promise<PageAgentHost> {
  const p = await openBenchPage({ entryPoints: { browser: 'src/browser.ts', worker: 'src/worker/worker.ts' }, html: PAGE, chromiumArgs: CHROMIUM_ARGS, protocolTimeoutMs: 60_000 });
  return {
    origin: p.origin,
    version: p.version,
    measureGather: (args) => p.page.evaluate((a) => (window as unknown as { measureGather(x: typeof a): Promise<GatherTiming> }).measureGather(a), args),
    log: p.log,
    close: p.close,
  };
}
