// The start of a bridge session: open a carrier and wait for the bridge's hello on it. A refusal arrives as a
// close after the upgrade (a code in 4000..4999), so the wait is for the hello, not for the carrier's open.
import { BridgeError } from './bridge-error.js';
import type { BridgeCarrier } from './bridge-carrier.js';
import { decodeBridgeFrame, type BridgeFrame, type BridgeLimits } from './bridge-frame.js';

/** The limits of a v2 session: every field of its hello. */
export type BridgeSessionLimits = Required<BridgeLimits>;

/** Resolves with the carrier and the hello's limits; rejects with a BridgeError (and closes the carrier). */
export function awaitHello(open: () => BridgeCarrier, version: number, timeoutMs: number): Promise<{ link: BridgeCarrier; limits: BridgeSessionLimits }> {
  return new Promise((resolve, reject) => {
    let link: BridgeCarrier;
    try {
      link = open();
    } catch (err) {
      reject(err instanceof BridgeError ? err : new BridgeError('connect-failed', err instanceof Error ? err.message : String(err)));
      return;
    }
    const fail = (error: BridgeError) => {
      clearTimeout(timer);
      link.close(1000);
      reject(error);
    };
    const timer = setTimeout(() => fail(new BridgeError('timeout', `no hello from the bridge over ${link.kind} within ${timeoutMs} ms`)), timeoutMs);
    link.onclose = (close) => fail(close.error ?? new BridgeError('closed', close.reason || 'the bridge closed the connection before its hello', close.code));
    link.onframe = (bytes) => {
      let frame: BridgeFrame;
      try {
        frame = decodeBridgeFrame(bytes);
      } catch (err) {
        fail(new BridgeError('protocol', `bad hello from the bridge: ${err instanceof Error ? err.message : String(err)}`));
        return;
      }
      if (frame.type !== 'hello') {
        fail(new BridgeError('protocol', `expected a hello from the bridge, got a ${frame.type} frame`));
        return;
      }
      if (frame.version !== version) {
        fail(new BridgeError('protocol', `the bridge speaks protocol ${frame.version} and this client needs ${version}: upgrade the bridge`));
        return;
      }
      clearTimeout(timer);
      // A v2 hello decodes with every v2 field, so the limits are complete.
      resolve({ link, limits: frame.limits as BridgeSessionLimits });
    };
  });
}
