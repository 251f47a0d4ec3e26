// Errors as one line a person can act on. icebridge's errors carry stable codes (BridgeError.closeCode,
// IcebridgeWorkerError.code, TurnError.code); the pages add a hint for the ones a user can do something about.

/** The bridge's close codes a page can meet at connect time (bridge/close-codes.ts). */
const BRIDGE_HINTS: Record<number, string> = {
  1006: 'the bridge is not reachable (is `icebridge serve` running?)',
  4001: 'the bridge refused the token (signed with another secret?)',
  4002: 'the bridge token has expired: reload the page for a new one',
  4003: "the bridge does not allow this page's origin",
  4008: 'the bridge has as many sessions as it allows',
  4011: 'the bridge session was idle for too long',
};

const WORKER_HINTS: Record<string, string> = {
  'start-failed': 'the icebridge Worker script (icebridge/worker.js) did not load',
  'start-timeout': 'the icebridge Worker did not start',
};

export function describeError(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const e = err as Error & { code?: unknown; closeCode?: unknown };
  let hint: string | undefined;
  if (e.name === 'BridgeError') hint = typeof e.closeCode === 'number' ? BRIDGE_HINTS[e.closeCode] : e.code === 'connect-failed' ? BRIDGE_HINTS[1006] : undefined;
  else if (e.name === 'IcebridgeWorkerError' && typeof e.code === 'string') hint = WORKER_HINTS[e.code];
  return hint ? `${hint} — ${e.name}: ${e.message}` : `${e.name}: ${e.message}`;
}
