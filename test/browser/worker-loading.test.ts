// Where the page client's Worker comes from, from the sources (worker-start.ts): an explicit `workerUrl`
// (a string or a URL), a script that does not load (the error names it and arrives at once, not after the
// start timeout; from the sources there is no inline copy to fall back to), and a workerUrl that is not a URL.
// The bundler and other-origin paths run against the packed package in test/consumers/worker-loading.test.ts.
import { IcebridgeWorker, IcebridgeWorkerError } from '../../src/worker.js';
import { assert, assertDeepEqual, assertEqual } from './assert.js';
import { testEnv, within } from './env.js';

describe('starting the icebridge Worker', () => {
  for (const kind of ['string', 'URL'] as const) {
    it(`starts from workerUrl given as a ${kind}`, async () => {
      const env = await testEnv();
      const url = new URL('../../src/worker/worker.js', import.meta.url);
      const worker = new IcebridgeWorker({ workerUrl: kind === 'URL' ? url : url.pathname });
      try {
        const r = await within(worker.stunBinding(env.stun.icebridge, { bridge: env.bridge.tokenUrl }), 10_000, 'a Binding');
        assertDeepEqual(r.mapped, r.local, 'mapped = the bridge socket');
        assert(worker.worker instanceof Worker, 'the Worker it runs in');
      } finally {
        worker.terminate();
      }
    });
  }

  it('rejects every call with start-failed naming the script when it does not load', async () => {
    const worker = new IcebridgeWorker({ workerUrl: '/no/such/worker.js', startTimeoutMs: 20_000 });
    const started = performance.now();
    let caught: unknown;
    await within(worker.connectBridge('ws://127.0.0.1:9/'), 10_000, 'the start failure').catch((e: unknown) => (caught = e));
    assert(caught instanceof IcebridgeWorkerError, `an IcebridgeWorkerError, got ${String(caught)}`);
    assertEqual(caught.code, 'start-failed');
    assert(caught.message.includes('/no/such/worker.js'), `the message names the script: ${caught.message}`);
    assert(performance.now() - started < 5000, 'at once, not at the start timeout');
    // Later calls see the same failure.
    const again = await worker.connectBridge('ws://127.0.0.1:9/').then(() => undefined, (e: unknown) => e);
    assertEqual((again as IcebridgeWorkerError).code, 'start-failed');
    assertEqual(worker.worker === undefined || worker.worker instanceof Worker, true);
  });

  it('throws invalid-worker-url at construction for a workerUrl that is not a URL', () => {
    let caught: unknown;
    try {
      new IcebridgeWorker({ workerUrl: 'http://[not-an-address/worker.js' });
    } catch (e) {
      caught = e;
    }
    assert(caught instanceof IcebridgeWorkerError, `an IcebridgeWorkerError, got ${String(caught)}`);
    assertEqual(caught.code, 'invalid-worker-url');
  });
});
