// TURN relay load generator for bench/turn-relay.ts, a process of its own. Commands (JSON lines on stdin,
// one JSON line answered each):
//   run      allocates `allocations` relays on the server (icebridge's TURN client, long-term credentials),
//            binds a channel on each to a UDP peer socket of this process, then keeps `window` ChannelData
//            packets in flight: each packet the peer receives frees its slot and the slot sends again at once
//            (client -> server -> peer is what is measured; nothing comes back through the relay). A packet
//            not seen by the peer within `timeoutMs` is counted lost and resent, so loss never stalls the
//            window. Then it deallocates.
//   hold     makes `count` allocations (no channels) and keeps them, for the server's heap figure
//   release  deallocates those
// ChannelData is written by hand onto the allocation's own UDP socket (or, with `transport` tcp/tls, onto its
// control connection, RFC 8656 §12.5 framing), so the same bytes go to every server and the client engine
// costs nothing per packet. Payload: slot (u16) | generation (u32) | run nonce (6).
import { createSocket, type Socket } from 'node:dgram';
import { randomFillSync } from 'node:crypto';
import { createInterface } from 'node:readline';
import { TurnRelaySocket } from '../../src/turn/relay-socket.js';
import { UdpSocket } from '../../src/node/udp-socket.js';
import { StreamSocket } from '../../src/node/stream-socket.js';
import type { DatagramSocket } from '../../src/net/datagram-socket.js';
import { ownCpuMs, processCpuMs, threadCount, udpDrops } from '../lib/proc.js';

export interface TurnLoadRun {
  host: string;
  port: number;
  username: string;
  credential: string;
  allocations: number;
  window: number;
  payloadBytes: number;
  warmupMs: number;
  durationMs: number;
  timeoutMs: number;
  /** Whose CPU time to read from /proc over the measured window (the server under test). */
  serverPid?: number;
  /** How the allocations reach the server: UDP (default), or a TCP or TLS control connection each at `port`. */
  transport?: 'udp' | 'tcp' | 'tls';
  /**
   * For bench/servers/bare-relay.ts, which speaks no TURN: no allocations, channel 0x4000 on plain sockets,
   * and the peer announces itself with a "peer" datagram to the server.
   */
  raw?: boolean;
}

export interface TurnLoadResult {
  type: 'run';
  /** Packets the peer received during the measured window (the first copy of each). */
  delivered: number;
  elapsedMs: number;
  packetsPerSecond: number;
  sent: number;
  /** Packets not seen by the peer within timeoutMs (resent). */
  timeouts: number;
  lossPct: number;
  /** Datagrams at the peer that matched no packet in flight (late, duplicated, or not ours). */
  stale: number;
  generatorCpuMs: number;
  serverCpuMs: number | null;
  serverThreads: number | null;
  /** Kernel receive-buffer drops over the window: the server's listening socket, the peer socket. */
  serverSocketDrops: number | null;
  peerSocketDrops: number | null;
  setupMs: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function bindPeer(host: string): Promise<Socket> {
  const socket = createSocket({ type: 'udp4', recvBufferSize: 4 << 20 });
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(0, host, () => {
      socket.off('error', reject);
      socket.on('error', () => {});
      resolve();
    });
  });
  return socket;
}

type AllocateConfig = Pick<TurnLoadRun, 'host' | 'port' | 'username' | 'credential' | 'transport'>;

async function allocate(cfg: AllocateConfig): Promise<{ relay: TurnRelaySocket; base: DatagramSocket }> {
  const transport = cfg.transport ?? 'udp';
  const base: DatagramSocket =
    transport === 'udp'
      ? await UdpSocket.bind({ address: cfg.host, receiveBufferSize: 1 << 20, sendBufferSize: 4 << 20 })
      : await StreamSocket.connect({ host: cfg.host, port: cfg.port, tls: transport === 'tls' ? { rejectUnauthorized: false } : undefined });
  try {
    const relay = await TurnRelaySocket.allocate(base, {
      server: { address: cfg.host, port: cfg.port },
      username: cfg.username,
      credential: cfg.credential,
      transport,
      closeBase: true,
      timeoutMs: 10_000,
    });
    return { relay, base };
  } catch (err) {
    base.close();
    throw err;
  }
}

