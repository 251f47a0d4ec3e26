// The WebTransport carrier end to end: a bridge whose Deno child serves HTTP/3, driven from headless Chromium
// (Node has no WebTransport client) by raw WebTransport code that speaks bridge/webtransport/PROTOCOL.md by
// hand — length-prefixed frames on the control stream, data frames as datagrams — with the frame codec
// bundled for the page. Every address is loopback; names are the test's own (none leaves the machine).
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { build } from 'esbuild';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import type { RunningBridge } from '../../bridge/server.js';
import { findDeno } from '../../bridge/webtransport-supervisor.js';
import type { BridgeOptions } from '../../bridge/options.js';
import { connect, type Socket } from 'node:net';
import { BridgeFeature } from '../../src/net/bridge-frame.js';
import { mintRestCredential } from '../../src/net/rest-credentials.js';
import { RawClient, SECRET, startEchoServer, startTestBridge, tokenUrl, within } from './helpers.js';

const CHROMIUM = '/usr/bin/chromium';
const WAIT_MS = 10_000;
const HAVE_DENO = findDeno() !== undefined;

/** A frame as the page reports it: the decoded fields (bytes as number arrays), and how it came. */
interface PageFrame {
  type: string;
  via?: 'control' | 'datagram';
  [field: string]: unknown;
}

/** The page's side, kept in `window.wt`: it is evaluated in Chromium, so it is plain script. */
const PAGE_SCRIPT = String.raw`
window.wt = (() => {
  const sessions = new Map();
  let nextId = 1;
  const plain = (v) => v instanceof Uint8Array ? Array.from(v) : Array.isArray(v) ? v.map(plain)
    : v && typeof v === 'object' ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)])) : v;
  const bytes = (f) => ({ ...f, ...(f.payload ? { payload: new Uint8Array(f.payload) } : {}) });
  const prefixed = (frame) => {
    const out = new Uint8Array(4 + frame.length);
    new DataView(out.buffer).setUint32(0, frame.length);
    out.set(frame, 4);
    return out;
  };
  function push(s, f) {
    const w = s.waiters.shift();
    if (w) w(f); else s.frames.push(f);
  }
  async function readControl(s, readable) {
    const reader = readable.getReader();
    let buf = new Uint8Array(0);
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return push(s, { type: 'fin' });
        const b = new Uint8Array(buf.length + value.length);
        b.set(buf);
        b.set(value, buf.length);
        buf = b;
        while (buf.length >= 4) {
          const n = new DataView(buf.buffer, buf.byteOffset).getUint32(0);
          if (buf.length < 4 + n) break;
          const frame = buf.slice(4, 4 + n);
          buf = buf.slice(4 + n);
          let f;
          try { f = plain(BF.decodeBridgeFrame(frame)); } catch (e) { f = { type: 'undecodable', error: String(e) }; }
          push(s, { via: 'control', ...f });
        }
      }
    } catch (e) {
      push(s, { type: 'reset', error: String(e) });
    }
  }
  async function readDatagrams(s) {
    const reader = s.t.datagrams.readable.getReader();
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        push(s, { via: 'datagram', ...plain(BF.decodeBridgeFrame(value)) });
      }
    } catch {}
  }
  return {
    async open(url, hash) {
      const value = Uint8Array.from(atob(hash), (c) => c.charCodeAt(0));
      const t = new WebTransport(url, { serverCertificateHashes: [{ algorithm: 'sha-256', value }] });
      const s = { t, frames: [], waiters: [], closed: undefined };
      const id = nextId++;
      sessions.set(id, s);
      s.closedPromise = t.closed.then((c) => ({ closeCode: c.closeCode, reason: c.reason }), (e) => ({ error: String(e && e.message || e) }));
      await t.ready;
      const bidi = await t.createBidirectionalStream();
      s.writer = bidi.writable.getWriter();
      s.datagramWriter = t.datagrams.writable.getWriter();
      readControl(s, bidi.readable);
      readDatagrams(s);
      return { id, maxDatagramSize: t.datagrams.maxDatagramSize };
    },
    next(id, ms) {
      const s = sessions.get(id);
      if (s.frames.length) return Promise.resolve(s.frames.shift());
      return new Promise((resolve) => {
        const w = (f) => { clearTimeout(timer); resolve(f); };
        const timer = setTimeout(() => { s.waiters.splice(s.waiters.indexOf(w), 1); resolve({ type: 'timeout' }); }, ms);
        s.waiters.push(w);
      });
    },
    async control(id, frame) {
      await sessions.get(id).writer.write(prefixed(BF.encodeBridgeFrame(bytes(frame))));
    },
    async datagram(id, frame) {
      const w = sessions.get(id).datagramWriter;
      await w.ready;
      await w.write(BF.encodeBridgeFrame(bytes(frame)));
    },
    async raw(id, list) {
      await sessions.get(id).writer.write(new Uint8Array(list));
    },
    /** PROTOCOL.md "Closing": FIN the control stream, then close the session. */
    async finish(id) {
      const s = sessions.get(id);
      await s.writer.close().catch(() => {});
      s.t.close();
      return s.closedPromise;
    },
    closed(id) {
      return sessions.get(id).closedPromise;
    },
  };
})();
`;

