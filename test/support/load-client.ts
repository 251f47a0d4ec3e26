// A load generator for the bridge (test/bridge/load.test.ts, bench/bridge-load.ts), a process of its own:
// many bridge sessions over hand-written WebSocket connections, cheap enough that the generator is not the
// bottleneck. Each connection does the upgrade by hand, binds one UDP socket (hello, bind, bound), then only
// writes prebuilt data frames (masked with a zero key) and counts the data frames it gets back by reading
// the WebSocket frame headers — no ws parser, no per-message objects. Each datagram's 32 bytes carry its
// send time, so the age of every echo is known (RTT percentiles, the oldest one delivered).
// Commands arrive over IPC (child_process.fork) and each is answered with one message; see LoadCommand.
import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { decodeBridgeFrame, encodeBridgeFrame, BRIDGE_SUBPROTOCOL_V2 } from '../../src/net/bridge-frame.js';
import { mintRestCredential } from '../../src/net/rest-credentials.js';

export type LoadCommand =
  | { cmd: 'open'; url: string; secret: string; count: number; echoPort: number; batch: number; timeoutMs: number }
  | { cmd: 'offer'; rate: number; seconds: number; startAt: number }
  | { cmd: 'stats'; reset?: boolean }
  | { cmd: 'newcomers'; url: string; secret: string; count: number; echoPort: number; timeoutMs: number }
  | { cmd: 'close' };

export interface LoadStats {
  sessions: number;
  /** Sessions whose connection closed, by close code (1006: no close frame). */
  closed: Record<string, number>;
  sent: number;
  received: number;
  /** Round-trip times of the echoes, ms, in 0.5 ms buckets up to 10 s (the last bucket holds the rest). */
  histogram: number[];
  maxAgeMs: number;
  /** Ticks where the generator itself ran late (> 50 ms between ticks): its figures then prove less. */
  lateTicks: number;
}

export type NewcomerOutcome = { ms: number; outcome: 'bound' | `closed ${number}` | 'timeout' };

const BUCKET_MS = 0.5;
const BUCKETS = 20_000;
const TICK_MS = 10;
const PAYLOAD = 32;

class LoadSession {
  socketId = -1;
  sent = 0;
  received = 0;
  closedCode: number | undefined;
  private buf: Buffer = Buffer.alloc(0);
  /** Bytes of the current frame's payload still to skip (after its first byte was seen). */
  private skip = 0;
  private wire: Buffer | undefined;
  private onControl: ((frame: Uint8Array) => void) | undefined;

  constructor(
    readonly tcp: Socket,
    private readonly stats: Counters,
  ) {}

  /** The data frame to 127.0.0.1:port, as a masked client frame; the payload's first 8 bytes carry the send time. */
  prepare(port: number): void {
    const frame = Buffer.alloc(10 + PAYLOAD);
    frame[0] = 0x00;
    frame.writeUInt16BE(this.socketId, 1);
    frame[3] = 4;
    frame.set([127, 0, 0, 1], 4);
    frame.writeUInt16BE(port, 8);
    this.wire = Buffer.concat([Buffer.from([0x82, 0x80 | frame.length, 0, 0, 0, 0]), frame]);
  }

  send(n: number, now: number): void {
    const w = this.wire!;
    const out = n === 1 ? w : Buffer.allocUnsafe(w.length * n);
    for (let i = 0; i < n; i++) {
      if (n > 1) w.copy(out, i * w.length);
      out.writeDoubleLE(now, i * w.length + 6 + 10);
    }
    this.tcp.write(out);
    this.sent += n;
  }

  /** Control frames (hello, bound, …) go to `handler` until it is cleared; data frames are counted. */
  control(handler: ((frame: Uint8Array) => void) | undefined): void {
    this.onControl = handler;
  }

