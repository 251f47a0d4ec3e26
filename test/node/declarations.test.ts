// The declarations the package ships (dist/types/, emitted by scripts/build.mjs): every import in them is
// relative, or a public runtime dependency that ships its own types (comlink); the Node entry alone may
// name node:* built-ins (a Node app has @types/node). Never `ws`, `esbuild`, `deno`, an `@types/*` package
// or a devDependency: a user's compiler would have to find those. Then the user's view: the entries
// type-check with the strictest flags a user may set, skipLibCheck off, the page ones without @types/node.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { before, describe, it } from 'node:test';
import { ensureBuilt, ROOT } from '../support/dist-build.js';

const TYPES = join(ROOT, 'dist', 'types');
const ENTRIES = { page: 'src/browser.d.ts', core: 'src/index.d.ts', worker: 'src/worker.d.ts', node: 'src/node.d.ts' } as const;
/** Bare specifiers allowed everywhere: runtime dependencies with their own types. */
const ALLOWED = new Set(['comlink']);

/** Every module specifier a declaration file names: import/export … from, import('…'), import '…', reference types. */
function specifiers(text: string): string[] {
  const found: string[] = [];
  for (const m of text.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|^\s*import\s+)['"]([^'"]+)['"]/gm)) found.push(m[1]);
  for (const m of text.matchAll(/\/\/\/\s*<reference\s+(?:types|path|lib)\s*=\s*['"]([^'"]+)['"]/g)) found.push(`reference:${m[1]}`);
  return found;
}

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) => (d.isDirectory() ? walk(join(dir, d.name)) : d.name.endsWith('.d.ts') ? [join(dir, d.name)] : []));
}

/** The declaration files reachable from `entry` through relative imports. */
function reachable(entry: string): Set<string> {
  const seen = new Set<string>();
  const queue = [join(TYPES, entry)];
  while (queue.length > 0) {
    const file = queue.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    for (const spec of specifiers(readFileSync(file, 'utf8'))) {
      if (spec.startsWith('.')) queue.push(resolve(dirname(file), spec.replace(/\.js$/, '.d.ts')));
    }
  }
  return seen;
}

/** tsc over `files` as a user's project with the strictest flags; returns its diagnostics. */
function typeCheck(files: string[], types: string[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'icebridge-dts-'));
  try {
    writeFileSync(
      join(dir, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          lib: ['ES2022', 'DOM', 'DOM.Iterable'],
          types,
          typeRoots: [join(ROOT, 'node_modules', '@types')],
          strict: true,
          noEmit: true,
          skipLibCheck: false,
          noUncheckedIndexedAccess: true,
          exactOptionalPropertyTypes: true,
          noImplicitOverride: true,
          noPropertyAccessFromIndexSignature: true,
          verbatimModuleSyntax: true,
        },
        files,
      }),
    );
    const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
    const r = spawnSync(process.execPath, [tsc, '-p', join(dir, 'tsconfig.json')], { encoding: 'utf8', timeout: 120_000 });
    return r.status === 0 ? '' : `${r.stdout}${r.stderr}`.trim() || `tsc exited ${r.status}`;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('shipped declarations', { timeout: 240_000 }, () => {
  before(() => ensureBuilt());

  it('exist for every entry in package.json, and nothing is shipped that no entry reaches', () => {
    const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { types: string; exports: Record<string, { types?: string } | string> };
    const named = [manifest.types, ...Object.values(manifest.exports).flatMap((e) => (typeof e === 'string' || e.types === undefined ? [] : [e.types]))];
    assert.deepEqual([...new Set(named)].map((p) => relative(TYPES, join(ROOT, p))).sort(), Object.values(ENTRIES).sort());
    const all = new Set(Object.values(ENTRIES).flatMap((e) => [...reachable(e)]));
    for (const file of all) assert.ok(existsSync(file), `${relative(TYPES, file)} is imported by a declaration but missing`);
    assert.deepEqual(walk(TYPES).filter((f) => !all.has(f)).map((f) => relative(TYPES, f)), []);
  });

  it('import only relative files and comlink; node:* only from the Node entry', () => {
    const nodeOnly = reachable(ENTRIES.node);
    const browserSide = new Set([ENTRIES.page, ENTRIES.core, ENTRIES.worker].flatMap((e) => [...reachable(e)]));
    const bad: string[] = [];
    for (const file of walk(TYPES)) {
      for (const spec of specifiers(readFileSync(file, 'utf8'))) {
        if (spec.startsWith('./') || spec.startsWith('../') || ALLOWED.has(spec)) continue;
        if (spec.startsWith('node:') && nodeOnly.has(file) && !browserSide.has(file)) continue;
        bad.push(`${relative(TYPES, file)}: '${spec}'`);
      }
    }
    assert.deepEqual(bad, []);
  });

  it('type-check as a strict user project sees them: page entries without @types/node, the Node entry with it', () => {
    const page = [ENTRIES.page, ENTRIES.core, ENTRIES.worker].map((e) => join(TYPES, e));
    assert.equal(typeCheck(page, []), '');
    assert.equal(typeCheck([join(TYPES, ENTRIES.node)], ['node']), '');
  });
});
