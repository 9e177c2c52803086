/** Row-wise softmax / log-softmax of a [rows, cols] matrix, numerically stable (row max subtracted). */
import type { FloatArray } from './matmul';

const newLike = (x: FloatArray, n: number): FloatArray => new (x.constructor as { new (n: number): FloatArray })(n);

/**
 * softmax: exp(x - max) / sum exp(x - max); log: x - max - log(sum exp(x - max)).
 * Sums are in double precision. A row of all -Infinity gives NaN, as in PyTorch.
 */
export function softmax(x: FloatArray, rows: number, cols: number, log: boolean): FloatArray {
  const out = newLike(x, rows * cols);
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    const max = rowMax(x, o, cols);
    if (log) {
      const lse = rowLogSumExp(x, o, cols, max);
      for (let j = 0; j < cols; j++) out[o + j] = x[o + j] - lse;
    } else {
      const e = cols <= rowScratch.length ? rowScratch : (rowScratch = new Float64Array(cols));
      let sum = 0;
      for (let j = 0; j < cols; j++) {
        const v = Math.exp(x[o + j] - max);
        e[j] = v;
        sum += v;
      }
      const inv = 1 / sum;
      for (let j = 0; j < cols; j++) out[o + j] = e[j] * inv;
    }
  }
  return out;
}

let rowScratch = new Float64Array(256);

/** The largest of x[o .. o + cols), NaN if any is (the row's softmax is NaN then). */
export function rowMax(x: FloatArray, o: number, cols: number): number {
  let max = -Infinity;
  for (let j = 0; j < cols; j++) {
    const v = x[o + j];
    if (v > max || v !== v) max = v;
  }
  return max;
}

/** log Σ exp(x[o + j]) over the row, from its max (summed in double precision). */
export function rowLogSumExp(x: FloatArray, o: number, cols: number, max: number): number {
  let sum = 0;
  for (let j = 0; j < cols; j++) sum += Math.exp(x[o + j] - max);
  return max + Math.log(sum);
}
