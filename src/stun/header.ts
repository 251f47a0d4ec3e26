import type { StunClass } from './constants.js';

const CLASSES: readonly StunClass[] = ['request', 'indication', 'success', 'error'];

/** RFC 8489 §5 Figure 3: the 12 method bits M11..M0 with the class bits C1 (bit 8) and C0 (bit 4) between. */
export function encodeMessageType(method: number, cls: StunClass): number {
  const c = classBits(cls);
  return (method & 0x000f) | ((method & 0x0070) << 1) | ((method & 0x0f80) << 2) | ((c & 1) << 4) | ((c & 2) << 7);
}

export function methodOfType(type: number): number {
  return (type & 0x000f) | ((type & 0x00e0) >> 1) | ((type & 0x3e00) >> 2);
}

export function classOfType(type: number): StunClass {
  return CLASSES[((type >> 4) & 1) | ((type >> 7) & 2)];
}

/** -1 for anything that is not a class name. */
export function classBits(cls: StunClass): number {
  switch (cls) {
    case 'request':
      return 0;
    case 'indication':
      return 1;
    case 'success':
      return 2;
    case 'error':
      return 3;
    default:
      return -1;
  }
}
