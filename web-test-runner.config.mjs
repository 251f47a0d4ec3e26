// Browser tests: headless Debian Chromium, kept off every network but loopback.
// Run through tsx (scripts/test.sh) so this config can import the TypeScript sources for Node-side fixtures
// and servers the browser tests talk to.
import { esbuildPlugin } from '@web/dev-server-esbuild';
import { chromeLauncher } from '@web/test-runner-chrome';
import { examplesPlugin } from './test/browser/examples-plugin.ts';
import { icePeerPlugin } from './test/browser/ice-peer-plugin.ts';
import { natPanelPlugin } from './test/browser/nat-panel-plugin.ts';
import { nodeSidePlugin } from './test/browser/node-side.ts';

const executablePath = process.env.CHROME_PATH || '/usr/bin/chromium';

export const chromiumArgs = [
  '--headless=new',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  // No --disable-quic: the WebTransport carrier is HTTP/3 (QUIC) to the bridge on 127.0.0.1, which the
  // host-resolver rules below leave reachable; every other name still resolves to nothing.
  '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1',
  // RTCPeerConnection interop (test/browser/rtcpeerconnection.test.ts): gather on loopback, with plain IP
  // host candidates instead of mDNS names.
  '--allow-loopback-in-peer-connection',
  '--disable-features=WebRtcHideLocalIpsWithMdns',
];

export default {
  files: ['test/browser/**/*.test.ts'],
  nodeResolve: true,
  concurrency: 1,
  testsFinishTimeout: 120_000,
  plugins: [esbuildPlugin({ ts: true, target: 'es2022', tsconfig: 'tsconfig.json' }), nodeSidePlugin(), icePeerPlugin(), examplesPlugin(), natPanelPlugin()],
  browsers: [chromeLauncher({ launchOptions: { executablePath, headless: true, args: chromiumArgs } })],
  testFramework: { config: { timeout: 30_000 } },
};