describe('bridge over WebTransport (Deno child, headless Chromium)', { skip: HAVE_DENO ? false : 'deno is not installed' }, () => {
  let browser: Browser;
  let page: Page;
  let http: Server;
  let bridge: RunningBridge;
  let echo: Awaited<ReturnType<typeof startEchoServer>>;
  const logs: string[] = [];

  const startWt = (options: BridgeOptions = {}) =>
    startTestBridge({ webTransport: { port: 0, host: '127.0.0.1' }, maxPayload: 4000, logger: (line) => logs.push(line), ...options });

  /** The WebTransport URL with a token (or with the query given). */
  const wtUrl = (b: RunningBridge, query?: string) => {
    if (query !== undefined) return `${b.webTransportUrl}${query}`;
    return `${b.webTransportUrl}${new URL(tokenUrl(b)).search}`;
  };
  const open = (b: RunningBridge, url = wtUrl(b)) =>
    page.evaluate((u, h) => (window as unknown as PageApi).wt.open(u, h), url, b.certificateHashes[0].value);
  const next = (id: number, ms = WAIT_MS) => page.evaluate((i, m) => (window as unknown as PageApi).wt.next(i, m), id, ms);
  const control = (id: number, frame: object) => page.evaluate((i, f) => (window as unknown as PageApi).wt.control(i, f), id, frame);
  const datagram = (id: number, frame: object) => page.evaluate((i, f) => (window as unknown as PageApi).wt.datagram(i, f), id, frame);
  const closed = (id: number) => page.evaluate((i) => (window as unknown as PageApi).wt.closed(i), id);
  const finish = (id: number) => page.evaluate((i) => (window as unknown as PageApi).wt.finish(i), id);
  const raw = (id: number, list: number[]) => page.evaluate((i, l) => (window as unknown as PageApi).wt.raw(i, l), id, list);

  /** The next frame that is not `type` (skips, say, datagrams of an echo still in flight). */
  const nextOf = async (id: number, type: string): Promise<PageFrame> => {
    for (;;) {
      const f = await next(id);
      if (f.type === type || f.type === 'timeout') return f;
    }
  };

  /** Waits until the bridge's session count (as the child reports it) is `n`. */
  const sessionsBecome = async (b: RunningBridge, n: number, ms: number) => {
    const deadline = Date.now() + ms;
    while (b.sessionCount !== n) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`sessionCount is ${b.sessionCount}, not ${n}, after ${ms} ms`);
      await within(b.carriers.webtransport!.nextReport(), left, `a session count of ${n}`).catch(() => {});
    }
  };

  /** The session the bridge ended: the session-close frame (PROTOCOL.md), its FIN, then the transport's end. */
  const refusedWith = async (id: number) => {
    const frame = await next(id);
    await closed(id);
    return frame;
  };

  before(async () => {
    const bundle = await build({ entryPoints: ['src/net/bridge-frame.ts'], bundle: true, format: 'iife', globalName: 'BF', write: false, platform: 'browser' });
    const script = `${bundle.outputFiles[0].text}\n${PAGE_SCRIPT}`;
    http = createServer((req, res) => {
      if (req.url === '/wt.js') res.writeHead(200, { 'content-type': 'text/javascript' }).end(script);
      else res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>wt</title><script src="/wt.js"></script>');
    });
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    const port = (http.address() as { port: number }).port;
    browser = await puppeteer.launch({
      executablePath: CHROMIUM,
      // No --disable-quic: WebTransport is QUIC.
      args: [
        '--headless=new',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
        '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1',
      ],
    });
    page = await browser.newPage();
    // A page on http://127.0.0.1 is a secure context (WebTransport needs one); about:blank is not.
    await page.goto(`http://127.0.0.1:${port}/`);
    echo = await startEchoServer();
    bridge = await startWt({ allowListen: true });
  });

  after(async () => {
    await bridge?.close();
    await echo?.close();
    await browser?.close();
    await new Promise<void>((resolve) => (http ? http.close(() => resolve()) : resolve()));
  });

  it('runs the carrier: an https URL, the development certificate hash, carriers info', () => {
    assert.match(bridge.webTransportUrl ?? '', /^https:\/\/127\.0\.0\.1:\d+\/bridge$/);
    assert.equal(bridge.certificateHashes.length, 1);
    assert.equal(bridge.certificateHashes[0].algorithm, 'sha-256');
    assert.equal(Buffer.from(bridge.certificateHashes[0].value, 'base64').length, 32);
    assert.equal(typeof bridge.carriers.webtransport?.pid, 'number');
  });

  it('says hello v2 on the control stream, binds, and echoes a datagram through UDP both ways', async () => {
    const { id } = await open(bridge);
    const hello = await next(id);
    assert.equal(hello.type, 'hello');
    assert.equal(hello.via, 'control');
    assert.equal(hello.version, 2);
    await control(id, { type: 'bind', requestId: 7, family: 'IPv4', port: 0 });
    const bound = await next(id);
    assert.equal(bound.type, 'bound', JSON.stringify(bound));
    assert.equal(bound.requestId, 7);
    const socketId = bound.socketId as number;
    await datagram(id, { type: 'data', socketId, peer: echo.address, payload: [1, 2, 3, 4] });
    const back = await next(id);
    assert.equal(back.type, 'data', JSON.stringify(back));
    assert.equal(back.via, 'datagram');
    assert.deepEqual(back.payload, [1, 2, 3, 4]);
    assert.deepEqual(back.peer, echo.address);
    await finish(id);
    await sessionsBecome(bridge, 0, 5000);
  });

  it('listens for TCP (allowListen): a connection to the listener is an accepted stream, bytes both ways', async () => {
    const { id } = await open(bridge);
    const hello = await next(id);
    assert.ok(((hello.limits as { features: number }).features & BridgeFeature.listen) !== 0, 'the hello has the listen bit');
    await control(id, { type: 'listen', requestId: 3, family: 'IPv4', port: 0, window: 65536 });
    const listening = await next(id);
    assert.equal(listening.type, 'listening', JSON.stringify(listening));
    const port = (listening.local as { port: number }).port;
    const socket = await new Promise<Socket>((resolve, reject) => {
      const s = connect({ host: '127.0.0.1', port }, () => resolve(s));
      s.once('error', reject);
    });
    const accepted = await next(id);
    assert.equal(accepted.type, 'accepted', JSON.stringify(accepted));
    assert.equal(accepted.listenerId, listening.listenerId);
    assert.deepEqual(accepted.remote, { address: '127.0.0.1', port: socket.localPort });
    socket.write('tcp in');
    const bytes = await nextOf(id, 'stream');
    assert.equal(Buffer.from(bytes.payload as number[]).toString(), 'tcp in');
    const back = new Promise<string>((resolve) => socket.once('data', (b) => resolve(b.toString())));
    await control(id, { type: 'stream', streamId: accepted.streamId, payload: Array.from(Buffer.from('tcp out')) });
    assert.equal(await within(back, WAIT_MS, 'bytes to the TCP peer'), 'tcp out');
    await control(id, { type: 'close', socketId: listening.listenerId });
    socket.destroy();
    await finish(id);
    await sessionsBecome(bridge, 0, 5000);
  });

  it('carries a data frame too big for a datagram on the control stream, both ways', async () => {
    const { id, maxDatagramSize } = await open(bridge);
    assert.equal((await next(id)).type, 'hello');
    await control(id, { type: 'bind', requestId: 1, family: 'IPv4', port: 0 });
    const bound = await next(id);
    const payload = Array.from({ length: maxDatagramSize + 500 }, (_, i) => i & 0xff);
    await control(id, { type: 'data', socketId: bound.socketId, peer: echo.address, payload });
    const back = await nextOf(id, 'data');
    assert.equal(back.via, 'control', 'a data frame over the datagram limit comes back on the control stream');
    assert.deepEqual(back.payload, payload);
    await finish(id);
  });

  it('refuses a payload over maxPayload with an error frame, and a frame over the largest data frame with 4009', async () => {
    const { id } = await open(bridge);
    assert.equal((await next(id)).type, 'hello');
    await control(id, { type: 'bind', requestId: 1, family: 'IPv4', port: 0 });
    const bound = await next(id);
    // maxPayload is 4000: 4010 bytes to an IPv4 peer is a frame within 4000 + 22, but a payload over the limit.
    await control(id, { type: 'data', socketId: bound.socketId, peer: echo.address, payload: new Array(4010).fill(0) });
    const error = await next(id);
    assert.equal(error.type, 'error');
    assert.equal(error.code, 'payload-too-large');
    // A length prefix over maxPayload + 22: the session ends with 4009 before a byte of it is buffered.
    await raw(id, [0, 0, 0x10, 0]);
    const close = await refusedWith(id);
    assert.equal(close.type, 'error');
    assert.equal(close.code, 'session-close');
    assert.match(String(close.reason), /^4009 frame of 4096 bytes/);
  });

  it('names a denied destination in an error frame', async () => {
    const { id } = await open(bridge);
    assert.equal((await next(id)).type, 'hello');
    await control(id, { type: 'bind', requestId: 1, family: 'IPv4', port: 0 });
    const bound = await next(id);
    await datagram(id, { type: 'data', socketId: bound.socketId, peer: { address: '169.254.169.254', port: 80 }, payload: [1] });
    const error = await next(id);
    assert.equal(error.type, 'error');
    assert.equal(error.code, 'destination-denied');
    assert.deepEqual(error.destination, { address: '169.254.169.254', port: 80 });
    await finish(id);
  });

  it('counts a control frame in a datagram as malformed, saying so, and does not act on it', async () => {
    const { id } = await open(bridge);
    assert.equal((await next(id)).type, 'hello');
    await control(id, { type: 'bind', requestId: 1, family: 'IPv4', port: 0 });
    const bound = await next(id);
    await datagram(id, { type: 'close', socketId: bound.socketId });
    const error = await next(id);
    assert.equal(error.type, 'error', JSON.stringify(error));
    assert.equal(error.code, 'malformed-frame');
    assert.match(String(error.reason), /^a datagram carries only data frames, not frame type 4$/);
    // The socket is still there: the close in a datagram was not acted on.
    await datagram(id, { type: 'data', socketId: bound.socketId, peer: echo.address, payload: [9] });
    const back = await nextOf(id, 'data');
    assert.deepEqual(back.payload, [9]);
    await finish(id);
  });

  it('refuses without a token (4001) and with an expired one (4002), in a session-close frame', async () => {
    const none = await open(bridge, wtUrl(bridge, ''));
    const f1 = await refusedWith(none.id);
    assert.equal(f1.code, 'session-close');
    assert.match(String(f1.reason), /^4001 unauthorized: no token$/);
    const old = mintRestCredential({ secret: SECRET, user: 'late', ttlSeconds: 60, nowSeconds: Date.now() / 1000 - 3600 });
    const expired = await open(bridge, wtUrl(bridge, `?username=${encodeURIComponent(old.username)}&credential=${encodeURIComponent(old.credential)}`));
    const f2 = await refusedWith(expired.id);
    assert.match(String(f2.reason), /^4002 credential expired$/);
    const metrics = bridge.metricsText();
    assert.match(metrics, /^icebridge_bridge_refusals_total\{carrier="webtransport",reason="unauthorized"\} [1-9]/m);
    assert.match(metrics, /^icebridge_bridge_refusals_total\{carrier="webtransport",reason="credential-expired"\} [1-9]/m);
    assert.match(metrics, /^icebridge_bridge_sessions_total\{carrier="websocket"\} 0$/m);
  });

  it('sees the page end its session (FIN, then close) in under 5 s', async () => {
    const { id } = await open(bridge);
    assert.equal((await next(id)).type, 'hello');
    await sessionsBecome(bridge, 1, 5000);
    const t0 = Date.now();
    await finish(id);
    await sessionsBecome(bridge, 0, 5000);
    assert.ok(Date.now() - t0 < 5000);
    assert.ok(logs.some((l) => /"event":"session-close"/.test(l) && /control stream closed by the client/.test(l)), 'the JSON session log line');
  });

  it('restarts a killed Deno child, says so, and serves new sessions', async () => {
    const pid = bridge.carriers.webtransport!.pid!;
    process.kill(pid, 'SIGKILL');
    const deadline = Date.now() + 15_000;
    while (!(bridge.carriers.webtransport!.ready && bridge.carriers.webtransport!.pid !== pid)) {
      if (Date.now() > deadline) throw new Error('no restart within 15 s');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.ok(logs.some((l) => /"event":"webtransport-exited"/.test(l) && l.includes(`"pid":${pid}`) && /"signal":"SIGKILL"/.test(l)));
    const { id } = await open(bridge);
    assert.equal((await next(id)).type, 'hello');
    await finish(id);
  });
});

