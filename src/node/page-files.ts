// The files `icebridge serve` gives browsers: the example pages (examples/<name>/, index.html and CSS as they
// are, TypeScript entry points bundled on request with esbuild — page-bundler.ts) and the built page client
// under /icebridge/. esbuild is a devDependency: without it (a production install) the prebuilt bundles in
// dist/ are served.
// Every path is checked to stay inside the folder it is served from, after decoding and symlinks.
import { existsSync, readFileSync } from 'node:fs';
import { readFile, realpath, stat } from 'node:fs/promises';
import { dirname, extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findEsbuild, PageBundler } from './page-bundler.js';

/** The example pages served by default, each at /<name>/. */
export const DEFAULT_PAGES: readonly string[] = ['inspector', 'chat'];

/** The page client files served under /icebridge/, and the source each is bundled from when dist/ has none. */
const CLIENT_FILES: Readonly<Record<string, string>> = {
  'browser.js': 'src/browser.ts',
  'worker-client.js': 'src/worker.ts',
  'worker.js': 'src/worker/worker.ts',
};

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
};

export interface PageFilesOptions {
  /** The package folder (holding examples/, dist/ and package.json). Default: found from this module. */
  root?: string;
  /** Example pages served, each from examples/<name>/ (or dist/examples/<name>/). Default inspector and chat. */
  pages?: readonly string[];
  /**
   * How TypeScript entry points become JavaScript: 'esbuild' bundles them on request, 'prebuilt' serves
   * dist/examples/<name>/<file>.js as `npm run build` made it, 'auto' bundles when esbuild can be imported.
   * Default 'auto'.
   */
  bundler?: 'auto' | 'esbuild' | 'prebuilt';
}

export type PageFileResult =
  | { status: 200; contentType: string; body: Uint8Array | string }
  | { status: 301; location: string }
  | { status: 400 | 404 | 500 | 503; message: string };

interface CachedBundle {
  code: string;
  /** Every input file with the mtime it had when bundled: a change to any rebuilds. */
  inputs: [string, number][];
}

/** The folder of the icebridge package this module belongs to (src/node/ in a clone, dist/ when built). */
export function findPackageRoot(from = dirname(fileURLToPath(import.meta.url))): string {
  for (let dir = from; ; dir = dirname(dir)) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest)) {
      try {
        if ((JSON.parse(readFileSync(manifest, 'utf8')) as { name?: unknown }).name === 'icebridge') return dir;
      } catch {
        // Not ours; keep looking upwards.
      }
    }
    if (dirname(dir) === dir) throw new Error(`no icebridge package.json above ${from}`);
  }
}

/** `segments` joined under `base`, or undefined if any is unsafe: empty, dot-only, hidden, or with a separator. */
function safeJoin(base: string, segments: readonly string[]): string | undefined {
  for (const s of segments) {
    if (s === '' || s.startsWith('.') || s.includes('/') || s.includes('\\') || s.includes('\0') || s.includes(':')) return undefined;
  }
  const path = resolve(base, ...segments);
  return path.startsWith(base + sep) ? path : undefined;
}

/** The real path of `path` if it is a file whose real path is still inside `base`. */
async function fileInside(base: string, path: string): Promise<string | undefined> {
  try {
    const [realBase, real] = await Promise.all([realpath(base), realpath(path)]);
    if (!real.startsWith(realBase + sep)) return undefined;
    return (await stat(real)).isFile() ? real : undefined;
  } catch {
    return undefined;
  }
}

export class PageFiles {
  readonly root: string;
  readonly pages: ReadonlySet<string>;
  /** Undefined when entry points are served prebuilt. */
  private readonly bundler: PageBundler | undefined;
  private readonly cache = new Map<string, CachedBundle>();

  constructor(options: PageFilesOptions = {}) {
    this.root = resolve(options.root ?? findPackageRoot());
    const pages = options.pages ?? DEFAULT_PAGES;
    for (const p of pages) if (!/^[a-z0-9-]{1,64}$/.test(p)) throw new TypeError(`page name ${JSON.stringify(p)}: use a-z, 0-9 and -`);
    this.pages = new Set(pages);
    const mode = options.bundler ?? 'auto';
    if (!['auto', 'esbuild', 'prebuilt'].includes(mode)) throw new TypeError('bundler must be auto, esbuild or prebuilt');
    const esbuild = mode === 'prebuilt' ? undefined : findEsbuild();
    if (mode === 'esbuild' && esbuild === undefined) throw new TypeError('bundler esbuild: the esbuild package is not installed');
    this.bundler = esbuild === undefined ? undefined : new PageBundler(esbuild, this.root);
  }

