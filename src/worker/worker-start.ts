// Where the page's icebridge Worker comes from, with no configuration in the app, whatever bundled it:
//   1. the app's own Worker (`worker`) or script URL (`workerUrl`);
//   2. inside Vite's dev dependency cache (/node_modules/.vite/deps/, where worker.js was not copied): the
//      package's own dist/worker.js;
//   3. a library served from another origin (a CDN): a same-origin blob: module that imports the script,
//      since a Worker's own script must be same-origin;
//   4. otherwise the literal `new Worker(new URL('./worker.js', import.meta.url), …)` that Vite (build),
//      Rollup and webpack 5 recognise and rewrite to the file they emit.
// A script that fails before its first answer (a 404 where a bundler left worker.js behind, as esbuild does)
// is replaced by the inline copy (dist/worker-inline.js: the Worker's source as a string) in a blob: Worker.
import { IcebridgeWorkerError } from './errors.js';

/** One Worker being started, and what to say about it if it does not start. */
export interface WorkerAttempt {
  worker: Worker;
  /** The script URL, or a description, for error messages. */
  source: string;
  /** A failure may be retried with the inline copy (not for a Worker or URL the app chose). */
  fallback: boolean;
  /** A blob: URL to revoke once the Worker has started or failed. */
  blobUrl?: string;
}

export interface WorkerSource {
  worker?: Worker;
  workerUrl?: string | URL;
}

const OPTIONS: WorkerOptions = { type: 'module', name: 'icebridge' };
/** From a chunk of Vite's dep cache (node_modules/.vite/deps/) to the package's own Worker script. */
const FROM_VITE_DEPS = '../../icebridge/dist/worker.js';
const SIBLING = './worker.js';
const FORMAT_HINT = 'bundle icebridge as ESM, or pass workerUrl (the URL of icebridge/worker.js) or worker';

/** The first Worker to try, or undefined when only the inline copy can work (an IIFE or CommonJS bundle). */
export function firstAttempt(options: WorkerSource): WorkerAttempt | undefined {
  if (options.worker !== undefined) return { worker: options.worker, source: 'the Worker given as `worker`', fallback: false };
  if (typeof Worker === 'undefined') {
    throw new IcebridgeWorkerError(
      'unsupported-runtime',
      'this runtime has no Web Worker: the page entry of icebridge runs in browsers; in Node, import { IceAgent } from "icebridge/node" (real UDP, no Worker, no bridge)',
    );
  }
  if (options.workerUrl !== undefined) return atUrl(parseWorkerUrl(options.workerUrl), false);
  const here = moduleUrl();
  if (here === undefined) return undefined;
  if (here.protocol === 'http:' || here.protocol === 'https:') {
    // A variable base, not `import.meta.url`, so no bundler takes these for files of its own to rewrite.
    if (here.pathname.includes('/.vite/deps/')) return atUrl(new URL(FROM_VITE_DEPS, here), true);
    if (here.origin !== pageOrigin()) return atUrl(new URL(SIBLING, here), true);
  }
  try {
    // Written out literally, in the one form bundlers recognise (webpack also rewrites import.meta.url
    // alone to a file: URL, which is why `here` is not used for this one).
    return { worker: new Worker(new URL('./worker.js', import.meta.url), { type: 'module', name: 'icebridge' }), source: new URL(SIBLING, here).href, fallback: true };
  } catch (err) {
    // A SecurityError here is an origin this code did not see as another one (a bundler's rewritten URL).
    if ((err as Error).name === 'SecurityError') return atUrl(new URL(SIBLING, here), true);
    return undefined;
  }
}

/** The inline copy in a blob: Worker; rejects with 'no-script-url' or the first failure when there is none. */
export async function inlineAttempt(firstFailure: IcebridgeWorkerError | undefined): Promise<WorkerAttempt> {
  let source: string;
  try {
    const loaded: unknown = (await import('./worker-inline.js')).default;
    if (typeof loaded !== 'string') throw new TypeError('there is no inline copy in the sources (it is built into dist/)');
    source = loaded;
  } catch (err) {
    // From the sources (no dist/worker-inline.js) or a bundler that dropped it: the first failure is the news.
    if (firstFailure) throw firstFailure;
    throw new IcebridgeWorkerError('no-script-url', `icebridge cannot find its Worker script: this bundle has no import.meta.url (an IIFE or CommonJS bundle) and the inline copy did not load (${(err as Error).message}); ${FORMAT_HINT}`);
  }
  const blobUrl = URL.createObjectURL(new Blob([source], { type: 'text/javascript' }));
  return { worker: new Worker(blobUrl, OPTIONS), source: 'the inline copy of the Worker (icebridge/worker-inline.js)', fallback: false, blobUrl };
}

/** The message for an attempt that failed, naming what was tried; a CSP or CORS hint where it is the likely cause. */
export function startFailure(attempt: WorkerAttempt, why: string, previous?: IcebridgeWorkerError): IcebridgeWorkerError {
  const hint = attempt.blobUrl ? ' (a Content-Security-Policy needs `worker-src blob:` for it)' : '';
  const before = previous ? `; before that, ${previous.message}` : '';
  return new IcebridgeWorkerError('start-failed', `the icebridge Worker did not start from ${attempt.source}${hint}: ${why}${before}`, attempt.source);
}

function atUrl(url: URL, fallback: boolean): WorkerAttempt {
  if (url.origin === pageOrigin() || url.protocol === 'blob:' || url.protocol === 'data:') return { worker: new Worker(url, OPTIONS), source: url.href, fallback };
  // A module that imports the script: the Worker is same-origin, the script is fetched with CORS.
  const blobUrl = URL.createObjectURL(new Blob([`import ${JSON.stringify(url.href)};\n`], { type: 'text/javascript' }));
  return { worker: new Worker(blobUrl, OPTIONS), source: `${url.href} (imported by a same-origin blob: module; its server must send CORS headers)`, fallback, blobUrl };
}

function parseWorkerUrl(value: string | URL): URL {
  try {
    return new URL(value, globalThis.location?.href);
  } catch {
    throw new IcebridgeWorkerError('invalid-worker-url', `workerUrl ${JSON.stringify(String(value))} is not a URL`);
  }
}

/** This module's URL; undefined in a bundle format without import.meta (IIFE, CommonJS). */
function moduleUrl(): URL | undefined {
  try {
    const url: unknown = import.meta.url;
    return typeof url === 'string' ? new URL(url) : undefined;
  } catch {
    return undefined;
  }
}

function pageOrigin(): string | undefined {
  return globalThis.location?.origin;
}
