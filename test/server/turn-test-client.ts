// A minimal scripted TURN client for server tests on the simulated network: it sends exactly what a test
// says (including wrong things), follows the 401/438 dance when asked, and records what comes back.
import type { SimSocket, VirtualClock } from '../../src/sim/index.js';
import type { TransportAddress } from '../../src/net/transport-address.js';
import { classifyDatagram } from '../../src/stun/classify.js';
import { StunMethod, TRANSPORT_UDP } from '../../src/stun/constants.js';
import { decodeStunMessage } from '../../src/stun/decode.js';
import { encodeStunMessage } from '../../src/stun/encode.js';
import { longTermKey, userHash, verifyMessageIntegrity, verifyMessageIntegritySha256, type LongTermAlgorithm } from '../../src/stun/integrity.js';
import { createStunMessage, type StunMessage } from '../../src/stun/message.js';
import type { StunAttributeEntry, StunPasswordAlgorithm } from '../../src/stun/attribute-values.js';
import { PasswordAlgorithm } from '../../src/stun/constants.js';
import { CHANNEL_MAX_RFC5766, decodeChannelData, encodeChannelData } from '../../src/turn/channel-data.js';

/** Lets promise callbacks run (the relay socket opens asynchronously), then runs virtual timers until `done()` or `withinMs`. */
export async function until(clock: VirtualClock, done: () => boolean, withinMs = 10_000): Promise<boolean> {
  const end = clock.now() + withinMs;
  for (let i = 0; i < 100_000; i++) {
    await new Promise<void>((resolve) => setImmediate(resolve));
    if (done()) return true;
    const next = clock.nextDeadline;
    if (next === undefined || next > end) {
      if (end > clock.now()) clock.runUntil(end);
      await new Promise<void>((resolve) => setImmediate(resolve));
      return done();
    }
    clock.step();
  }
  return done();
}

export interface Received {
  readonly bytes: Uint8Array;
  readonly from: TransportAddress;
}

export interface RequestOptions {
  /** Add USERNAME/REALM/NONCE and MESSAGE-INTEGRITY with the current nonce (after `challenge`). Default true. */
  auth?: boolean;
  /** Use MESSAGE-INTEGRITY-SHA256 (and negotiate PASSWORD-ALGORITHM when the server offered algorithms). */
  sha256?: boolean;
  /** Wait at most this long for the response. Default 2000 ms. */
  withinMs?: number;
  /** Send USERHASH (RFC 8489 §14.4) instead of USERNAME; a Uint8Array is sent as the hash itself. Default false. */
  userhash?: boolean | Uint8Array;
}

export class TestTurnClient {
  readonly received: Received[] = [];
  realm: string | undefined;
  nonce: string | undefined;
  offeredAlgorithms: readonly StunPasswordAlgorithm[] | undefined;

  constructor(
    private readonly clock: VirtualClock,
    readonly socket: SimSocket,
    readonly server: TransportAddress,
    public username = 'alice',
    public password = 'secret',
  ) {
    socket.ondatagram = (bytes, from) => this.received.push({ bytes: bytes.slice(), from });
  }

  /** Sends one request and returns the response with its transaction ID, or undefined if none came. */
  async request(method: number, attributes: StunAttributeEntry[], options: RequestOptions = {}): Promise<StunMessage | undefined> {
    const auth = options.auth ?? true;
    const entries: StunAttributeEntry[] = [...attributes];
    let key: Uint8Array | undefined;
    let sha256 = false;
    if (auth && this.realm !== undefined && this.nonce !== undefined) {
      const hash = options.userhash instanceof Uint8Array ? options.userhash : options.userhash === true ? userHash(this.username, this.realm) : undefined;
      entries.push(hash !== undefined ? ['USERHASH', hash] : ['USERNAME', this.username], ['REALM', this.realm], ['NONCE', this.nonce]);
      let algorithm: LongTermAlgorithm = 'MD5';
      if (options.sha256 === true) {
        sha256 = true;
        if (this.offeredAlgorithms !== undefined && this.offeredAlgorithms.length > 0) {
          algorithm = 'SHA-256';
          entries.push(['PASSWORD-ALGORITHMS', this.offeredAlgorithms], ['PASSWORD-ALGORITHM', { algorithm: PasswordAlgorithm.SHA256, parameters: new Uint8Array(0) }]);
        }
      }
      key = longTermKey(this.username, this.realm, this.password, algorithm);
    }
    const message = createStunMessage({ method, class: 'request', attributes: entries });
    const bytes = encodeStunMessage(message, {
      integrity: key !== undefined && !sha256 ? { key } : undefined,
      integritySha256: key !== undefined && sha256 ? { key } : undefined,
      fingerprint: true,
    });
    const id = message.transactionId;
    const start = this.received.length;
    this.sendRaw(bytes);
    let response: StunMessage | undefined;
    await until(
      this.clock,
      () => {
        for (let i = start; i < this.received.length && response === undefined; i++) {
          const r = this.received[i];
          if (classifyDatagram(r.bytes) !== 'stun') continue;
          const m = decodeStunMessage(r.bytes);
          if (m.class !== 'indication' && m.transactionId.every((b, j) => b === id[j])) response = m;
        }
        return response !== undefined;
      },
      options.withinMs ?? 2000,
    );
    if (response !== undefined && key !== undefined && response.class !== 'error') {
      const ok = sha256 ? verifyMessageIntegritySha256(response, key) : verifyMessageIntegrity(response, key);
      if (!ok) throw new Error('response integrity does not verify');
    }
    return response;
  }

