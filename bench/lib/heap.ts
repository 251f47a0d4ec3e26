// The memory a process holds after a full collection, for "bytes per idle X" figures: V8 heap in use plus
// `external` (memory outside the heap that JS objects own: Buffers, ArrayBuffers, native handles V8 is told
// about). Collected twice, so objects freed by the first collection's finalizers go too.
import { gc } from './gc.js';

export interface HeapSample {
  heapUsed: number;
  external: number;
  arrayBuffers: number;
  /** heapUsed + external. */
  total: number;
  rss: number;
}

export function heapAfterGc(): HeapSample {
  gc();
  gc();
  const m = process.memoryUsage();
  return { heapUsed: m.heapUsed, external: m.external, arrayBuffers: m.arrayBuffers, total: m.heapUsed + m.external, rss: m.rss };
}

/** Waits for pending I/O callbacks and timers to run (closing handles release memory only after them). */
export async function settle(ms = 200): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, ms));
  await new Promise((resolve) => setImmediate(resolve));
}
