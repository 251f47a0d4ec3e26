// Two-tab chat: each tab joins the room of its URL on the signalling relay, and once both are there they
// connect peer-to-peer with icebridge (an agent in the Worker, its sockets on the bridge), then send chat
// text over ICE data. The first peer in the room is controlling. "Force relay" sets iceTransportPolicy
// 'relay' for this tab's agent, so its side of the path goes through the TURN server.
import { createIceAgent } from 'icebridge/worker';
import { element, h } from '../shared/dom.js';
import { describeError } from '../shared/errors.js';
import { carrierText, fetchConfig, signalingUrl } from '../shared/page-setup.js';
import { PeerSession, type PathEnd, type SessionState } from '../shared/peer-session.js';
import { ROOM_NAME } from '../shared/signaling.js';

const chat = element('#chat');
const joinButton = element<HTMLButtonElement>('#join');
const leaveButton = element<HTMLButtonElement>('#leave');
const forceRelay = element<HTMLInputElement>('#force-relay');
const messageInput = element<HTMLInputElement>('#message');
const sendButton = element<HTMLButtonElement>('#send');
const messages = element<HTMLOListElement>('#messages');

/** The room of the URL, or a new random one written into the URL, so the link can be shared as is. */
function roomOfUrl(): string {
  const url = new URL(location.href);
  const room = url.searchParams.get('room');
  if (room !== null && ROOM_NAME.test(room)) return room;
  const fresh = `room-${crypto.getRandomValues(new Uint32Array(1))[0].toString(36)}`;
  url.searchParams.set('room', fresh);
  history.replaceState(null, '', url);
  return fresh;
}

const room = roomOfUrl();
element('#room-name').textContent = room;
element<HTMLInputElement>('#room-link').value = location.href;
forceRelay.checked = new URLSearchParams(location.search).get('relay') === '1';

element('#copy-link').addEventListener('click', () => {
  const link = element<HTMLInputElement>('#room-link');
  link.select();
  navigator.clipboard?.writeText(link.value).catch(() => {});
});

function log(line: string): void {
  const list = element('#log');
  list.append(h('li', {}, `${new Date().toLocaleTimeString()} ${line}`));
  list.scrollTop = list.scrollHeight;
}

function addMessage(kind: 'in' | 'out' | 'system', text: string): void {
  const item = h('li', { class: `message ${kind}` }, kind === 'system' ? null : h('time', {}, `${kind === 'in' ? 'peer' : 'you'} · ${new Date().toLocaleTimeString()}`), text);
  messages.append(item);
  messages.scrollTop = messages.scrollHeight;
}

function showState(state: SessionState | 'idle', detail: string): void {
  const before = chat.dataset.state;
  chat.dataset.state = state;
  if (state === 'connected' && before !== 'connected') addMessage('system', 'connected: messages now go peer-to-peer over ICE');
  if (state === 'failed' && before !== 'failed') addMessage('system', detail);
  element('#state').textContent = detail;
  const connected = state === 'connected';
  messageInput.disabled = sendButton.disabled = !connected;
}

function showPath(path: { local: PathEnd; remote: PathEnd } | null): void {
  const cell = element('#path');
  if (!path) {
    cell.textContent = '—';
    delete cell.dataset.local;
    delete cell.dataset.remote;
    return;
  }
  const end = (c: PathEnd) => `${c.type} ${c.address}:${c.port}`;
  const relayed = path.local.type === 'relay' || path.remote.type === 'relay';
  const pair = `${end(path.local)} ↔ ${end(path.remote)}`;
  cell.replaceChildren(h('b', {}, relayed ? 'relayed through TURN' : 'direct'), h('span', {}, pair));
  cell.dataset.local = path.local.type;
  cell.dataset.remote = path.remote.type;
  log(`selected pair: ${pair}`);
}

let socket: WebSocket | undefined;
let session: PeerSession | undefined;

async function join(): Promise<void> {
  joinButton.disabled = true;
  forceRelay.disabled = true;
  leaveButton.disabled = false;
  const iceTransportPolicy = forceRelay.checked ? 'relay' : 'all';
  showState('waiting', 'joining the room…');
  const ws = new WebSocket(signalingUrl(room, await fetchConfig()));
  const current = new PeerSession({
    async createAgent(role) {
      element('#role').textContent = role;
      const config = await fetchConfig();
      const agent = await createIceAgent({ bridge: config.bridge, iceServers: config.iceServers, iceTransportPolicy, role });
      element('#carrier').textContent = carrierText(agent);
      return agent;
    },
    signal: (text) => {
      if (ws.readyState === WebSocket.OPEN) ws.send(text);
    },
    onstate: showState,
    onpath: showPath,
    onmessage: (text) => addMessage('in', text),
    onpeer: (event) => addMessage('system', event === 'joined' ? 'the other peer joined' : 'the other peer left'),
    onlog: log,
  });
  socket = ws;
  session = current;
  ws.addEventListener('message', (e) => {
    if (typeof e.data === 'string') current.receive(e.data);
  });
  ws.addEventListener('close', (e) => {
    if (session !== current) return;
    log(`signalling closed (${e.code}${e.reason ? ` ${e.reason}` : ''})`);
    // ICE carries on without signalling; a session that was not connected yet cannot.
    if (current.state !== 'connected') {
      current.close();
      showState('failed', e.code === 1000 ? 'the signalling relay closed the connection' : `could not reach the signalling relay (${e.code}${e.reason ? `: ${e.reason}` : ''})`);
    }
  });
}

function leave(): void {
  session?.close();
  socket?.close(1000);
  session = undefined;
  socket = undefined;
  showPath(null);
  element('#role').textContent = '—';
  showState('idle', 'not in the room');
  joinButton.disabled = false;
  forceRelay.disabled = false;
  leaveButton.disabled = true;
}

joinButton.addEventListener('click', () => {
  join().catch((err: unknown) => {
    showState('failed', `could not join — ${describeError(err)}`);
    joinButton.disabled = forceRelay.disabled = false;
    leaveButton.disabled = true;
  });
});
leaveButton.addEventListener('click', leave);

element('#send-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const text = messageInput.value;
  if (text === '' || !session) return;
  if (session.send(text)) {
    addMessage('out', text);
    messageInput.value = '';
  } else addMessage('system', 'not sent: no connection to the peer right now');
});

chat.dataset.ready = 'true';
