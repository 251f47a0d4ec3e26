// A @web/test-runner plugin that gives a browser test an icebridge ICE agent in Node to talk to: the page's
// own RTCPeerConnection (Chromium's libwebrtc ICE) connects to it over loopback. The page drives it at
// /__ice/…:
//   GET  /__ice/stun                                   -> { urls }  icebridge's STUN server, for iceServers
//   POST /__ice/start   { role }                       -> { id, ufrag, pwd, candidates: ['a=candidate:…'], done }
//   POST /__ice/remote  { id, ufrag, pwd, candidates, endOfCandidates }
//                                                      -> { added: [...], ignored: [...] }  (non-loopback ignored)
//   GET  /__ice/state?id=                              -> { state, states, selected, received, dropped, ... }
//   POST /__ice/send    { id, text }                   -> { sent }
//   POST /__ice/close   { id }                         -> { closed }
// Everything binds to 127.0.0.1, and the agent's sockets are wrapped so that it neither sends to nor hears
// from anything but loopback (Chromium also gathers the machine's other interface; a check from there
// would otherwise become a peer-reflexive candidate the agent answers). Every agent and the STUN server are
// closed on serverStop.
import type { IncomingMessage } from 'node:http';
import type { TestRunnerPlugin } from '@web/test-runner';
import { formatCandidate, parseCandidate } from '../../src/ice/candidate.js';
import { IceAgent } from '../../src/ice/ice-agent.js';
import type { DatagramSocket } from '../../src/net/datagram-socket.js';
import { isIp, parseIp } from '../../src/net/ip.js';
import { startStunServer, type RunningStunServer } from '../../src/node/stun-server.js';
import { UdpSocket } from '../../src/node/udp-socket.js';
import { TcpActiveSocket, TcpPassiveSocket } from '../../src/node/tcp-candidate-sockets.js';

const HOST = '127.0.0.1';
/** Most agents alive at once: a runaway test cannot bind sockets without end. */
const MAX_AGENTS = 16;
/** Most `received` records kept per agent. */
const MAX_RECEIVED = 64;
const MAX_BODY = 64 * 1024;
const GATHER_TIMEOUT_MS = 5_000;

/** 127.0.0.0/8 or ::1 (an IPv4-mapped loopback address too). */
export function isLoopback(address: string): boolean {
  const raw = address.split('%')[0];
  if (!isIp(raw)) return false;
  const b = parseIp(raw);
  if (b.length === 4) return b[0] === 127;
  const zeros10 = b.subarray(0, 10).every((x) => x === 0);
  if (zeros10 && b[10] === 0xff && b[11] === 0xff) return b[12] === 127;
  return b.subarray(0, 15).every((x) => x === 0) && b[15] === 1;
}

interface Dropped {
  sent: number;
  received: number;
  from: string[];
}

/** The socket, but only loopback peers exist for it: sends elsewhere and datagrams from elsewhere are dropped. */
function loopbackOnly(socket: DatagramSocket, dropped: Dropped): DatagramSocket {
  const guarded: DatagramSocket = {
    localAddress: socket.localAddress,
    send(bytes, to) {
      if (isLoopback(to.address)) socket.send(bytes, to);
      else dropped.sent++;
    },
    ondatagram: null,
    onclose: null,
    onunreachable: null,
    close: () => socket.close(),
  };
  // A TCP candidate's closed connection fails its pairs (RFC 6544 §7.1).
  socket.onunreachable = (error) => guarded.onunreachable?.(error);
  socket.ondatagram = (bytes, from) => {
    if (isLoopback(from.address)) {
      guarded.ondatagram?.(bytes, from);
      return;
    }
    dropped.received++;
    if (dropped.from.length < 8 && !dropped.from.includes(from.address)) dropped.from.push(from.address);
  };
  socket.onclose = (reason) => guarded.onclose?.(reason);
  return guarded;
}

interface Received {
  at: number;
  length: number;
  /** The first byte: 20..63 is DTLS (RFC 7983), which is what a browser sends once ICE is up. */
  firstByte: number;
  text?: string;
}

