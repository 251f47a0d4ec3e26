// Builds dist/ with esbuild: the isomorphic core (ESM, no Node imports), the page entry and its Worker, the
// Node entry, the CLI, and the example pages (dist/examples/, what `icebridge serve` serves when esbuild is
// not installed). tsc only type-checks (npm run typecheck); esbuild only strips types and bundles.
import { build } from 'esbuild';
import { copyFileSync, existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

const common = { bundle: true, format: 'esm', target: 'es2022', sourcemap: true, logLevel: 'warning', metafile: true };
const entries = [
  { entryPoints: { index: 'src/index.ts' }, platform: 'neutral', mainFields: ['module', 'main'] },
  { entryPoints: { node: 'src/node.ts' }, platform: 'node', packages: 'external' },
  // The module Worker script and the page entries that start it. They keep
  // `new URL('./worker.js', import.meta.url)` as written, so the Worker must be dist/worker.js, next to them.
  { entryPoints: { worker: 'src/worker/worker.ts' }, platform: 'browser' },
  { entryPoints: { 'worker-client': 'src/worker.ts' }, platform: 'browser' },
  { entryPoints: { browser: 'src/browser.ts' }, platform: 'browser' },
  {
    entryPoints: { cli: 'src/cli.ts' },
    platform: 'node',
    packages: 'external',
    banner: { js: '#!/usr/bin/env node' },
  },
].filter((e) => Object.values(e.entryPoints).every((p) => existsSync(p)));

// The example pages import the page client as served beside them (/icebridge/…), never bundled in: it
// finds its Worker next to itself. Same rule as PAGE_CLIENT_ALIASES in src/node/page-bundler.ts.
const pageClient = {
  alias: { 'icebridge/worker': '/icebridge/worker-client.js', icebridge: '/icebridge/browser.js' },
  external: ['/icebridge/*'],
};

/** Example pages: folders of examples/ with an index.html (node-peer is a Node script, not a page). */
function examplePages() {
  if (!existsSync('examples')) return [];
  return readdirSync('examples').filter((name) => existsSync(join('examples', name, 'index.html')));
}

async function buildExamples() {
  const pages = examplePages();
  for (const name of pages) {
    const from = join('examples', name);
    const to = join('dist', 'examples', name);
    mkdirSync(to, { recursive: true });
    for (const file of readdirSync(from)) {
      if (!file.endsWith('.ts') && statSync(join(from, file)).isFile()) copyFileSync(join(from, file), join(to, file));
    }
  }
  const withMain = pages.filter((name) => existsSync(join('examples', name, 'main.ts')));
  if (withMain.length > 0) {
    await build({
      ...common,
      entryPoints: Object.fromEntries(withMain.map((name) => [`${name}/main`, join('examples', name, 'main.ts')])),
      platform: 'browser',
      ...pageClient,
      outdir: join('dist', 'examples'),
    });
  }
  return pages.length;
}

const results = await Promise.all(entries.map((e) => build({ ...common, ...e, outdir: 'dist' })));
const examples = await buildExamples();

/** Minified and gzipped size of one browser bundle, in KB. */
async function size(options) {
  const out = await build({ ...common, platform: 'browser', minify: true, write: false, sourcemap: false, metafile: false, ...options });
  const bytes = out.outputFiles[0].contents;
  return { min: bytes.length / 1024, gzip: gzipSync(bytes, { level: 9 }).length / 1024 };
}
const kb = (n) => `${n.toFixed(1)} KB`;

// The browser-facing size a user pays: minified + gzipped.
const core = await size({ entryPoints: ['src/index.ts'] });
const page = await size({ entryPoints: ['src/browser.ts'] });
const worker = await size({ entryPoints: ['src/worker/worker.ts'] });
// What an app bundler keeps of the page entry when the app uses IceAgent alone ("sideEffects": false).
const agentOnly = await size({
  stdin: { contents: "import { IceAgent } from './src/browser.ts'; globalThis.IceAgent = IceAgent;", resolveDir: process.cwd(), loader: 'ts' },
});
console.log(`build: dist/ ${results.length} entries, ${examples} example pages; core bundle ${kb(core.min)} min, ${kb(core.gzip)} min+gzip`);
console.log(
  `build: browser page entry (dist/browser.js) ${kb(page.min)} min, ${kb(page.gzip)} min+gzip + worker (dist/worker.js) ${kb(worker.min)} min, ${kb(worker.gzip)} min+gzip` +
    ` = ${kb(page.gzip + worker.gzip)} min+gzip (target 30 KB); an app using only IceAgent: ${kb(agentOnly.gzip + worker.gzip)}`,
);
