// Hashes on the ICE check path: icebridge's own synchronous SHA-1 / HMAC-SHA1 / SHA-256 / HMAC-SHA256 / MD5
// (src/crypto/) against @noble/hashes 2 (audited, synchronous), in the same run. The decisive figures are the
// ICE ones: HMAC-SHA1 over the bytes a connectivity check MACs (RFC 8489 §14.5: the message up to
// MESSAGE-INTEGRITY, ~100 bytes) with a key kept per password, as the agent does, and keyed per message;
// and MESSAGE-INTEGRITY verification of a received check (decode + HMAC + constant-time compare). The others
// (SHA-256 MESSAGE-INTEGRITY-SHA256, MD5 long-term key, SHA-1 of a block) are there for the whole picture.
import { hmac } from '@noble/hashes/hmac.js';
import { md5 as nobleMd5, sha1 as nobleSha1 } from '@noble/hashes/legacy.js';
import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js';
import { HmacSha1, HmacSha256, md5, sha1, sha256, timingSafeEqual, utf8Encode } from '../src/crypto/index.js';
import { StunMethod, createStunMessage, decodeStunMessage, encodeStunMessage, shortTermKey } from '../src/index.js';
import { runMicro, type MicroContender } from './lib/micro.js';
import { median, ratio } from './lib/stats.js';
import type { BenchContext, BenchFigure, BenchRatio, BenchResult, Benchmark } from './lib/types.js';

const OURS = 'icebridge src/crypto';
const NOBLE = '@noble/hashes 2';
const POOL = 16;
const PASSWORD = 'hX2qN7vRk4pWm9sT3yLb8d';

/** ICE Binding requests (RFC 8445 §7.2.2) with MESSAGE-INTEGRITY and FINGERPRINT, distinct transaction ids. */
function requests(key: Uint8Array): Uint8Array[] {
  return Array.from({ length: POOL }, () =>
    encodeStunMessage(
      createStunMessage({
        method: StunMethod.Binding,
        class: 'request',
        transactionId: crypto.getRandomValues(new Uint8Array(12)),
        attributes: [
          ['USERNAME', 'rVt6:Yq8i'],
          ['PRIORITY', (110 << 24) + (65535 << 8) + 255],
          ['ICE-CONTROLLING', 0x1d2c3b4a59687786n],
          ['USE-CANDIDATE', true],
        ],
      }),
      { integrity: { key }, fingerprint: true },
    ),
  );
}

/**
 * What a receiver MACs (RFC 8489 §14.5): the header with the length set to end at MESSAGE-INTEGRITY, and the
 * attributes before it. Returns that prefix (a copy) and the received MAC.
 */
function integrityInput(bytes: Uint8Array): { input: Uint8Array; mac: Uint8Array } {
  const message = decodeStunMessage(bytes);
  const at = message.integrityOffset;
  if (at < 0) throw new Error('no MESSAGE-INTEGRITY');
  const input = bytes.slice(0, at);
  new DataView(input.buffer).setUint16(2, at - 20 + 24);
  return { input, mac: bytes.slice(at + 4, at + 24) };
}

function check(condition: boolean, what: string): void {
  if (!condition) throw new Error(`cross-check failed: ${what}`);
}