interface Session {
  id: string;
  agent: IceAgent;
  /** The transport of its candidates: the remote candidates it takes. */
  protocol: 'udp' | 'tcp';
  created: number;
  states: string[];
  received: Received[];
  receivedCount: number;
  dropped: Dropped;
  remote: { added: string[]; ignored: string[] };
  remoteParameters?: { ufrag: string; pwd: string };
}

const sessions = new Map<string, Session>();
let nextId = 1;
let stun: Promise<RunningStunServer> | undefined;

function session(id: unknown): Session {
  const s = typeof id === 'string' ? sessions.get(id) : undefined;
  if (!s) throw new Error(`no ICE agent ${JSON.stringify(id)}`);
  return s;
}

async function start(body: Record<string, unknown>): Promise<unknown> {
  const role = body.role;
  if (role !== 'controlling' && role !== 'controlled') throw new Error(`role must be controlling or controlled, not ${JSON.stringify(role)}`);
  if (sessions.size >= MAX_AGENTS) throw new Error(`${MAX_AGENTS} ICE agents are open already`);
  const dropped: Dropped = { sent: 0, received: 0, from: [] };
  // 'tcp': one passive RFC 6544 host TCP candidate, no UDP (the page's active candidate connects to it);
  // 'tcp-active': one active one (it connects to the page's passive candidate, a bridge listener).
  const tcp = body.protocol === 'tcp' || body.protocol === 'tcp-active';
  const tcpSocket = async () =>
    body.protocol === 'tcp-active' ? { socket: loopbackOnly(new TcpActiveSocket(HOST), dropped), tcpType: 'active' as const } : { socket: loopbackOnly(await TcpPassiveSocket.listen(HOST), dropped), tcpType: 'passive' as const };
  const agent = new IceAgent({
    role,
    // Host candidates on loopback only; no STUN/TURN servers, so nothing but 127.0.0.1 is gathered.
    sockets: async () => (tcp ? [] : [loopbackOnly(await UdpSocket.bind({ address: HOST }), dropped)]),
    ...(tcp ? { tcpSockets: async () => [await tcpSocket()] } : {}),
  });
  const id = `a${nextId++}`;
  const s: Session = { id, agent, protocol: tcp ? 'tcp' : 'udp', created: Date.now(), states: [agent.state], received: [], receivedCount: 0, dropped, remote: { added: [], ignored: [] } };
  sessions.set(id, s);
  agent.addEventListener('statechange', () => s.states.push(agent.state));
  agent.addEventListener('data', (e) => {
    const data = (e as Event & { data?: Uint8Array }).data;
    if (!data) return;
    s.receivedCount++;
    if (s.received.length >= MAX_RECEIVED) return;
    const record: Received = { at: Date.now() - s.created, length: data.length, firstByte: data[0] ?? -1 };
    if (data.length > 0 && data.length <= 256 && data.every((b) => b >= 0x20 && b < 0x7f)) record.text = new TextDecoder().decode(data);
    s.received.push(record);
  });
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`gathering did not complete in ${GATHER_TIMEOUT_MS} ms`)), GATHER_TIMEOUT_MS);
  });
  try {
    await Promise.race([agent.gather(), timeout]);
  } catch (err) {
    agent.close();
    sessions.delete(id);
    throw err;
  } finally {
    clearTimeout(timer);
  }
  const { usernameFragment, password } = agent.localParameters;
  return {
    id,
    ufrag: usernameFragment,
    pwd: password,
    candidates: agent.localCandidates.map((c) => `a=${formatCandidate(c)}`),
    done: agent.gatheringState === 'complete',
  };
}

async function remote(body: Record<string, unknown>): Promise<unknown> {
  const s = session(body.id);
  const { ufrag, pwd } = body;
  if (typeof ufrag !== 'string' || typeof pwd !== 'string') throw new Error('ufrag and pwd must be strings');
  if (!s.remoteParameters) {
    await s.agent.setRemoteParameters({ usernameFragment: ufrag, password: pwd });
    s.remoteParameters = { ufrag, pwd };
  } else if (s.remoteParameters.ufrag !== ufrag || s.remoteParameters.pwd !== pwd) {
    throw new Error('the remote ufrag/pwd changed: an ICE restart is not what this endpoint is for');
  }
  const lines = Array.isArray(body.candidates) ? body.candidates : [];
  const added: string[] = [];
  const ignored: string[] = [];
  for (const line of lines) {
    if (typeof line !== 'string') continue;
    const candidate = parseCandidate(line);
    // Only loopback candidates reach the agent: every check it sends goes to 127.0.0.1 or ::1.
    if (candidate.protocol !== s.protocol || !isLoopback(candidate.address)) {
      ignored.push(line);
      continue;
    }
    await s.agent.addRemoteCandidate(candidate);
    added.push(formatCandidate(candidate));
  }
  if (body.endOfCandidates === true) await s.agent.addRemoteCandidate(null);
  s.remote.added.push(...added);
  s.remote.ignored.push(...ignored);
  return { added, ignored };
}

