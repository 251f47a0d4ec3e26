// The signalling relay of `icebridge serve`: two peers meet in a named room and pass each other their ICE
// parameters and candidates (RFC 8839 lines or JSON — the relay never looks inside). It is a dev tool for
// the example pages, not a product: no accounts, no persistence, two peers per room.
//
// Protocol (what the example pages code against):
//
//   Connect a WebSocket to  ws://HOST:PORT/signal?room=<name>,  name matching [A-Za-z0-9_-]{1,64}.
//
//   Server → client, JSON text frames the relay itself sends:
//     {"type":"welcome","peers":N}   once, on joining; N = peers already in the room (0 or 1)
//     {"type":"peer-joined"}         the other peer arrived (sent to the one already there)
//     {"type":"peer-left"}           the other peer's connection ended; the room stays open for a new one
//   Client → client: every other text frame a peer sends is forwarded verbatim, as one text frame, to the
//   other peer in the room. The relay checks only its size. Frames sent while alone in the room are
//   dropped (counted as `no-peer`), not queued: start the exchange on `peer-joined`, or on `welcome` with
//   peers 1. Pick message `type`s other than the three above, so a peer can tell them apart.
//
//   Close codes (the reason text is for people):
//     4000 "bad room name"        the room query parameter is missing or not [A-Za-z0-9_-]{1,64}
//     4008 "room full"            two peers are in the room already
//     4013 "too many rooms"       `maxRooms` rooms are open already
//     1003 "text frames only"     a binary frame was sent
//     1009                        a frame larger than `maxMessageBytes` (16 KiB by default)
//     1008 "message rate exceeded" more than `messagesPerSecond` (burst `messageBurst`)
//     4011 "idle"                 nothing sent for `idleTimeoutMs`
//     1001 "server shutting down"
//   Refusals accept the upgrade and then close, so a browser sees the code in its CloseEvent.
//
// A room exists while a peer is in it: it is freed when its last peer leaves.
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { originList } from '../../bridge/option-checks.js';
import { TokenBucket } from '../../bridge/rate-limit.js';

export const SignalingCloseCode = {
  goingAway: 1001,
  unsupportedData: 1003,
  policyViolation: 1008,
  messageTooBig: 1009,
  badRoom: 4000,
  roomFull: 4008,
  idle: 4011,
  tooManyRooms: 4013,
} as const;

export interface SignalingRelayOptions {
  /** URL path of the WebSocket endpoint. Default '/signal'. */
  path?: string;
  /** Largest text frame, in bytes; larger ones close the connection with 1009. Default 16 384. */
  maxMessageBytes?: number;
  /** Frames a peer may send per second, sustained. Default 50. */
  messagesPerSecond?: number;
  /** Frames a peer may send at once before the rate applies. Default 200 (a full trickle of candidates). */
  messageBurst?: number;
  /** Rooms open at once; a peer that would open one more is closed with 4013. Default 1000. */
  maxRooms?: number;
  /** A peer that sends nothing for this long is closed with 4011 (its room is freed with it). Default 600 000 ms. */
  idleTimeoutMs?: number;
  /** Origins (`http://127.0.0.1:8787`) allowed to connect; others get an HTTP 403. Default: any. */
  allowOrigins?: string[];
}

export const SIGNALING_DEFAULTS = {
  path: '/signal',
  maxMessageBytes: 16_384,
  messagesPerSecond: 50,
  messageBurst: 200,
  maxRooms: 1000,
  idleTimeoutMs: 600_000,
} as const;

export type SignalingRefusal = 'bad-room' | 'room-full' | 'too-many-rooms' | 'origin-not-allowed';
export type SignalingClosure = 'too-large' | 'rate-limited' | 'binary' | 'idle';

export interface SignalingCounters {
  connectionsTotal: number;
  messagesRelayed: number;
  bytesRelayed: number;
  /** Frames from a peer alone in its room. */
  droppedNoPeer: number;
  refusals: Record<SignalingRefusal, number>;
  closures: Record<SignalingClosure, number>;
}

export interface RunningSignalingRelay {
  readonly counters: SignalingCounters;
  readonly roomCount: number;
  readonly peerCount: number;
  /** Prometheus text (format 0.0.4) of the counters. */
  metricsText(): string;
  /** Closes every peer (1001) and stops taking upgrades on `path`. */
  close(): Promise<void>;
}

