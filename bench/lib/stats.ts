// Robust summaries for noisy machines: medians, and ratios taken per round before the median.
import type { BenchRatio } from './types.js';

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Per-round a[i] / b[i], then the median: drift in machine load between rounds cancels out. */
export function ratio(name: string, numerator: readonly number[], denominator: readonly number[], target?: number): BenchRatio {
  const n = Math.min(numerator.length, denominator.length);
  const samples: number[] = [];
  for (let i = 0; i < n; i++) if (denominator[i] > 0) samples.push(numerator[i] / denominator[i]);
  return { name, value: median(samples), samples, ...(target === undefined ? {} : { target }) };
}
