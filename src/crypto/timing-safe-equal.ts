/**
 * Compares two byte strings in time that depends only on their length, so checking a received
 * MESSAGE-INTEGRITY or bridge token does not reveal how many leading bytes an attacker guessed right.
 * Arrays of different lengths are unequal at once: the lengths of MACs and tokens are public.
 */
export function timingSafeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
  return diff === 0;
}