  /** Server frames are unmasked: FIN/opcode, length (7 bits, or 126 + 16 bits), payload. */
  data(chunk: Buffer): void {
    let b = this.buf.length > 0 ? Buffer.concat([this.buf, chunk]) : chunk;
    let at = 0;
    for (;;) {
      if (this.skip > 0) {
        const n = Math.min(this.skip, b.length - at);
        this.skip -= n;
        at += n;
        if (this.skip > 0) break;
      }
      if (b.length - at < 2) break;
      const opcode = b[at]! & 0x0f;
      let len = b[at + 1]! & 0x7f;
      let head = 2;
      if (len === 126) {
        if (b.length - at < 4) break;
        len = b.readUInt16BE(at + 2);
        head = 4;
      } else if (len === 127) {
        if (b.length - at < 10) break;
        len = Number(b.readBigUInt64BE(at + 2));
        head = 10;
      }
      if (opcode === 0x8) {
        this.closedCode = len >= 2 && b.length - at >= head + 2 ? b.readUInt16BE(at + head) : 1005;
        this.tcp.destroy();
        return;
      }
      // A data frame is counted from its first 18 bytes (type, socket, IPv4 address, send time): its age is known.
      const need = this.onControl ? len : Math.min(len, 18);
      if (b.length - at < head + need) break;
      const first = b[at + head];
      if (this.onControl && first !== 0x00) this.onControl(b.subarray(at + head, at + head + len));
      else if (first === 0x00) {
        this.received++;
        this.stats.echo(performance.now() - b.readDoubleLE(at + head + 10));
      }
      at += head + need;
      this.skip = len - need;
    }
    this.buf = at >= b.length ? Buffer.alloc(0) : Buffer.from(b.subarray(at));
  }
}

class Counters {
  histogram = new Array<number>(BUCKETS).fill(0);
  maxAgeMs = 0;
  lateTicks = 0;
  echo(ageMs: number): void {
    this.histogram[Math.min(BUCKETS - 1, Math.max(0, Math.floor(ageMs / BUCKET_MS)))]!++;
    if (ageMs > this.maxAgeMs) this.maxAgeMs = ageMs;
  }
  reset(): void {
    this.histogram.fill(0);
    this.maxAgeMs = 0;
    this.lateTicks = 0;
  }
}

function sessionUrl(url: string, secret: string): URL {
  const { username, credential } = mintRestCredential({ secret, user: 'load', ttlSeconds: 3600, nowSeconds: Date.now() / 1000 });
  const u = new URL(url);
  u.searchParams.set('username', username);
  u.searchParams.set('credential', credential);
  return u;
}

function mask(payload: Uint8Array): Buffer {
  // A zero masking key leaves the payload as is (RFC 6455 §5.3); the bridge does not care.
  return Buffer.concat([Buffer.from([0x82, 0x80 | payload.length, 0, 0, 0, 0]), payload]);
}

/** Upgrade, hello, bind, bound. Rejects with the close code (or the socket error) if not bound in time. */
function openSession(url: string, secret: string, echoPort: number, counters: Counters, timeoutMs: number): Promise<LoadSession> {
  const u = sessionUrl(url, secret);
  return new Promise((resolve, reject) => {
    const tcp = connect({ host: u.hostname.replace(/^\[|\]$/g, ''), port: Number(u.port) });
    tcp.setNoDelay(true);
    const s = new LoadSession(tcp, counters);
    const timer = setTimeout(() => fail(new Error('timeout')), timeoutMs);
    let done = false;
    function fail(err: Error) {
      if (done) return;
      done = true;
      clearTimeout(timer);
      tcp.destroy();
      reject(err);
    }
    tcp.on('error', (err) => fail(err));
    tcp.on('close', () => {
      s.closedCode ??= 1006;
      fail(new Error(`closed ${s.closedCode}`));
    });
    tcp.write(
      `GET ${u.pathname}${u.search} HTTP/1.1\r\nHost: ${u.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: ${BRIDGE_SUBPROTOCOL_V2}\r\n\r\n`,
    );
    let head = '';
    const onHead = (chunk: Buffer) => {
      head += chunk.toString('latin1');
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      tcp.off('data', onHead);
      if (!head.startsWith('HTTP/1.1 101')) return fail(new Error(head.split('\r\n')[0]));
      s.control((frame) => {
        const f = decodeBridgeFrame(frame);
        if (f.type === 'hello') tcp.write(mask(encodeBridgeFrame({ type: 'bind', requestId: 1, family: 'IPv4', port: 0 })));
        else if (f.type === 'bound') {
          s.socketId = f.socketId;
          s.prepare(echoPort);
          s.control(undefined);
          done = true;
          clearTimeout(timer);
          resolve(s);
        } else fail(new Error(`got ${f.type} before bound`));
      });
      tcp.on('data', (d: Buffer) => s.data(d));
      const rest = Buffer.from(head.slice(end + 4), 'latin1');
      if (rest.length > 0) s.data(rest);
    };
    tcp.on('data', onHead);
  });
}

