// The bundled layout of dist/: the page entry (worker-client.js) finds its Worker (worker.js, next to it)
// through `new URL('./worker.js', import.meta.url)` alone. Served in memory by node-side.ts under /__dist/.
import { assertDeepEqual, assertEqual } from './assert.js';
import { testEnv } from './env.js';

type PageEntry = typeof import('../../src/worker.js');

describe('the bundled page entry', () => {
  it('starts its Worker from the sibling worker.js and runs a Binding through the bridge', async () => {
    const env = await testEnv();
    const url = '/__dist/worker-client.js';
    const entry = (await import(url)) as PageEntry;
    const worker = new entry.IcebridgeWorker();
    try {
      const r = await worker.stunBinding(env.stun.icebridge, { bridge: env.bridge.tokenUrl });
      assertDeepEqual(r.mapped, r.local, 'mapped = the bridge socket');
      let caught: unknown;
      await worker.connectBridge(env.bridge.badTokenUrl).catch((e: unknown) => (caught = e));
      // The bundle has its own copy of the class: compare with its export, not the source's.
      assertEqual(caught instanceof entry.BridgeError, true, 'a BridgeError of the bundle');
      assertEqual((caught as InstanceType<PageEntry['BridgeError']>).closeCode, 4001);
    } finally {
      worker.terminate();
    }
  });
});
