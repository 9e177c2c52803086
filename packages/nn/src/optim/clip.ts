import { type Tensor, full, minimum, noGrad, stack, tidy } from '@webgrad/tensor';

/**
 * Scales the gradients so that their joint norm is at most maxNorm (PyTorch's
 * clip_grad_norm_) and returns the norm before clipping, as a one-element tensor on the
 * gradients' device: nothing waits for the GPU.
 */
export function clipGradNorm(parameters: Iterable<Tensor>, maxNorm: number, normType = 2): Tensor {
  const grads = [...parameters].map((p) => p.grad).filter((g): g is Tensor => g !== null);
  if (grads.length === 0) return full([], 0);
  if (!(normType > 0)) throw new Error(`clipGradNorm: normType must be positive or Infinity, got ${normType}`);
  return tidy(() =>
    noGrad(() => {
      const total =
        normType === Infinity
          ? stack(grads.map((g) => g.abs().max())).max()
          : normType === 2
            ? stack(grads.map((g) => g.mul(g).sum())).sum().sqrt()
            : stack(grads.map((g) => g.abs().pow(normType).sum())).sum().pow(1 / normType);
      // min(maxNorm / (norm + 1e-6), 1): a factor of 1 leaves small gradients as they are.
      const coef = minimum(full([], maxNorm, { device: total.device }).div(total.add(1e-6)), 1);
      for (const g of grads) g.set_(g.mul(coef));
      return total;
    }),
  );
}

