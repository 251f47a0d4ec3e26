// Node entry point (`icebridge/node`): everything in the isomorphic core, plus the Node socket adapters
// and server drivers.
export * from './index.js';
