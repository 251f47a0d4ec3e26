// npm run bench -- size: what a user downloads. Minified + gzipped (level 9) sizes, as esbuild builds dist/,
// of the page entry (dist/browser.js), the Worker (dist/worker.js, one file: what the first connection
// loads), the Node entry and the core; what an app that uses only
// `IceAgent` keeps of the page entry; and the npm tarball, packed and unpacked. Against the target: page
// entry + Worker <= 30 KB min+gzip for the first connection. Then what each further part would save if it
// were loaded lazily too (the bundle rebuilt with that module left out), to show where the bytes are.
import { spawnSync } from 'node:child_process';
import { relative } from 'node:path';
import { gzipSync } from 'node:zlib';
import { build, type BuildOptions, type Metafile, type Plugin } from 'esbuild';
import { ensureBuilt, ROOT } from '../test/support/dist-build.js';
import type { BenchContext, BenchFigure, BenchResult, Benchmark } from './lib/types.js';

const TARGET_KB = 30;
const KB = 1024;

interface Sized {
  name: string;
  min: number;
  gzip: number;
  /** The source folders with the most bytes in it, for the chunks. */
  holds?: string;
}

const gz = (bytes: Uint8Array) => gzipSync(bytes, { level: 9 }).length;

/** Builds in memory, minified, as scripts/build.mjs does; one entry per output that is not a chunk. */
async function sizes(options: BuildOptions): Promise<{ files: Sized[]; metafile: Metafile; statics: (name: string) => Set<string> }> {
  const out = await build({
    bundle: true,
    format: 'esm',
    target: 'es2022',
    minify: true,
    write: false,
    metafile: true,
    logLevel: 'silent',
    absWorkingDir: ROOT,
    outdir: `${ROOT}/out`,
    ...options,
  });
  const outputs = out.outputFiles ?? [];
  const metafile = out.metafile!;
  const files = outputs
    .filter((f) => f.path.endsWith('.js'))
    .map((f) => {
      const name = relative(`${ROOT}/out`, f.path);
      const meta = metafile.outputs[`out/${name}`];
      const byDir = new Map<string, number>();
      for (const [input, { bytesInOutput }] of Object.entries(meta?.inputs ?? {})) {
        const dir = input.split('/').slice(0, input.startsWith('node_modules') ? 2 : 3).join('/');
        byDir.set(dir, (byDir.get(dir) ?? 0) + bytesInOutput);
      }
      const holds = [...byDir].sort((a, b) => b[1] - a[1]).slice(0, 3).map(([d]) => d.replace(/\.ts$/, '')).join(', ');
      return { name, min: f.contents.length, gzip: gz(f.contents), holds };
    });
  /** `name` and the chunks it imports statically, transitively: what loading it loads. */
  const statics = (name: string) => {
    const seen = new Set<string>();
    const queue = [`out/${name}`];
    while (queue.length > 0) {
      const path = queue.pop()!;
      if (seen.has(path)) continue;
      seen.add(path);
      for (const i of metafile.outputs[path]?.imports ?? []) if (i.kind === 'import-statement' && !i.external) queue.push(i.path);
    }
    return new Set([...seen].map((p) => p.slice('out/'.length)));
  };
  return { files, metafile, statics };
}

/** The Worker's first load: worker.js and the chunks it imports statically; the rest loads when first used. */
async function workerSizes(options: BuildOptions = {}): Promise<{ first: Sized; lazy: Sized[] }> {
  const w = await sizes({ ...WORKER, ...options });
  const loaded = w.statics('worker.js');
  const first = w.files.filter((f) => loaded.has(f.name));
  return {
    first: { name: [...loaded].join(' + '), min: first.reduce((n, f) => n + f.min, 0), gzip: first.reduce((n, f) => n + f.gzip, 0) },
    lazy: w.files.filter((f) => !loaded.has(f.name)).sort((a, b) => b.gzip - a.gzip),
  };
}

/** Leaves modules whose path matches `cut` out of the bundle (as a lazy import would). */
function without(cut: RegExp): Plugin {
  return {
    name: 'without',
    setup(b) {
      b.onResolve({ filter: /.*/ }, async (args) => {
        if (args.kind === 'entry-point' || args.pluginData === 'inner') return undefined;
        const r = await b.resolve(args.path, { kind: args.kind, resolveDir: args.resolveDir, importer: args.importer, pluginData: 'inner' });
        return cut.test(r.path) ? { path: r.path, external: true } : r;
      });
    },
  };
}

// One file, as scripts/build.mjs builds it: Vite's default (IIFE) worker build cannot take lazily imported chunks.
const WORKER: BuildOptions = { entryPoints: { worker: 'src/worker/worker.ts' }, platform: 'browser' };
const PAGE: BuildOptions = { entryPoints: { browser: 'src/browser.ts' }, platform: 'browser', external: ['./worker-inline.js'] };

