// A @web/test-runner plugin for the example pages' browser tests (examples.test.ts). It starts what
// `npm start` starts — startIcebridgeServer() on free ports of 127.0.0.1 — with the test server, and stops
// it with it. The pages are served from that server's origin with `frame-ancestors 'none'` and
// `X-Frame-Options: DENY`, so a test page can neither frame nor script them: the test drives them as tabs of
// the same headless Chromium through the launcher's puppeteer page, with these commands:
//   examples-open        { path, width?, height? }   -> { id }      a new tab at httpUrl + path, loaded
//   examples-eval        { id, source, arg? }        -> { value }   `(${source})(arg)` in the tab, awaited
//                                                                    (DevTools evaluation: the page's CSP stays on)
//   examples-screenshot  { id, file }                -> { file, bytes }  PNG of the tab's viewport, under test-artifacts/
//   examples-close       { id }
//   examples-node-peer-start  { room, relay? }       -> { id }      spawns examples/node-peer/main.ts
//   examples-node-peer-joined { id }                 -> { joined }  true once it is in the room (false: ask again)
//   examples-node-peer-log   { id }                  -> { lines, exitCode }
//   examples-node-peer-stop  { id }                  -> { exitCode }
// GET /__examples/env says where the server is, and which client bundle it serves (dist/, hashed).
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { TestRunnerPlugin } from '@web/test-runner';
import { startIcebridgeServer, type RunningIcebridgeServer } from '../../src/node/serve.js';

/** What GET /__examples/env answers. */
export interface ExamplesEnv {
  httpUrl: string;
  /** SHA-256 (hex) of dist/worker-client.js and dist/worker.js, or null when not built. */
  dist: { 'worker-client.js': string | null; 'worker.js': string | null };
}

/** The puppeteer surface used here (puppeteer-core's Page, as @web/test-runner-chrome hands it out). */
interface Page {
  browserContext(): { newPage(): Promise<Page> };
  setViewport(viewport: { width: number; height: number }): Promise<void>;
  goto(url: string, options?: { waitUntil?: 'load'; timeout?: number }): Promise<unknown>;
  evaluate(expression: string): Promise<unknown>;
  screenshot(options: { path: string; type: 'png' }): Promise<Uint8Array>;
  on(event: 'console', handler: (message: { type(): string; text(): string }) => void): void;
  on(event: 'pageerror', handler: (error: Error) => void): void;
  close(): Promise<void>;
  isClosed(): boolean;
}

interface OpenTab {
  page: Page;
  /** Page errors and console errors, for the failure message of an eval. */
  problems: string[];
}

interface NodePeer {
  child: ChildProcess;
  lines: string[];
  exited: Promise<number | null>;
  joined: Promise<void>;
}

const HOST = '127.0.0.1';
/** The address the bridge announces for its sockets (bound to the wildcard, reachable on all of 127/8). */
const BRIDGE_ANNOUNCED = '127.0.0.2';
/** Every command returns well inside the 20 s a browser waits for a command's answer. */
const COMMAND_TIMEOUT_MS = 15_000;
const MAX_LOG_LINES = 500;

function hashOf(file: string): string | null {
  return existsSync(file) ? createHash('sha256').update(readFileSync(file)).digest('hex') : null;
}

function field<T>(payload: unknown, name: string): T {
  const value = (payload as Record<string, unknown> | undefined)?.[name];
  if (value === undefined) throw new Error(`payload needs "${name}"`);
  return value as T;
}

function bounded<T>(promise: Promise<T>, what: string, ms = COMMAND_TIMEOUT_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms))),
  ]);
}

