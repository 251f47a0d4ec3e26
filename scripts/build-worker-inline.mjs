// dist/worker-inline.js: the Worker (src/worker/worker.ts) bundled into one minified ES module and exported
// as a string, `export default "<source>"`. The page client starts it from a blob: URL when the Worker
// script it looked for did not start — esbuild bundles leave dist/worker.js behind, IIFE and CommonJS
// bundles have no import.meta.url to find it with. No code splitting: a blob: module has no URL to resolve
// chunks against, so everything (lazily imported parts too) is in the one string.
// scripts/build.mjs calls buildWorkerInline() and keeps `import('./worker-inline.js')` external in the page
// entries (workerInlineExternal), so an app's bundler sees the file and makes it a chunk of its own.
import { build } from 'esbuild';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Builds `outfile` (default dist/worker-inline.js); resolves with its size in bytes and the source's. */
export async function buildWorkerInline({ outfile = join(ROOT, 'dist', 'worker-inline.js') } = {}) {
  const out = await build({
    entryPoints: [join(ROOT, 'src', 'worker', 'worker.ts')],
    bundle: true,
    splitting: false,
    minify: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    write: false,
    sourcemap: false,
    logLevel: 'warning',
  });
  const code = out.outputFiles[0].text;
  const text = `// The icebridge Worker, bundled, as a string (see scripts/build-worker-inline.mjs).\nexport default ${JSON.stringify(code)};\n`;
  mkdirSync(dirname(outfile), { recursive: true });
  writeFileSync(outfile, text);
  return { outfile, bytes: Buffer.byteLength(text), sourceBytes: Buffer.byteLength(code) };
}

/** An esbuild plugin that leaves the page client's `import('./worker-inline.js')` as written (the file is built apart). */
export const workerInlineExternal = {
  name: 'icebridge-worker-inline-external',
  setup(b) {
    b.onResolve({ filter: /^\.\/worker-inline\.js$/ }, (args) => ({ path: args.path, external: true }));
  },
};

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { outfile, bytes } = await buildWorkerInline();
  console.log(`build: ${outfile} ${(bytes / 1024).toFixed(1)} KB`);
}
