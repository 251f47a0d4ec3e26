// The package as its users import it: `icebridge` is the Worker-backed page entry in every condition (a
// browser bundler, Node, TypeScript under bundler, nodenext and the old node resolution alike),
// `icebridge/core` the isomorphic core, `icebridge/node` an IceAgent over real UDP with the same names as the
// page's, `icebridge/worker.js` the Worker script. The built browser files have no Node imports; importing the
// page entry in Node does nothing until an IceAgent is made, and that says to use icebridge/node.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { before, describe, it } from 'node:test';
import { build } from 'esbuild';
import ts from 'typescript';
import { IceAgent as PageIceAgent } from '../../src/browser.js';
import type { IceAgentEventObject } from '../../src/ice/ice-agent.js';
import { IceAgent } from '../../src/node.js';
import { ensureBuilt, ROOT } from '../support/dist-build.js';

interface Manifest {
  sideEffects: boolean | string[];
  files: string[];
  scripts: Record<string, string>;
  exports: Record<string, Record<string, string> | string>;
}

const manifest = (): Manifest => JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as Manifest;

/** What esbuild bundles from dist/ for `source`, as a browser bundler would. */
async function bundledFrom(source: string, platform: 'browser' | 'node'): Promise<string[]> {
  const bundled = await build({
    stdin: { contents: source, resolveDir: ROOT, loader: 'js' },
    bundle: true,
    format: 'esm',
    platform,
    write: false,
    metafile: true,
    logLevel: 'silent',
    external: ['comlink', './worker-inline.js'],
    // As an app sees the package: not through this repository's tsconfig.json `paths` (which map to src/).
    tsconfigRaw: '{}',
  });
  return Object.keys(bundled.metafile.inputs).filter((p) => p.startsWith('dist/'));
}

