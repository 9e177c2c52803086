import { noGrad, tidy } from './engine';
import { fmt } from './shape';
import { Tensor } from './tensor';
import { tensor } from './ops/creation';
import { mul } from './ops/elementwise';
import { sum } from './ops/reduce';

export interface GradcheckOptions {
  eps?: number;
  atol?: number;
  rtol?: number;
}

export interface GradcheckResult {
  maxAbsError: number;
  checked: number;
}

/** A fixed, seed-free projection so gradcheck leaves the global generator alone. */
function projection(shape: readonly number[], size: number): Tensor {
  const r = new Float64Array(size);
  for (let i = 0; i < size; i++) r[i] = Math.sin(12.9898 * (i + 1)) * 0.5 + 0.75;
  return tensor(r, shape, { dtype: 'float64', device: 'cpu' });
}

/**
 * Compares the analytic gradient of fn with central finite differences, in float64 on the
 * cpu backend. fn's output is projected to a scalar with fixed weights, so every output
 * element takes part. Inputs that require grad must be float64 cpu tensors; the others
 * (e.g. int targets) pass through unchanged. Throws, naming the input and element, on mismatch.
 */
export function gradcheck(fn: (...inputs: Tensor[]) => Tensor, inputs: Tensor[], opts: GradcheckOptions = {}): GradcheckResult {
  const eps = opts.eps ?? 1e-6;
  const atol = opts.atol ?? 1e-5;
  const rtol = opts.rtol ?? 1e-3;
  const checkedInputs = inputs.filter((t) => t.requiresGrad);
  if (checkedInputs.length === 0) throw new Error('gradcheck: no input requires grad');
  for (const t of checkedInputs) {
    if (t.dtype !== 'float64' || t.device !== 'cpu') {
      throw new Error(`gradcheck: inputs that require grad must be float64 on cpu, got ${t.dtype} ${fmt(t.shape)} on ${t.device}`);
    }
  }
  const scalarOf = (xs: Tensor[]) => {
    const out = fn(...xs);
    return sum(mul(out, projection(out.shape, out.size)));
  };
  for (const t of checkedInputs) {
    t.grad?.dispose();
    t.grad = null;
  }
  tidy(() => scalarOf(inputs).backward());
  let maxAbsError = 0;
  let checked = 0;
  inputs.forEach((input, which) => {
    if (!input.requiresGrad) return;
    const analytic = input.grad ? input.grad.dataSync() : new Float64Array(input.size);
    const base = input.dataSync() as Float64Array;
    for (let j = 0; j < input.size; j++) {
      const evalAt = (delta: number) =>
        tidy(() =>
          noGrad(() => {
            const moved = base.slice();
            moved[j] += delta;
            const xs = inputs.map((x, k) => (k === which ? tensor(moved, x.shape, { dtype: 'float64', device: 'cpu' }) : x));
            return scalarOf(xs).dataSync()[0];
          }),
        );
      const numeric = (evalAt(eps) - evalAt(-eps)) / (2 * eps);
      const err = Math.abs(numeric - analytic[j]);
      maxAbsError = Math.max(maxAbsError, err);
      checked++;
      if (!(err <= atol + rtol * Math.abs(numeric))) {
        throw new Error(
          `gradcheck: input ${which} ${fmt(input.shape)} element ${j}: analytic ${analytic[j]} vs numeric ${numeric} (error ${err.toExponential(2)})`,
        );
      }
    }
  });
  return { maxAbsError, checked };
}
