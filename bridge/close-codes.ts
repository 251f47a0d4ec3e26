// The close codes live with the isomorphic session engine (src/bridge/); re-exported for the bridge's users.
export * from '../src/bridge/close-codes.js';
