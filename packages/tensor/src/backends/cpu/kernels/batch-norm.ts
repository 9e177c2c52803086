/**
 * Batch normalisation with batch statistics, x viewed as [n, c, s]: per channel, two
 * passes over its n·s values (mean, then the mean of squared deviations), sums in double
 * precision. Outputs have x's array type (float32 or float64). The elementwise parts (y
 * from x, gx from g) are kernels-ir's channel maps, compiled to f64 JavaScript.
 */
import { batchNormApply, batchNormGrad } from '@webgrad/kernels-ir';
import type { BatchNormParams, RunningStatsParams } from '../../../backend';
import { channelFunction } from '../elementwise';
import type { FloatArray } from './matmul';

/** The rounding of a store into `a` (float32 rounds, float64 keeps the double). */
const roundingOf = (a: FloatArray): ((v: number) => number) => (a instanceof Float32Array ? Math.fround : (v) => v);

const newLike = (x: FloatArray, n: number): FloatArray => new (x.constructor as { new (n: number): FloatArray })(n);

/** An element's value, rounded as x's array stores it, to the epilogue's result (at flat index i). */
export type Epilogue = (v: number, i: number) => number;

export function batchNorm(
  x: FloatArray, weight: FloatArray | null, bias: FloatArray | null, p: BatchNormParams, epilogue?: Epilogue,
): { y: FloatArray; mean: FloatArray; invstd: FloatArray } {
  const { n, c, s, eps } = p;
  const m = n * s;
  const y = newLike(x, n * c * s), mean = newLike(x, c), invstd = newLike(x, c);
  const round = roundingOf(x);
  const apply = channelFunction(batchNormApply);
  for (let ch = 0; ch < c; ch++) {
    let sum = 0;
    for (let b = 0; b < n; b++) {
      const o = (b * c + ch) * s;
      for (let k = 0; k < s; k++) sum += x[o + k];
    }
    const mu = sum / m;
    let sq = 0;
    for (let b = 0; b < n; b++) {
      const o = (b * c + ch) * s;
      for (let k = 0; k < s; k++) {
        const d = x[o + k] - mu;
        sq += d * d;
      }
    }
    const inv = 1 / Math.sqrt(sq / m + eps);
    mean[ch] = mu;
    invstd[ch] = inv;
    const f = apply({ mean: mu, invstd: inv, weight: weight?.[ch], bias: bias?.[ch] });
    for (let b = 0; b < n; b++) {
      const o = (b * c + ch) * s;
      if (epilogue) {
        for (let k = 0; k < s; k++) y[o + k] = epilogue(round(f(x[o + k])), o + k);
      } else {
        for (let k = 0; k < s; k++) y[o + k] = f(x[o + k]);
      }
    }
  }
  return { y, mean, invstd };
}

/**
 * gbias = Σ gy, gweight = Σ gy·xhat, then gx from them (kernels-ir's batchNormGrad);
 * with a prologue, prologue(gy[i], i) stands for gy[i]. Its values are read twice (sums,
 * then gx): computed where read, with the same bits each time, rather than copied to a row.
 */
export function batchNormBackward(
  gy: FloatArray, x: FloatArray, mean: FloatArray, invstd: FloatArray, weight: FloatArray | null, p: BatchNormParams, prologue?: Epilogue,
): { gx: FloatArray; gweight: FloatArray; gbias: FloatArray } {
  const { n, c, s } = p;
  const m = n * s;
  const gx = newLike(gy, n * c * s), gweight = newLike(gy, c), gbias = newLike(gy, c);
  const g = prologue ? (i: number) => prologue(gy[i], i) : (i: number) => gy[i];
  const grad = channelFunction(batchNormGrad);
  for (let ch = 0; ch < c; ch++) {
    const mu = mean[ch], inv = invstd[ch];
    let gb = 0, gw = 0;
    for (let b = 0; b < n; b++) {
      const o = (b * c + ch) * s;
      for (let k = 0; k < s; k++) {
        const v = g(o + k);
        gb += v;
        gw += v * (x[o + k] - mu) * inv;
      }
    }
    gbias[ch] = gb;
    gweight[ch] = gw;
    const f = grad({ mean: mu, invstd: inv, weight: weight?.[ch], gbias: gb, gweight: gw, m });
    for (let b = 0; b < n; b++) {
      const o = (b * c + ch) * s;
      for (let k = 0; k < s; k++) gx[o + k] = f(g(o + k), x[o + k]);
    }
  }
  return { gx, gweight, gbias };
}

/** The running statistics after a training step (batchNorm's p.running on both cpu backends), as new arrays. */
export function batchNormRunningStats(
  runningMean: FloatArray, runningVar: FloatArray, mean: FloatArray, invstd: FloatArray, p: RunningStatsParams,
): { mean: FloatArray; var: FloatArray } {
  const nextMean = newLike(runningMean, p.c), nextVar = newLike(runningVar, p.c);
  const keep = 1 - p.momentum, varScale = (p.momentum * p.count) / (p.count - 1);
  for (let i = 0; i < p.c; i++) {
    const variance = 1 / (invstd[i] * invstd[i]) - p.eps;
    nextMean[i] = runningMean[i] * keep + mean[i] * p.momentum;
    nextVar[i] = runningVar[i] * keep + variance * varScale;
  }
  return { mean: nextMean, var: nextVar };
}
