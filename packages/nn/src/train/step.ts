import { type Tensor, cat, tidy } from '@webgrad/tensor';

export type LossFn = (output: Tensor, target: Tensor) => Tensor;

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
