// What every example page asks the server first: /config.json (the bridge with a fresh token, the ICE
// servers, the signalling relay). The page client itself is imported as a user would, from 'icebridge/worker':
// `icebridge serve` (and `npm run build`) leave that import to /icebridge/worker-client.js, served beside the
// pages with its Worker, never bundled into them.
import type { BridgeCarrierKind, BridgeConfig, IceServerConfig } from 'icebridge/worker';

/** GET /config.json: the bridge (with a freshly minted token) and the server's own STUN and TURN. */
export interface ExampleConfig {
  /** With `webTransportUrl` and `certificateHashes` when the server runs WebTransport: the page prefers it. */
  bridge: Exclude<BridgeConfig, string>;
  iceServers: IceServerConfig[];
  /** The signalling relay, when the server runs one. */
  signal?: { url: string };
}

/** The page's URL for a path at the server's root ('config.json', 'signal'). */
export function serverUrl(path: string): URL {
  // Pages live one level down (/inspector/, /chat/).
  return new URL(`../${path}`, new URL('./', location.href));
}

/** A fresh /config.json: its bridge token expires, so ask again before each new connection. */
export async function fetchConfig(): Promise<ExampleConfig> {
  const response = await fetch(serverUrl('config.json'), { cache: 'no-store' });
  if (!response.ok) throw new Error(`GET /config.json: HTTP ${response.status}`);
  const config = (await response.json()) as Partial<ExampleConfig>;
  if (!config.bridge || typeof config.bridge.url !== 'string') throw new Error('GET /config.json: no bridge in it');
  return {
    bridge: config.bridge,
    iceServers: Array.isArray(config.iceServers) ? config.iceServers : [],
    signal: typeof config.signal?.url === 'string' ? { url: config.signal.url } : undefined,
  };
}

/** How the page shows a carrier, and why not WebTransport when the `auto` choice fell back. */
export function carrierText(agent: { carrier: BridgeCarrierKind; fallbackReason?: Error }): string {
  const name = agent.carrier === 'webtransport' ? 'WebTransport' : 'WebSocket';
  return agent.fallbackReason ? `${name} (WebTransport failed: ${agent.fallbackReason.message})` : name;
}

/** Shows in `el` which bridge an agent is on and over which carrier (`data-carrier` for tests and styles). */
export function showCarrier(el: HTMLElement, bridgeUrl: string, agent: { carrier: BridgeCarrierKind; fallbackReason?: Error }): void {
  el.textContent = `bridge: ${bridgeUrl} over ${carrierText(agent)}`;
  el.dataset.carrier = agent.carrier;
}

/** The relay's WebSocket URL for a room: the one /config.json names, else /signal next to the pages. */
export function signalingUrl(room: string, config?: ExampleConfig): string {
  const url = config?.signal ? new URL(config.signal.url) : serverUrl('signal');
  if (url.protocol.startsWith('http')) url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  url.searchParams.set('room', room);
  return url.href;
}
