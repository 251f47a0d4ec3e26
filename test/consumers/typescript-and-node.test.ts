// Consumer apps in Node, against the packed package (test/support/packed-tarball.ts): the README's page
// example compiled in a strict browser app under moduleResolution `bundler` and `nodenext`; the README's
// Node example compiled in a strict NodeNext app and run against a STUN/TURN server on 127.0.0.1; a plain
// .mjs script connecting two agents over loopback with data both ways.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { ROOT } from '../support/dist-build.js';
import { installFixture, packedTarball, removePackedTarball, type InstalledApp } from '../support/packed-tarball.js';
import { exampleModule } from './readme-examples.js';

const run = promisify(execFile);
const TSC = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');

/** Runs `node args…` in `cwd`; resolves with stdout, rejects with everything printed when it fails. */
async function node(cwd: string, args: string[], timeout: number): Promise<string> {
  try {
    return (await run(process.execPath, args, { cwd, timeout, maxBuffer: 16 << 20 })).stdout;
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    throw new Error(`node ${args.join(' ')} failed in ${cwd}:\n${e.stdout ?? ''}${e.stderr ?? ''}\n${e.message}`);
  }
}

describe('consumer apps (Node, TypeScript)', { concurrency: 3 }, () => {
  const apps: InstalledApp[] = [];
  before(() => packedTarball(), { timeout: 120_000 });
  after(() => {
    for (const a of apps) a.remove();
    removePackedTarball();
  });

  it('compiles the README page example in a strict browser app (bundler and nodenext)', { timeout: 90_000 }, async () => {
    const app = await installFixture('browser-app');
    apps.push(app);
    writeFileSync(join(app.dir, 'src', 'example.ts'), exampleModule('page', 'declare'));
    await Promise.all(['tsconfig.bundler.json', 'tsconfig.nodenext.json'].map((config) => node(app.dir, [TSC, '-p', config, '--pretty', 'false'], 80_000)));
  });

  it('compiles and runs the README Node example in a strict NodeNext app', { timeout: 90_000 }, async () => {
    const app = await installFixture('node-app');
    apps.push(app);
    writeFileSync(join(app.dir, 'src', 'example.ts'), exampleModule('node', 'define'));
    await node(app.dir, [TSC, '-p', 'tsconfig.json', '--pretty', 'false'], 80_000);
    // The example is done when its module (top-level awaits included) has evaluated.
    await node(app.dir, ['--input-type=module', '-e', "await import('./build/example.js'); process.exit(0);"], 30_000);
  });

  it('runs a plain .mjs script: two agents from icebridge/node connect on loopback, data both ways; the page entry refuses Node', { timeout: 60_000 }, async () => {
    const app = await installFixture('node-script');
    apps.push(app);
    const out = JSON.parse((await node(app.dir, ['main.mjs'], 30_000)).trim().split('\n').pop() ?? '{}') as { atA?: string; atB?: string; types?: string[]; pageEntry?: string };
    assert.equal(out.atB, 'ping from a');
    assert.equal(out.atA, 'pong from b');
    assert.ok(out.types?.includes('host'), `host candidates exchanged: ${JSON.stringify(out.types)}`);
    // The page entry ('icebridge') in Node refuses at construction, naming icebridge/node.
    assert.match(out.pageEntry ?? '', /^IcebridgeWorkerError unsupported-runtime: .*icebridge\/node/);
  });
});