const ROOM_NAME = /^[A-Za-z0-9_-]{1,64}$/;
/** How long a closing peer has to answer the close handshake before it is cut off. */
const CLOSE_GRACE_MS = 1000;

interface Peer {
  ws: WebSocket;
  room: string;
  bucket: TokenBucket;
  idle: NodeJS.Timeout | undefined;
}

function positive(name: string, value: number | undefined, fallback: number): number {
  const v = value ?? fallback;
  if (!Number.isInteger(v) || v < 1) throw new RangeError(`signalling option ${name} must be a positive integer, got ${v}`);
  return v;
}

function closeSoon(ws: WebSocket, code: number, reason: string): void {
  if (ws.readyState === ws.CLOSED || ws.readyState === ws.CLOSING) return;
  ws.close(code, reason);
  setTimeout(() => ws.terminate(), CLOSE_GRACE_MS).unref();
}

/** Handles WebSocket upgrades on `options.path` of `server`; other paths are left to other handlers. */
export function attachSignalingRelay(server: Server, options: SignalingRelayOptions = {}): RunningSignalingRelay {
  const path = options.path ?? SIGNALING_DEFAULTS.path;
  if (!path.startsWith('/')) throw new TypeError(`signalling option path must start with '/', got ${JSON.stringify(path)}`);
  const maxMessageBytes = positive('maxMessageBytes', options.maxMessageBytes, SIGNALING_DEFAULTS.maxMessageBytes);
  const rate = positive('messagesPerSecond', options.messagesPerSecond, SIGNALING_DEFAULTS.messagesPerSecond);
  const burst = positive('messageBurst', options.messageBurst, SIGNALING_DEFAULTS.messageBurst);
  const maxRooms = positive('maxRooms', options.maxRooms, SIGNALING_DEFAULTS.maxRooms);
  const idleTimeoutMs = positive('idleTimeoutMs', options.idleTimeoutMs, SIGNALING_DEFAULTS.idleTimeoutMs);
  const allowOrigins = originList(options.allowOrigins, 'signalling');

  const wss = new WebSocketServer({ noServer: true, maxPayload: maxMessageBytes, clientTracking: false, perMessageDeflate: false });
  const rooms = new Map<string, Peer[]>();
  const all = new Set<WebSocket>();
  let closing = false;
  const counters: SignalingCounters = {
    connectionsTotal: 0,
    messagesRelayed: 0,
    bytesRelayed: 0,
    droppedNoPeer: 0,
    refusals: { 'bad-room': 0, 'room-full': 0, 'too-many-rooms': 0, 'origin-not-allowed': 0 },
    closures: { 'too-large': 0, 'rate-limited': 0, binary: 0, idle: 0 },
  };

  const control = (ws: WebSocket, message: Record<string, unknown>) => {
    if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(message));
  };
  const otherIn = (peer: Peer): Peer | undefined => rooms.get(peer.room)?.find((p) => p !== peer);

  const leave = (peer: Peer) => {
    clearTimeout(peer.idle);
    const members = rooms.get(peer.room);
    if (!members || !members.includes(peer)) return;
    const rest = members.filter((p) => p !== peer);
    if (rest.length === 0) rooms.delete(peer.room);
    else {
      rooms.set(peer.room, rest);
      for (const p of rest) control(p.ws, { type: 'peer-left' });
    }
  };

  /** The relay closes a peer: it leaves the room now, so the other hears `peer-left` without waiting for the handshake. */
  const evict = (peer: Peer, closure: SignalingClosure, code: number, reason: string) => {
    counters.closures[closure]++;
    leave(peer);
    closeSoon(peer.ws, code, reason);
  };

  const armIdle = (peer: Peer) => {
    clearTimeout(peer.idle);
    peer.idle = setTimeout(() => evict(peer, 'idle', SignalingCloseCode.idle, 'idle'), idleTimeoutMs);
    peer.idle.unref();
  };

  const join = (ws: WebSocket, room: string) => {
    const members = rooms.get(room) ?? [];
    const peer: Peer = { ws, room, bucket: new TokenBucket(rate, burst, performance.now()), idle: undefined };
    rooms.set(room, [...members, peer]);
    armIdle(peer);
    ws.on('message', (data: RawData, isBinary: boolean) => {
      if (!rooms.get(room)?.includes(peer)) return;
      if (isBinary) return evict(peer, 'binary', SignalingCloseCode.unsupportedData, 'text frames only');
      if (!peer.bucket.take(1, performance.now())) return evict(peer, 'rate-limited', SignalingCloseCode.policyViolation, 'message rate exceeded');
      armIdle(peer);
      const other = otherIn(peer);
      if (!other || other.ws.readyState !== other.ws.OPEN) {
        counters.droppedNoPeer++;
        return;
      }
      const bytes = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
      counters.messagesRelayed++;
      counters.bytesRelayed += bytes.length;
      // Verbatim: the same bytes, as a text frame.
      other.ws.send(bytes, { binary: false });
    });
    ws.on('close', () => leave(peer));
    control(ws, { type: 'welcome', peers: members.length });
    for (const p of members) control(p.ws, { type: 'peer-joined' });
  };

  const refuse = (ws: WebSocket, refusal: SignalingRefusal, code: number, reason: string) => {
    counters.refusals[refusal]++;
    closeSoon(ws, code, reason);
  };

  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    if ((q < 0 ? url : url.slice(0, q)) !== path) return;
    socket.on('error', () => {});
    if (closing) {
      socket.end('HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    const origin = req.headers.origin;
    if (allowOrigins && origin !== undefined && !allowOrigins.has(origin.toLowerCase().replace(/\/+$/, ''))) {
      counters.refusals['origin-not-allowed']++;
      socket.end('HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      all.add(ws);
      counters.connectionsTotal++;
      // ws closes with 1009 by itself on an oversized frame and reports it here.
      ws.on('error', (err: Error & { code?: string }) => {
        if (err.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') counters.closures['too-large']++;
      });
      ws.once('close', () => all.delete(ws));
      let room: string | null = null;
      try {
        room = new URL(url, 'http://relay').searchParams.get('room');
      } catch {
        room = null;
      }
      if (room === null || !ROOM_NAME.test(room)) return refuse(ws, 'bad-room', SignalingCloseCode.badRoom, 'bad room name');
      const members = rooms.get(room);
      if (members && members.length >= 2) return refuse(ws, 'room-full', SignalingCloseCode.roomFull, 'room full');
      if (!members && rooms.size >= maxRooms) return refuse(ws, 'too-many-rooms', SignalingCloseCode.tooManyRooms, 'too many rooms');
      join(ws, room);
    });
  };
  server.on('upgrade', onUpgrade);

  return {
    counters,
    get roomCount() {
      return rooms.size;
    },
    get peerCount() {
      let n = 0;
      for (const members of rooms.values()) n += members.length;
      return n;
    },
    metricsText: () => signalingMetricsText(counters, rooms.size),
    async close() {
      if (closing) return;
      closing = true;
      server.off('upgrade', onUpgrade);
      await Promise.all(
        [...all].map(
          (ws) =>
            new Promise<void>((resolve) => {
              if (ws.readyState === ws.CLOSED) return resolve();
              ws.once('close', () => resolve());
              closeSoon(ws, SignalingCloseCode.goingAway, 'server shutting down');
            }),
        ),
      );
      for (const members of rooms.values()) for (const p of members) clearTimeout(p.idle);
      rooms.clear();
      wss.close();
    },
  };
}

function signalingMetricsText(c: SignalingCounters, rooms: number): string {
  const lines: string[] = [];
  const metric = (name: string, type: 'gauge' | 'counter', help: string, samples: [string, number][]) => {
    lines.push(`# HELP icebridge_signaling_${name} ${help}`, `# TYPE icebridge_signaling_${name} ${type}`);
    for (const [labels, value] of samples) lines.push(`icebridge_signaling_${name}${labels} ${value}`);
  };
  metric('rooms_open', 'gauge', 'Rooms with at least one peer.', [['', rooms]]);
  metric('connections_total', 'counter', 'WebSocket connections accepted, refused ones included.', [['', c.connectionsTotal]]);
  metric('messages_relayed_total', 'counter', 'Frames forwarded to the other peer.', [['', c.messagesRelayed]]);
  metric('bytes_relayed_total', 'counter', 'Bytes of the frames forwarded.', [['', c.bytesRelayed]]);
  metric('dropped_total', 'counter', 'Frames dropped, by reason.', [['{reason="no-peer"}', c.droppedNoPeer]]);
  metric('refusals_total', 'counter', 'Connections refused, by reason.', Object.entries(c.refusals).map(([r, v]) => [`{reason="${r}"}`, v]));
  metric('closures_total', 'counter', 'Peers closed by the relay, by reason.', Object.entries(c.closures).map(([r, v]) => [`{reason="${r}"}`, v]));
  return `${lines.join('\n')}\n`;
}
