// Sequential ping-pong of a small datagram over any DatagramSocket-shaped object, timed where it runs (the
// bench Worker, or the page through the icebridge Worker's handles): percentiles in µs.
import type { TransportAddress } from '../../src/net/transport-address.js';

export interface PingPongResult {
  count: number;
  lost: number;
  p50: number;
  p90: number;
  p99: number;
  min: number;
  mean: number;
  elapsedMs: number;
}

function percentile(sorted: Float64Array, p: number): number {
  return sorted.length === 0 ? Number.NaN : sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
}

/** Sequential ping-pong: each datagram carries its sequence number; one is counted lost after timeoutMs. */
export async function pingPong(
  socket: { send(bytes: Uint8Array, to: TransportAddress): void; ondatagram: ((bytes: Uint8Array, from: TransportAddress) => void) | null },
  c: { host: string; port: number; payloadBytes: number; warmup: number; samples: number; timeoutMs: number; maxMs: number },
): Promise<PingPongResult> {
  const to = { address: c.host, port: c.port };
  const total = c.warmup + c.samples;
  const samples = new Float64Array(c.samples);
  let n = 0;
  let taken = 0;
  let lost = 0;
  let sentAt = 0;
  let t0 = performance.now();
  const deadline = t0 + c.maxMs;
  await new Promise<void>((resolve) => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const next = () => {
      clearTimeout(timer);
      if (n >= total || performance.now() > deadline) {
        socket.ondatagram = null;
        resolve();
        return;
      }
      if (n === c.warmup) t0 = performance.now();
      const payload = new Uint8Array(c.payloadBytes);
      new DataView(payload.buffer).setUint32(0, n);
      const seq = n;
      timer = setTimeout(() => {
        if (seq !== n) return;
        if (n >= c.warmup) lost++;
        n++;
        next();
      }, c.timeoutMs);
      sentAt = performance.now();
      socket.send(payload, to);
    };
    socket.ondatagram = (bytes) => {
      if (bytes.length < 4 || new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(0) !== n) return; // a late answer
      const us = (performance.now() - sentAt) * 1000;
      if (n >= c.warmup) samples[taken++] = us;
      n++;
      next();
    };
    next();
  });
  const elapsedMs = performance.now() - t0;
  const sorted = samples.subarray(0, taken).sort();
  let sum = 0;
  for (const v of sorted) sum += v;
  return { count: taken, lost, p50: percentile(sorted, 0.5), p90: percentile(sorted, 0.9), p99: percentile(sorted, 0.99), min: sorted[0] ?? Number.NaN, mean: sum / Math.max(1, taken), elapsedMs };
}