  /** The answer for a GET of `pathname` (still percent-encoded), or undefined when it is not a page path. */
  async get(pathname: string): Promise<PageFileResult | undefined> {
    const raw = pathname.split('/').slice(1);
    let segments: string[];
    try {
      segments = raw.map((s) => decodeURIComponent(s));
    } catch {
      return { status: 400, message: 'bad path encoding' };
    }
    const [first, ...rest] = segments;
    if (first === 'icebridge') return this.client(rest);
    if (!this.pages.has(first)) return undefined;
    if (rest.length === 0) return { status: 301, location: `/${first}/` };
    if (rest[rest.length - 1] === '') rest[rest.length - 1] = 'index.html';
    return this.pageFile(first, rest);
  }

  /** Stops the bundler's worker thread, if one was started. */
  async close(): Promise<void> {
    await this.bundler?.close();
  }

  private async pageFile(page: string, rest: string[]): Promise<PageFileResult> {
    const notFound: PageFileResult = { status: 404, message: 'not found' };
    const ext = extname(rest[rest.length - 1]);
    const sourceDir = join(this.root, 'examples', page);
    const builtDir = join(this.root, 'dist', 'examples', page);
    if (ext === '.ts' || ext === '.js') {
      // An entry point: main.ts (or main.js naming it) is bundled from source, or served prebuilt.
      const stem = rest[rest.length - 1].slice(0, -ext.length);
      const tsSegments = [...rest.slice(0, -1), `${stem}.ts`];
      const tsPath = safeJoin(sourceDir, tsSegments);
      if (tsPath === undefined) return notFound;
      const source = await fileInside(sourceDir, tsPath);
      if (source !== undefined && this.bundler !== undefined) return this.bundle(source);
      const js = safeJoin(builtDir, [...rest.slice(0, -1), `${stem}.js`]);
      const built = js === undefined ? undefined : await fileInside(builtDir, js);
      if (built !== undefined) return this.file(built);
      if (ext === '.ts') return source === undefined ? notFound : { status: 503, message: 'no bundler: install esbuild (npm ci) or run npm run build' };
    }
    if (ext === '.ts' || !(ext in CONTENT_TYPES)) return notFound;
    for (const dir of [sourceDir, builtDir]) {
      const path = safeJoin(dir, rest);
      const found = path === undefined ? undefined : await fileInside(dir, path);
      if (found !== undefined) return this.file(found);
    }
    return notFound;
  }

  private async client(rest: string[]): Promise<PageFileResult> {
    const name = rest.join('/');
    const js = name.endsWith('.map') ? name.slice(0, -4) : name;
    const entry = CLIENT_FILES[js];
    if (entry === undefined) return { status: 404, message: 'not found' };
    const dist = join(this.root, 'dist');
    const built = await fileInside(dist, join(dist, name));
    if (built !== undefined) return this.file(built);
    // A clone that was never built: bundle the client from source when esbuild is at hand (no map then).
    if (this.bundler !== undefined && !name.endsWith('.map')) return this.bundle(join(this.root, entry));
    return { status: 503, message: `dist/${name} is missing: run npm run build` };
  }

  private async file(path: string): Promise<PageFileResult> {
    const contentType = CONTENT_TYPES[extname(path)];
    if (contentType === undefined) return { status: 404, message: 'not found' };
    return { status: 200, contentType, body: new Uint8Array(await readFile(path)) };
  }

  private async bundle(entry: string): Promise<PageFileResult> {
    const cached = this.cache.get(entry);
    if (cached && (await this.fresh(cached))) return { status: 200, contentType: CONTENT_TYPES['.js'], body: cached.code };
    const result = await this.bundler!.bundle(entry);
    if (!result.ok) return { status: 500, message: `bundling ${entry} failed:\n${result.message}` };
    try {
      const inputs = await Promise.all(
        result.inputs.map(async (p): Promise<[string, number]> => {
          const path = resolve(this.root, p);
          return [path, (await stat(path)).mtimeMs];
        }),
      );
      this.cache.set(entry, { code: result.code, inputs });
    } catch {
      // An input gone already: serve this bundle, build again next time.
    }
    return { status: 200, contentType: CONTENT_TYPES['.js'], body: result.code };
  }

  private async fresh(bundle: CachedBundle): Promise<boolean> {
    try {
      const now = await Promise.all(bundle.inputs.map(async ([path]) => (await stat(path)).mtimeMs));
      return now.every((m, i) => m === bundle.inputs[i][1]);
    } catch {
      return false;
    }
  }
}
