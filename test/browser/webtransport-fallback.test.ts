// The carrier choice from a Worker: `auto` tries WebTransport and falls back to WebSocket within its timeout,
// saying why (a closed port, a certificate hash that does not match); `webtransport` alone rejects with a typed
// BridgeError naming the cause; with the right hash `auto` lands on WebTransport and the page's IceAgent says so.
import { BridgeError, IceAgent } from '../../src/browser.js';
import { IcebridgeWorker, type BridgeConfig, type WorkerBridgeConnection } from '../../src/worker.js';
import { assert, assertEqual } from './assert.js';
import { bridgeSessions, nextEvent, testEnv, until, within, type BrowserTestEnv } from './env.js';

/** What `auto` may take at most: its 3000 ms WebTransport timeout, then a WebSocket to loopback. */
const AUTO_BOUND_MS = 5000;

describe('bridge carrier: WebTransport first, WebSocket as the fallback', () => {
  let env: BrowserTestEnv;
  let worker: IcebridgeWorker;
  const connections: WorkerBridgeConnection[] = [];

  before(async () => {
    env = await testEnv();
    worker = new IcebridgeWorker();
  });

  afterEach(async () => {
    for (const c of connections.splice(0)) c.close();
    await until(async () => (await bridgeSessions()) === 0, 5000, 'every bridge session closed after the test');
  });

  after(() => worker.terminate());

  async function timedConnect(config: BridgeConfig): Promise<{ connection: WorkerBridgeConnection; ms: number }> {
    const started = performance.now();
    const connection = await within(worker.connectBridge(config), 10_000, 'connectBridge');
    connections.push(connection);
    return { connection, ms: performance.now() - started };
  }

  async function rejection(config: BridgeConfig): Promise<unknown> {
    try {
      connections.push(await within(worker.connectBridge(config), 10_000, 'connectBridge to fail'));
    } catch (err) {
      return err;
    }
    throw new Error('connectBridge resolved; it should have failed');
  }

  it('auto: a WebTransport port nothing listens on falls back to WebSocket within the timeout, and says why', async () => {
    const { connection, ms } = await timedConnect({ url: env.bridge.tokenUrl, webTransportUrl: env.webTransportFailures.closedPortUrl, certificateHashes: env.bridge.certificateHashes, carrier: 'auto' });
    assertEqual(connection.carrier, 'websocket');
    assert(connection.fallbackReason instanceof BridgeError, `fallbackReason is a BridgeError: ${String(connection.fallbackReason)}`);
    assert(['handshake-failed', 'timeout'].includes(connection.fallbackReason.code), `fallbackReason names the failed handshake: ${connection.fallbackReason.message}`);
    assert(ms < AUTO_BOUND_MS, `auto landed on WebSocket in ${Math.round(ms)} ms (bound ${AUTO_BOUND_MS})`);
    assertEqual(connection.limits?.maxSockets !== undefined, true, 'the WebSocket session said hello');
  });

  it('webtransport alone: a port nothing listens on rejects with a typed BridgeError', async () => {
    const err = await rejection({ url: env.bridge.tokenUrl, webTransportUrl: env.webTransportFailures.closedPortUrl, carrier: 'webtransport' });
    assert(err instanceof BridgeError, `a BridgeError: ${String(err)}`);
    assert(['handshake-failed', 'timeout'].includes(err.code), `code names the failed handshake: ${err.message}`);
  });

  it('webtransport alone: a wrong certificate hash rejects with handshake-failed naming certificateHashes', async () => {
    assert(env.bridge.webTransportUrl, 'the test bridge serves WebTransport');
    const err = await rejection({ url: env.bridge.tokenUrl, webTransportUrl: env.bridge.webTransportUrl, certificateHashes: env.webTransportFailures.wrongCertificateHashes, carrier: 'webtransport' });
    assert(err instanceof BridgeError, `a BridgeError: ${String(err)}`);
    assertEqual(err.code, 'handshake-failed', err.message);
    assert(/certificateHashes/.test(err.reason), `the reason names the cause: ${err.reason}`);
  });

  it('webtransport alone: a refused token rejects with the close code the bridge sent in band, as over WebSocket', async () => {
    assert(env.bridge.webTransportUrl, 'the test bridge serves WebTransport');
    const overWebSocket = await rejection(env.bridge.badTokenUrl);
    const err = await rejection({ url: env.bridge.badTokenUrl, webTransportUrl: env.bridge.webTransportUrl, certificateHashes: env.bridge.certificateHashes, carrier: 'webtransport' });
    assert(err instanceof BridgeError, `a BridgeError: ${String(err)}`);
    assertEqual(err.code, 'closed', err.message);
    assertEqual(err.closeCode, 4001, err.message);
    assert(overWebSocket instanceof BridgeError, `over WebSocket too: ${String(overWebSocket)}`);
    assertEqual(err.message, overWebSocket.message, 'the same BridgeError over both carriers');
  });

  it('auto: a wrong certificate hash falls back to WebSocket with that cause', async () => {
    assert(env.bridge.webTransportUrl, 'the test bridge serves WebTransport');
    const { connection, ms } = await timedConnect({ url: env.bridge.tokenUrl, webTransportUrl: env.bridge.webTransportUrl, certificateHashes: env.webTransportFailures.wrongCertificateHashes });
    assertEqual(connection.carrier, 'websocket', 'auto is the default when webTransportUrl is given');
    assertEqual(connection.fallbackReason?.code, 'handshake-failed', connection.fallbackReason?.message);
    assert(ms < AUTO_BOUND_MS, `fell back in ${Math.round(ms)} ms`);
  });

  it('auto: with the right hash the connection and the page IceAgent are on WebTransport (carrierchange)', async () => {
    assert(env.bridge.webTransportUrl, 'the test bridge serves WebTransport');
    const config = { url: env.bridge.tokenUrl, webTransportUrl: env.bridge.webTransportUrl, certificateHashes: env.bridge.certificateHashes };
    const { connection } = await timedConnect(config);
    assertEqual(connection.carrier, 'webtransport', `fell back: ${connection.fallbackReason?.message}`);
    assertEqual(connection.fallbackReason, undefined);
    const agent = new IceAgent({ bridge: config, worker });
    try {
      assertEqual(agent.carrier, null, 'unknown until ready');
      await within(nextEvent(agent, 'carrierchange'), 10_000, 'carrierchange');
      assertEqual(agent.carrier, 'webtransport');
      await agent.gather();
      assertEqual(agent.gatheringState, 'complete');
    } finally {
      await agent.close();
    }
  });

  it('websocket: the carrier asked for, even with a WebTransport URL known', async () => {
    const { connection } = await timedConnect({ url: env.bridge.tokenUrl, webTransportUrl: env.webTransportFailures.closedPortUrl, carrier: 'websocket' });
    assertEqual(connection.carrier, 'websocket');
    assertEqual(connection.fallbackReason, undefined, 'nothing was tried, nothing fell back');
  });
});
