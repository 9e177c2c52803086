import { crossEntropy, noGrad, tidy } from '@webgrad/tensor';
import type { Module } from '../module';
import { type TrainingData, asBatchSource, batchesOf } from './data';
import { type LossFn, addBatch, lossAndCorrect, newTotals } from './step';

export interface EvaluateOptions {
  /** Default cross-entropy. */
  loss?: LossFn;
  /** Dispose each batch after use (default: yes, unless the source is an array, which is reused). */
  disposeBatches?: boolean;
  /** Samples per batch when the data is a Dataset rather than batches (default 32). */
  batchSize?: number;
}

export interface EvaluateResult {
  loss: number;
  /** null when the targets are not class indices. */
  accuracy: number | null;
  count: number;
  seconds: number;
  imagesPerSecond: number;
}

/** The lab's test function: mean loss and accuracy over a data set, in eval mode, without gradients. */
export async function evaluate(model: Module, dataset: TrainingData, opts: EvaluateOptions = {}): Promise<EvaluateResult> {
  const data = asBatchSource(dataset, opts.batchSize, 'evaluate');
  const lossFn = opts.loss ?? ((o, t) => crossEntropy(o, t));
  const dispose = opts.disposeBatches ?? !Array.isArray(data);
  const wasTraining = model.training;
  model.eval();
  const totals = newTotals();
  const t0 = performance.now();
  try {
    for await (const { x, y } of batchesOf(data)) {
      const stats = tidy(() =>
        noGrad(() => {
          const out = model.forward(x);
          return lossAndCorrect(lossFn(out, y), out, y);
        }),
      );
      addBatch(totals, await stats.data(), x.shape[0]);
      stats.dispose();
      if (dispose) {
        x.dispose();
        y.dispose();
      }
    }
  } finally {
    model.train(wasTraining);
  }
  const seconds = (performance.now() - t0) / 1000;
  const n = Math.max(totals.count, 1);
  return {
    loss: totals.loss / n,
    accuracy: totals.classification ? totals.correct / n : null,
    count: totals.count,
    seconds,
    imagesPerSecond: totals.count / Math.max(seconds, 1e-9),
  };
}
