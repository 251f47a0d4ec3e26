// The example pages as a user meets them after `npm start`: served by startIcebridgeServer() (started by
// examples-plugin.ts on free ports of 127.0.0.1), opened as tabs of this headless Chromium and driven
// through their DOM: the built page client gathers through the bridge, the inspector shows host and srflx
// rows after Gather (screenshot: test-artifacts/inspector.png; its loopback connection:
// inspector-connection.png) and a server it cannot use as an error, two chat tabs (chat.png) connect and talk, directly and
// with one side forced to relay, and a chat tab talks to the Node peer example.
// The pages refuse to be framed (frame-ancestors 'none'), so each runs in a tab of its own; the functions
// passed to `inTab` run there, and must not use anything from this module's scope.
import { executeServerCommand } from '@web/test-runner-commands';
import { assert, assertEqual } from './assert.js';
import type { ExamplesEnv } from './examples-plugin.js';

type PageEntry = typeof import('../../src/worker.js');

async function examplesEnv(): Promise<ExamplesEnv> {
  return (await (await fetch('/__examples/env')).json()) as ExamplesEnv;
}

/** Opens a tab at `path` of the examples server (1280×800); closed after the test. */
async function openTab(path: string): Promise<string> {
  const { id } = await executeServerCommand<{ id: string }, unknown>('examples-open', { path, width: 1280, height: 800 });
  tabs.push(id);
  return id;
}

/**
 * In the tab: resolves with `probe()`'s first truthy value, probed now and on every DOM change; rejects
 * after `ms` naming what it waited for. Handed to the functions `inTab` runs.
 */
function waitFor<T>(probe: () => T, ms: number, what: string): Promise<NonNullable<T>> {
  return new Promise((resolve, reject) => {
    const observer = new MutationObserver(() => check());
    const timer = setTimeout(() => {
      observer.disconnect();
      reject(new Error(`timed out after ${ms} ms waiting for ${what}; page state: ${document.body?.innerText.slice(0, 600)}`));
    }, ms);
    const check = (): boolean => {
      const value = probe();
      if (!value) return false;
      observer.disconnect();
      clearTimeout(timer);
      resolve(value as NonNullable<T>);
      return true;
    };
    if (!check()) observer.observe(document, { subtree: true, childList: true, attributes: true, characterData: true });
  });
}

type WaitFor = typeof waitFor;

/** Runs `fn(arg, waitFor)` in the tab and returns its (JSON) result. */
async function inTab<A, R>(id: string, fn: (arg: A, wait: WaitFor) => R | Promise<R>, arg?: A): Promise<R> {
  const source = `(arg) => (${fn.toString()})(arg, ${waitFor.toString()})`;
  const { value } = await executeServerCommand<{ value: R }, unknown>('examples-eval', { id, source, arg });
  return value;
}

let tabs: string[] = [];
let peers: string[] = [];

/** Joins the chat room in the tab (with "force relay" as the URL set it) and waits until it is in. */
function join(_: null, wait: WaitFor): Promise<string> {
  return wait(() => document.querySelector('#chat')?.getAttribute('data-ready'), 10_000, 'the chat page to be ready').then(() => {
    (document.querySelector('#join') as HTMLButtonElement).click();
    return wait(() => (document.querySelector('#chat')?.getAttribute('data-state') !== 'idle' ? 'joining' : undefined), 5000, 'joining');
  });
}

interface ChatView {
  path: string;
  local: string | null;
  remote: string | null;
  role: string;
}

/** Waits until the relay has welcomed the tab as the first in its room (so the next to join is second). */
function waiting(_: null, wait: WaitFor): Promise<string> {
  return wait(() => (document.querySelector('#chat')?.getAttribute('data-state') === 'waiting' ? 'waiting' : undefined), 10_000, 'the relay to welcome the first peer');
}

/** Waits until the tab's chat is connected and has shown its path. */
function connected(_: null, wait: WaitFor): Promise<ChatView> {
  return wait(
    () => {
      const chat = document.querySelector('#chat')!;
      if (chat.getAttribute('data-state') === 'failed') throw new Error(`chat failed: ${document.querySelector('#state')?.textContent}`);
      const path = document.querySelector('#path') as HTMLElement;
      if (chat.getAttribute('data-state') !== 'connected' || !path.dataset.local) return undefined;
      return { path: path.textContent ?? '', local: path.dataset.local ?? null, remote: path.dataset.remote ?? null, role: document.querySelector('#role')?.textContent ?? '' };
    },
    20_000,
    'the chat to connect',
  );
}

/** Sends `text` from the tab's message box. */
function say(text: string): boolean {
  const input = document.querySelector('#message') as HTMLInputElement;
  input.value = text;
  (document.querySelector('#send') as HTMLButtonElement).click();
  return input.value === '';
}

