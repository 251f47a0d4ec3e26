// Plain-text tables of a benchmark's figures and ratios.
import type { BenchFigure, BenchResult } from './types.js';

export function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  if (Math.abs(value) >= 100) return Math.round(value).toLocaleString('en-US');
  if (Math.abs(value) >= 10) return value.toFixed(1);
  return value.toFixed(2);
}

function table(header: string[], rows: string[][], numericFrom = 1): string {
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => (r[c] ?? '').length)));
  const line = (cells: string[]) =>
    cells.map((cell, c) => (c >= numericFrom ? cell.padStart(widths[c]) : cell.padEnd(widths[c]))).join('  ').trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].map((l) => `  ${l}`).join('\n');
}

export function formatResult(title: string, result: BenchResult): string {
  const out: string[] = [`\n== ${title}`];
  const groups = new Map<string, BenchFigure[]>();
  for (const f of result.figures) {
    if (!groups.has(f.group)) groups.set(f.group, []);
    groups.get(f.group)!.push(f);
  }
  for (const [group, figures] of groups) {
    const extraKeys = [...new Set(figures.flatMap((f) => Object.keys(f.extra ?? {})))];
    const best = Math.max(...figures.map((f) => f.median));
    const header = ['contender', `median (${figures[0].unit})`, 'min', 'max', 'vs best', ...extraKeys];
    const rows = figures.map((f) => [
      f.contender,
      formatNumber(f.median),
      formatNumber(Math.min(...f.samples)),
      formatNumber(Math.max(...f.samples)),
      figures.length > 1 ? `${(f.median / best).toFixed(2)}x` : '',
      ...extraKeys.map((k) => {
        const v = f.extra?.[k];
        return typeof v === 'number' ? formatNumber(v) : (v ?? '');
      }),
    ]);
    out.push(`\n  ${group}`, table(header, rows));
  }
  if (result.ratios.length > 0) {
    const rows = result.ratios.map((r) => [
      r.name,
      `${r.value.toFixed(2)}x`,
      r.samples.length > 0 ? `${Math.min(...r.samples).toFixed(2)}..${Math.max(...r.samples).toFixed(2)}` : '',
      r.target === undefined ? '' : `>= ${r.target}x ${r.value >= r.target ? '(met)' : '(below)'}`,
    ]);
    out.push('\n  ratios (median of per-round ratios)', table(['ratio', 'value', 'range', 'target'], rows));
  }
  if (result.notes.length > 0) out.push('', ...result.notes.map((n) => `  * ${n}`));
  return out.join('\n');
}
