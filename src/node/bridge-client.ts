// connectBridge(): BridgeConnection.connect with the `ws` package's WebSocket, which Node 20 lacks globally.
import { WebSocket } from 'ws';
import { BridgeConnection, type BridgeConnectOptions, type WebSocketConstructor } from '../net/bridge-client.js';

export interface NodeBridgeConnectOptions extends Omit<BridgeConnectOptions, 'WebSocket'> {
  /** The Origin header to send; browsers always send one, Node sends none unless told. */
  origin?: string;
  /** Extra HTTP headers of the upgrade request. */
  headers?: Record<string, string>;
}

export function connectBridge(url: string, options: NodeBridgeConnectOptions = {}): Promise<BridgeConnection> {
  // Not an object: connect() names the mistake (destructuring would not).
  if (options === null || typeof options !== 'object') return BridgeConnection.connect(url, options);
  const { origin, headers, ...rest } = options;
  const wsOptions = { origin, headers, perMessageDeflate: false };
  // ws takes its options after the subprotocols; the isomorphic client passes the URL and the subprotocols.
  const NodeWebSocket = class extends WebSocket {
    constructor(address: string, protocols?: string | string[]) {
      super(address, protocols, wsOptions);
    }
  };
  return BridgeConnection.connect(url, { binaryType: 'nodebuffer', ...rest, WebSocket: NodeWebSocket as WebSocketConstructor });
}
