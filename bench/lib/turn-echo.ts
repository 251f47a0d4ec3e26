// Round trips of small datagrams through a TURN allocation to a UDP echo peer, over a channel: allocate on
// the given base socket (TCP to the server, directly or through a bridge stream), bind a channel to the
// peer, then ping-pong one payload at a time (ChannelData both ways once the channel is bound, RFC 8656
// §12), warm-up first. Runs in the calling process; the base socket is the caller's choice, all else is
// the same for every contender.
import { realClock } from '../../src/net/clock.js';
import type { DatagramSocket } from '../../src/net/datagram-socket.js';
import type { TransportAddress } from '../../src/net/transport-address.js';
import { TurnRelaySocket } from '../../src/turn/relay-socket.js';

export interface TurnEchoOptions {
  /** Opens the connection to the TURN server that the allocation runs over. */
  openBase: () => Promise<DatagramSocket>;
  server: TransportAddress;
  username: string;
  credential: string;
  peer: TransportAddress;
  payloadBytes: number;
  warmup: number;
  samples: number;
  /** A round trip with no echo after this long counts as lost. */
  timeoutMs: number;
}

export interface TurnEchoResult {
  /** µs */
  p50: number;
  p90: number;
  p99: number;
  min: number;
  count: number;
  lost: number;
  /** ms from opening the base to the channel being bound. */
  setupMs: number;
  /** The TURN client's counters at the end (sentChannelData vs sentIndications: how the payloads went). */
  counters: Record<string, number>;
}

/** The value at fraction `q` (0..1) of sorted `values` (nearest rank). */
export function percentile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

export async function measureTurnEcho(o: TurnEchoOptions): Promise<TurnEchoResult> {
  const t0 = performance.now();
  const base = await o.openBase();
  let relay: TurnRelaySocket;
  try {
    relay = await TurnRelaySocket.allocate(base, {
      server: o.server,
      username: o.username,
      credential: o.credential,
      transport: 'tcp',
      clock: realClock,
      closeBase: true,
      timeoutMs: 10_000,
    });
  } catch (err) {
    base.close();
    throw err;
  }
  try {
    await relay.bindChannel(o.peer);
    const setupMs = performance.now() - t0;
    const payload = new Uint8Array(o.payloadBytes);
    const view = new DataView(payload.buffer);
    let expected = -1;
    let sentAt = 0;
    let settle: ((rtt: number | undefined) => void) | undefined;
    relay.ondatagram = (data) => {
      if (data.length < 4 || settle === undefined) return;
      if (new DataView(data.buffer, data.byteOffset, data.byteLength).getUint32(0) !== expected) return; // a late echo
      const rtt = performance.now() - sentAt;
      const s = settle;
      settle = undefined;
      s(rtt);
    };
    const once = (seq: number) =>
      new Promise<number | undefined>((resolve) => {
        const timer = setTimeout(() => {
          settle = undefined;
          resolve(undefined);
        }, o.timeoutMs);
        settle = (rtt) => {
          clearTimeout(timer);
          resolve(rtt);
        };
        expected = seq;
        view.setUint32(0, seq);
        sentAt = performance.now();
        relay.send(payload, o.peer);
      });
    const rtts: number[] = [];
    let lost = 0;
    for (let i = 0; i < o.warmup + o.samples; i++) {
      const rtt = await once(i);
      if (i < o.warmup) continue;
      if (rtt === undefined) lost++;
      else rtts.push(rtt * 1000);
    }
    rtts.sort((a, b) => a - b);
    const counters = Object.fromEntries(Object.entries(relay.counters).filter(([, v]) => typeof v === 'number')) as Record<string, number>;
    return { p50: percentile(rtts, 0.5), p90: percentile(rtts, 0.9), p99: percentile(rtts, 0.99), min: rtts[0] ?? Number.NaN, count: rtts.length, lost, setupMs, counters };
  } finally {
    relay.ondatagram = null;
    relay.close();
    // The deleting Refresh is answered within a round trip; do not wait longer for a server that went away.
    await Promise.race([relay.closed, new Promise((resolve) => setTimeout(resolve, 2000).unref())]);
    relay.abort();
  }
}
