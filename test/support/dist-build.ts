// dist/ as `npm run build` makes it, for tests of the built files: rebuilt when missing or older than any
// file it is built from.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Newest modification time of the files under `path` (recursively), 0 if it does not exist. */
function newest(path: string): number {
  const full = join(ROOT, path);
  if (!existsSync(full)) return 0;
  const s = statSync(full);
  if (!s.isDirectory()) return s.mtimeMs;
  return Math.max(0, ...readdirSync(full).map((name) => newest(join(path, name))));
}

export function ensureBuilt(): void {
  const outputs = ['dist/cli.js', 'dist/index.js', 'dist/node.js', 'dist/browser.js', 'dist/worker.js', 'dist/worker-client.js'];
  const built = Math.min(...outputs.map((f) => (existsSync(join(ROOT, f)) ? statSync(join(ROOT, f)).mtimeMs : 0)));
  const sources = Math.max(newest('src'), newest('bridge'), newest('examples'), newest('scripts/build.mjs'), newest('package.json'));
  if (built > sources) return;
  const r = spawnSync(process.execPath, ['scripts/build.mjs'], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
  assert.equal(r.status, 0, `build failed:\n${r.stdout}\n${r.stderr}`);
}