export function examplesPlugin(): TestRunnerPlugin {
  let rootDir = process.cwd();
  let server: RunningIcebridgeServer | undefined;
  const tabs = new Map<string, OpenTab>();
  const peers = new Map<string, NodePeer>();
  let nextId = 0;

  const running = (): RunningIcebridgeServer => {
    if (!server) throw new Error('the examples server is not running');
    return server;
  };

  const tab = (payload: unknown): OpenTab => {
    const id = field<string>(payload, 'id');
    const found = tabs.get(id);
    if (!found) throw new Error(`no open tab ${id}`);
    return found;
  };

  /** Spawns the Node peer; `joined` settles when it says it is in the room (or it exits first). */
  function startNodePeer(room: string, relay: boolean): string {
    const id = `peer-${++nextId}`;
    const args = ['--import', 'tsx', 'examples/node-peer/main.ts', '--server', running().httpUrl, '--room', room, '--address', HOST];
    if (relay) args.push('--relay');
    const child = spawn(process.execPath, args, { cwd: rootDir, stdio: ['ignore', 'pipe', 'pipe'] });
    const lines: string[] = [];
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    let inRoom!: () => void;
    const joined = new Promise<void>((resolve) => (inRoom = resolve));
    let buffered = '';
    const onData = (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        if (lines.length < MAX_LOG_LINES) lines.push(line);
        // In the room: a page that joins now is the second peer.
        if (line.includes('signalling: joined the room')) inRoom();
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    peers.set(id, { child, lines, exited, joined });
    return id;
  }

  async function stopNodePeer(id: string): Promise<number | null> {
    const peer = peers.get(id);
    if (!peer) throw new Error(`no node-peer ${id}`);
    peers.delete(id);
    if (peer.child.exitCode === null && peer.child.signalCode === null) {
      peer.child.kill('SIGTERM');
      const killer = setTimeout(() => peer.child.kill('SIGKILL'), 3000);
      const code = await peer.exited;
      clearTimeout(killer);
      return code;
    }
    return peer.exited;
  }

  const commands: Record<string, (payload: unknown, testPage: Page) => Promise<unknown>> = {
    async 'examples-open'(payload, testPage) {
      const path = field<string>(payload, 'path');
      const url = new URL(path.replace(/^\//, ''), running().httpUrl).href;
      const page = await testPage.browserContext().newPage();
      const id = `tab-${++nextId}`;
      const opened: OpenTab = { page, problems: [] };
      tabs.set(id, opened);
      page.on('pageerror', (error) => opened.problems.push(`page error: ${error.message}`));
      page.on('console', (message) => {
        if (message.type() === 'error') opened.problems.push(`console: ${message.text()}`);
      });
      const p = payload as { width?: number; height?: number };
      await page.setViewport({ width: p.width ?? 1280, height: p.height ?? 800 });
      await page.goto(url, { waitUntil: 'load', timeout: COMMAND_TIMEOUT_MS });
      return { id };
    },
    async 'examples-eval'(payload) {
      const t = tab(payload);
      const source = field<string>(payload, 'source');
      const arg = (payload as { arg?: unknown }).arg;
      try {
        // Wrapped: the runner takes an undefined or null answer for "no plugin knows this command".
        return { value: (await bounded(t.page.evaluate(`(${source})(${JSON.stringify(arg ?? null)})`), 'examples-eval')) ?? null };
      } catch (err) {
        const problems = t.problems.length ? `\nin the page:\n  ${t.problems.join('\n  ')}` : '';
        throw new Error(`${err instanceof Error ? err.message : String(err)}${problems}`);
      }
    },
    async 'examples-screenshot'(payload) {
      const t = tab(payload);
      const dir = join(rootDir, 'test-artifacts');
      mkdirSync(dir, { recursive: true });
      const file = join(dir, basename(field<string>(payload, 'file')));
      const png = await t.page.screenshot({ path: file, type: 'png' });
      return { file: file.slice(rootDir.length + 1), bytes: png.byteLength };
    },
    async 'examples-close'(payload) {
      const id = field<string>(payload, 'id');
      const t = tabs.get(id);
      tabs.delete(id);
      if (t && !t.page.isClosed()) await t.page.close();
      return { closed: true };
    },
    async 'examples-node-peer-start'(payload) {
      const room = field<string>(payload, 'room');
      if (!/^[A-Za-z0-9_-]{1,64}$/.test(room)) throw new Error(`bad room name ${room}`);
      return { id: startNodePeer(room, (payload as { relay?: boolean }).relay === true) };
    },
    async 'examples-node-peer-joined'(payload) {
      const peer = peers.get(field<string>(payload, 'id'));
      if (!peer) throw new Error('no such node-peer');
      // Starting node with tsx takes seconds on a busy machine: the test asks again while it is `false`.
      const outcome = await Promise.race([
        peer.joined.then(() => 'joined' as const),
        peer.exited.then(() => 'exited' as const),
        new Promise<'waiting'>((resolve) => setTimeout(() => resolve('waiting'), COMMAND_TIMEOUT_MS).unref()),
      ]);
      if (outcome === 'exited') throw new Error(`node-peer exited (${peer.child.exitCode}) before joining the room:\n${peer.lines.join('\n')}`);
      return { joined: outcome === 'joined' };
    },
    async 'examples-node-peer-log'(payload) {
      const peer = peers.get(field<string>(payload, 'id'));
      if (!peer) throw new Error('no such node-peer');
      return { lines: [...peer.lines], exitCode: peer.child.exitCode };
    },
    async 'examples-node-peer-stop'(payload) {
      return { exitCode: await stopNodePeer(field<string>(payload, 'id')) };
    },
  };

  return {
    name: 'icebridge-examples',
    async serverStart({ config }) {
      rootDir = config.rootDir;
      server = await startIcebridgeServer({
        host: HOST,
        port: 0,
        stunPort: 0,
        strictPorts: true,
        // A bridge as behind a 1:1 NAT, on loopback: its sockets announce 127.0.0.2 (host candidates) while
        // the STUN server sees them from 127.0.0.1, so a server-reflexive candidate is gathered, as on any real
        // network. (With one address for both, srflx equals its base and is dropped: RFC 8445 §5.1.3.)
        bridge: { hostAddresses: [BRIDGE_ANNOUNCED], logger: () => {} },
      });
    },
    async serverStop() {
      await Promise.allSettled([...peers.keys()].map((id) => stopNodePeer(id)));
      await Promise.allSettled([...tabs.values()].map((t) => (t.page.isClosed() ? undefined : t.page.close())));
      tabs.clear();
      const s = server;
      server = undefined;
      await s?.close();
    },
    serve(context) {
      if (context.path !== '/__examples/env') return undefined;
      const env: ExamplesEnv = {
        httpUrl: running().httpUrl,
        dist: { 'worker-client.js': hashOf(join(rootDir, 'dist/worker-client.js')), 'worker.js': hashOf(join(rootDir, 'dist/worker.js')) },
      };
      return { body: JSON.stringify(env), type: 'json' };
    },
    async executeCommand({ command, payload, session }) {
      const run = commands[command];
      if (!run) return undefined;
      const launcher = session.browser as unknown as { type: string; getPage?(id: string): Page };
      if (launcher.type !== 'puppeteer' || !launcher.getPage) throw new Error(`${command} needs a puppeteer-driven Chromium (got ${launcher.type})`);
      return run(payload, launcher.getPage(session.id));
    },
  };
}
