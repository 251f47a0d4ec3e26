// Shared pieces of the bridge tests: a bridge on 127.0.0.1 with a token, a UDP echo server, a raw ws client,
// and bounded waits. Every address here is loopback.
import { WebSocket } from 'ws';
import { startBridge, type RunningBridge } from '../../bridge/server.js';
import type { BridgeOptions } from '../../bridge/options.js';
import { decodeBridgeFrame, type BridgeFrame } from '../../src/net/bridge-frame.js';
import { mintRestCredential } from '../../src/net/rest-credentials.js';
import type { TransportAddress } from '../../src/net/transport-address.js';
import { UdpSocket } from '../../src/node/udp-socket.js';
import { zoneResolver } from '../support/test-certificate.js';

export const SECRET = 'test-secret';

/** A bridge on a free port of 127.0.0.1, UDP sockets on loopback, loopback destinations allowed, no log. */
export function startTestBridge(options: BridgeOptions = {}): Promise<RunningBridge> {
  return startBridge({
    host: '127.0.0.1',
    port: 0,
    secret: SECRET,
    allowLoopback: true,
    udpBindAddress: { IPv4: '127.0.0.1', IPv6: '::1' },
    // No name leaves this machine: without a zone of the test's own, every name is not found.
    resolve: zoneResolver({}),
    logger: () => {},
    ...options,
  });
}

/** The bridge URL with a fresh token in its query. */
export function tokenUrl(bridge: RunningBridge, token: { user?: string; ttlSeconds?: number; nowSeconds?: number; secret?: string } = {}): string {
  const { username, credential } = mintRestCredential({
    secret: token.secret ?? SECRET,
    user: token.user ?? 'tester',
    ttlSeconds: token.ttlSeconds ?? 600,
    nowSeconds: token.nowSeconds ?? Date.now() / 1000,
  });
  return `${bridge.url}?username=${encodeURIComponent(username)}&credential=${encodeURIComponent(credential)}`;
}

/** Rejects after `ms` with a message naming what was awaited. */
export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
    }),
  ]);
}

/** A UDP server on 127.0.0.1 that sends every datagram back to where it came from. */
export async function startEchoServer(): Promise<{ address: TransportAddress; received: number; close(): Promise<void> }> {
  const socket = await UdpSocket.bind({ address: '127.0.0.1' });
  const server = {
    address: socket.localAddress,
    received: 0,
    close: () => closeUdp(socket),
  };
  socket.ondatagram = (bytes, from) => {
    server.received++;
    socket.send(bytes.slice(), from);
  };
  return server;
}

export function closeUdp(socket: UdpSocket): Promise<void> {
  return socket.closeAndWait();
}

/** A ws client that records the frames it receives. */
export class RawClient {
  readonly frames: BridgeFrame[] = [];
  readonly ws: WebSocket;
  readonly closed: Promise<{ code: number; reason: string }>;
  readonly opened: Promise<void>;
  private waiters: (() => void)[] = [];

  /** `protocols: [BRIDGE_SUBPROTOCOL_V2]` asks for a version 2 session; none gives version 1. */
  constructor(url: string, options: { origin?: string; protocols?: string[] } = {}) {
    this.ws = new WebSocket(url, options.protocols ?? [], { origin: options.origin, perMessageDeflate: false });
    this.ws.on('error', () => {});
    this.opened = new Promise((resolve, reject) => {
      this.ws.once('open', () => resolve());
      this.ws.once('close', () => reject(new Error('closed before open')));
    });
    this.opened.catch(() => {});
    this.closed = new Promise((resolve) => this.ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
    this.ws.on('message', (data: Buffer) => {
      try {
        this.frames.push(decodeBridgeFrame(new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice()));
      } catch {
        // the tests look for decoded frames only
      }
      for (const w of this.waiters.splice(0)) w();
    });
  }

  /** The first received frame matching `predicate`, waiting up to `ms` for it. */
  async frame(predicate: (f: BridgeFrame) => boolean, ms = 3000): Promise<BridgeFrame> {
    const deadline = Date.now() + ms;
    for (;;) {
      const found = this.frames.find(predicate);
      if (found) return found;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no matching frame within ${ms} ms; got ${this.frames.map((f) => f.type).join(', ')}`);
      await within(new Promise<void>((resolve) => this.waiters.push(resolve)), left, 'a frame').catch(() => {});
    }
  }

  send(bytes: Uint8Array | string): void {
    this.ws.send(bytes);
  }

  close(): void {
    this.ws.terminate();
  }
}


export interface BridgeMetricsText {
  text: string;
  value(name: string, labels?: string): number | undefined;
  /** worker slot → [pid, sessions open] (a multi-process bridge's rows). */
  workers(): Map<string, [number, number]>;
}

/** GET of a bridge's /metrics (`url`), read by metric name and worker row. */
export async function fetchBridgeMetrics(url: string): Promise<BridgeMetricsText> {
  const text = await (await fetch(url)).text();
  return {
    text,
    value(name, labels = '') {
      const line = text.split('\n').find((l) => l.startsWith(`${name}${labels} `));
      return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
    },
    workers() {
      const out = new Map<string, [number, number]>();
      for (const m of text.matchAll(/^icebridge_bridge_worker_sessions_open\{worker="(\d+)",pid="(\d+)"\} (\d+)$/gm)) out.set(m[1]!, [Number(m[2]), Number(m[3])]);
      return out;
    },
  };
}

/** A UDP port of 127.0.0.1 where nothing listens (bound, then let go): datagrams to it draw ICMP port unreachable. */
export async function closedUdpPort(): Promise<number> {
  const socket = await UdpSocket.bind({ address: '127.0.0.1' });
  const { port } = socket.localAddress;
  await socket.closeAndWait();
  return port;
}
