// The module Worker of bench/bridge-carriers.ts: drives icebridge's bridge client (src/net/bridge-client.ts,
// the code the icebridge Worker itself runs) over one carrier — WebSocket or WebTransport — and times in
// the Worker, so no page↔Worker postMessage hop is in the figures. Commands arrive as {id, cmd, args}
// messages and each is answered with {id, ok, result | error}:
//   rtt       a fresh session + one bound UDP socket, sequential ping-pong to a UDP echo; percentiles (µs)
//   open      one session + one bound socket kept for `rate` (answers which carrier it landed on)
//   rate      sends datagrams at a fixed rate for a while over the open session
//   close     closes the session of `open`
//   sessions  opens `count` sessions, each with one bound socket, and keeps them idle
//   release   closes those sessions
// Every loop is bounded by a count and by a time limit.
import { BridgeConnection, type BridgeSocket } from '../../src/net/bridge-client.js';
import type { BridgeConnectOptions } from '../../src/net/bridge-connect-options.js';
import { bridgeWebTransportUrl } from '../../src/worker/protocol.js';
import { pingPong } from './ping-pong.js';

/** How the page tells the Worker which bridge and which carrier (as src/worker/protocol.ts BridgeConfig). */
export interface CarrierBridge {
  url: string;
  webTransportUrl?: string;
  certificateHashes?: { algorithm: 'sha-256'; value: string }[];
  carrier: 'websocket' | 'webtransport';
}

export interface WorkerRttResult {
  carrier: string;
  count: number;
  lost: number;
  p50: number;
  p90: number;
  p99: number;
  min: number;
  mean: number;
  elapsedMs: number;
  /** Datagrams the client dropped (connection.droppedSends). */
  droppedByClient: number;
}

export interface WorkerRateResult {
  sent: number;
  droppedByClient: number;
  elapsedMs: number;
  /** The most datagrams one pacing tick had to send. */
  maxBurst: number;
  /** Pacing ticks taken. */
  ticks: number;
}

const scope = self as unknown as { onmessage: ((e: MessageEvent) => void) | null; postMessage(m: unknown): void };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function connectOptions(b: CarrierBridge): BridgeConnectOptions {
  return {
    carrier: b.carrier,
    // The token of `url` goes into the WebTransport URL too, as the icebridge Worker does it.
    ...(b.carrier === 'webtransport' ? { webTransportUrl: bridgeWebTransportUrl(b), certificateHashes: b.certificateHashes } : {}),
    connectTimeoutMs: 10_000,
    requestTimeoutMs: 10_000,
  };
}

async function openSocket(b: CarrierBridge): Promise<{ connection: BridgeConnection; socket: BridgeSocket }> {
  const connection = await BridgeConnection.connect(b.url, connectOptions(b));
  if (connection.carrier !== b.carrier) {
    connection.close();
    throw new Error(`asked for ${b.carrier}, got ${connection.carrier}`);
  }
  try {
    return { connection, socket: await connection.bind({ family: 'IPv4' }) };
  } catch (err) {
    connection.close();
    throw err;
  }
}

let held: { connection: BridgeConnection; socket: BridgeSocket } | undefined;
const idle: BridgeConnection[] = [];

const commands: Record<string, (args: Record<string, unknown>) => Promise<unknown>> = {
  async rtt(a) {
    const { connection, socket } = await openSocket(a.bridge as CarrierBridge);
    try {
      const r = await pingPong(socket, a as Parameters<typeof pingPong>[1]);
      return { ...r, carrier: connection.carrier, droppedByClient: connection.droppedSends } satisfies WorkerRttResult;
    } finally {
      connection.close();
    }
  },
  async open(a) {
    held?.connection.close();
    held = await openSocket(a.bridge as CarrierBridge);
    return { carrier: held.connection.carrier, maxPayload: held.connection.limits.maxPayload };
  },
  async close() {
    held?.connection.close();
    held = undefined;
    return {};
  },
  /** Paced in ticks of setTimeout(1) (clamped to ~4 ms by the browser): each tick sends what the clock says is due. */
  async rate(a) {
    if (!held) throw new Error('rate needs open first');
    const { connection, socket } = held;
    const to = { address: String(a.host), port: Number(a.port) };
    const rate = Number(a.rate);
    const durationMs = Number(a.durationMs);
    const payload = new Uint8Array(Number(a.payloadBytes));
    const dropped0 = connection.droppedSends;
    const total = Math.ceil((rate * durationMs) / 1000);
    let sent = 0;
    let maxBurst = 0;
    let ticks = 0;
    const t0 = performance.now();
    while (sent < total) {
      const elapsed = performance.now() - t0;
      if (elapsed > durationMs * 3) break; // fell far behind: stop, the step is failed by the count
      const due = Math.min(total, Math.ceil((rate * elapsed) / 1000));
      const burst = due - sent;
      if (burst > maxBurst) maxBurst = burst;
      for (; sent < due; sent++) {
        new DataView(payload.buffer).setUint32(0, sent);
        socket.send(payload, to);
      }
      ticks++;
      await sleep(1);
    }
    const elapsedMs = performance.now() - t0;
    return { sent, droppedByClient: connection.droppedSends - dropped0, elapsedMs, maxBurst, ticks } satisfies WorkerRateResult;
  },
  async sessions(a) {
    const count = Number(a.count);
    const concurrency = Number(a.concurrency ?? 10);
    const t0 = performance.now();
    let failed = 0;
    let firstFailure: string | undefined;
    let next = 0;
    const one = async () => {
      while (next < count && performance.now() - t0 < Number(a.maxMs ?? 60_000)) {
        next++;
        try {
          const { connection } = await openSocket(a.bridge as CarrierBridge);
          idle.push(connection);
        } catch (err) {
          failed++;
          firstFailure ??= err instanceof Error ? `${err.name}: ${err.message}` : String(err);
        }
      }
    };
    await Promise.all(Array.from({ length: concurrency }, one));
    return { opened: idle.length, failed, firstFailure, ms: performance.now() - t0 };
  },
  async release() {
    const n = idle.length;
    for (const c of idle.splice(0)) c.close();
    return { released: n };
  },
};

scope.onmessage = (e: MessageEvent) => {
  const { id, cmd, args } = e.data as { id: number; cmd: string; args: Record<string, unknown> };
  const command = Object.hasOwn(commands, cmd) ? commands[cmd] : undefined;
  if (!command) {
    scope.postMessage({ id, ok: false, error: `unknown command ${cmd}` });
    return;
  }
  command(args ?? {}).then(
    (result) => scope.postMessage({ id, ok: true, result }),
    (err: unknown) => scope.postMessage({ id, ok: false, error: err instanceof Error ? `${err.name}: ${err.message}` : String(err) }),
  );
};
scope.postMessage({ ready: true, crossOriginIsolated: (self as unknown as { crossOriginIsolated?: boolean }).crossOriginIsolated === true });
