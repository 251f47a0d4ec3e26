// Server responses are carved out of shared 32 KiB ArrayBuffers instead of each getting its own: a
// separate small ArrayBuffer costs about 1 µs to allocate, and V8 keeps arrays of ≤ 64 bytes on its own heap,
// which Node's dgram.send must then copy out. A message kept alive keeps its slab alive (like Node's Buffer
// pool), which is why only small outputs are carved. Only for bytes that go straight to a socket: never hand
// them to code that may transfer or reuse `.buffer`.
const SLAB_SIZE = 32 * 1024;
const MAX_CARVED = 1024;

let slab = new ArrayBuffer(SLAB_SIZE);
let used = 0;

/** A fresh, zeroed Uint8Array of `length` bytes, 8-byte aligned within its slab. */
export function allocateOutput(length: number): Uint8Array {
  if (length > MAX_CARVED) return new Uint8Array(length);
  if (used + length > SLAB_SIZE) {
    slab = new ArrayBuffer(SLAB_SIZE);
    used = 0;
  }
  const out = new Uint8Array(slab, used, length);
  used = (used + length + 7) & ~7;
  return out;
}
