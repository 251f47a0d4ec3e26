// The one error type of the bridge client: what went wrong, with a stable code an application can branch on.

/**
 * What went wrong with the bridge. `code` is stable: `closed` (with the WebSocket `closeCode`, e.g. 4001 when
 * the bridge refused the token — see bridge/close-codes.ts: the bridge was reached and ended the session),
 * `unreachable` (the WebSocket never opened: nothing listening, TLS failed — `wss://` to a plain port —, or no
 * bridge at that path; the reason names the URL, without its token, and in Node the cause; `closeCode` 1006),
 * `connect-failed` (a URL the WebSocket class refuses), `timeout` (no answer to a request within `requestTimeoutMs`), `protocol` (a bridge of another
 * protocol version, or one that broke the protocol), `socket-closed`, `stream-closed` (the bridge closed a
 * stream that had not ended both ways), `flow-control` (the bridge sent beyond the window granted to it), or an
 * error frame's code (`socket-limit`, `stream-limit`, `destination-denied`, `invalid-destination`,
 * `rate-limited`, `name-not-found`, `resolve-timeout`, `resolve-failed`, `connect-failed`, `connect-timeout`,
 * `tls-failed`, `stream-error`, `not-supported`, …).
 */
export class BridgeError extends Error {
  override readonly name = 'BridgeError';
  constructor(
    readonly code: string,
    readonly reason: string,
    readonly closeCode?: number,
  ) {
    super(closeCode === undefined ? `${code}: ${reason}` : `${code} (${closeCode}): ${reason}`);
  }
}
