import { type PrintOptions, Tensor, keep, tidy, zeros } from '@webgrad/tensor';

/**
 * A tensor that a Module owns and trains: a leaf that requires grad and outlives tidy()
 * scopes. It shares `data`'s storage (as torch.nn.Parameter does); dispose `data` when it is
 * no longer needed, or build the parameter inside tidy().
 */
export class Parameter extends Tensor {
  constructor(data: Tensor, requiresGrad = true) {
    super(data); // a new leaf over the same storage, as Tensor.detach()
    if (requiresGrad) this.requiresGrad_();
    keep(this);
  }

  /** PyTorch's `Parameter containing:` followed by the tensor's repr. */
  override toString(opts?: PrintOptions): string {
    return `Parameter containing:\n${super.toString(opts)}`;
  }
}

export function isParameter(x: unknown): x is Parameter {
  return x instanceof Parameter;
}

/** A new parameter of zeros (layers then initialise it in place, as PyTorch's reset_parameters). */
export function zerosParameter(shape: readonly number[], requiresGrad = true): Parameter {
  return tidy(() => new Parameter(zeros(shape), requiresGrad));
}