  /** Sends with credentials, answering a 401 or 438 challenge (once each) by retrying with its nonce. */
  async authed(method: number, attributes: StunAttributeEntry[], options: RequestOptions = {}): Promise<StunMessage | undefined> {
    for (let attempt = 0; ; attempt++) {
      const hadNonce = this.nonce !== undefined;
      const response = await this.request(method, attributes, options);
      const code = response?.get('ERROR-CODE')?.code;
      if (response === undefined || (code !== 401 && code !== 438) || (code === 401 && hadNonce) || attempt === 2) return response;
      this.takeChallenge(response);
    }
  }

  takeChallenge(response: StunMessage): void {
    this.realm = response.get('REALM') ?? this.realm;
    this.nonce = response.get('NONCE') ?? this.nonce;
    this.offeredAlgorithms = response.get('PASSWORD-ALGORITHMS') ?? this.offeredAlgorithms;
  }

  allocate(extra: StunAttributeEntry[] = [], options: RequestOptions = {}): Promise<StunMessage | undefined> {
    return this.authed(StunMethod.Allocate, [['REQUESTED-TRANSPORT', TRANSPORT_UDP], ...extra], options);
  }

  refresh(lifetime?: number): Promise<StunMessage | undefined> {
    return this.authed(StunMethod.Refresh, lifetime === undefined ? [] : [['LIFETIME', lifetime]]);
  }

  createPermission(...peers: TransportAddress[]): Promise<StunMessage | undefined> {
    return this.authed(StunMethod.CreatePermission, peers.map((p) => ['XOR-PEER-ADDRESS', p] as const));
  }

  channelBind(channel: number, peer: TransportAddress): Promise<StunMessage | undefined> {
    return this.authed(StunMethod.ChannelBind, [
      ['CHANNEL-NUMBER', channel],
      ['XOR-PEER-ADDRESS', peer],
    ]);
  }

  sendIndication(peer: TransportAddress, data: Uint8Array): void {
    const message = createStunMessage({ method: StunMethod.Send, class: 'indication', attributes: [['XOR-PEER-ADDRESS', peer], ['DATA', data]] });
    this.sendRaw(encodeStunMessage(message));
  }

  sendChannelData(channel: number, data: Uint8Array): void {
    this.sendRaw(encodeChannelData(channel, data, CHANNEL_MAX_RFC5766));
  }

  sendRaw(bytes: Uint8Array): void {
    this.socket.send(bytes, this.server);
  }

  /** Data indications received so far: peer and payload. */
  dataIndications(): { peer: TransportAddress; data: Uint8Array }[] {
    const out: { peer: TransportAddress; data: Uint8Array }[] = [];
    for (const r of this.received) {
      if (classifyDatagram(r.bytes) !== 'stun') continue;
      const m = decodeStunMessage(r.bytes);
      if (m.method === StunMethod.Data && m.class === 'indication') out.push({ peer: m.get('XOR-PEER-ADDRESS')!, data: m.get('DATA')! });
    }
    return out;
  }

  /** ChannelData messages received so far. */
  channelData(): { channel: number; data: Uint8Array }[] {
    return this.received.filter((r) => classifyDatagram(r.bytes, { wideChannels: true }) === 'channel-data').map((r) => {
      const { channel, data } = decodeChannelData(r.bytes, CHANNEL_MAX_RFC5766);
      return { channel, data: data.slice() };
    });
  }
}
