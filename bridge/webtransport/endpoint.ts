// The QUIC endpoint of the WebTransport carrier: listen, accept, upgrade, admit (path, token, capacity —
// admission.ts, which also says why there is no Origin check), wait for the client's control stream, and
// hand the session to its driver. A refused session is accepted, then closed with its code (PROTOCOL.md).
import { BridgeCloseCode } from '../../src/bridge/close-codes.js';
import { encodeBridgeFrame, SESSION_CLOSE_ERROR, sessionCloseReason } from '../../src/net/bridge-frame.js';
import { admit, type AdmissionRules } from './admission.js';
import { lengthPrefixed } from './framing.js';
import { CLOSE_LINGER_MS, WebTransportSession, type DriverContext } from './session-driver.js';

type Transport = WebTransport & { url: string };

export interface EndpointOptions {
  hostname: string;
  port: number;
  cert: string;
  key: string;
  rules: AdmissionRules;
  quicIdleTimeoutMs: number;
  quicKeepAliveMs: number;
  controlStreamTimeoutMs: number;
  /** The sessions' shared context, but for onClosed, which the endpoint owns. */
  driver: Omit<DriverContext, 'onClosed'>;
  /** A session opened or closed (the parent's session count follows). */
  onSessionsChanged(): void;
}

export class WebTransportEndpoint {
  private readonly endpoint: Deno.QuicEndpoint;
  private readonly listener: Deno.QuicListener;
  private readonly sessions = new Set<WebTransportSession>();
  /** Admitted and not closed yet, control streams still coming included: what maxSessions counts. */
  private admitted = 0;
  private nextSessionId = 1;
  private stopping = false;

  /** Binds at once; throws if the port is taken or the certificate does not load. */
  constructor(private readonly o: EndpointOptions) {
    this.endpoint = new Deno.QuicEndpoint({ hostname: o.hostname, port: o.port });
    try {
      this.listener = this.endpoint.listen({
        cert: o.cert,
        key: o.key,
        alpnProtocols: ['h3'],
        // Chromium's close() (and a page or Worker gone) is not seen by Deno: the QUIC idle timeout after the
        // last keep-alive bounds a silent peer (PROTOCOL.md "A page gone without a word").
        maxIdleTimeout: o.quicIdleTimeoutMs,
        keepAliveInterval: o.quicKeepAliveMs,
      });
    } catch (err) {
      this.endpoint.close();
      throw err;
    }
    void this.acceptLoop();
  }

  get address(): Deno.NetAddr {
    return this.endpoint.addr;
  }

  /** The host addresses changed: every session tells its client what its sockets are announced at now. */
  hostAddressesChanged(): void {
    for (const s of this.sessions) s.hostAddressesChanged();
  }

  get sessionCount(): number {
    return this.sessions.size;
  }