describe('bridge without Deno', () => {
  it('says so in one line, serves WebSocket, and has no WebTransport URL', async () => {
    const logs: string[] = [];
    const b = await startTestBridge({ webTransport: { port: 0, denoPath: '/nonexistent/deno' }, logger: (l) => logs.push(l) });
    try {
      assert.equal(b.webTransportUrl, undefined);
      assert.deepEqual(b.certificateHashes, []);
      assert.equal(b.carriers.webtransport, undefined);
      const off = logs.filter((l) => l.includes('webtransport'));
      assert.equal(off.length, 1, off.join('\n'));
      assert.match(off[0], /"event":"webtransport-off".*deno not found at \/nonexistent\/deno/);
      const client = new RawClient(tokenUrl(b));
      try {
        assert.equal((await client.frame((f) => f.type === 'hello')).type, 'hello');
      } finally {
        client.close();
      }
      assert.doesNotMatch(b.metricsText(), /carrier=/);
    } finally {
      await b.close();
    }
  });
});

interface PageApi {
  wt: {
    open(url: string, hash: string): Promise<{ id: number; maxDatagramSize: number }>;
    next(id: number, ms: number): Promise<PageFrame>;
    control(id: number, frame: object): Promise<void>;
    datagram(id: number, frame: object): Promise<void>;
    raw(id: number, list: number[]): Promise<void>;
    finish(id: number): Promise<unknown>;
    closed(id: number): Promise<unknown>;
  };
}
