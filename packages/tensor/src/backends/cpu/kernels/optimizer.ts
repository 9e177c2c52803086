/**
 * SGD and Adam/AdamW steps in place, PyTorch's semantics (torch.optim.SGD / Adam / AdamW),
 * computed in f64 and stored in the arrays' own precision.
 */
import type { AdamParams, SgdParams } from '../../../backend';
import type { FloatArray } from './matmul';

export function sgdStep(w: FloatArray, g: FloatArray, buf: FloatArray | null, size: number, p: SgdParams): void {
  for (let i = 0; i < size; i++) {
    let d = g[i] + p.weightDecay * w[i];
    if (buf) {
      buf[i] = p.firstStep ? d : p.momentum * buf[i] + (1 - p.dampening) * d;
      d = p.nesterov ? d + p.momentum * buf[i] : buf[i];
    }
    w[i] -= p.lr * d;
  }
}

export function adamStep(w: FloatArray, g: FloatArray, mm: FloatArray, vv: FloatArray, size: number, p: AdamParams): void {
  const bc1 = 1 - p.beta1 ** p.step;
  const bc2 = 1 - p.beta2 ** p.step;
  const stepSize = p.lr / bc1;
  const sqrtBc2 = Math.sqrt(bc2);
  for (let i = 0; i < size; i++) {
    let gi = g[i];
    if (p.decoupled) w[i] *= 1 - p.lr * p.weightDecay;
    else gi += p.weightDecay * w[i];
    mm[i] = p.beta1 * mm[i] + (1 - p.beta1) * gi;
    vv[i] = p.beta2 * vv[i] + (1 - p.beta2) * gi * gi;
    w[i] -= (stepSize * mm[i]) / (Math.sqrt(vv[i]) / sqrtBc2 + p.eps);
  }
}
