/**
 * float32 batch norm with elementwise ops fused in, on the modules kernels-wasm renders from
 * the ops' trees (batch-norm-fused.ts there): built and added to the runtime on first use
 * of a chain, then cached. null where there is no such module (a tree with no SIMD
 * rendering, a chain of more than four ops, a unary prologue) or the memory is not shared:
 * the caller then makes the separate calls.
 */
import type { BatchNormParams, ElementwiseKernelOp } from '@webgrad/kernels-ir';
import { batchNormFusedModule, batchNormFusedParams } from '@webgrad/kernels-wasm';
import { COST_PER_ELEMENT, Scratch, at, f32Bits, output, params, part, threadsFor, withOutputs } from './kernels';
import type { KernelId, WasmRuntime } from './runtime';

function kernel(rt: WasmRuntime, kind: 'epilogue' | 'prologue', ops: readonly ElementwiseKernelOp[]): KernelId | null {
  const key = `batchNorm ${kind}/${ops.map((op) => op.name).join(',')}`;
  const ids = rt.generatedKernels(key, () => batchNormFusedModule(kind === 'epilogue' ? { epilogue: ops } : { prologue: ops[0] }, { shared: rt.shared }));
  return ids ? ids[kind === 'epilogue' ? 'batchNorm' : 'batchNormBackward'] : null;
}

/** One fused op: its tree, its residual (binary ops), its parameters. */
export interface FusedOp { op: ElementwiseKernelOp; other: Float32Array | null; a: number; b: number }

type Ptrs = Partial<Record<(typeof batchNormFusedParams.fields)[number], number>>;

/** Channels split over threads as the plain kernel splits them; `perThread` adds each thread's own fields. */
function run(rt: WasmRuntime, id: KernelId, p: BatchNormParams, scratch: Scratch, ops: readonly FusedOp[],
  ptrs: Ptrs, perThread: () => Ptrs): void {
  const T = threadsFor(rt, 3 * COST_PER_ELEMENT * p.n * p.c * p.s, p.c);
  const steps: Ptrs = {};
  ops.forEach((o, k) => {
    const f = (name: string) => name as keyof Ptrs;
    steps[f(`a${k}`)] = f32Bits(o.a);
    steps[f(`b${k}`)] = f32Bits(o.b);
  });
  const blocks: number[] = [];
  for (let t = 0; t < T; t++) {
    const [c0, c1] = part(p.c, T, t);
    const zero = Object.fromEntries(batchNormFusedParams.fields.map((f) => [f, 0])) as Record<(typeof batchNormFusedParams.fields)[number], number>;
    blocks.push(params(scratch, batchNormFusedParams, { ...zero, ...ptrs, ...steps, ...perThread(), n: p.n, c: p.c, s: p.s, c0, c1, eps: f32Bits(p.eps) }));
  }
  rt.run(blocks.map((pp) => ({ kernel: id, params: pp })));
}

/** batchNorm with `ops` applied to y (Backend.batchNorm's epilogue), or null (see above). */
export function wasmBatchNormFused(rt: WasmRuntime, x: Float32Array, weight: Float32Array | null, bias: Float32Array | null, p: BatchNormParams,
  ops: readonly FusedOp[]): { y: Float32Array; mean: Float32Array; invstd: Float32Array } | null {
  if (!rt.shared) return null;
  const id = kernel(rt, 'epilogue', ops.map((o) => o.op));
  if (id === null) return null;
  const outputs = { y: output(rt, p.n * p.c * p.s), mean: output(rt, p.c), invstd: output(rt, p.c) };
  return withOutputs(rt, outputs, (scratch) => {
    const residuals: Ptrs = {};
    ops.forEach((o, k) => {
      if (o.other) residuals[`r${k}` as keyof Ptrs] = scratch.input(o.other);
    });
    run(rt, id, p, scratch, ops, {
      x: scratch.input(x), weight: weight ? scratch.input(weight) : 0, bias: bias ? scratch.input(bias) : 0,
      y: at(rt, outputs.y), mean: at(rt, outputs.mean), invstd: at(rt, outputs.invstd), ...residuals,
    }, () => ({}));
  });
}

/** batchNormBackward reading op(gy, py) for gy (Backend.batchNormBackward's prologue), or null (see above). */
export function wasmBatchNormBackwardFused(rt: WasmRuntime, gy: Float32Array, x: Float32Array, mean: Float32Array, invstd: Float32Array,
  weight: Float32Array | null, p: BatchNormParams, pro: FusedOp): { gx: Float32Array; gweight: Float32Array; gbias: Float32Array } | null {
  if (!rt.shared || !pro.other) return null;
  const id = kernel(rt, 'prologue', [pro.op]);
  if (id === null) return null;
  const outputs = { gx: output(rt, p.n * p.c * p.s), gweight: output(rt, p.c), gbias: output(rt, p.c) };
  return withOutputs(rt, outputs, (scratch) => {
    run(rt, id, p, scratch, [pro], {
      gy: scratch.input(gy), x: scratch.input(x), mean: scratch.input(mean), invstd: scratch.input(invstd), py: scratch.input(pro.other!),
      weight: weight ? scratch.input(weight) : 0,
      gx: at(rt, outputs.gx), gweight: at(rt, outputs.gweight), gbias: at(rt, outputs.gbias),
    }, () => ({ scratch: scratch.alloc(Math.max(p.n * p.s, 4) * 4) }));
  });
}
