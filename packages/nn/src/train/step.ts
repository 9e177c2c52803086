import { type Tensor, cat, crossEntropy, tidy } from '@webgrad/tensor';
import type { Module } from '../module';
import type { Optimizer } from '../optim/optimizer';
import { clipGradNorm } from '../optim/clip';

export type LossFn = (output: Tensor, target: Tensor) => Tensor;

export interface TrainStepOptions {
  /** Cross-entropy by default. */
  loss?: LossFn;
  /** Clip the gradients' global L2 norm to this before the step. */
  clipGradNorm?: number;
}

/**
 * The training step, written once (fit, the benchmarks and the tests call it): zero the
 * gradients, forward, loss, backward, optional clipping, optimizer step. Returns the loss
 * and the model's output; call it inside tidy() and keep what you read.
 */
export function trainStep(model: Module, optimizer: Optimizer, x: Tensor, y: Tensor, opts: TrainStepOptions = {}): { loss: Tensor; output: Tensor } {
  optimizer.zeroGrad();
  const output = model.forward(x);
  const loss = (opts.loss ?? crossEntropy)(output, y);
  loss.backward();
  if (opts.clipGradNorm !== undefined) clipGradNorm(model.parameters(), opts.clipGradNorm);
  optimizer.step();
  return { loss, output };
}

/**
 * [loss, correct] of a batch as one tensor, so that a single read brings both back from the
 * device. `correct` is NaN when the targets are not class indices.
 */
export function lossAndCorrect(loss: Tensor, output: Tensor, target: Tensor): Tensor {
  return tidy(() => {
    const l = loss.detach().reshape([1]);
    if (target.dtype !== 'int32' || output.rank !== target.rank + 1) return cat([l, l.mul(Number.NaN)]);
    // Per-pixel targets (segmentation) count as fractions of an image, so accuracy stays in [0, 1].
    const perSample = target.size / Math.max(target.shape[0] ?? 1, 1);
    const correct = output.argmax(1).eq(target).sum().float().div(perSample).reshape([1]);
    return cat([l, correct]);
  });
}

export interface Totals {
  loss: number;
  correct: number;
  count: number;
  classification: boolean;
}

export const newTotals = (): Totals => ({ loss: 0, correct: 0, count: 0, classification: true });

/** Adds one batch: the loss is a mean over the batch, so it is weighted by its size. */
export function addBatch(t: Totals, values: ArrayLike<number>, n: number): void {
  t.loss += values[0] * n;
  if (Number.isNaN(values[1])) t.classification = false;
  else t.correct += values[1];
  t.count += n;
}
