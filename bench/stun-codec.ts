// STUN codec: build + encode, and decode + MESSAGE-INTEGRITY + FINGERPRINT check, of the Binding request an
// ICE agent sends per connectivity check (RFC 8445 §7.2.2: USERNAME, PRIORITY, ICE-CONTROLLING,
// USE-CANDIDATE, MESSAGE-INTEGRITY, FINGERPRINT), icebridge against the npm `stun` package in the same run.
import { HmacSha1 } from '../src/crypto/index.js';
import {
  StunMethod,
  createStunMessage,
  decodeStunMessage,
  encodeStunMessage,
  shortTermKey,
  verifyMessageIntegrity,
} from '../src/index.js';
import { runMicro, type MicroContender } from './lib/micro.js';
import { asBuffer, stun } from './lib/npm-stun.js';
import { median, ratio } from './lib/stats.js';
import type { BenchContext, BenchFigure, BenchResult, Benchmark } from './lib/types.js';

// RFC 8839 §5.4: ice-ufrag 4+ chars, ice-pwd 22+ chars; USERNAME is "remote-ufrag:local-ufrag" (RFC 8445 §7.2.2).
const USERNAME = 'rVt6:Yq8i';
const PASSWORD = 'hX2qN7vRk4pWm9sT3yLb8d';
// A peer-reflexive priority (RFC 8445 §5.1.2.1: type preference 110, local 65535, component 1); it also fits
// the npm package's signed 32-bit check.
const PRIORITY = (110 << 24) + (65535 << 8) + (256 - 1);
const TIE_BREAKER = 0x1d2c3b4a59687786n;
const POOL = 16;

const IB_RAW = 'icebridge (raw key)';
const IB_KEYED = 'icebridge (pre-keyed HmacSha1)';
const NPM = 'npm stun';

function fixture() {
  const key = shortTermKey(PASSWORD);
  const hmac = new HmacSha1(key);
  const keyBuffer = Buffer.from(PASSWORD, 'utf8');
  const tieBreakerBytes = Buffer.alloc(8);
  tieBreakerBytes.writeBigUInt64BE(TIE_BREAKER);
  const transactionIds: Uint8Array[] = [];
  const transactionBuffers: Buffer[] = [];
  for (let i = 0; i < POOL; i++) {
    const id = crypto.getRandomValues(new Uint8Array(12));
    transactionIds.push(id);
    transactionBuffers.push(Buffer.from(id));
  }
  return { key, hmac, keyBuffer, tieBreakerBytes, transactionIds, transactionBuffers };
}
type Fixture = ReturnType<typeof fixture>;

/** What an ICE agent does per check: build the request, then encode it with integrity and fingerprint. */
function encodeIcebridge(f: Fixture, i: number, key: Uint8Array | HmacSha1): Uint8Array {
  const message = createStunMessage({
    method: StunMethod.Binding,
    class: 'request',
    transactionId: f.transactionIds[i],
    attributes: [
      ['USERNAME', USERNAME],
      ['PRIORITY', PRIORITY],
      ['ICE-CONTROLLING', TIE_BREAKER],
      ['USE-CANDIDATE', true],
    ],
  });
  return encodeStunMessage(message, { integrity: { key }, fingerprint: true });
}

function encodeNpm(f: Fixture, i: number): Buffer {
  const message = stun.createMessage(stun.constants.STUN_BINDING_REQUEST, f.transactionBuffers[i]);
  message.addUsername(USERNAME);
  message.addPriority(PRIORITY);
  message.addIceControlling(f.tieBreakerBytes);
  message.addUseCandidate();
  message.addMessageIntegrity(f.keyBuffer);
  message.addFingerprint();
  return message.toBuffer();
}

/** What a receiver does per check: parse (FINGERPRINT is checked by the decoder) and verify integrity. */
function decodeIcebridge(bytes: Uint8Array, key: Uint8Array | HmacSha1): number {
  const message = decodeStunMessage(bytes);
  if (!verifyMessageIntegrity(message, key)) throw new Error('icebridge: MESSAGE-INTEGRITY did not verify');
  return message.attributes.length;
}

function decodeNpm(bytes: Buffer, key: Buffer): number {
  const message = stun.decode(bytes);
  if (!stun.validateFingerprint(message)) throw new Error('npm stun: FINGERPRINT did not verify');
  if (!stun.validateMessageIntegrity(message, key)) throw new Error('npm stun: MESSAGE-INTEGRITY did not verify');
  return message.type;
}

function check(condition: boolean, what: string): void {
  if (!condition) throw new Error(`cross-check failed: ${what}`);
}

