// The package as its users import it: `icebridge` is the Worker-backed page entry for a browser bundler and
// the isomorphic core for Node; `icebridge/node` has an IceAgent over real UDP with the same names as the
// page's. The built browser files have no Node imports.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { build } from 'esbuild';
import { IceAgent as PageIceAgent } from '../../src/browser.js';
import type { IceAgentEventObject } from '../../src/ice/ice-agent.js';
import { IceAgent } from '../../src/node.js';
import { ensureBuilt, ROOT } from '../support/dist-build.js';

interface Exports {
  sideEffects: boolean;
  exports: Record<string, Record<string, unknown>>;
}

describe('package entries', { timeout: 120_000 }, () => {
  before(() => ensureBuilt());

  it('the built page entry and Worker import nothing from Node', () => {
    for (const file of ['browser.js', 'worker.js', 'worker-client.js', 'index.js']) {
      const text = readFileSync(join(ROOT, 'dist', file), 'utf8');
      assert.doesNotMatch(text, /["'`]node:[a-z_/]+["'`]/, `dist/${file} names a node: module`);
      assert.doesNotMatch(text, /\brequire\(["']/, `dist/${file} requires something`);
      assert.doesNotMatch(text, /\bBuffer\./, `dist/${file} uses Buffer`);
    }
    const page = readFileSync(join(ROOT, 'dist', 'browser.js'), 'utf8');
    assert.match(page, /new URL\("\.\/worker\.js", import\.meta\.url\)/, 'the page entry starts the Worker beside it');
  });

  it("resolves 'icebridge' to dist/browser.js for a browser bundler and to dist/index.js in Node; sideEffects is false", async () => {
    const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as Exports;
    assert.equal(manifest.sideEffects, false);
    assert.deepEqual(manifest.exports['.'].browser, { types: './src/browser.ts', default: './dist/browser.js' });
    assert.equal(manifest.exports['.'].import, './dist/index.js');
    const bundled = await build({
      stdin: { contents: "import { IceAgent } from 'icebridge'; globalThis.agent = IceAgent;", resolveDir: ROOT, loader: 'js' },
      bundle: true,
      format: 'esm',
      platform: 'browser',
      write: false,
      metafile: true,
      logLevel: 'silent',
    });
    assert.deepEqual(Object.keys(bundled.metafile.inputs).filter((p) => p.startsWith('dist/')), ['dist/browser.js']);
    assert.equal(import.meta.resolve('icebridge'), new URL('dist/index.js', `file://${ROOT}`).href);
    const core = (await import('icebridge')) as Record<string, unknown>;
    assert.equal(typeof core.decodeStunMessage, 'function');
  });

  it('gives the page IceAgent and the Node IceAgent the same names', () => {
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
      node.close();
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
          if (candidate) to.addRemoteCandidate(candidate);
        });
      }
      const received = new Promise<string>((resolve) => b.addEventListener('data', (e) => resolve(new TextDecoder().decode((e as IceAgentEventObject).data))));
      const connected = (agent: InstanceType<typeof IceAgent>) =>
        new Promise<void>((resolve) => {
          const check = () => (agent.state === 'connected' || agent.state === 'completed') && resolve();
          agent.addEventListener('statechange', check);
          check();
        });
      a.setRemoteParameters(b.localParameters);
      b.setRemoteParameters(a.localParameters);
      await Promise.all([a.gather(), b.gather()]);
      const host = a.localCandidates[0];
      assert.equal(host.type, 'host');
      assert.equal(host.address, '127.0.0.1');
      await within(Promise.all([connected(a), connected(b)]), 10_000, 'both agents connected');
      assert.equal(a.send('hello over UDP'), true);
      assert.equal(await within(received, 5_000, 'the data'), 'hello over UDP');
      assert.ok(a.getStats().some((s) => s.selected && s.responsesReceived > 0));
    } finally {
      a.close();
      b.close();
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
