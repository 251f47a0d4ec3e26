// What the Node side of the browser tests runs (see node-side.ts), and bounded waits for the page.
import type { BridgeConfig } from '../../src/worker.js';
import type { BrowserTestEnv } from './node-side.js';

export type { BrowserTestEnv };

/** Where the servers are, with a freshly minted bridge token. */
export async function testEnv(): Promise<BrowserTestEnv> {
  const response = await fetch('/__node/env');
  const body = (await response.json()) as BrowserTestEnv | { error: string };
  if ('error' in body) throw new Error(`/__node/env: ${body.error}`);
  return body;
}

/** Sessions the bridge has open now. */
export async function bridgeSessions(): Promise<number> {
  return ((await (await fetch('/__node/bridge-sessions')).json()) as { open: number }).open;
}

/** Rejects after `ms` with a message naming what was awaited. */
export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
    }),
  ]);
}

/** Resolves with the first event of `type` on `target` that passes `test`. */
export function nextEvent<E extends Event>(target: EventTarget, type: string, test: (e: E) => boolean = () => true): Promise<E> {
  return new Promise((resolve) => {
    const listener = (e: Event) => {
      if (!test(e as E)) return;
      target.removeEventListener(type, listener);
      resolve(e as E);
    };
    target.addEventListener(type, listener);
  });
}

/** Polls `probe` (each 20 ms) until it is true; for state on the Node side only, never for page events. */
export async function until(probe: () => Promise<boolean>, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Sessions the named bridge (BrowserTestEnv.named) has open now. */
export async function namedBridgeSessions(): Promise<number> {
  return ((await (await fetch('/__node/named-bridge-sessions')).json()) as { open: number }).open;
}

/** The carriers every Worker ICE scenario runs over (one parametrised suite). */
export const CARRIERS = ['websocket', 'webtransport'] as const;
export type Carrier = (typeof CARRIERS)[number];

/**
 * The bridge config a page passes for `carrier`: the WebSocket URL with its token alone, or with the bridge's
 * WebTransport endpoint and certificate hash and that carrier forced (the token is taken from the URL's query).
 */
export function bridgeOver(
  carrier: Carrier,
  bridge: { tokenUrl: string; webTransportUrl?: string; certificateHashes?: { algorithm: 'sha-256'; value: string }[] },
): BridgeConfig {
  if (carrier === 'websocket') return bridge.tokenUrl;
  if (!bridge.webTransportUrl) throw new Error('the test bridge serves no WebTransport (is deno installed? does startBridge take { webTransport }?)');
  return { url: bridge.tokenUrl, webTransportUrl: bridge.webTransportUrl, certificateHashes: bridge.certificateHashes, carrier: 'webtransport' };
}
