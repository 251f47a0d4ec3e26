// The STUN codec in headless Chromium, in the page and in a module Worker, gives the same bytes as Node.
import { runCodecCases } from './fixtures/codec-cases.js';
import { SAMPLE_REQUEST } from '../stun/vectors.js';
import { toHex } from '../../src/crypto/index.js';
import { assert, assertDeepEqual, assertEqual } from './assert.js';

async function nodeResults(): Promise<Record<string, string>> {
  const response = await fetch('/__node/stun-codec');
  return (await response.json()) as Record<string, string>;
}

function workerResults(): Promise<Record<string, string>> {
  const worker = new Worker(new URL('./fixtures/codec-worker.ts', import.meta.url), { type: 'module' });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('worker did not answer in 10 s')), 10_000);
    worker.onmessage = (e: MessageEvent<{ ok: boolean; results?: Record<string, string>; error?: string }>) => {
      clearTimeout(timer);
      worker.terminate();
      if (e.data.ok && e.data.results) resolve(e.data.results);
      else reject(new Error(`worker failed: ${e.data.error}`));
    };
    worker.onerror = (e) => {
      clearTimeout(timer);
      reject(new Error(`worker error: ${e.message}`));
    };
  });
}

describe('STUN codec in Chromium', () => {
  it('runs in a page with no Node globals', () => {
    assertEqual(typeof (globalThis as { Buffer?: unknown }).Buffer, 'undefined', 'Buffer must not exist in the page');
    assertEqual(typeof (globalThis as { process?: unknown }).process, 'undefined', 'process must not exist in the page');
  });

  it('re-encodes the RFC 5769 request byte for byte in the page', () => {
    const page = runCodecCases();
    assertEqual(page['rfc5769-request'], toHex(SAMPLE_REQUEST.bytes), 'RFC 5769 §2.1 re-encode');
    for (const name of ['rfc5769-request', 'rfc5769-ipv4-response', 'rfc5769-ipv6-response', 'rfc5769-long-term', 'rfc8489-sha256']) {
      assertEqual(page[`${name}:verified`], 'true', `${name} integrity`);
    }
  });

  it('gives the same bytes in the page, in a module Worker and in Node', async () => {
    const [node, worker] = await Promise.all([nodeResults(), workerResults()]);
    const page = runCodecCases();
    assert(Object.keys(node).length >= 10, `node fixture has ${Object.keys(node).length} cases`);
    assertDeepEqual(page, node, 'page vs Node');
    assertDeepEqual(worker, node, 'Worker vs Node');
  });
});
