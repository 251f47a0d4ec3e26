// The other peer of a chat room, in Node: joins the room on the signalling relay of an `icebridge serve`,
// connects to the browser tab with an icebridge IceAgent over real UDP (node:dgram, on --address only) and
// answers every chat message with "node-peer got: <text>".
//
//   node --import tsx examples/node-peer/main.ts --server http://127.0.0.1:8787 --room demo [--relay]
//
// It takes the STUN and TURN servers from the server's /config.json, speaks the same signalling as the chat
// page (examples/shared/), and prints what happens. Ctrl-C (or SIGTERM) closes everything and exits 0.
import { parseArgs } from 'node:util';
import { WebSocket } from 'ws';
import { createIceAgent } from '../../src/node.js';
import type { IceServerConfig } from '../../src/ice/gatherer.js';
import { PeerSession, type PathEnd } from '../shared/peer-session.js';
import { ROOM_NAME } from '../shared/signaling.js';

const usage = `usage: node --import tsx examples/node-peer/main.ts [options]

  --server <url>     the icebridge server (default http://127.0.0.1:8787)
  --room <name>      the chat room to join (default demo)
  --relay            relay candidates only (iceTransportPolicy 'relay')
  --address <ip>     the local address to gather host candidates on (default 127.0.0.1)
  --quiet            print chat messages and state only, not every candidate
  --help             this text`;

function fail(message: string): never {
  console.error(`node-peer: ${message}\n\n${usage}`);
  process.exit(2);
}

function parse() {
  try {
    return parseArgs({
      options: {
        server: { type: 'string', default: 'http://127.0.0.1:8787' },
        room: { type: 'string', default: 'demo' },
        relay: { type: 'boolean', default: false },
        address: { type: 'string', default: '127.0.0.1' },
        quiet: { type: 'boolean', default: false },
        help: { type: 'boolean', default: false },
      },
      strict: true,
    }).values;
  } catch (err) {
    return fail((err as Error).message);
  }
}

const args = parse();
if (args.help) {
  console.log(usage);
  process.exit(0);
}
const room = args.room!;
if (!ROOM_NAME.test(room)) fail(`room names are 1 to 64 of A-Z a-z 0-9 _ -, not '${room}'`);
let server: URL;
try {
  server = new URL(args.server!);
} catch {
  fail(`--server must be a URL like http://127.0.0.1:8787, not '${args.server}'`);
}

function print(line: string): void {
  console.log(`${new Date().toISOString().slice(11, 23)} ${line}`);
}

/** The server's STUN and TURN servers, from /config.json (the bridge in it is for pages, not for us). */
async function fetchIceServers(): Promise<IceServerConfig[]> {
  const url = new URL('config.json', server);
  const response = await fetch(url);
  if (!response.ok) throw new Error(`GET ${url}: HTTP ${response.status}`);
  const config = (await response.json()) as { iceServers?: IceServerConfig[] };
  return config.iceServers ?? [];
}

function describePath(path: { local: PathEnd; remote: PathEnd }): string {
  return `${path.local.type} ${path.local.address}:${path.local.port} ↔ ${path.remote.type} ${path.remote.address}:${path.remote.port}`;
}

const signalUrl = new URL('signal', server);
signalUrl.protocol = server.protocol === 'https:' ? 'wss:' : 'ws:';
signalUrl.searchParams.set('room', room);

const iceTransportPolicy = args.relay ? 'relay' : 'all';
const ws = new WebSocket(signalUrl);
const session = new PeerSession({
  async createAgent(role) {
    const iceServers = await fetchIceServers();
    print(`starting ICE as ${role} on ${args.address} (policy ${iceTransportPolicy}, ${iceServers.length} ICE server(s))`);
    return createIceAgent({ addresses: [args.address!], iceServers, iceTransportPolicy, role });
  },
  signal: (text) => {
    if (ws.readyState === WebSocket.OPEN) ws.send(text);
  },
  onstate: (state, detail) => print(`state: ${state} — ${detail}`),
  onpath: (path) => path && print(`path: ${describePath(path)}`),
  onpeer: (event) => print(`peer ${event}`),
  onmessage: (text) => {
    print(`message: ${JSON.stringify(text)}`);
    const reply = `node-peer got: ${text}`;
    if (session.send(reply)) print(`replied: ${JSON.stringify(reply)}`);
    else print('could not reply: no connection');
  },
  onlog: (line) => {
    if (!args.quiet) print(line);
  },
});

ws.on('open', () => print(`joined room ${room} at ${signalUrl.origin}`));
ws.on('message', (data, isBinary) => {
  if (!isBinary) session.receive(data.toString());
});
ws.on('error', (err) => print(`signalling error: ${err.message}`));
let stopping = false;
ws.on('close', (code, reason) => {
  print(`signalling closed (${code}${reason.length ? ` ${reason.toString()}` : ''})`);
  session.close();
  process.exit(stopping || code === 1000 || code === 1001 ? 0 : 1);
});

function shutdown(signal: string): void {
  print(`${signal}: closing`);
  stopping = true;
  session.close();
  ws.close(1000);
  // The close handshake needs the relay; do not wait on it for long.
  setTimeout(() => process.exit(0), 500).unref();
}
process.once('SIGINT', () => shutdown('SIGINT'));
process.once('SIGTERM', () => shutdown('SIGTERM'));
