// A page in headless Chromium for bench/bridge-carriers.ts: bench/pages/carrier-page.ts and its two
// Workers (icebridge's own, src/worker/worker.ts, and the bench Worker, bench/pages/carrier-worker.ts)
// (bench-page.ts). Unlike page-agent.ts, Chromium runs WITH QUIC (WebTransport is HTTP/3) and the page is
// cross-origin isolated (COOP + COEP), so performance.now() ticks in 5 µs steps instead of 100 µs, in the
// page and in its Workers.
import { CHROMIUM_ARGS, openBenchPage } from './bench-page.js';

/** The bench flags minus --disable-quic. */
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

export async function startCarrierPage(): Promise<CarrierPage> {
  const p = await openBenchPage({
    entryPoints: { page: 'bench/pages/carrier-page.ts', worker: 'src/worker/worker.ts', 'carrier-worker': 'bench/pages/carrier-worker.ts' },
    html: PAGE,
    chromiumArgs: CARRIER_CHROMIUM_ARGS,
    protocolTimeoutMs: 180_000,
    headers: { 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp', 'cross-origin-resource-policy': 'same-origin' },
  });
  return {
    origin: p.origin,
    version: p.version,
    browserPid: p.browserPid,
    call: <T>(fn: string, ...args: unknown[]) =>
      p.page.evaluate((f, a) => (window as unknown as Record<string, (...x: unknown[]) => Promise<unknown>>)[f](...a), fn, args) as Promise<T>,
    log: p.log,
    close: p.close,
  };
}
