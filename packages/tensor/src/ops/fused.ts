/**
 * One fused elementwise op over several tensors (kernels-ir's fusedOp tree): what a jit pass
 * puts in place of a recorded chain of unary and binary calls. No gradient: the pass runs on
 * recorded steps, where backward is already a chain of recorded calls of its own.
 */
import type { FusedElementwiseOp } from '@webgrad/kernels-ir';
import { broadcastShapes, padRank } from '../shape';
import type { Tensor } from '../tensor';
import { allocate, commonBackend, wrap } from './util';

/** op(inputs...) with the inputs broadcast together as `binary` broadcasts two (float32 only). */
export function fusedElementwise(op: FusedElementwiseOp, inputs: readonly Tensor[]): Tensor {
  if (inputs.length !== op.arity) throw new Error(`fusedElementwise: the op takes ${op.arity} input${op.arity === 1 ? '' : 's'}, got ${inputs.length}`);
  for (const [k, t] of inputs.entries()) {
    if (t.dtype !== 'float32') throw new Error(`fusedElementwise: input ${k} is ${t.dtype}; fused ops take float32 only`);
    if (t.requiresGrad) throw new Error(`fusedElementwise: input ${k} requires grad, and a fused op records no gradient; fuse recorded steps (a jit pass), or run the ops one by one`);
  }
  const backend = commonBackend('fusedElementwise', ...inputs);
  const outShape = inputs.reduce<number[]>((s, t) => broadcastShapes('fusedElementwise', s, t.shape), []);
  const r = outShape.length;
  const s = allocate('fusedElementwise', outShape, () => backend.fused(op, inputs.map((t) => t.storage), inputs.map((t) => padRank(t.shape, r)), outShape));
  return wrap(backend, s, outShape, 'float32');
}