describe('package entries', { timeout: 180_000 }, () => {
  before(() => ensureBuilt());

  it('the built page entries, the Worker, and the core import nothing from Node', () => {
    // The chunks the core shares with the Node entry and the CLI. The Worker is one file (scripts/build.mjs):
    // a lazily loaded chunk would break Vite's default IIFE worker build.
    assert.ok(!existsSync(join(ROOT, 'dist', 'chunks')), 'the Worker is built as one file');
    assert.doesNotMatch(readFileSync(join(ROOT, 'dist', 'worker.js'), 'utf8'), /\bimport\(/, 'the Worker imports nothing at run time');
    const coreChunks = [...readFileSync(join(ROOT, 'dist', 'index.js'), 'utf8').matchAll(/(?:from|import)\s*"\.\/(chunk-\w+\.js)"/g)].map((m) => m[1]);
    assert.ok(coreChunks.length > 0, 'the core shares chunks with the Node entry');
    for (const file of ['browser.js', 'worker.js', 'worker-client.js', 'worker-inline.js', 'index.js', ...coreChunks]) {
      const text = readFileSync(join(ROOT, 'dist', file), 'utf8');
      assert.doesNotMatch(text, /["'`]node:[a-z_/]+["'`]/, `dist/${file} names a node: module`);
      assert.doesNotMatch(text, /\brequire\(["']/, `dist/${file} requires something`);
      assert.doesNotMatch(text, /\bBuffer\./, `dist/${file} uses Buffer`);
    }
    const page = readFileSync(join(ROOT, 'dist', 'browser.js'), 'utf8');
    assert.match(page, /new URL\("\.\/worker\.js",\s*import\.meta\.url\)/, 'the page entry starts the Worker beside it');
  });

  it("resolves 'icebridge' to the page entry in every condition, and the subpaths to their files", async () => {
    const m = manifest();
    assert.deepEqual(m.exports['.'], { types: './dist/types/src/browser.d.ts', default: './dist/browser.js' });
    for (const [key, value] of Object.entries(m.exports)) {
      if (typeof value !== 'string') assert.equal(Object.keys(value)[0], 'types', `exports['${key}']: types come first`);
    }
    assert.deepEqual(await bundledFrom("import { IceAgent } from 'icebridge'; globalThis.agent = IceAgent;", 'browser'), ['dist/browser.js']);
    assert.deepEqual(await bundledFrom("import { IceAgent } from 'icebridge'; globalThis.agent = IceAgent;", 'node'), ['dist/browser.js']);
    const core = await bundledFrom("import { decodeStunMessage } from 'icebridge/core'; globalThis.d = decodeStunMessage;", 'browser');
    assert.ok(core.includes('dist/index.js') && core.every((p) => /^dist\/(index|chunk-\w+)\.js$/.test(p)), core.join(', '));
    const url = (p: string) => new URL(p, `file://${ROOT}`).href;
    // Node's own resolution, in a process without tsx (which maps the names to src/ through tsconfig.json `paths`).
    const specifiers = ['icebridge', 'icebridge/core', 'icebridge/node', 'icebridge/worker', 'icebridge/worker.js'];
    const resolved = spawnSync(process.execPath, ['--input-type=module', '-e', `console.log(JSON.stringify(${JSON.stringify(specifiers)}.map((s) => import.meta.resolve(s))))`], {
      cwd: ROOT,
      encoding: 'utf8',
    });
    assert.equal(resolved.status, 0, resolved.stderr);
    assert.deepEqual(JSON.parse(resolved.stdout), ['dist/browser.js', 'dist/index.js', 'dist/node.js', 'dist/worker-client.js', 'dist/worker.js'].map(url));
    // By file: tsx would map the package's names to src/ through tsconfig.json `paths`.
    const exported = (await import(url('dist/index.js'))) as Record<string, unknown>;
    for (const name of ['decodeStunMessage', 'IceAgentEngine', 'IceAgent', 'parseCandidate', 'TurnClient', 'StunServer']) {
      assert.equal(typeof exported[name], 'function', `icebridge/core exports ${name}`);
    }
  });

  it('TypeScript finds every entry under bundler, nodenext and the old node resolution (typesVersions)', () => {
    // An app folder with the package installed (a symlink), as a user's compiler sees it.
    const app = mkdtempSync(join(tmpdir(), 'icebridge-resolve-'));
    try {
      mkdirSync(join(app, 'node_modules'));
      symlinkSync(ROOT, join(app, 'node_modules', 'icebridge'), 'dir');
      writeFileSync(join(app, 'package.json'), '{"type":"module"}');
      const from = join(app, 'app.ts');
      const expected: Record<string, string> = {
        icebridge: 'dist/types/src/browser.d.ts',
        'icebridge/core': 'dist/types/src/index.d.ts',
        'icebridge/node': 'dist/types/src/node.d.ts',
        'icebridge/worker': 'dist/types/src/worker.d.ts',
      };
      const modes: [string, ts.CompilerOptions][] = [
        ['bundler', { module: ts.ModuleKind.ESNext, moduleResolution: ts.ModuleResolutionKind.Bundler }],
        ['nodenext', { module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext }],
        ['node10', { module: ts.ModuleKind.CommonJS, moduleResolution: ts.ModuleResolutionKind.Node10 }],
      ];
      for (const [mode, options] of modes) {
        for (const [spec, file] of Object.entries(expected)) {
          const r = ts.resolveModuleName(spec, from, options, ts.sys, undefined, undefined, mode === 'nodenext' ? ts.ModuleKind.ESNext : undefined);
          const got = r.resolvedModule ? relative(ROOT, ts.sys.realpath!(r.resolvedModule.resolvedFileName)) : 'unresolved';
          assert.equal(got, file, `${mode}: '${spec}'`);
        }
      }
    } finally {
      rmSync(app, { recursive: true, force: true });
    }
  });

  it('importing the page entry in Node starts nothing; new IceAgent() there says to use icebridge/node', async () => {
    assert.equal(typeof (globalThis as { Worker?: unknown }).Worker, 'undefined');
    const page = (await import(new URL('dist/browser.js', `file://${ROOT}`).href)) as { IceAgent: new (config: object) => unknown };
    assert.equal(typeof page.IceAgent, 'function');
    assert.throws(
      () => new page.IceAgent({ bridge: 'ws://127.0.0.1:1/bridge' }),
      (err: Error & { code?: string }) => err.name === 'IcebridgeWorkerError' && err.code === 'unsupported-runtime' && /icebridge\/node/.test(err.message),
    );
  });

  it('ships dist/ and nothing it does not run: no sources, no prepare script, the Deno carrier bundled in dist/', () => {
    const m = manifest();
    assert.deepEqual(m.files, ['dist', 'README.md', 'LICENSE']);
    assert.equal(m.scripts.prepare, undefined, 'an install of the tarball must not run a build it cannot do');
    const deno = readFileSync(join(ROOT, 'dist', 'webtransport', 'main.ts'), 'utf8');
    assert.doesNotMatch(deno, /^\s*(import|export)\s.*\sfrom\s+['"]/m, 'the Deno side is one file, importing nothing');
    readFileSync(join(ROOT, 'dist', 'webtransport', 'deno.json'), 'utf8');
  });

  it('packs without warnings: every exported file, no sources, maps only beside minified files', () => {
    const r = spawnSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
    assert.equal(r.status, 0, r.stderr);
    assert.doesNotMatch(r.stderr, /\bwarn/i, 'npm pack warns');
    const [{ files }] = JSON.parse(r.stdout) as { files: { path: string }[] }[];
    const paths = new Set(files.map((f) => f.path));
    const m = manifest();
    const named = Object.values(m.exports).flatMap((e) => (typeof e === 'string' ? [e] : Object.values(e))).map((p) => p.replace(/^\.\//, ''));
    for (const p of named) assert.ok(paths.has(p), `the tarball has ${p}`);
    assert.deepEqual([...paths].filter((p) => /^(src|bridge|test|bench|scripts|examples)\//.test(p)), []);
    for (const map of [...paths].filter((p) => p.endsWith('.map'))) {
      const js = readFileSync(join(ROOT, map.slice(0, -4)), 'utf8');
      // Minified text runs to long lines (template literals and license comments keep a few short ones).
      assert.ok(js.length / js.split('\n').length > 1000, `${map} is a map of a file that is not minified`);
    }
  });

  it('gives the page IceAgent and the Node IceAgent the same names', async () => {
    const page = new Set(Object.getOwnPropertyNames(PageIceAgent.prototype));
    const node = new IceAgent({ addresses: ['127.0.0.1'] });
    try {
      for (const name of ['gather', 'setRemoteParameters', 'addRemoteCandidate', 'send', 'restart', 'getStats', 'getSelectedCandidatePair', 'close', 'state', 'gatheringState', 'role', 'localParameters']) {
        assert.ok(page.has(name), `page IceAgent has ${name}`);
        assert.ok(name in node, `Node IceAgent has ${name}`);
      }
      assert.ok(PageIceAgent.prototype instanceof EventTarget);
      assert.ok(node instanceof EventTarget);
    } finally {
      await node.close();
    }
  });

  it('new IceAgent() from icebridge/node gathers on real UDP and connects to another over loopback', async () => {
    const a = new IceAgent({ addresses: ['127.0.0.1'], role: 'controlling' });
    const b = new IceAgent({ addresses: ['127.0.0.1'], role: 'controlled' });
    assert.ok(a instanceof IceAgent);
    try {
      for (const [from, to] of [[a, b], [b, a]] as const) {
        from.addEventListener('icecandidate', (e) => {
          const candidate = (e as IceAgentEventObject).candidate;
          if (candidate) void to.addRemoteCandidate(candidate);
        });
      }
      const received = new Promise<string>((resolve) => b.addEventListener('data', (e) => resolve(new TextDecoder().decode((e as IceAgentEventObject).data))));
      const connected = (agent: InstanceType<typeof IceAgent>) =>
        new Promise<void>((resolve) => {
          const check = () => (agent.state === 'connected' || agent.state === 'completed') && resolve();
          agent.addEventListener('statechange', check);
          check();
        });
      // Awaited: synchronous in one version of the API, promises in the other; the same code runs on both.
      await a.setRemoteParameters(b.localParameters);
      await b.setRemoteParameters(a.localParameters);
      await Promise.all([a.gather(), b.gather()]);
      const host = a.localCandidates[0];
      assert.equal(host.type, 'host');
      assert.equal(host.address, '127.0.0.1');
      await within(Promise.all([connected(a), connected(b)]), 10_000, 'both agents connected');
      assert.equal(a.send('hello over UDP'), true);
      assert.equal(await within(received, 5_000, 'the data'), 'hello over UDP');
      assert.ok((await a.getStats()).some((s) => s.selected && s.responsesReceived > 0));
    } finally {
      await a.close();
      await b.close();
    }
  });
});

async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([promise, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no ${what} within ${ms} ms`)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}
