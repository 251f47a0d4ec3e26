// A @web/test-runner plugin for the inspector's NAT panel test (nat-panel.test.ts): an RFC 5780 STUN server
// as `npm start -- --alt-address 127.0.0.2` runs it — startIcebridgeServer() with `turn.altAddress`, its
// STUN/TURN part only, on free ports of 127.0.0.1 and 127.0.0.2 — started and stopped with the test server.
// The inspector itself comes from the examples plugin's server (whose STUN server has no RFC 5780): the
// test types this server's URL into the form, as a user would.
// GET /__nat-panel/env -> { stunUri }   `stun:127.0.0.1:<port>`, the primary address and port
import type { TestRunnerPlugin } from '@web/test-runner';
import { startIcebridgeServer, type RunningIcebridgeServer } from '../../src/node/serve.js';

/** What GET /__nat-panel/env answers. */
export interface NatPanelEnv {
  stunUri: string;
}

export function natPanelPlugin(): TestRunnerPlugin {
  let server: RunningIcebridgeServer | undefined;
  return {
    name: 'icebridge-nat-panel',
    async serverStart() {
      server = await startIcebridgeServer({
        host: '127.0.0.1',
        port: 0,
        stunPort: 0,
        strictPorts: true,
        turn: { altAddress: '127.0.0.2' },
        bridge: false,
        signal: false,
        pages: false,
      });
    },
    async serverStop() {
      const s = server;
      server = undefined;
      await s?.close();
    },
    serve(context) {
      if (context.path !== '/__nat-panel/env') return undefined;
      if (!server?.stunUri) throw new Error('the RFC 5780 server is not running');
      const env: NatPanelEnv = { stunUri: server.stunUri };
      return { body: JSON.stringify(env), type: 'json' };
    },
  };
}
