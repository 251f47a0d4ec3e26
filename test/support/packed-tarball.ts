// The package as users get it: `npm pack` of this checkout (once per test process), installed into a copy of
// a fixture app (test/consumers/<name>/) in a temporary folder.
// Installing is done by hand rather than with `npm install <tarball>`: the tarball is extracted into
// <app>/node_modules/icebridge exactly as npm would place it, and every other dependency (icebridge's own,
// and the app's: typescript, vite, webpack, esbuild, …) is a symlink into this repository's node_modules.
// That needs no network (tests are loopback only), takes milliseconds instead of a registry round trip per
// package, and tests the same versions the lockfile pins. What is under test — the tarball's files, its
// package.json exports and types — is the real thing; Node, TypeScript and the bundlers follow the symlinks
// to the packages' real paths, so their own dependencies resolve in this repository's node_modules too.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { ensureBuilt, ROOT } from './dist-build.js';

const run = promisify(execFile);

/** Files the tarball must hold for the consumer apps to work at all (checked before any app runs). */
const REQUIRED = ['package/dist/browser.js', 'package/dist/worker.js', 'package/dist/worker-inline.js', 'package/dist/node.js', 'package/package.json'];

let packed: Promise<string> | undefined;
let packDir: string | undefined;

/**
 * The path of `icebridge-<version>.tgz`, packed once per process. `--ignore-scripts`: dist/ is built by
 * ensureBuilt() (only when stale), not by `prepack` on every pack — test processes run side by side, and a
 * rebuild under another process's feet would change the files it is reading.
 */
export function packedTarball(): Promise<string> {
  return (packed ??= (async () => {
    ensureBuilt();
    packDir = mkdtempSync(join(tmpdir(), 'icebridge-pack-'));
    const { stdout } = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', packDir], { cwd: ROOT, timeout: 60_000, maxBuffer: 64 << 20 });
    const [info] = JSON.parse(stdout) as { filename: string; files: { path: string }[] }[];
    assert(info, 'npm pack printed no result');
    const files = new Set(info.files.map((f) => `package/${f.path}`));
    for (const f of REQUIRED) assert(files.has(f), `the tarball has no ${f} (is dist/ built? node scripts/build.mjs)`);
    return join(packDir, info.filename);
  })());
}

/** Removes the packed tarball's folder (call once, at the end of the process's tests). */
export function removePackedTarball(): void {
  if (packDir) rmSync(packDir, { recursive: true, force: true });
}

export interface InstalledApp {
  /** The app's folder: the fixture's files, with node_modules/icebridge from the tarball. */
  dir: string;
  /** Removes the folder. */
  remove(): void;
}

/**
 * Copies test/consumers/<fixture>/ to a temporary folder and installs the tarball into it, plus symlinks for
 * the dependencies named in the app's package.json and in icebridge's (`dependencies`).
 */
export async function installFixture(fixture: string, options: { extraLinks?: string[] } = {}): Promise<InstalledApp> {
  const tarball = await packedTarball();
  const dir = mkdtempSync(join(tmpdir(), `icebridge-consumer-${fixture}-`));
  cpSync(join(ROOT, 'test', 'consumers', fixture), dir, { recursive: true });
  const target = join(dir, 'node_modules', 'icebridge');
  mkdirSync(target, { recursive: true });
  await run('tar', ['-xzf', tarball, '-C', target, '--strip-components=1'], { timeout: 30_000 });
  const app = readJson(join(dir, 'package.json'));
  const lib = readJson(join(target, 'package.json'));
  const names = new Set([...Object.keys(app.dependencies ?? {}), ...Object.keys(app.devDependencies ?? {}), ...Object.keys(lib.dependencies ?? {}), ...(options.extraLinks ?? [])]);
  names.delete('icebridge');
  for (const name of names) {
    const from = join(ROOT, 'node_modules', name);
    assert(existsSync(from), `${fixture} depends on ${name}, which is not in this repository's node_modules`);
    const link = join(dir, 'node_modules', name);
    mkdirSync(dirname(link), { recursive: true });
    symlinkSync(from, link, 'dir');
  }
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

interface Manifest {
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
}

function readJson(path: string): Manifest {
  return JSON.parse(readFileSync(path, 'utf8')) as Manifest;
}