/** Before timing: both sides produce the same bytes, and each decodes and verifies the other's. */
function crossCheck(f: Fixture): number {
  const ours = encodeIcebridge(f, 0, f.hmac);
  const theirs = encodeNpm(f, 0);
  check(Buffer.compare(asBuffer(ours), theirs) === 0, `encodings differ:\n icebridge ${asBuffer(ours).toString('hex')}\n npm stun  ${theirs.toString('hex')}`);
  check(Buffer.compare(asBuffer(encodeIcebridge(f, 0, f.key)), theirs) === 0, 'raw-key and pre-keyed encodings differ');

  const decoded = decodeStunMessage(new Uint8Array(theirs));
  check(verifyMessageIntegrity(decoded, f.key) && verifyMessageIntegrity(decoded, f.hmac), 'icebridge verifies npm stun integrity');
  check(decoded.fingerprintOffset >= 0, 'icebridge sees npm stun FINGERPRINT');
  check(decoded.get('USERNAME') === USERNAME, 'USERNAME');
  check(decoded.get('PRIORITY') === PRIORITY, 'PRIORITY');
  check(decoded.get('ICE-CONTROLLING') === TIE_BREAKER, 'ICE-CONTROLLING');
  check(decoded.has('USE-CANDIDATE'), 'USE-CANDIDATE');

  const npmDecoded = stun.decode(Buffer.from(ours));
  check(stun.validateFingerprint(npmDecoded), 'npm stun verifies icebridge FINGERPRINT');
  check(stun.validateMessageIntegrity(npmDecoded, f.keyBuffer), 'npm stun verifies icebridge integrity');
  check(npmDecoded.getUsername() === USERNAME, 'npm stun reads USERNAME');

  // And a MAC under another password must fail on both sides, so the checks above are not vacuous.
  const wrong = encodeIcebridge(f, 0, shortTermKey(`${PASSWORD.slice(1)}x`));
  check(!verifyMessageIntegrity(decodeStunMessage(wrong), f.hmac), 'icebridge rejects a MAC under another key');
  check(!stun.validateMessageIntegrity(stun.decode(Buffer.from(wrong)), f.keyBuffer), 'npm stun rejects a MAC under another key');
  return ours.length;
}

async function run(ctx: BenchContext): Promise<BenchResult> {
  const f = fixture();
  const size = crossCheck(f);
  ctx.log(`  cross-check passed: identical ${size}-byte encodings; each side decodes and verifies the other's`);

  const ourBytes = f.transactionIds.map((_, i) => encodeIcebridge(f, i, f.hmac));
  const npmBytes = f.transactionIds.map((_, i) => encodeNpm(f, i));
  let i = 0;
  const next = (): number => (i = (i + 1) & (POOL - 1));

  const options = ctx.quick ? { rounds: 1, sliceMs: 100, warmupMs: 100 } : { rounds: 5, sliceMs: 200, warmupMs: 1000 };
  const groups: { group: string; contenders: MicroContender[] }[] = [
    {
      group: 'encode (build + MESSAGE-INTEGRITY + FINGERPRINT)',
      contenders: [
        { name: IB_KEYED, op: () => encodeIcebridge(f, next(), f.hmac).length },
        { name: IB_RAW, op: () => encodeIcebridge(f, next(), f.key).length },
        { name: NPM, op: () => encodeNpm(f, next()).length },
      ],
    },
    {
      group: 'decode + verify MESSAGE-INTEGRITY + FINGERPRINT',
      contenders: [
        { name: IB_KEYED, op: () => decodeIcebridge(ourBytes[next()], f.hmac) },
        { name: IB_RAW, op: () => decodeIcebridge(ourBytes[next()], f.key) },
        { name: NPM, op: () => decodeNpm(npmBytes[next()], f.keyBuffer) },
      ],
    },
  ];

  const figures: BenchFigure[] = [];
  const ratios = [];
  for (const { group, contenders } of groups) {
    ctx.log(`  ${group}`);
    const samples = runMicro(contenders, { ...options, log: ctx.log });
    for (const c of contenders) {
      const { perCpuSecond, perWallSecond } = samples.get(c.name)!;
      const cpu = median(perCpuSecond);
      figures.push({
        group,
        contender: c.name,
        unit: 'ops/CPU-s',
        median: cpu,
        samples: perCpuSecond,
        extra: { 'ns/op (CPU)': Math.round(1e9 / cpu), 'ops/s (wall)': Math.round(median(perWallSecond)) },
      });
    }
    const short = group.split(' ')[0];
    const cpuOf = (name: string) => samples.get(name)!.perCpuSecond;
    ratios.push(ratio(`${short}: ${IB_KEYED} / ${NPM}`, cpuOf(IB_KEYED), cpuOf(NPM), 3));
    ratios.push(ratio(`${short}: ${IB_RAW} / ${NPM}`, cpuOf(IB_RAW), cpuOf(NPM), 3));
  }
  return {
    figures,
    ratios,
    notes: [
      `message: Binding request, ${size} bytes: USERNAME '${USERNAME}', PRIORITY, ICE-CONTROLLING, USE-CANDIDATE, MESSAGE-INTEGRITY (${PASSWORD.length}-byte short-term key), FINGERPRINT`,
      'encode builds the message each time (createStunMessage + encodeStunMessage / createMessage + add* + toBuffer); both sides get the same transaction ids',
      'pre-keyed: the agent keeps one HmacSha1 per password (the realistic ICE case); raw key: HMAC keyed per message. npm stun always keys per message (node:crypto createHmac)',
      `${options.rounds} rounds of ${options.sliceMs} ms (CPU) slices, contenders alternating (rotated start), after a ${options.warmupMs} ms (CPU) warm-up each; figures are medians`,
      'ops/CPU-s = operations per second of this process\'s CPU time (user+sys, all threads, so GC helpers count): robust when other processes share the cores; ops/s (wall) is shown beside it',
    ],
    meta: { messageBytes: size, ...options },
  };
}

const benchmark: Benchmark = { name: 'stun-codec', title: 'STUN codec: ICE Binding request encode / decode + verify', run };
export default benchmark;
