// The zero-loss rate search of the bridge benchmarks: fixed-rate steps in order, each retried once (one
// hiccup of a shared machine must not end the search), until a step loses datagrams or the sender cannot
// offer its rate.

/** What a measured step must tell the search. */
export interface MeasuredStep {
  /** Nothing lost anywhere. */
  noLoss: boolean;
  /** The sender offered (almost) the step's rate; a sender that fell behind proves nothing about the rate. */
  offered: boolean;
  offeredPerSecond: number;
}

export interface RateSearch<Step extends MeasuredStep> {
  /**
   * The highest rate that went through with zero loss: the last step passed, or, when the sender could not
   * offer a step's rate but nothing was lost, the rate it did offer (0 if none).
   */
  zeroLossRate: number;
  atZeroLoss?: Step;
  /** The step that ended the search (twice in a row: loss, or the sender falling behind). */
  stoppedAt?: Step;
  /** Why the search ended: loss, the sender could not offer the rate, or the step list ran out. */
  stoppedBy: 'loss' | 'client' | 'top';
  steps: Step[];
}

export async function searchZeroLoss<Step extends MeasuredStep>(rates: readonly number[], measure: (rate: number) => Promise<Step>): Promise<RateSearch<Step>> {
  const search: RateSearch<Step> = { zeroLossRate: 0, stoppedBy: 'top', steps: [] };
  for (const rate of rates) {
    let step = await measure(rate);
    search.steps.push(step);
    if (!(step.noLoss && step.offered)) {
      step = await measure(rate);
      search.steps.push(step);
    }
    if (step.noLoss && step.offered) {
      search.zeroLossRate = rate;
      search.atZeroLoss = step;
      continue;
    }
    search.stoppedAt = step;
    search.stoppedBy = step.noLoss ? 'client' : 'loss';
    if (step.noLoss && step.offeredPerSecond > search.zeroLossRate) {
      search.zeroLossRate = Math.round(step.offeredPerSecond);
      search.atZeroLoss = step;
    }
    break;
  }
  return search;
}