const counters = new Counters();
const sessions: LoadSession[] = [];

function stats(): LoadStats {
  const closed: Record<string, number> = {};
  for (const s of sessions) if (s.closedCode !== undefined) closed[s.closedCode] = (closed[s.closedCode] ?? 0) + 1;
  return {
    sessions: sessions.length,
    closed,
    sent: sessions.reduce((a, s) => a + s.sent, 0),
    received: sessions.reduce((a, s) => a + s.received, 0),
    histogram: [...counters.histogram],
    maxAgeMs: counters.maxAgeMs,
    lateTicks: counters.lateTicks,
  };
}

/** Every session sends `rate`/s for `seconds` from `startAt` (epoch ms, so several generators start together). */
function offer(rate: number, seconds: number, startAt: number): Promise<void> {
  const startPerf = performance.now() + (startAt - Date.now());
  const base = sessions.map((s) => s.sent);
  const end = startPerf + seconds * 1000;
  return new Promise((resolve) => {
    let last: number | undefined;
    const tick = () => {
      const t = performance.now();
      if (last !== undefined && t - last > 50 + TICK_MS) counters.lateTicks++;
      last = t;
      if (t >= startPerf) {
        // Each session has its own phase (i/n of a period), so the sessions' datagrams spread over the period
        // instead of leaving in one burst per tick; at the end each has sent exactly seconds × rate.
        const total = Math.floor(seconds * rate);
        const periods = ((t - startPerf) / 1000) * rate;
        for (let i = 0; i < sessions.length; i++) {
          const s = sessions[i]!;
          const due = t >= end ? total : Math.min(total, Math.floor(periods + i / sessions.length));
          const n = due - (s.sent - base[i]!);
          if (n > 0 && s.closedCode === undefined && !s.tcp.destroyed) s.send(n, t);
        }
        if (t >= end) return resolve();
      }
      setTimeout(tick, TICK_MS);
    };
    setTimeout(tick, Math.max(0, startPerf - performance.now()));
  });
}

async function handle(c: LoadCommand): Promise<unknown> {
  switch (c.cmd) {
    case 'open': {
      let failures = 0;
      const errors: string[] = [];
      for (let i = 0; i < c.count; i += c.batch) {
        const batch = await Promise.allSettled(Array.from({ length: Math.min(c.batch, c.count - i) }, () => openSession(c.url, c.secret, c.echoPort, counters, c.timeoutMs)));
        for (const r of batch) {
          if (r.status === 'fulfilled') sessions.push(r.value);
          else {
            failures++;
            if (errors.length < 5) errors.push(String(r.reason));
          }
        }
      }
      return { opened: sessions.length, failures, errors };
    }
    case 'offer':
      await offer(c.rate, c.seconds, c.startAt);
      return stats();
    case 'stats': {
      const s = stats();
      if (c.reset) {
        for (const x of sessions) x.sent = x.received = 0;
        counters.reset();
      }
      return s;
    }
    case 'newcomers': {
      const outcomes = await Promise.all(
        Array.from({ length: c.count }, async (): Promise<NewcomerOutcome> => {
          const t0 = performance.now();
          try {
            const s = await openSession(c.url, c.secret, c.echoPort, new Counters(), c.timeoutMs);
            s.tcp.destroy();
            return { ms: performance.now() - t0, outcome: 'bound' };
          } catch (err) {
            const m = /closed (\d+)/.exec(String(err));
            return { ms: performance.now() - t0, outcome: m ? `closed ${Number(m[1])}` : 'timeout' };
          }
        }),
      );
      return outcomes;
    }
    case 'close':
      for (const s of sessions) s.tcp.destroy();
      setImmediate(() => process.exit(0));
      return {};
  }
}

process.on('message', (m: LoadCommand & { id: number }) => {
  handle(m).then(
    (result) => process.send!({ id: m.id, result }),
    (err: unknown) => process.send!({ id: m.id, error: String(err) }),
  );
});
process.on('disconnect', () => process.exit(0));
