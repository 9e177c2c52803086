import { DeviceLimitError, type Tensor, cat, narrow, noGrad, tidy } from '@webgrad/tensor';
import type { Module } from '../module';

/**
 * model.forward(x) without gradients, for evaluation and prediction. A batch whose
 * activations exceed a device limit (a tensor beyond maxBufferSize, or an op the webgpu
 * backend cannot split into parts within maxStorageBufferBindingSize) is run in halves,
 * recursively, and the outputs joined. Each row's output is what one forward gives (in eval mode a layer treats rows
 * independently), so the split changes nothing but memory. Other errors pass through.
 */
export function forwardInBatches(model: Module, x: Tensor): Tensor {
  return noGrad(() => {
    try {
      return tidy(() => model.forward(x));
    } catch (err) {
      const n = x.shape[0];
      if (!(err instanceof DeviceLimitError) || x.rank === 0 || n < 2) throw err;
      const half = Math.ceil(n / 2);
      const outs = [narrow(x, 0, 0, half), narrow(x, 0, half, n - half)].map((part) => {
        const y = forwardInBatches(model, part);
        part.dispose();
        return y;
      });
      const y = cat(outs, 0);
      for (const o of outs) o.dispose();
      return y;
    }
  });
}
