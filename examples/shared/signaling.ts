// The messages of the examples' signalling, over the relay's WebSocket rooms (/signal?room=<name>, two
// peers at most). The relay speaks three of its own; everything else is ours, forwarded verbatim to the
// other peer: our ICE parameters and our candidates as they trickle (RFC 8839 lines in RTCIceCandidateInit
// form, null at the end of candidates). Chat text never goes this way: it travels over ICE data.

export interface IceParametersMessage {
  type: 'params';
  usernameFragment: string;
  password: string;
}

export interface IceCandidateMessage {
  type: 'candidate';
  /** RTCIceCandidateInit; null means end of candidates. */
  candidate: { candidate: string; sdpMid?: string | null; sdpMLineIndex?: number | null; usernameFragment?: string | null } | null;
}

/** From the relay (src/node/signaling-relay.ts): on joining (`peers` already in the room: 0 or 1), and when the other comes or goes. */
export type RelayMessage = { type: 'welcome'; peers: number } | { type: 'peer-joined' } | { type: 'peer-left' } | { type: 'error'; message: string };

/** Sent now and then so the relay does not close an idle peer; the other side ignores it. */
export interface KeepaliveMessage {
  type: 'keepalive';
}

export type PeerMessage = IceParametersMessage | IceCandidateMessage;
export type SignalMessage = RelayMessage | PeerMessage | KeepaliveMessage;

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

/** A frame from the relay, checked field by field; undefined for anything we do not understand (dropped). */
export function parseSignal(text: string): SignalMessage | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!isObject(value)) return undefined;
  switch (value.type) {
    case 'welcome':
      return typeof value.peers === 'number' ? { type: 'welcome', peers: value.peers } : undefined;
    case 'peer-joined':
    case 'peer-left':
    case 'keepalive':
      return { type: value.type };
    case 'error':
      return { type: 'error', message: String(value.message ?? value.reason ?? 'unknown error') };
    case 'params':
      return typeof value.usernameFragment === 'string' && typeof value.password === 'string'
        ? { type: 'params', usernameFragment: value.usernameFragment, password: value.password }
        : undefined;
    case 'candidate': {
      const c = value.candidate;
      if (c === null) return { type: 'candidate', candidate: null };
      if (!isObject(c) || typeof c.candidate !== 'string') return undefined;
      return {
        type: 'candidate',
        candidate: {
          candidate: c.candidate,
          sdpMid: typeof c.sdpMid === 'string' ? c.sdpMid : null,
          sdpMLineIndex: typeof c.sdpMLineIndex === 'number' ? c.sdpMLineIndex : null,
          usernameFragment: typeof c.usernameFragment === 'string' ? c.usernameFragment : null,
        },
      };
    }
    default:
      return undefined;
  }
}

/** How often a peer says something to the relay, well inside its idle timeout (600 s by default). */
export const KEEPALIVE_MS = 120_000;

/** Room names the relay accepts. */
export const ROOM_NAME = /^[A-Za-z0-9_-]{1,64}$/;
