// Builds dist/ with esbuild: the isomorphic core (ESM, no Node imports), the Node entry and the CLI.
// tsc only type-checks (npm run typecheck); esbuild only strips types and bundles.
import { build } from 'esbuild';
import { existsSync } from 'node:fs';
import { gzipSync } from 'node:zlib';

const common = { bundle: true, format: 'esm', target: 'es2022', sourcemap: true, logLevel: 'warning', metafile: true };
const entries = [
  { entryPoints: { index: 'src/index.ts' }, platform: 'neutral', mainFields: ['module', 'main'] },
  { entryPoints: { node: 'src/node.ts' }, platform: 'node', packages: 'external' },
  // The module Worker script and the page entry that starts it. The page entry keeps
  // `new URL('./worker.js', import.meta.url)` as written, so the Worker must be dist/worker.js, next to it.
  { entryPoints: { worker: 'src/worker/worker.ts' }, platform: 'browser' },
  { entryPoints: { 'worker-client': 'src/worker.ts' }, platform: 'browser' },
  {
    entryPoints: { cli: 'src/cli.ts' },
    platform: 'node',
    packages: 'external',
    banner: { js: '#!/usr/bin/env node' },
  },
].filter((e) => Object.values(e.entryPoints).every((p) => existsSync(p)));

const results = await Promise.all(entries.map((e) => build({ ...common, ...e, outdir: 'dist' })));

// The browser-facing size a user pays: minified + gzipped isomorphic core.
const core = await build({
  ...common,
  entryPoints: ['src/index.ts'],
  platform: 'browser',
  minify: true,
  write: false,
  sourcemap: false,
});
const bytes = core.outputFiles[0].contents;
console.log(`build: dist/ ${results.length} entries; core bundle ${(bytes.length / 1024).toFixed(1)} KB min, ${(gzipSync(bytes).length / 1024).toFixed(1)} KB min+gzip`);