/** Parts a first connection does not need that are still in the Worker's first script, by the module to make lazy. */
const FURTHER: [string, RegExp, string][] = [
  ['TURN client (relay candidates)', /src\/turn\/(relay-socket|relay-family-socket)\.ts$/, 'src/ice/ice-agent.ts: import the TURN relay sockets when a turn: server is gathered from'],
  ['WebTransport carrier', /src\/net\/webtransport-carrier\.ts$/, "src/net/bridge-client.ts: import it when carrier is 'webtransport' or 'auto' with a WebTransport URL"],
  ['bridge TCP/TLS streams', /src\/net\/bridge-stream\.ts$/, 'src/net/bridge-client.ts: import it on the first openStreamSocket (turns:, ?transport=tcp)'],
  ['MD5 + SHA-256', /src\/crypto\/(md5|sha256)\.ts$/, 'src/turn/credentials.ts, src/stun/integrity.ts: synchronous today; a lazy import needs an async key derivation'],
  ['mDNS names', /src\/(ice\/mdns-candidates|worker\/bridge-mdns)\.ts$/, 'src/ice/ice-agent.ts: only when the bridge offers mDNS or a .local candidate arrives'],
];

function tarball(log: (line: string) => void): { packed: number; unpacked: number; files: number } | undefined {
  const r = spawnSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0) {
    log(`  npm pack --dry-run failed: ${r.stderr.trim().split('\n').slice(-3).join(' ')}`);
    return undefined;
  }
  const [info] = JSON.parse(r.stdout) as { size: number; unpackedSize: number; entryCount: number }[];
  return { packed: info.size, unpacked: info.unpackedSize, files: info.entryCount };
}

const kb = (n: number) => `${(n / KB).toFixed(1)} KB`;
const figure = (group: string, s: Sized): BenchFigure => ({
  group,
  contender: s.name,
  unit: 'KB min+gzip',
  median: s.gzip / KB,
  samples: [s.gzip / KB],
  extra: { 'KB min': Number((s.min / KB).toFixed(1)), ...(s.holds ? { holds: s.holds } : {}) },
});

async function run(ctx: BenchContext): Promise<BenchResult> {
  ensureBuilt();
  const page = (await sizes(PAGE)).files[0];
  const { first, lazy: chunks } = await workerSizes();
  const agentOnly = (await sizes({ stdin: { contents: "import { IceAgent } from './src/browser.ts'; globalThis.IceAgent = IceAgent;", resolveDir: ROOT, loader: 'ts' }, platform: 'browser', external: ['./worker-inline.js'] })).files[0];
  const node = (await sizes({ entryPoints: { node: 'src/node.ts' }, platform: 'node', packages: 'external' })).files[0];
  const core = (await sizes({ entryPoints: { index: 'src/index.ts' }, platform: 'neutral' })).files[0];
  const firstConnection = page.gzip + first.gzip;

  const figures: BenchFigure[] = [
    figure('first connection (target: page entry + Worker <= 30 KB)', { ...page, name: 'page entry (dist/browser.js)' }),
    figure('first connection (target: page entry + Worker <= 30 KB)', { ...first, name: `Worker (${first.name.split(' + ').length} files: worker.js and the chunks it imports)` }),
    figure('first connection (target: page entry + Worker <= 30 KB)', { name: 'an app using only IceAgent (page entry tree-shaken)', min: agentOnly.min, gzip: agentOnly.gzip }),
    ...chunks.map((c) => figure('Worker chunks, loaded when first used', { ...c, name: `dist/${c.name}` })),
    figure('other entries', { ...node, name: 'Node entry (icebridge/node, one bundle)' }),
    figure('other entries', { ...core, name: 'core (icebridge/core, one bundle)' }),
  ];

  ctx.log('  measuring what further lazy parts would save');
  for (const [what, cut, where] of FURTHER) {
    const smaller = (await workerSizes({ plugins: [without(cut)] })).first;
    figures.push({
      group: 'Worker first script: saved if also lazy',
      contender: what,
      unit: 'KB min+gzip saved',
      median: (first.gzip - smaller.gzip) / KB,
      samples: [(first.gzip - smaller.gzip) / KB],
      extra: { 'KB min saved': Number(((first.min - smaller.min) / KB).toFixed(1)), where },
    });
  }

  const pack = tarball(ctx.log);
  if (pack) {
    figures.push({ group: 'npm tarball', contender: 'packed (.tgz)', unit: 'KB', median: pack.packed / KB, samples: [pack.packed / KB], extra: { files: pack.files } });
    figures.push({ group: 'npm tarball', contender: 'unpacked', unit: 'KB', median: pack.unpacked / KB, samples: [pack.unpacked / KB] });
  }
  const verdict = firstConnection <= TARGET_KB * KB ? 'met' : `over by ${kb(firstConnection - TARGET_KB * KB)}`;
  return {
    figures,
    ratios: [],
    notes: [
      `first connection: page entry ${kb(page.gzip)} + Worker ${kb(first.gzip)} = ${kb(firstConnection)} min+gzip against ${TARGET_KB} KB: ${verdict}`,
      `with only IceAgent imported (an app bundler and "sideEffects"): ${kb(agentOnly.gzip + first.gzip)}`,
      `the Worker's first load: ${first.name} (gzipped one by one, as served)`,
      `lazily loaded Worker chunks: ${chunks.length}, ${kb(chunks.reduce((n, c) => n + c.gzip, 0))} min+gzip in all`,
      'sizes: esbuild minify, gzip level 9, built in memory from the sources as scripts/build.mjs builds dist/; the Node files in dist/ are not minified (one figure here is the minified bundle for comparison)',
      'the tarball: npm pack --dry-run --ignore-scripts over dist/ as built',
    ],
    meta: { targetKB: TARGET_KB, firstConnectionBytes: firstConnection, tarball: pack },
  };
}

const benchmark: Benchmark = { name: 'size', title: 'Download size: page entry, Worker, Node entry, tarball', run };
export default benchmark;