  /** Closes every session with 1001, then the endpoint once they had time to read why. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.listener.stop();
    for (const s of [...this.sessions]) s.close(BridgeCloseCode.goingAway, 'bridge shutting down');
    await new Promise((resolve) => setTimeout(resolve, this.sessions.size > 0 || this.admitted > 0 ? CLOSE_LINGER_MS : 0));
    this.endpoint.close({ closeCode: BridgeCloseCode.goingAway, reason: 'bridge shutting down' });
  }

  private async acceptLoop(): Promise<void> {
    try {
      for await (const incoming of this.listener) {
        // Nothing one connection does may end the process (and every other session with it).
        this.handle(incoming).catch((err: unknown) => this.log({ event: 'session-fault', carrier: 'webtransport', error: errorText(err) }));
      }
    } catch {
      // The listener stopped.
    }
  }

  private async handle(incoming: Deno.QuicIncoming): Promise<void> {
    if (this.stopping) return incoming.refuse();
    let conn: Deno.QuicConn;
    let wt: Transport;
    try {
      conn = await incoming.accept();
    } catch {
      return; // a handshake that failed (a wrong certificate hash, a scanner): nothing to log per packet
    }
    // Read from the connection: Deno 2.9's QuicIncoming resource is gone once accept() has taken it.
    const peer = conn.remoteAddr;
    const remote = `${peer.hostname}:${peer.port}`;
    try {
      wt = await Deno.upgradeWebTransport(conn);
      await wt.ready;
    } catch (err) {
      this.log({ event: 'session-refused', carrier: 'webtransport', code: 0, reason: `not a WebTransport session: ${errorText(err)}`, remote });
      conn.close({ closeCode: 0, reason: 'not a WebTransport session' });
      return;
    }
    const metrics = this.o.driver.metrics;
    const admission = this.stopping
      ? { ok: false as const, code: BridgeCloseCode.goingAway, refusal: 'not-found' as const, reason: 'bridge shutting down' }
      : admit(this.o.rules, wt.url, this.admitted, Date.now() / 1000);
    if (!admission.ok) {
      if (admission.refusal !== 'not-found') metrics.refuse(admission.refusal);
      this.log({ event: 'session-refused', carrier: 'webtransport', code: admission.code, reason: admission.reason, remote });
      await refuse(wt, admission.code, admission.reason, this.o.controlStreamTimeoutMs);
      return;
    }
    this.admitted++;
    const control = await firstStream(wt, this.o.controlStreamTimeoutMs);
    if (control === undefined || this.stopping) {
      this.admitted--;
      this.log({ event: 'session-refused', carrier: 'webtransport', code: BridgeCloseCode.malformedFrames, reason: 'no control stream opened', remote });
      closeQuietly(wt, BridgeCloseCode.malformedFrames, 'no control stream opened');
      return;
    }
    const session = new WebTransportSession(
      this.nextSessionId++,
      wt,
      control,
      {
        ...this.o.driver,
        onClosed: (s) => {
          if (!this.sessions.delete(s)) return;
          this.admitted--;
          this.o.onSessionsChanged();
        },
      },
      { user: admission.user, remote },
    );
    this.sessions.add(session);
    this.o.onSessionsChanged();
  }

  private log(fields: Record<string, unknown>): void {
    try {
      this.o.driver.log(JSON.stringify({ time: new Date().toISOString(), ...fields }));
    } catch {
      // A failing logger must not refuse or crash anything.
    }
  }
}

/** The client's first bidirectional stream (its control stream), or undefined if none comes in time. */
async function firstStream(wt: Transport, timeoutMs: number): Promise<WebTransportBidirectionalStream | undefined> {
  const reader = wt.incomingBidirectionalStreams.getReader();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), timeoutMs)));
  try {
    const next = await Promise.race([reader.read().then((r) => (r.done ? undefined : r.value)), timeout]);
    return next;
  } catch {
    return undefined;
  } finally {
    clearTimeout(timer);
    reader.releaseLock();
  }
}

/** Tells a refused client why on its control stream (when it opens one in time), then closes. */
async function refuse(wt: Transport, code: number, reason: string, timeoutMs: number): Promise<void> {
  const control = await firstStream(wt, timeoutMs);
  if (control === undefined) return closeQuietly(wt, code, reason);
  const writer = control.writable.getWriter();
  try {
    await writer.write(lengthPrefixed(encodeBridgeFrame({ type: 'error', code: SESSION_CLOSE_ERROR, reason: sessionCloseReason(code, reason) })));
    await writer.close();
  } catch {
    // The client went first.
  }
  // Until the client FINs too (it read the frame), or the linger time.
  const reader = control.readable.getReader();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const drained = (async () => {
    try {
      for (;;) if ((await reader.read()).done) return;
    } catch {
      // Reset: as good as FIN.
    }
  })();
  await Promise.race([drained, new Promise((resolve) => (timer = setTimeout(resolve, CLOSE_LINGER_MS)))]);
  clearTimeout(timer);
  closeQuietly(wt, code, reason);
}

function closeQuietly(wt: Transport, code: number, reason: string): void {
  try {
    wt.close({ closeCode: code, reason: reason.slice(0, 1024) });
  } catch {
    // Closed already.
  }
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
