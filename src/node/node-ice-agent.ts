// `IceAgent` as `icebridge/node` exports it: `new IceAgent(options)` is createIceAgent(options) — an ICE
// agent whose host sockets are real UDP sockets on this machine's interfaces — under the name a page uses
// for its Worker-backed agent (`import { IceAgent } from 'icebridge'`), so code reads the same in both.
// It is the core IceAgent (src/ice/ice-agent.ts), built by createIceAgent, so `instanceof` holds for both;
// to extend the agent, subclass the core class and give it `sockets` (what createIceAgent does).
import { IceAgent as CoreIceAgent } from '../ice/ice-agent.js';
import { createIceAgent, type NodeIceAgentOptions } from './ice-agent.js';

export interface NodeIceAgentConstructor {
  /** Like `new RTCPeerConnection(config)`: `{ iceServers, iceTransportPolicy, … }`; host sockets default to real UDP. */
  new (options?: NodeIceAgentOptions): CoreIceAgent;
  readonly prototype: CoreIceAgent;
}

function NodeIceAgent(options: NodeIceAgentOptions = {}): CoreIceAgent {
  // Called with `new`, a constructor that returns an object yields that object.
  return createIceAgent(options);
}
NodeIceAgent.prototype = CoreIceAgent.prototype;

export const IceAgent = NodeIceAgent as unknown as NodeIceAgentConstructor;
export type IceAgent = CoreIceAgent;
