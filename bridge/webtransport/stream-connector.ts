// TCP and TLS connections for bridge sessions (protocol v2 streams), made with Deno.connect/Deno.startTls —
// the Deno twin of bridge/stream-connector.ts, with the same events. TLS checks the server's certificate
// against the name the client gave (or the address when it gave none), trusting Deno's roots plus the
// operator's CAs; the tests' insecure mode is a process flag of the child (--unsafely-ignore-certificate-errors).
import type { TransportAddress } from '../../src/net/transport-address.js';

export interface StreamConnectOptions {
  remote: TransportAddress;
  tls: boolean;
  /** SNI and the certificate check; '' checks the certificate against the address. */
  serverName: string;
  /** Extra CAs trusted for TLS (PEM), added to Deno's. */
  ca: string[] | undefined;
}

export interface StreamEvents {
  connected(local: TransportAddress, remote: TransportAddress): void;
  /** The connection or the TLS handshake failed before `connected`. */
  failed(failure: 'connect-failed' | 'tls-failed', reason: string): void;
  data(bytes: Uint8Array): void;
  /** The peer sent FIN. */
  ended(): void;
  /** Gone, after `connected`; with the error text if it died of one. */
  closed(error: string | undefined): void;
}

const READ_CHUNK = 64 * 1024;

const NO_EVENTS: StreamEvents = { connected() {}, failed() {}, data() {}, ended() {}, closed() {} };

/**
 * One stream; the object exists at once so that a close before it connects can cancel it. An accepted one
 * (a listener's, `accepted`) is connected already and reads once `wire` gives it its events.
 */
export class DenoStream {
  private conn: Deno.TcpConn | Deno.TlsConn | undefined;
  private events: StreamEvents;
  private readonly abort = new AbortController();
  private destroyed = false;
  private paused = false;
  private resumeWaiter: (() => void) | undefined;
  private writing: Promise<void> = Promise.resolve();
  private remoteEnded = false;
  private localEnded = false;

  constructor(
    private readonly o: StreamConnectOptions,
    events: StreamEvents | undefined,
    accepted?: Deno.TcpConn,
  ) {
    this.events = events ?? NO_EVENTS;
    if (accepted === undefined) {
      void this.open();
      return;
    }
    accepted.setNoDelay(true);
    this.conn = accepted;
  }

  /** A connection a listener took in, not read until `wire`. */
  static accepted(conn: Deno.TcpConn, remote: TransportAddress): DenoStream {
    return new DenoStream({ remote, tls: false, serverName: '', ca: undefined }, undefined, conn);
  }

  /** An accepted stream's events: reading starts now. */
  wire(events: StreamEvents): void {
    if (this.destroyed || this.conn === undefined) return;
    this.events = events;
    void this.readLoop(this.conn);
  }

  write(bytes: Uint8Array, written: () => void): void {
    this.writing = this.writing.then(async () => {
      const conn = this.conn;
      if (this.destroyed || !conn) return;
      try {
        let at = 0;
        while (at < bytes.length) at += await conn.write(bytes.subarray(at));
        written();
      } catch (err) {
        this.fail(err);
      }
    });
  }

  /** FIN after the bytes already queued. */
  end(): void {
    this.writing = this.writing.then(async () => {
      const conn = this.conn;
      if (this.destroyed || !conn || this.localEnded) return;
      this.localEnded = true;
      try {
        await conn.closeWrite();
      } catch (err) {
        return this.fail(err);
      }
      if (this.remoteEnded) this.finish(undefined);
    });
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    this.resumeWaiter?.();
    this.resumeWaiter = undefined;
  }

  /** Closes at once; no event follows. */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.abort.abort();
    this.resume();
    try {
      this.conn?.close();
    } catch {
      // Closed already.
    }
  }

  private async open(): Promise<void> {
    const { address, port } = this.o.remote;
    let tcp: Deno.TcpConn;
    try {
      tcp = await Deno.connect({ hostname: address, port, transport: 'tcp', signal: this.abort.signal });
    } catch (err) {
      if (!this.destroyed) this.events.failed('connect-failed', errorText(err));
      return;
    }
    if (this.destroyed) return tcp.close();
    tcp.setNoDelay(true);
    let conn: Deno.TcpConn | Deno.TlsConn = tcp;
    if (this.o.tls) {
      try {
        const tls = await Deno.startTls(tcp, { hostname: this.o.serverName === '' ? address : this.o.serverName, caCerts: this.o.ca });
        conn = tls;
        this.conn = tls;
        await tls.handshake();
      } catch (err) {
        try {
          conn.close();
        } catch {
          // Closed by the failed handshake.
        }
        if (!this.destroyed) this.events.failed('tls-failed', errorText(err));
        return;
      }
      if (this.destroyed) return conn.close();
    }
    this.conn = conn;
    const local = conn.localAddr;
    const remote = conn.remoteAddr;
    this.events.connected({ address: local.hostname, port: local.port }, { address: remote.hostname, port: remote.port });
    await this.readLoop(conn);
  }

  private async readLoop(conn: Deno.TcpConn | Deno.TlsConn): Promise<void> {
    for (;;) {
      if (this.paused) await new Promise<void>((resolve) => (this.resumeWaiter = resolve));
      if (this.destroyed) return;
      const buffer = new Uint8Array(READ_CHUNK);
      let n: number | null;
      try {
        n = await conn.read(buffer);
      } catch (err) {
        return this.fail(err);
      }
      if (this.destroyed) return;
      if (n === null) {
        this.remoteEnded = true;
        this.events.ended();
        // TLS ends both ways on the peer's close_notify (as Node's TLS does); TCP waits for our own FIN.
        if (this.o.tls || this.localEnded) this.finish(undefined);
        return;
      }
      this.events.data(buffer.subarray(0, n));
    }
  }

  private fail(err: unknown): void {
    this.finish(errorText(err));
  }

  private finish(error: string | undefined): void {
    if (this.destroyed) return;
    this.destroyed = true;
    try {
      this.conn?.close();
    } catch {
      // Closed already.
    }
    this.events.closed(error);
  }
}

export function errorText(err: unknown): string {
  if (err instanceof Error) return err.name && err.name !== 'Error' ? `${err.name}: ${err.message}` : err.message;
  return String(err);
}
