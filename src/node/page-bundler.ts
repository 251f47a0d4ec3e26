// Bundles the example pages' TypeScript entry points for `icebridge serve`, with esbuild, on request.
// esbuild runs in a worker thread, one synchronous build (one short-lived esbuild process, waited for) at
// a time: the server's event loop never blocks on it, and no esbuild service process is left running —
// esbuild's async API keeps one that outlives a server which stops, a zombie where nothing reaps orphans.
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type { BuildOptions } from 'esbuild';

/** What a page imports resolves to the page client served beside the pages, never bundled in (it finds its Worker next to itself). */
export const PAGE_CLIENT_ALIASES: Readonly<Record<string, string>> = {
  'icebridge/worker': '/icebridge/worker-client.js',
  icebridge: '/icebridge/browser.js',
};

export type BundleResult = { ok: true; code: string; inputs: string[] } | { ok: false; message: string };

interface WorkerReply {
  id: number;
  ok: boolean;
  code?: string;
  inputs?: string[];
  message?: string;
}

// CommonJS, evaluated in the worker. ESBUILD_WORKER_THREADS=0 (set in the worker's own env) makes buildSync
// run esbuild as a child process it waits for, instead of starting a long-lived service.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const esbuild = require(workerData.esbuildPath);
parentPort.on('message', ({ id, options }) => {
  try {
    const result = esbuild.buildSync(options);
    parentPort.postMessage({ id, ok: true, code: result.outputFiles[0].text, inputs: Object.keys(result.metafile.inputs) });
  } catch (err) {
    const errors = Array.isArray(err && err.errors) ? err.errors : [];
    const message = errors.length > 0
      ? errors.map((e) => (e.location ? e.location.file + ':' + e.location.line + ': ' : '') + e.text).join('\\n')
      : String(err && err.message ? err.message : err);
    parentPort.postMessage({ id, ok: false, message });
  }
});
`;

/** The path of the esbuild package as this module would import it, or undefined when it is not installed. */
export function findEsbuild(): string | undefined {
  try {
    return createRequire(import.meta.url).resolve('esbuild');
  } catch {
    return undefined;
  }
}

export class PageBundler {
  private worker: Worker | undefined;
  private nextId = 1;
  private readonly waiting = new Map<number, (result: BundleResult) => void>();

  constructor(
    private readonly esbuildPath: string,
    /** The folder relative input paths are resolved against. */
    private readonly root: string,
  ) {}

  /** Bundles `entry` for the browser (ES2022 modules, inline source map). */
  bundle(entry: string): Promise<BundleResult> {
    const options: BuildOptions = {
      entryPoints: [entry],
      bundle: true,
      format: 'esm',
      platform: 'browser',
      target: 'es2022',
      write: false,
      sourcemap: 'inline',
      metafile: true,
      logLevel: 'silent',
      absWorkingDir: this.root,
      alias: { ...PAGE_CLIENT_ALIASES },
      external: ['/icebridge/*'],
    };
    const worker = this.start();
    const id = this.nextId++;
    return new Promise<BundleResult>((resolve) => {
      this.waiting.set(id, resolve);
      worker.postMessage({ id, options });
    });
  }

  /** Stops the worker; bundles still waiting resolve with an error. */
  async close(): Promise<void> {
    const worker = this.worker;
    this.worker = undefined;
    this.fail('the bundler was closed');
    await worker?.terminate();
  }

  private start(): Worker {
    if (this.worker) return this.worker;
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { esbuildPath: this.esbuildPath },
      env: { ...process.env, ESBUILD_WORKER_THREADS: '0' },
    });
    // An idle bundler must not keep a stopping server alive.
    worker.unref();
    worker.on('message', (reply: WorkerReply) => {
      const resolve = this.waiting.get(reply.id);
      this.waiting.delete(reply.id);
      resolve?.(reply.ok ? { ok: true, code: reply.code ?? '', inputs: reply.inputs ?? [] } : { ok: false, message: reply.message ?? 'unknown error' });
    });
    worker.on('error', (err) => {
      this.worker = undefined;
      this.fail(`the bundler failed: ${err.message}`);
    });
    worker.on('exit', () => {
      if (this.worker === worker) this.worker = undefined;
      this.fail('the bundler stopped');
    });
    this.worker = worker;
    return worker;
  }

  private fail(message: string): void {
    for (const resolve of this.waiting.values()) resolve({ ok: false, message });
    this.waiting.clear();
  }
}
