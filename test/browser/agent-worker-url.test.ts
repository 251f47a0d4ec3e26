// The page IceAgent's `workerUrl`: the agent that starts the page's shared Worker starts it from there. Its
// own file: the shared Worker is one per page, and this page must not have started it before.
import { IceAgent } from '../../src/browser.js';
import { IcebridgeWorkerError } from '../../src/worker.js';
import { assert, assertEqual } from './assert.js';
import { testEnv, within } from './env.js';

describe('new IceAgent({ workerUrl })', () => {
  it('starts the shared Worker from workerUrl: a script that does not load fails ready with start-failed naming it', async () => {
    const env = await testEnv();
    const started = performance.now();
    const agent = new IceAgent({ bridge: env.bridge.tokenUrl, workerUrl: '/no/such/agent-worker.js' });
    const caught = await within(agent.ready.then(() => undefined, (e: unknown) => e), 10_000, 'the start failure');
    assert(caught instanceof IcebridgeWorkerError, `an IcebridgeWorkerError, got ${String(caught)}`);
    assertEqual(caught.code, 'start-failed');
    assert(caught.message.includes('/no/such/agent-worker.js'), `the message names the script: ${caught.message}`);
    assert(performance.now() - started < 5000, 'at once, not at the start timeout');
    // The methods that wait for the Worker reject with the same error.
    const gathered = await agent.gather().then(() => undefined, (e: unknown) => e);
    assertEqual((gathered as IcebridgeWorkerError).code, 'start-failed');
  });
});
