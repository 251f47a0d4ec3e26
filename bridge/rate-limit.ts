// The token bucket lives with the isomorphic session engine (src/bridge/); re-exported for its other users.
export * from '../src/bridge/rate-limit.js';
