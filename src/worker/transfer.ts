// Bytes the page hands to the Worker are transferred, not cloned: postMessage moves the ArrayBuffer.
/**
 * A Uint8Array that is a whole ArrayBuffer moves as it is (the caller's array is detached afterwards, as
 * with postMessage's transfer list; pass `bytes.slice()` to keep it). A view of part of a larger buffer,
 * or of a SharedArrayBuffer, is copied first, so nothing the caller did not pass is taken. Text is encoded.
 */
export function forTransfer(data: Uint8Array | string): Uint8Array {
  if (typeof data === 'string') return new TextEncoder().encode(data);
  const whole = data.buffer instanceof ArrayBuffer && data.byteOffset === 0 && data.byteLength === data.buffer.byteLength;
  return whole ? data : data.slice();
}
