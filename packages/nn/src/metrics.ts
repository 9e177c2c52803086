import { type Tensor, conv2d, log, tensor, tidy } from '@webgrad/tensor';

/** Class indices from logits [N, C] (argmax over dim 1), or the input itself when it already holds indices. */
function predictions(output: Tensor, target: Tensor): Tensor {
  return output.rank === target.rank ? output.int() : output.argmax(1);
}

/** Fraction of correct predictions: output is logits [N, C] (or class indices [N]), target class indices [N]. */
export async function accuracy(output: Tensor, target: Tensor): Promise<number> {
  if (target.size === 0) return 0;
  const correct = tidy(() => predictions(output, target).eq(target.int()).sum());
  const n = await correct.item();
  correct.dispose();
  return n / target.size;
}

/** counts[true][predicted] over a batch (rows: true class, columns: predicted class). */
export async function confusionMatrix(output: Tensor, target: Tensor, numClasses: number): Promise<number[][]> {
  const preds = tidy(() => predictions(output, target));
  const [p, t] = await Promise.all([preds.data(), target.data()]);
  preds.dispose();
  const m = Array.from({ length: numClasses }, () => new Array<number>(numClasses).fill(0));
  for (let i = 0; i < t.length; i++) {
    if (t[i] < 0 || t[i] >= numClasses || p[i] < 0 || p[i] >= numClasses) {
      throw new Error(`confusionMatrix: class ${t[i] < 0 || t[i] >= numClasses ? t[i] : p[i]} at position ${i} is out of range for ${numClasses} classes`);
    }
    m[t[i]][p[i]]++;
  }
  return m;
}

function asBatch(op: string, x: Tensor, y: Tensor): [Tensor, Tensor] {
  if (x.shape.length !== y.shape.length || x.shape.some((d, i) => d !== y.shape[i])) {
    throw new Error(`${op}: the images must have one shape, got [${x.shape}] and [${y.shape}]`);
  }
  if (x.rank === 3) return [x.unsqueeze(0), y.unsqueeze(0)];
  if (x.rank !== 4) throw new Error(`${op}: expected images [N, C, H, W] or [C, H, W], got [${x.shape}]`);
  return [x, y];
}

/**
 * Peak signal-to-noise ratio in dB, 10·log10(range² / MSE), computed per image and averaged
 * over the batch (the usual figure for dehazing). A one-element tensor on the images' device.
 */
export function psnr(x: Tensor, y: Tensor, opts: { dataRange?: number } = {}): Tensor {
  const range = opts.dataRange ?? 1;
  const [a, b] = asBatch('psnr', x, y);
  const d = a.sub(b);
  const mse = d.mul(d).mean([1, 2, 3]);
  return log(mse.div(range * range)).mul(-10 / Math.LN10).mean();
}

export interface SsimOptions {
  dataRange?: number;
  /** Side of the Gaussian window (default 11). */
  windowSize?: number;
  /** Its standard deviation (default 1.5). */
  sigma?: number;
  k1?: number;
  k2?: number;
}

/**
 * Structural similarity (Wang et al. 2004) with an 11×11 Gaussian window of σ 1.5 applied
 * per channel over valid positions, averaged over the map and the batch. Differentiable, so
 * 1 − ssim also serves as a loss.
 */
export function ssim(x: Tensor, y: Tensor, opts: SsimOptions = {}): Tensor {
  const [a, b] = asBatch('ssim', x, y);
  const size = opts.windowSize ?? 11;
  const sigma = opts.sigma ?? 1.5;
  const L = opts.dataRange ?? 1;
  const c1 = ((opts.k1 ?? 0.01) * L) ** 2;
  const c2 = ((opts.k2 ?? 0.03) * L) ** 2;
  const [, c, h, w] = a.shape;
  if (h < size || w < size) throw new Error(`ssim: images [${a.shape}] are smaller than the ${size}×${size} window; pass a smaller windowSize`);
  const g = Array.from({ length: size }, (_, i) => Math.exp(-((i - (size - 1) / 2) ** 2) / (2 * sigma * sigma)));
  const total = g.reduce((s, v) => s + v, 0);
  const win = new Float32Array(c * size * size);
  for (let ch = 0; ch < c; ch++) {
    for (let i = 0; i < size; i++) for (let j = 0; j < size; j++) win[(ch * size + i) * size + j] = (g[i] * g[j]) / (total * total);
  }
  const kernel = tensor(win, [c, 1, size, size], { device: a.device, dtype: a.dtype });
  const blur = (t: Tensor) => conv2d(t, kernel, null, { groups: c });
  const muA = blur(a);
  const muB = blur(b);
  const muA2 = muA.mul(muA);
  const muB2 = muB.mul(muB);
  const muAB = muA.mul(muB);
  const varA = blur(a.mul(a)).sub(muA2);
  const varB = blur(b.mul(b)).sub(muB2);
  const cov = blur(a.mul(b)).sub(muAB);
  const num = muAB.mul(2).add(c1).mul(cov.mul(2).add(c2));
  const den = muA2.add(muB2).add(c1).mul(varA.add(varB).add(c2));
  return num.div(den).mean();
}
