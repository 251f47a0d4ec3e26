// What the Node bridge (bridge/webtransport-supervisor.ts) and its Deno child (main.ts) say to each other:
// one JSON value per line, the child's configuration first on stdin, then messages both ways. Types only:
// imported by both runtimes, so nothing here may touch Node or Deno.
import type { BridgeMetricsSnapshot } from '../../src/bridge/metrics.js';
import type { LookupAnswer, LookupFailure, SessionLimits } from '../../src/bridge/session-types.js';
import type { AddressFamily } from '../../src/net/transport-address.js';

/** The child's whole configuration: the first line on its stdin (secrets and keys never go on argv). */
export interface WebTransportChildConfig {
  /** Address the QUIC endpoint binds to. */
  hostname: string;
  /** UDP port of the QUIC endpoint; 0 picks a free one (the `ready` message says which). */
  port: number;
  /** URL path sessions must ask for. */
  path: string;
  /** The certificate chain and its private key, PEM text (read by the parent: the child needs no file access). */
  cert: string;
  key: string;
  secrets: string[];
  allowAnonymous: boolean;
  maxSessions: number;
  limits: SessionLimits;
  policy: {
    allowLoopback: boolean;
    allow: string[];
    deny: string[];
    allowHostAddresses: boolean;
    allowHostPorts: number[];
  };
  udpBindAddress: { IPv4: string; IPv6: string };
  /** The operator's `hostAddresses`: announced in `bound` frames when given. */
  hostAddresses: string[] | undefined;
  /** The host's own addresses now, as the parent's watcher sees them (the child needs no --allow-sys). */
  host: HostAddresses;
  /** Extra CAs (PEM) for TLS streams. */
  tlsCa: string[] | undefined;
  /** QUIC idle timeout: a peer gone without a word is noticed after this long. */
  quicIdleTimeoutMs: number;
  /** QUIC keep-alive period, under the idle timeout on both sides. */
  quicKeepAliveMs: number;
  /** How long a new session may take to open its control stream before it is closed. */
  controlStreamTimeoutMs: number;
  /** How often a metrics snapshot goes to the parent. */
  metricsIntervalMs: number;
}

/** The bridge host's addresses, read by the parent. */
export interface HostAddresses {
  /** Every address of the host (and the operator's hostAddresses): denied as destinations unless allowed. */
  own: string[];
  /** What a socket bound to a wildcard address announces, per family (loopback only with allowLoopback). */
  announce: { IPv4: string[]; IPv6: string[] };
}

/** Child → parent. */
export type ChildMessage =
  | { type: 'ready'; hostname: string; port: number; path: string; pid: number }
  /** One JSON session log line, exactly as the WebSocket carrier writes them. */
  | { type: 'log'; line: string }
  | { type: 'metrics'; snapshot: BridgeMetricsSnapshot; sessions: number }
  /** A name lookup for a session: the parent answers with the bridge's own resolver and cache. */
  /** `mdns`: a `<uuid>.local` name, resolved by the parent's mDNS (it refuses when the bridge has none). */
  | { type: 'lookup'; id: number; name: string; families: AddressFamily[]; mdns?: boolean }
  /** The child cannot go on (bad certificate, port taken): it exits after this. */
  | { type: 'fatal'; error: string };

/** Parent → child. */
export type ParentMessage =
  | { type: 'lookup-answer'; id: number; answers: LookupAnswer[] }
  | { type: 'lookup-answer'; id: number; failure: LookupFailure; reason: string }
  /** The host's addresses changed (the parent watches the interfaces). */
  /** `hostAddresses`: the operator's list now (RunningBridge.setHostAddresses), when it changed. */
  | { type: 'host-addresses'; host: HostAddresses; hostAddresses?: string[] | null }
  | { type: 'metrics-request' }
  /** Close every session with 1001 and exit. */
  | { type: 'stop' };
