// Public isomorphic API.
export * from './stun/index.js';
