// A @web/test-runner plugin that gives browser tests a Node side: reference results computed by the same
// sources in Node (so a test can check the page gives the same bytes), and later the servers the page talks to.
// The browser reaches it at /__node/<name>.
import type { TestRunnerPlugin } from '@web/test-runner';

type Handler = () => Promise<unknown>;

const handlers: Record<string, Handler> = {
  'stun-codec': async () => (await import('./fixtures/stun-codec.ts')).buildStunCodecFixture(),
};

export function nodeSidePlugin(): TestRunnerPlugin {
  return {
    name: 'icebridge-node-side',
    async serve(context) {
      const prefix = '/__node/';
      if (!context.path.startsWith(prefix)) return undefined;
      const handler = handlers[context.path.slice(prefix.length)];
      if (!handler) return { body: JSON.stringify({ error: 'no such fixture' }), type: 'json' };
      return { body: JSON.stringify(await handler()), type: 'json' };
    },
  };
}
