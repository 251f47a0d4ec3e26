// icebridge inside a Worker, driven from the page through the comlink client, reaching real servers on
// 127.0.0.1 through a real bridge: STUN Bindings to icebridge's server and to coturn, TURN allocations on
// both with data through the relay to a UDP echo peer and back, and the bridge's refusal as a typed error.
import { BridgeError, IcebridgeWorker, StunBindingError, TurnError, type WorkerBridgeConnection } from '../../src/worker.js';
import { IceAgent, IceServerUriError } from '../../src/browser.js';
import { assert, assertDeepEqual, assertEqual } from './assert.js';
import { bridgeSessions, testEnv, until, within, type BrowserTestEnv } from './env.js';

function bytesOf(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

describe('icebridge in a Worker, through the bridge', () => {
  let worker: IcebridgeWorker;
  let env: BrowserTestEnv;

  before(async () => {
    env = await testEnv();
    worker = new IcebridgeWorker();
  });

  after(() => worker.terminate());

  for (const server of ['icebridge', 'coturn'] as const) {
    it(`STUN Binding to ${server}'s server gives the bridge socket's address`, async () => {
      const r = await within(worker.stunBinding(env.stun[server], { bridge: env.bridge.tokenUrl }), 10_000, `Binding to ${server}`);
      assertEqual(r.local.address, '127.0.0.1', 'the bridge socket is bound on loopback');
      assert(r.local.port > 0, `bound port ${r.local.port}`);
      assertDeepEqual(r.mapped, r.local, 'mapped address = the bridge UDP socket (127.0.0.1:<bound port>)');
      assertEqual(`${r.server.address}:${r.server.port}`, env.stun[server], 'answering server');
    });
  }

  it('takes the bridge as { url, username, credential } too', async () => {
    const { url, username, credential } = env.bridge;
    const r = await worker.stunBinding(env.stun.icebridge, { bridge: { url, username, credential } });
    assertDeepEqual(r.mapped, r.local, 'mapped = local');
  });

  it('surfaces a refused token as a BridgeError with close code 4001', async () => {
    let caught: unknown;
    try {
      await worker.connectBridge(env.bridge.badTokenUrl);
    } catch (err) {
      caught = err;
    }
    assert(caught instanceof BridgeError, `expected a BridgeError, got ${String(caught)}`);
    assertEqual(caught.name, 'BridgeError');
    assertEqual(caught.code, 'closed');
    assertEqual(caught.closeCode, 4001, 'unauthorized');
    // The same from the one-shot helpers.
    let again: unknown;
    await worker.stunBinding(env.stun.icebridge, { bridge: env.bridge.badTokenUrl }).catch((e: unknown) => (again = e));
    assert(again instanceof BridgeError && again.closeCode === 4001, `stunBinding: ${String(again)}`);
  });

  it('a Binding or an Allocate to a UDP port where nothing listens is refused at once (connected bridge sockets), as in Node', async () => {
    const closed = `127.0.0.1:${new URL(env.webTransportFailures.closedPortUrl).port}`;
    let started = performance.now();
    // The default timeout is the whole RFC 8489 schedule (39.5 s): only the ICMP refusal can end it early.
    const error: unknown = await within(worker.stunBinding(closed, { bridge: env.bridge.tokenUrl }), 20_000, 'the refusal').then(() => undefined, (e: unknown) => e);
    assert(error instanceof StunBindingError && error.code === 'UNREACHABLE', `got ${String(error)}`);
    assert(performance.now() - started < 5000, `at once, not after a timeout (${Math.round(performance.now() - started)} ms)`);
    started = performance.now();
    const turn: unknown = await within(worker.allocateTurn(`turn:${closed}`, { bridge: env.bridge.tokenUrl, username: 'u', credential: 'p' }), 20_000, 'the TURN refusal').then(() => undefined, (e: unknown) => e);
    assert(turn instanceof TurnError && /nothing listens/.test(turn.message), `got ${String(turn)}`);
    assert(performance.now() - started < 5000, `TURN at once, not after a timeout (${Math.round(performance.now() - started)} ms)`);
  });

  it('surfaces a STUN timeout and a name that does not resolve as typed errors', async () => {
    const connection = await worker.connectBridge(env.bridge.tokenUrl);
    try {
      let timeout: unknown;
      // The echo peer answers with the request itself, which is no response: the Binding times out.
      await connection.stunBinding(`127.0.0.1:${env.echo.port}`, { timeoutMs: 300 }).catch((e: unknown) => (timeout = e));
      assert(timeout instanceof StunBindingError && timeout.code === 'TIMEOUT', `timeout: ${String(timeout)}`);
      let named: unknown;
      await connection.stunBinding('stun.example.org:3478').catch((e: unknown) => (named = e));
      // The bridge resolves names now; this one is in no zone it knows.
      assert(named instanceof BridgeError && named.code === 'name-not-found', `name: ${String(named)}`);
    } finally {
      connection.close();
    }
  });

  it('sends through a bridge socket to a UDP peer and back, bytes transferred both ways', async () => {
    const connection = await worker.connectBridge(env.bridge.tokenUrl);
    try {
      const socket = await connection.bind({ family: 'IPv4' });
      assertEqual(socket.localAddress.address, '127.0.0.1');
      const echoed = new Promise<{ bytes: Uint8Array; from: { address: string; port: number } }>((resolve) => {
        socket.ondatagram = (bytes, from) => resolve({ bytes, from });
      });
      const payload = bytesOf('through the bridge');
      socket.send(payload, env.echo);
      assertEqual(payload.byteLength, 0, 'the sent buffer was transferred to the Worker (detached here)');
      const { bytes, from } = await within(echoed, 5000, 'the echo');
      assertEqual(new TextDecoder().decode(bytes), 'through the bridge');
      assertEqual(bytes.buffer.byteLength, bytes.byteLength, 'received bytes own their buffer (transferred, not a frame view)');
      assertDeepEqual(from, env.echo, 'from the echo peer');
      const closed = new Promise<void>((resolve) => (socket.onclose = () => resolve()));
      socket.close();
      await closed;
    } finally {
      connection.close();
    }
  });

  for (const server of ['icebridge', 'coturn'] as const) {
    it(`allocates on ${server}'s TURN server; data goes through the relay to the echo peer and back`, async () => {
      const turn = env.turn[server];
      const relay = await within(
        worker.allocateTurn(turn.urls, { bridge: env.bridge.tokenUrl, username: turn.username, credential: turn.credential }),
        10_000,
        `allocation on ${server}`,
      );
      try {
        assertEqual(relay.relayedAddress.address, '127.0.0.1', 'relayed on loopback');
        assert(relay.relayedAddress.port > 0, 'relayed port');
        assertEqual(relay.mappedAddress?.address, '127.0.0.1', 'the bridge socket as the server saw it');
        const received: string[] = [];
        const both = new Promise<void>((resolve) => {
          relay.ondatagram = (bytes, from) => {
            assertDeepEqual(from, env.echo, 'data comes from the peer, through the relay');
            received.push(new TextDecoder().decode(bytes));
            if (received.length === 2) resolve();
          };
        });
        relay.send(bytesOf('one'), env.echo); // a permission first, then the Send indication
        const channel = await relay.bindChannel(env.echo);
        assert(channel >= 0x4000 && channel <= 0x4fff, `channel ${channel}`);
        relay.send(bytesOf('two'), env.echo); // as ChannelData
        await within(both, 5000, 'both echoes through the relay');
        assertDeepEqual(received.sort(), ['one', 'two']);
      } finally {
        relay.close();
      }
    });
  }

  it('surfaces wrong TURN credentials as a TurnError', async () => {
    let caught: unknown;
    const turn = env.turn.icebridge;
    await worker
      .allocateTurn(turn.urls, { bridge: env.bridge.tokenUrl, username: turn.username, credential: 'wrong' })
      .catch((e: unknown) => (caught = e));
    assert(caught instanceof TurnError, `expected a TurnError, got ${String(caught)}`);
    assertEqual(caught.code, 401);
    assertEqual(caught.operation, 'allocate');
  });

  it('refuses what is no input with the typed errors Node gives, and a closed connection with its BridgeError', async () => {
    const connection = await worker.connectBridge(env.bridge.tokenUrl);
    const socket = await connection.bind({ family: 'IPv4' });
    const failure = (f: () => unknown): Promise<string> =>
      Promise.resolve()
        .then(f)
        .then(() => 'no error', (e: Error) => `${e.name}: ${e.message}`);
    const expected: [string, () => unknown, string][] = [
      ['send(5)', () => socket.send(5 as unknown as Uint8Array, { address: '127.0.0.1', port: 9 }), 'TypeError: send() takes the datagram as a Uint8Array, got number'],
      ['send to null', () => socket.send(bytesOf('x'), null as unknown as { address: string; port: number }), 'TypeError: send() needs a destination { address, port }, got null'],
      ['bind IPv5', () => connection.bind({ family: 'IPv5' as 'IPv4' }), `TypeError: family must be 'IPv4' or 'IPv6', got "IPv5"`],
      ['stunBinding(5)', () => connection.stunBinding(5 as unknown as string), 'TypeError: stunBinding: the server must be a STUN URI, host:port or { address, port }, got 5'],
      ['discoverNat(5)', () => connection.discoverNat(5 as unknown as string), 'TypeError: discoverNat: the server must be a STUN URI, host:port or { address, port }, got 5'],
      ['a bad IPv6 literal', () => connection.stunBinding('stun:[::65536]'), `IceServerUriError: invalid STUN/TURN URI 'stun:[::65536]': '::65536' is not an IPv6 address`],
    ];
    for (const [what, call, message] of expected) assertEqual(await failure(call), message, what);
    let uriError: unknown;
    await connection.stunBinding('stun:[::65536]').catch((e: unknown) => (uriError = e));
    assert(uriError instanceof IceServerUriError && uriError.uri === 'stun:[::65536]', 'the IceServerUriError class, rebuilt in the page');
    connection.close();
    // As Node's BridgeConnection: closed (1000), not the Worker's 'no bridge connection N'.
    for (const [what, call] of [['bind', () => connection.bind()], ['resolve', () => connection.resolve('localhost')], ['createIceAgent', () => connection.createIceAgent()]] as const) {
      assertEqual(await failure(call), 'BridgeError: closed (1000): closed by the application', `${what} after close()`);
    }
  });

  it('closes the bridge sessions it opened', async () => {
    const connections: WorkerBridgeConnection[] = [];
    for (let i = 0; i < 3; i++) connections.push(await worker.connectBridge(env.bridge.tokenUrl));
    assert((await bridgeSessions()) >= 3, 'three sessions open');
    for (const c of connections) c.close();
    await until(async () => (await bridgeSessions()) === 0, 5000, 'every session closed');
  });

  it('rejects calls once the Worker is terminated', async () => {
    const own = new IcebridgeWorker();
    await own.connectBridge(env.bridge.tokenUrl);
    own.terminate();
    let caught: unknown;
    await own.connectBridge(env.bridge.tokenUrl).catch((e: unknown) => (caught = e));
    assertEqual((caught as Error | undefined)?.name, 'IcebridgeWorkerError');
    await until(async () => (await bridgeSessions()) === 0, 5000, 'the terminated Worker\'s session to close');
  });

  it('options of the wrong shape are typed errors at the call, before any session is opened', async () => {
    const threw = (f: () => unknown) => {
      try {
        f();
      } catch (err) {
        return `${(err as Error).name}: ${(err as Error).message}`;
      }
      return 'no error';
    };
    const rejected = (call: Promise<unknown>) => call.then(() => 'resolved', (e: unknown) => `${(e as Error).name}: ${(e as Error).message}`);
    assert(/^TypeError: IcebridgeWorker: the options must be an object/.test(threw(() => new IcebridgeWorker(null as never))), 'new IcebridgeWorker(null)');
    assert(/^RangeError: startTimeoutMs must be a positive number of milliseconds/.test(threw(() => new IcebridgeWorker({ startTimeoutMs: -1 }))), 'startTimeoutMs -1');
    const url = env.bridge.tokenUrl;
    const configs: [object, RegExp][] = [
      [{ url, username: 5 }, /^TypeError: bridge\.username must be a string, got number$/],
      [{ url, webTransportUrl: 'http://127.0.0.1:1/bridge' }, /^TypeError: bridge\.webTransportUrl must be the bridge's https:\/\/HOST… WebTransport URL, got "http:/],
      [{ url, webTransportUrl: 'notaurl' }, /^TypeError: bridge\.webTransportUrl must be/],
      [{ url, webTransportUrl: 'https://127.0.0.1:1/bridge', certificateHashes: 'x' }, /^TypeError: bridge\.certificateHashes must be an array/],
    ];
    for (const [config, expected] of configs) {
      const got = await rejected(worker.connectBridge(config as never));
      assert(expected.test(got), `${JSON.stringify(config)}: ${got}`);
    }
    const connection = await worker.connectBridge(url);
    try {
      assert(/^TypeError: bind: the options must be an object/.test(await rejected(connection.bind(null as never))), 'bind(null)');
      assert(/^TypeError: stunBinding: the options must be an object/.test(await rejected(connection.stunBinding(env.stun.icebridge, null as never))), 'stunBinding(…, null)');
      assert(/^TypeError: allocateTurn: the options must be an object/.test(await rejected(connection.allocateTurn(env.stun.icebridge, undefined as never))), 'allocateTurn without options');
      const timeout = await rejected(connection.stunBinding(env.stun.icebridge, { timeoutMs: -1 }));
      assert(/^RangeError: timeoutMs must be a positive number of milliseconds, got -1$/.test(timeout), `the Worker's check comes back as a RangeError: ${timeout}`);
    } finally {
      connection.close();
    }
  });

  it('a terminated Worker ends what lived in it: agents close with a statechange, sessions and sockets call onclose', async () => {
    const own = new IcebridgeWorker();
    const connection = await own.connectBridge(env.bridge.tokenUrl);
    const socket = await connection.bind();
    const agent = await own.createIceAgent({ bridge: env.bridge.tokenUrl });
    const page = new IceAgent({ bridge: env.bridge.tokenUrl, worker: own });
    await page.ready;
    await agent.gather();
    const heard: string[] = [];
    agent.addEventListener('statechange', () => heard.push(`agent ${agent.state}`));
    page.onstatechange = () => heard.push(`page agent ${page.state}`);
    let connectionError: unknown;
    connection.onclose = (error) => {
      connectionError = error;
      heard.push('connection onclose');
    };
    let socketError: unknown;
    socket.onclose = (error) => {
      socketError = error;
      heard.push('socket onclose');
    };
    own.terminate();
    assertDeepEqual([...heard].sort(), ['agent closed', 'connection onclose', 'page agent closed', 'socket onclose'], 'each told once, at once');
    assertEqual(agent.getSelectedCandidatePair(), null);
    assert(connection.closed && socket.closed, 'the connection and the socket say closed');
    assert(connectionError instanceof BridgeError && connectionError.code === 'closed', `the connection's onclose had ${String(connectionError)}`);
    assertEqual((socketError as Error | undefined)?.name, 'IcebridgeWorkerError');
    const rejection = async (call: Promise<unknown>) => call.then(() => 'resolved', (e: unknown) => (e as Error).name);
    assertEqual(await rejection(agent.gather()), 'IcebridgeWorkerError', 'a call on the agent says the Worker is gone');
    assertEqual(await rejection(page.restart()), 'IcebridgeWorkerError', 'so does one on the page agent');
    assertEqual(await rejection(connection.bind()), 'BridgeError', 'a call on the connection rejects with its close');
    await agent.close(); // quiet
    await page.close();
    own.terminate(); // again: nothing more is told
    assertEqual(heard.length, 4);
    await until(async () => (await bridgeSessions()) === 0, 5000, 'the terminated Worker\'s sessions to close');
  });
});