async function run(ctx: BenchContext): Promise<BenchResult> {
  const key = shortTermKey(PASSWORD);
  const packets = requests(key);
  const inputs = packets.map(integrityInput);
  const block = crypto.getRandomValues(new Uint8Array(100));
  // RFC 8489 §9.2.2: the long-term key is MD5(username ":" OpaqueString(realm) ":" OpaqueString(password)).
  const longTerm = utf8Encode('alice:icebridge:correct horse battery staple');
  const ours1 = new HmacSha1(key);
  const ours256 = new HmacSha256(key);
  const noble1 = hmac.create(nobleSha1, key);
  const noble256 = hmac.create(nobleSha256, key);
  const out = new Uint8Array(20);

  // Before timing: both compute the same digests, and verification rejects a wrong MAC.
  const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
  for (const { input, mac } of inputs) {
    check(hex(ours1.digest(input)) === hex(mac), 'icebridge HMAC-SHA1 matches the encoded MESSAGE-INTEGRITY');
    check(hex(noble1.clone().update(input).digest()) === hex(mac), '@noble HMAC-SHA1 matches the encoded MESSAGE-INTEGRITY');
    check(hex(hmac(nobleSha1, key, input)) === hex(mac), '@noble one-shot HMAC-SHA1');
  }
  check(hex(ours256.digest(block)) === hex(noble256.clone().update(block).digest()), 'HMAC-SHA256');
  check(hex(sha256(block)) === hex(nobleSha256(block)) && hex(sha1(block)) === hex(nobleSha1(block)) && hex(md5(longTerm)) === hex(nobleMd5(longTerm)), 'SHA-256, SHA-1, MD5');
  const tampered = inputs[0].input.slice();
  tampered[tampered.length - 1] ^= 1;
  check(!timingSafeEqual(ours1.digest(tampered), inputs[0].mac) && !timingSafeEqual(noble1.clone().update(tampered).digest(), inputs[0].mac), 'a changed byte fails');
  ctx.log(`  cross-check passed: identical digests; ${inputs[0].input.length}-byte MAC input of a ${packets[0].length}-byte Binding request`);

  let i = 0;
  const next = (): number => (i = (i + 1) & (POOL - 1));
  const verifyOurs = (bytes: Uint8Array) => {
    const { input, mac } = integrityInput(bytes);
    ours1.digestInto(input, 0, input.length, out, 0);
    return timingSafeEqual(out, mac) ? 1 : 0;
  };
  const verifyNoble = (bytes: Uint8Array) => {
    const { input, mac } = integrityInput(bytes);
    return timingSafeEqual(noble1.clone().update(input).digest(), mac) ? 1 : 0;
  };
  const groups: { group: string; contenders: MicroContender[] }[] = [
    {
      group: 'HMAC-SHA1 of a check, key kept per password (the agent)',
      contenders: [
        { name: OURS, op: () => (ours1.digestInto(inputs[next()].input, 0, inputs[i].input.length, out, 0), out[0]) },
        { name: NOBLE, op: () => noble1.clone().update(inputs[next()].input).digest()[0] },
      ],
    },
    {
      group: 'HMAC-SHA1 of a check, keyed per message',
      contenders: [
        { name: OURS, op: () => new HmacSha1(key).digest(inputs[next()].input)[0] },
        { name: NOBLE, op: () => hmac(nobleSha1, key, inputs[next()].input)[0] },
      ],
    },
    {
      group: 'MESSAGE-INTEGRITY verify of a received check (decode + HMAC-SHA1 + compare)',
      contenders: [
        { name: OURS, op: () => verifyOurs(packets[next()]) },
        { name: NOBLE, op: () => verifyNoble(packets[next()]) },
      ],
    },
    {
      group: 'HMAC-SHA256 of 100 bytes, key kept (MESSAGE-INTEGRITY-SHA256)',
      contenders: [
        { name: OURS, op: () => ours256.digest(block)[0] },
        { name: NOBLE, op: () => noble256.clone().update(block).digest()[0] },
      ],
    },
    {
      group: 'MD5 long-term key (RFC 8489 §9.2.2)',
      contenders: [
        { name: OURS, op: () => md5(longTerm)[0] },
        { name: NOBLE, op: () => nobleMd5(longTerm)[0] },
      ],
    },
    {
      group: 'SHA-1 of 100 bytes',
      contenders: [
        { name: OURS, op: () => sha1(block)[0] },
        { name: NOBLE, op: () => nobleSha1(block)[0] },
      ],
    },
  ];

  const options = ctx.quick ? { rounds: 1, sliceMs: 100, warmupMs: 100 } : { rounds: 5, sliceMs: 200, warmupMs: 500 };
  const figures: BenchFigure[] = [];
  const ratios: BenchRatio[] = [];
  for (const { group, contenders } of groups) {
    ctx.log(`  ${group}`);
    const samples = runMicro(contenders, { ...options, log: ctx.log });
    for (const c of contenders) {
      const { perCpuSecond, perWallSecond } = samples.get(c.name)!;
      const cpu = median(perCpuSecond);
      figures.push({ group, contender: c.name, unit: 'ops/CPU-s', median: cpu, samples: perCpuSecond, extra: { 'ns/op (CPU)': Math.round(1e9 / cpu), 'ops/s (wall)': Math.round(median(perWallSecond)) } });
    }
    ratios.push(ratio(`${group.split(' (')[0].split(',')[0]}${group.includes('per message') ? ' (per message)' : ''}: ${OURS} / ${NOBLE}`, samples.get(OURS)!.perCpuSecond, samples.get(NOBLE)!.perCpuSecond));
  }
  return {
    figures,
    ratios,
    notes: [
      `check: a ${packets[0].length}-byte Binding request (USERNAME, PRIORITY, ICE-CONTROLLING, USE-CANDIDATE, MESSAGE-INTEGRITY, FINGERPRINT); HMAC input ${inputs[0].input.length} bytes`,
      'key kept: icebridge HmacSha1 keeps the inner/outer states (digestInto, no allocation); @noble: hmac.create(sha1, key) once, .clone().update().digest() per message',
      'verify: both decode the message and copy the MAC input the same way; only the HMAC differs',
      `${options.rounds} rounds of ${options.sliceMs} ms (CPU) slices, contenders alternating, after a ${options.warmupMs} ms warm-up each; figures are medians; ratio > 1: icebridge faster`,
    ],
    meta: { packetBytes: packets[0].length, macInputBytes: inputs[0].input.length, ...options },
  };
}

const benchmark: Benchmark = { name: 'hashes', title: 'Hashes on the ICE check path: src/crypto vs @noble/hashes', run };
export default benchmark;