async function state(id: string | null): Promise<unknown> {
  const s = session(id);
  const selected = s.agent.getSelectedCandidatePair();
  return {
    state: s.agent.state,
    states: s.states,
    role: s.agent.role,
    selected: selected ? { local: formatCandidate(selected.local), remote: formatCandidate(selected.remote) } : null,
    received: s.received,
    receivedCount: s.receivedCount,
    dropped: s.dropped,
    remote: s.remote,
    counters: { ...s.agent.engine.counters },
    pairs: (await s.agent.getStats()).map((p) => ({
      state: p.state,
      nominated: p.nominated,
      selected: p.selected,
      local: `${String(p.local.address)}:${String(p.local.port)}`,
      remote: `${String(p.remote.address)}:${String(p.remote.port)} ${String(p.remote.type)}`,
      requestsSent: p.requestsSent,
      requestsReceived: p.requestsReceived,
      responsesReceived: p.responsesReceived,
    })),
  };
}

function send(body: Record<string, unknown>): unknown {
  const s = session(body.id);
  if (typeof body.text !== 'string') throw new Error('text must be a string');
  return { sent: s.agent.send(body.text) };
}

function close(body: Record<string, unknown>): unknown {
  const s = sessions.get(String(body.id));
  if (!s) return { closed: false };
  s.agent.close();
  sessions.delete(s.id);
  return { closed: true };
}

async function stunUrls(): Promise<unknown> {
  stun ??= startStunServer({ port: 0, hosts: [HOST] });
  const server = await stun;
  return { urls: `stun:${HOST}:${server.addresses[0].port}` };
}

function readBody(req: IncomingMessage): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY) {
        reject(new Error(`request body over ${MAX_BODY} bytes`));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      try {
        const text = Buffer.concat(chunks).toString('utf8');
        const parsed: unknown = text === '' ? {} : JSON.parse(text);
        if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('body must be a JSON object');
        resolve(parsed as Record<string, unknown>);
      } catch (err) {
        reject(err instanceof Error ? err : new Error(String(err)));
      }
    });
    req.on('error', reject);
  });
}

async function closeAll(): Promise<void> {
  for (const s of sessions.values()) s.agent.close();
  sessions.clear();
  const server = stun;
  stun = undefined;
  if (server) await (await server.catch(() => undefined))?.close();
}

export function icePeerPlugin(): TestRunnerPlugin {
  return {
    name: 'icebridge-ice-peer',
    async serverStop() {
      await closeAll();
    },
    async serve(context) {
      const prefix = '/__ice/';
      if (!context.path.startsWith(prefix)) return undefined;
      const name = context.path.slice(prefix.length);
      let result: unknown;
      try {
        if (context.method === 'GET' && name === 'stun') result = await stunUrls();
        else if (context.method === 'GET' && name === 'state') result = await state(new URL(context.url, 'http://x').searchParams.get('id'));
        else if (context.method === 'POST') {
          const body = await readBody(context.req);
          if (name === 'start') result = await start(body);
          else if (name === 'remote') result = await remote(body);
          else if (name === 'send') result = send(body);
          else if (name === 'close') result = close(body);
          else result = { error: `no such endpoint POST ${context.path}` };
        } else result = { error: `no such endpoint ${context.method} ${context.path}` };
      } catch (err) {
        result = { error: err instanceof Error ? err.message : String(err) };
      }
      return { body: JSON.stringify(result), type: 'json', headers: { 'cache-control': 'no-store' } };
    },
  };
}
