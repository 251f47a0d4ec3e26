// A handle on V8's gc() without requiring --expose-gc on the command line (npm run bench passes no flags).
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

let cached: (() => void) | undefined;

/** Full collection. The flag must be set before the context that exposes `gc` is created, hence the new context. */
export function gc(): void {
  if (cached === undefined) {
    const existing = (globalThis as { gc?: () => void }).gc;
    if (typeof existing === 'function') cached = existing;
    else {
      setFlagsFromString('--expose-gc');
      cached = runInNewContext('gc') as () => void;
    }
  }
  cached();
}