/** Deallocates (Refresh LIFETIME 0) and waits for the answers, bounded. */
async function deallocate(relays: readonly TurnRelaySocket[], maxMs = 5000): Promise<void> {
  const done = Promise.all(relays.map((r) => r.closed));
  for (const r of relays) r.close();
  await Promise.race([done, sleep(maxMs)]);
  for (const r of relays) r.abort();
}

export async function runLoad(cfg: TurnLoadRun): Promise<TurnLoadResult> {
  const W = cfg.window;
  if (!(W >= 1 && W <= 0xffff) || !(cfg.allocations >= 1 && cfg.allocations <= 64) || cfg.payloadBytes < 12) {
    throw new Error('window 1..65535, allocations 1..64, payload >= 12 bytes');
  }
  const t0Setup = performance.now();
  const peer = await bindPeer(cfg.host);
  const peerAddress = { address: cfg.host, port: peer.address().port };
  const allocations: { relay?: TurnRelaySocket; base: DatagramSocket; channel: number }[] = [];
  try {
    for (let i = 0; i < cfg.allocations; i++) {
      if (cfg.raw) {
        allocations.push({ base: await UdpSocket.bind({ address: cfg.host, receiveBufferSize: 1 << 20, sendBufferSize: 4 << 20 }), channel: 0x4000 });
        continue;
      }
      const a = await allocate(cfg);
      allocations.push({ ...a, channel: 0 });
      allocations[i].channel = await a.relay.bindChannel(peerAddress);
    }
    if (cfg.raw) {
      peer.send(Buffer.from('peer', 'latin1'), cfg.port, cfg.host);
      await sleep(100);
    }
    const setupMs = performance.now() - t0Setup;

    const nonce = randomFillSync(Buffer.alloc(6));
    const frames: Buffer[] = [];
    for (let slot = 0; slot < W; slot++) {
      const b = Buffer.alloc(4 + cfg.payloadBytes);
      b.writeUInt16BE(allocations[slot % allocations.length].channel, 0);
      b.writeUInt16BE(cfg.payloadBytes, 2);
      b.writeUInt16BE(slot, 4);
      nonce.copy(b, 10);
      frames.push(b);
    }
    const stream = cfg.transport === 'tcp' || cfg.transport === 'tls';
    const server = { address: cfg.host, port: cfg.port };
    const bases = frames.map((_, slot) => allocations[slot % allocations.length].base);
    const raws = bases.map((b) => (b instanceof UdpSocket ? b.raw : undefined));
    const generation = new Uint32Array(W);
    const outstanding = new Uint8Array(W);
    const sentAt = new Float64Array(W);
    let coarseNow = performance.now();
    let counting = false;
    let stopping = false;
    const r = { delivered: 0, sent: 0, timeouts: 0, stale: 0 };

    const send = (slot: number): void => {
      const g = (generation[slot] + 1) >>> 0;
      generation[slot] = g;
      frames[slot].writeUInt32BE(g, 6);
      outstanding[slot] = 1;
      sentAt[slot] = coarseNow;
      if (counting) r.sent++;
      // A stream may hold the bytes until the kernel takes them: it gets its own copy of the frame.
      if (stream) bases[slot].send(Buffer.from(frames[slot]), server);
      else raws[slot]!.send(frames[slot], cfg.port, cfg.host);
    };

    peer.on('message', (msg: Buffer) => {
      if (msg.length !== cfg.payloadBytes || msg.compare(nonce, 0, 6, 6, 12) !== 0) {
        r.stale++;
        return;
      }
      const slot = msg.readUInt16BE(0);
      if (slot >= W || outstanding[slot] === 0 || msg.readUInt32BE(2) !== generation[slot]) {
        r.stale++;
        return;
      }
      outstanding[slot] = 0;
      if (counting) r.delivered++;
      if (!stopping) send(slot);
    });

    const sweep = setInterval(() => {
      coarseNow = performance.now();
      if (stopping) return;
      for (let slot = 0; slot < W; slot++) {
        if (outstanding[slot] === 1 && coarseNow - sentAt[slot] > cfg.timeoutMs) {
          if (counting) r.timeouts++;
          send(slot);
        }
      }
    }, 20);

    try {
      for (let slot = 0; slot < W; slot++) send(slot);
      await sleep(cfg.warmupMs);
      const serverThreads = cfg.serverPid === undefined ? null : threadCount(cfg.serverPid);
      const serverCpu0 = cfg.serverPid === undefined ? null : processCpuMs(cfg.serverPid);
      const serverDrops0 = stream ? null : udpDrops(cfg.port);
      const peerDrops0 = udpDrops(peerAddress.port);
      const cpu0 = ownCpuMs();
      const t0 = performance.now();
      counting = true;
      await sleep(cfg.durationMs);
      counting = false;
      const t1 = performance.now();
      const generatorCpuMs = ownCpuMs() - cpu0;
      const serverCpu1 = cfg.serverPid === undefined ? null : processCpuMs(cfg.serverPid);
      const serverDrops1 = stream ? null : udpDrops(cfg.port);
      const peerDrops1 = udpDrops(peerAddress.port);
      stopping = true;
      await sleep(150);
      const elapsedMs = t1 - t0;
      return {
        type: 'run',
        ...r,
        elapsedMs,
        packetsPerSecond: r.delivered / (elapsedMs / 1000),
        lossPct: (100 * r.timeouts) / Math.max(1, r.sent),
        generatorCpuMs,
        serverCpuMs: serverCpu0 === null || serverCpu1 === null ? null : serverCpu1 - serverCpu0,
        serverThreads,
        serverSocketDrops: serverDrops0 === null || serverDrops1 === null ? null : serverDrops1 - serverDrops0,
        peerSocketDrops: peerDrops0 === null || peerDrops1 === null ? null : peerDrops1 - peerDrops0,
        setupMs,
      };
    } finally {
      clearInterval(sweep);
    }
  } finally {
    await deallocate(allocations.flatMap((a) => (a.relay ? [a.relay] : [])));
    for (const a of allocations) if (!a.relay) a.base.close();
    peer.close();
  }
}

