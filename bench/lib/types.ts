// The shape every benchmark module in bench/ exports as its default, and what bench/run.ts prints.

/** One contender's figure in one group, with every round's sample so a reader can judge the spread. */
export interface BenchFigure {
  /** What is measured, e.g. 'encode', 'Binding over UDP'. Figures of a group share one table. */
  group: string;
  contender: string;
  /** Unit of `median` and `samples`, e.g. 'ops/s', 'responses/s', 'bytes'. */
  unit: string;
  median: number;
  samples: number[];
  /** Further columns for the table and the JSON, e.g. server CPU per response. */
  extra?: Record<string, number | string>;
}

/** `numerator / denominator`: the median over rounds of the per-round ratio (contenders alternate per round). */
export interface BenchRatio {
  name: string;
  value: number;
  samples: number[];
  /** The goal, if the brief gives one; reported, never enforced. */
  target?: number;
}

export interface BenchResult {
  figures: BenchFigure[];
  ratios: BenchRatio[];
  /** Anything a reader should know to trust the figures: settings, thread counts, saturation warnings. */
  notes: string[];
  meta?: Record<string, unknown>;
}

export interface BenchContext {
  /** Human-readable progress; goes to stderr when --json is given. */
  log(line: string): void;
  /** --quick: one short round, to check that a benchmark works, not to measure. */
  quick: boolean;
}

export interface Benchmark {
  /** Matches the file name; `npm run bench -- <part of name>` selects it. */
  name: string;
  title: string;
  run(ctx: BenchContext): Promise<BenchResult>;
}
