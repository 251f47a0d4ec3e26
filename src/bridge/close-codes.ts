// Every WebSocket close code the bridge uses, in one place. 4xxx codes are the bridge's own (RFC 6455 §7.4.2
// leaves 4000–4999 to applications); the reason string says more and is meant for logs, not for parsing.
// A browser sees the code and reason in the CloseEvent even when the bridge refuses a connection, which an
// HTTP status on the upgrade would not give it, so refusals accept the upgrade and then close.

export const BridgeCloseCode = {
  /** The client closed, or the bridge closed a session for no fault of the client. */
  normal: 1000,
  /** The bridge is shutting down. */
  goingAway: 1001,
  /** A WebSocket message larger than `maxMessageBytes`: ws cuts it off before buffering it (RFC 6455 1009). */
  messageTooBig: 1009,
  /** An unexpected fault inside the bridge; the other sessions go on. */
  internalError: 1011,
  /** No token, a malformed token or a wrong signature (`username`/`credential` query parameters). */
  unauthorized: 4001,
  /** The token was signed by the secret but has expired: mint a new one. */
  credentialExpired: 4002,
  /** The Origin header is not in `allowOrigins`, or missing while `allowMissingOrigin` is false. */
  originNotAllowed: 4003,
  /** `maxSessions` sessions are open already. */
  tooManySessions: 4008,
  /** A frame larger than the session's largest data frame (`maxPayload` + 22 header bytes). */
  frameTooLarge: 4009,
  /** More than `maxMalformedFrames` malformed frames (a text message counts as one). */
  malformedFrames: 4010,
  /** Nothing sent or received for `idleTimeoutMs`. */
  idleTimeout: 4011,
} as const;

export type BridgeCloseCodeName = keyof typeof BridgeCloseCode;