const held: TurnRelaySocket[] = [];

async function hold(cfg: AllocateConfig & { count: number; concurrency: number; maxMs: number }): Promise<Record<string, unknown>> {
  const t0 = performance.now();
  let next = 0;
  const failures: string[] = [];
  const worker = async () => {
    while (next < cfg.count && performance.now() - t0 < cfg.maxMs && failures.length <= 20) {
      next++;
      try {
        held.push((await allocate(cfg)).relay);
      } catch (err) {
        failures.push(err instanceof Error ? err.message : String(err));
      }
    }
  };
  await Promise.all(Array.from({ length: cfg.concurrency }, worker));
  return { type: 'hold', held: held.length, failed: failures.length, firstFailure: failures[0], ms: performance.now() - t0 };
}

async function release(): Promise<Record<string, unknown>> {
  const relays = held.splice(0);
  const t0 = performance.now();
  // In batches: a thousand deleting Refreshes at once would be a burst the server's buffer may not hold.
  for (let i = 0; i < relays.length; i += 100) await deallocate(relays.slice(i, i + 100));
  return { type: 'release', released: relays.length, ms: performance.now() - t0 };
}

if (process.argv[1]?.endsWith('turn-load.ts')) {
  const lines = createInterface({ input: process.stdin });
  let queue = Promise.resolve();
  lines.on('line', (line) => {
    queue = queue.then(async () => {
      let reply: unknown;
      try {
        const cmd = JSON.parse(line) as { cmd: string } & TurnLoadRun & { count: number; concurrency: number; maxMs: number };
        if (cmd.cmd === 'run') reply = await runLoad(cmd);
        else if (cmd.cmd === 'hold') reply = await hold(cmd);
        else if (cmd.cmd === 'release') reply = await release();
        else throw new Error(`unknown command ${cmd.cmd}`);
      } catch (err) {
        reply = { type: 'error', message: err instanceof Error ? err.message : String(err) };
      }
      process.stdout.write(`${JSON.stringify(reply)}\n`);
    });
  });
  lines.on('close', () => void queue.finally(() => process.exit(0)));
  process.once('SIGTERM', () => process.exit(0));
  process.stdout.write(`${JSON.stringify({ type: 'ready', pid: process.pid })}\n`);
}