/** Waits for a received message containing `text`. */
function hear(text: string, wait: WaitFor): Promise<string> {
  return wait(() => [...document.querySelectorAll('#messages .message.in')].map((m) => m.textContent ?? '').find((t) => t.includes(text)), 10_000, `a message "${text}"`);
}

describe('example pages, served by startIcebridgeServer', () => {
  let env: ExamplesEnv;

  before(async () => {
    env = await examplesEnv();
  });

  afterEach(async () => {
    for (const id of peers.splice(0)) await executeServerCommand('examples-node-peer-stop', { id });
    for (const id of tabs.splice(0)) await executeServerCommand('examples-close', { id });
  });

  it('the built page client (dist/) gathers host, srflx and relay candidates through the bridge, and reports a refused token', async () => {
    assert(env.dist['worker-client.js'] && env.dist['worker.js'], 'dist/worker-client.js and dist/worker.js exist (npm run build)');
    // A document of the server's origin, so the page client and its Worker load as a page of it would.
    const tab = await openTab('/config.json');
    const result = await inTab(tab, async () => {
      const sha256 = async (path: string) => {
        const bytes = await (await fetch(path, { cache: 'no-store' })).arrayBuffer();
        return [...new Uint8Array(await crypto.subtle.digest('SHA-256', bytes))].map((b) => b.toString(16).padStart(2, '0')).join('');
      };
      const served = { 'worker-client.js': await sha256('/icebridge/worker-client.js'), 'worker.js': await sha256('/icebridge/worker.js') };
      const entry = '/icebridge/worker-client.js';
      const icebridge = (await import(entry)) as PageEntry;
      const config = await (await fetch('/config.json', { cache: 'no-store' })).json();
      const agent = await icebridge.createIceAgent({ bridge: config.bridge, iceServers: config.iceServers });
      const candidates: (string | null)[] = [];
      const errors: string[] = [];
      agent.addEventListener('icecandidate', (e) => candidates.push((e as InstanceType<PageEntry['WorkerIceAgentEvent']>).candidate?.candidate ?? null));
      agent.addEventListener('icecandidateerror', (e) => errors.push(JSON.stringify((e as InstanceType<PageEntry['WorkerIceAgentEvent']>).error)));
      await agent.gather();
      await agent.close();
      // A token the bridge refuses: a typed error of the bundle, with the bridge's close code.
      const refused = await icebridge.createIceAgent({ bridge: { ...config.bridge, credential: 'not-the-credential' } }).then(
        () => null,
        (err: { name: string; closeCode?: number }) => ({ name: err.name, closeCode: err.closeCode ?? null }),
      );
      return { served, candidates, errors, refused };
    });
    assertEqual(JSON.stringify(result.refused), JSON.stringify({ name: 'BridgeError', closeCode: 4001 }), 'a bad token is refused with 4001');
    assertEqual(result.served['worker-client.js'], env.dist['worker-client.js'], 'the server serves dist/worker-client.js');
    assertEqual(result.served['worker.js'], env.dist['worker.js'], 'the server serves dist/worker.js');
    assertEqual(result.errors.length, 0, `no icecandidateerror (${result.errors.join(', ')})`);
    const types = result.candidates.map((c) => c && / typ (\w+)/.exec(c)?.[1]);
    for (const type of ['host', 'srflx', 'relay']) assert(types.includes(type), `a ${type} candidate among ${JSON.stringify(result.candidates)}`);
    assertEqual(result.candidates.at(-1), null, 'end of candidates last');
  });

  it('the inspector shows host and srflx rows after Gather (screenshot: test-artifacts/inspector.png)', async () => {
    const tab = await openTab('/inspector/');
    const rows = await inTab(tab, async (_: null, wait) => {
      await wait(() => document.body.dataset.ready, 10_000, 'the servers form filled from /config.json');
      const servers = document.querySelectorAll('#server-rows tr').length;
      (document.querySelector('#gather') as HTMLButtonElement).click();
      await wait(() => document.querySelector('#candidate-rows tr.end'), 15_000, 'end of candidates');
      return {
        servers,
        types: [...document.querySelectorAll<HTMLElement>('#candidate-rows tr[data-type]')].map((r) => r.dataset.type),
        end: document.querySelector('#candidate-rows tr.end')?.textContent ?? '',
        errors: [...document.querySelectorAll('#status .error')].map((e) => e.textContent),
      };
    });
    assertEqual(rows.servers, 2, "the form holds the server's STUN and TURN");
    assertEqual(rows.errors.length, 0, `no errors shown (${rows.errors.join('; ')})`);
    for (const type of ['host', 'srflx', 'relay']) assert(rows.types.includes(type), `a ${type} row among ${rows.types.join(', ')}`);
    assert(/end of candidates/.test(rows.end), 'an end-of-candidates row');
    const shot = await executeServerCommand<{ file: string; bytes: number }, unknown>('examples-screenshot', { id: tab, file: 'inspector.png' });
    assertEqual(shot.file, 'test-artifacts/inspector.png');
    assert(shot.bytes > 10_000, `a real screenshot (${shot.bytes} bytes)`);
  });

  it('the inspector shows a malformed ICE server URL, a server it cannot use, and a bridge that refuses it, as errors', async () => {
    const tab = await openTab('/inspector/');
    const view = await inTab(tab, async (_: null, wait) => {
      await wait(() => document.body.dataset.ready, 10_000, 'the inspector');
      const errors = () => [...document.querySelectorAll('#status .error')].map((e) => e.textContent ?? '');
      const button = document.querySelector('#gather') as HTMLButtonElement;
      const rows = [...document.querySelectorAll('#server-rows tr')];
      const input = (row: Element, name: string) => row.querySelector<HTMLInputElement>(`input[name=${name}]`)!;
      const turn = rows.find((r) => input(r, 'urls').value.startsWith('turn:'))!;
      const stun = rows.find((r) => input(r, 'urls').value.startsWith('stun:'))!;
      const stunUrl = input(stun, 'urls').value;
      // Not a URL (W3C: SyntaxError from the constructor), shown before any session is opened.
      input(stun, 'urls').value = 'stun:no such host';
      button.click();
      await wait(() => errors().length > 0 && !button.disabled, 5_000, 'the syntax error');
      const syntaxErrors = errors();
      // A TURN server that refuses the credential: its icecandidateerror, while the other candidates gather.
      input(stun, 'urls').value = stunUrl;
      const turnUrl = input(turn, 'urls').value;
      input(turn, 'credential').value = 'not-the-credential';
      button.click();
      await wait(() => document.querySelector('#candidate-rows tr.end') && !button.disabled, 10_000, 'end of candidates');
      const serverErrors = errors();
      const types = [...document.querySelectorAll<HTMLElement>('#candidate-rows tr[data-type]')].map((r) => r.dataset.type);
      // The bridge refusing the page: /config.json as if its token were signed with another secret.
      const realFetch = window.fetch.bind(window);
      window.fetch = async (input, init) => {
        const response = await realFetch(input, init);
        if (!String(input).endsWith('/config.json')) return response;
        const config = await response.json();
        return new Response(JSON.stringify({ ...config, bridge: { ...config.bridge, credential: 'not-the-credential' } }));
      };
      button.click();
      await wait(() => errors().length > 0 && !button.disabled, 10_000, 'the refusal');
      window.fetch = realFetch;
      return { syntaxErrors, turnUrl, serverErrors, types, bridgeErrors: errors(), gathering: document.querySelector('#candidate-summary')?.textContent };
    });
    assertEqual(view.syntaxErrors.length, 1, `one error shown (${view.syntaxErrors.join('; ')})`);
    assert(/SyntaxError|not a valid|no such host/i.test(view.syntaxErrors[0]), `the malformed URL, named: ${view.syntaxErrors[0]}`);
    assertEqual(view.serverErrors.length, 1, `one error shown (${view.serverErrors.join('; ')})`);
    assert(view.serverErrors[0].startsWith(`${view.turnUrl} — error 401`), `the icecandidateerror, by URL and code: ${view.serverErrors[0]}`);
    assert(view.types.includes('host') && view.types.includes('srflx') && !view.types.includes('relay'), `the other candidates still gathered (${view.types.join(', ')})`);
    assertEqual(view.bridgeErrors.length, 1, `one error shown (${view.bridgeErrors.join('; ')})`);
    assert(/refused the token.*4001/.test(view.bridgeErrors[0]), `the bridge refusal, explained, with its code: ${view.bridgeErrors[0]}`);
    assert(view.gathering?.includes('failed'), `gathering shown as failed (${view.gathering})`);
  });

  it('the inspector connects its two agents in-page and shows the selected pair', async () => {
    const tab = await openTab('/inspector/');
    const view = await inTab(tab, async (_: null, wait) => {
      await wait(() => document.body.dataset.ready, 10_000, 'the inspector');
      (document.querySelector('#connect-start') as HTMLButtonElement).click();
      await wait(() => document.querySelector('#data-log')?.textContent?.includes('A received'), 15_000, 'the echo from B');
      // The rows follow getStats on an interval: the selected pair's row may still show the check in flight.
      const selected = await wait(() => document.querySelector('#pair-rows tr.selected[data-state="succeeded"]'), 5000, 'a highlighted selected pair that succeeded');
      document.querySelector('#connect')!.scrollIntoView();
      return {
        a: document.querySelector('#state-a')?.textContent,
        b: document.querySelector('#state-b')?.textContent,
        selected: selected.getAttribute('data-state'),
        path: document.querySelector('#selected-path')?.textContent,
        errors: [...document.querySelectorAll('#status .error')].map((e) => e.textContent),
        carrier: (document.querySelector('#bridge-info') as HTMLElement | null)?.dataset.carrier,
        carrierText: document.querySelector('#bridge-info')?.textContent,
      };
    });
    assertEqual(view.errors.length, 0, `no errors shown (${view.errors.join('; ')})`);
    // `npm start` serves both carriers (deno is a devDependency): the inspector is on WebTransport and says so.
    assertEqual(view.carrier, 'webtransport', `the inspector's carrier (${view.carrierText})`);
    assert(/WebTransport/.test(view.carrierText ?? ''), `the inspector shows WebTransport: ${view.carrierText}`);
    assert(view.a === 'connected' || view.a === 'completed', `A connected (${view.a})`);
    assert(view.b === 'connected' || view.b === 'completed', `B connected (${view.b})`);
    assertEqual(view.selected, 'succeeded', 'the selected pair succeeded');
    assert(view.path && view.path !== '—', 'the selected path shown');
    await executeServerCommand('examples-screenshot', { id: tab, file: 'inspector-connection.png' });
  });

  for (const relay of [false, true]) {
    it(`two chat tabs in one room connect and exchange messages${relay ? ', the second forced to relay' : ''}`, async () => {
      const room = `test-${Math.random().toString(36).slice(2, 10)}`;
      const first = await openTab(`/chat/?room=${room}`);
      const second = await openTab(`/chat/?room=${room}${relay ? '&relay=1' : ''}`);
      await inTab(first, join, null);
      // Which tab is first is the relay's word: wait for its welcome before the second joins.
      await inTab(first, waiting, null);
      await inTab(second, join, null);
      const [a, b] = [await inTab(first, connected, null), await inTab(second, connected, null)];
      assertEqual(a.role, 'controlling', 'the first in the room is controlling');
      assertEqual(b.role, 'controlled');
      if (relay) {
        assertEqual(b.local, 'relay', `the forced tab sends through TURN (${b.path})`);
        assertEqual(a.remote, 'relay', `its peer sees the relayed address (${a.path})`);
      } else {
        assertEqual(a.local, 'host', `host path (${a.path})`);
      }
      assert(await inTab(first, say, 'hello from the first tab'), 'sent');
      assert((await inTab(second, hear, 'hello from the first tab')).includes('hello from the first tab'));
      assert(await inTab(second, say, 'héllo back ✓'), 'sent');
      await inTab(first, hear, 'héllo back ✓');
      if (!relay) await executeServerCommand('examples-screenshot', { id: first, file: 'chat.png' });
    });
  }

  it('a chat tab connects to the Node peer example and gets its reply', async function (this: { timeout(ms: number): void }) {
    // Starting the Node peer (node + tsx) can take a while on a busy machine.
    this.timeout(75_000);
    const room = `node-${Math.random().toString(36).slice(2, 10)}`;
    const { id: peer } = await executeServerCommand<{ id: string }, unknown>('examples-node-peer-start', { room });
    peers.push(peer);
    let joined = false;
    for (let i = 0; i < 3 && !joined; i++) ({ joined } = await executeServerCommand<{ joined: boolean }, unknown>('examples-node-peer-joined', { id: peer }));
    assert(joined, 'the Node peer joined the room');
    const tab = await openTab(`/chat/?room=${room}`);
    await inTab(tab, join, null);
    const view = await inTab(tab, connected, null);
    assertEqual(view.role, 'controlled', 'the Node peer was in the room first');
    assertEqual(view.local, 'host', `host path to the Node peer (${view.path})`);
    assert(await inTab(tab, say, 'hi node'), 'sent');
    await inTab(tab, hear, 'node-peer got: hi node');
    const { lines } = await executeServerCommand<{ lines: string[] }, unknown>('examples-node-peer-log', { id: peer });
    assert(lines.some((l) => l.endsWith('message: "hi node"')) && lines.some((l) => l.endsWith('replied: "node-peer got: hi node"')), `the Node peer's log:\n${lines.join('\n')}`);
    peers.splice(peers.indexOf(peer), 1);
    const { exitCode } = await executeServerCommand<{ exitCode: number | null }, unknown>('examples-node-peer-stop', { id: peer });
    assertEqual(exitCode, 0, 'the Node peer exits 0 on SIGTERM');
    await inTab(tab, (_: null, wait) => wait(() => document.querySelector('#chat')?.getAttribute('data-state') === 'waiting', 5000, 'the page to see the peer leave'), null);
  });
});
