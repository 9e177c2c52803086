/**
 * The memory-bound float32 kernels on WASM: pooling backward / average pooling, reductions
 * and update ops (the optimizer steps). Same conventions as kernels.ts: inputs read in place when they
 * live in the memory, results arrays in the memory, work split over threads by outputs.
 */
import type { PoolParams, ReduceOp, Shape } from '../../../backend';
import { MAX_UPDATE_ARRAYS, writtenArrays, type UpdateOp } from '@webgrad/kernels-ir';
import { dims, type Dim } from '../kernels/pool';
import {
  avgPoolParams, maxPoolBackwardParams, reduceKernel, reduceParams, REDUCE_OPS, type WasmReduceOp,
  softmaxParams, updateModule, updateParams, type Layout,
} from '@webgrad/kernels-wasm';
import { COST_PER_ELEMENT, Scratch, at, dispatch, handOut, output, overPlanes, params, part, threadsFor, withOutputs } from './kernels';
import type { WasmRuntime } from './runtime';
import { sizeOf } from '../../../shape';

/** Routes each output gradient to its argmax; planes split over threads, so no two write one element. */
export function wasmMaxPoolBackward(rt: WasmRuntime, gy: Float32Array, argmax: Int32Array, p: PoolParams): Float32Array {
  const plane = sizeOf(p.inSize), L = sizeOf(p.outSize);
  const gx = output(rt, p.planes * plane);
  if (gx.length === 0) return handOut(rt, gx);
  return withOutputs(rt, { gx }, (scratch) => {
    const common = { gy: scratch.input(gy), argmax: int32Input(scratch, argmax), gx: at(rt, gx), plane, L };
    overPlanes(rt, p.planes, p.planes * (plane + 2 * L), (p0, p1) => params(scratch, maxPoolBackwardParams, { ...common, p0, p1 }), 'maxPoolBackward');
  }).gx;
}

/** Average pooling forward (backward false: x -> out) or backward (gy -> gx), PyTorch semantics as the JS reference. */
function avgPoolRun(rt: WasmRuntime, src: Float32Array, p: PoolParams, backward: boolean): Float32Array {
  const [D, H, W] = dims(p, backward ? 'avgPoolBackward' : 'avgPool', true);
  const plane = sizeOf(p.inSize), L = sizeOf(p.outSize);
  const dst = output(rt, p.planes * (backward ? plane : L));
  if (dst.length === 0) return handOut(rt, dst);
  return withOutputs(rt, { dst }, (scratch) => {
    const table = (t: Int32Array) => {
      const addr = scratch.alloc(Math.max(4, t.length * 4));
      rt.i32.set(t, addr / 4);
      return addr;
    };
    const tables = (d: Dim, name: 'D' | 'H' | 'W') => ({ [`first${name}`]: table(d.first), [`count${name}`]: table(d.count), [`span${name}`]: table(d.span) });
    const common = {
      src: scratch.input(src), dst: at(rt, dst), plane, L, IH: H.inLen, IW: W.inLen,
      outD: D.outLen, outH: H.outLen, outW: W.outLen, includePad: p.countIncludePad ? 1 : 0,
      ...tables(D, 'D'), ...tables(H, 'H'), ...tables(W, 'W'),
    } as Omit<Parameters<typeof avgPoolParams.write>[2], 'p0' | 'p1'>;
    overPlanes(rt, p.planes, p.planes * (plane + L * sizeOf(p.kernel)), (p0, p1) => params(scratch, avgPoolParams, { ...common, p0, p1 }), backward ? 'avgPoolBackward' : 'avgPool');
  }).dst;
}

export const wasmAvgPool = (rt: WasmRuntime, x: Float32Array, p: PoolParams) => avgPoolRun(rt, x, p, false);
export const wasmAvgPoolBackward = (rt: WasmRuntime, gy: Float32Array, p: PoolParams) => avgPoolRun(rt, gy, p, true);

/** The address of an int32 array in the memory: in place when it lives there, else a copy into scratch. */
function int32Input(scratch: Scratch, a: Int32Array): number {
  const addr = scratch.rt.addressOf(a);
  if (addr !== null) return addr;
  const copy = scratch.alloc(Math.max(4, a.length * 4));
  scratch.rt.i32.set(a, copy / 4);
  return copy;
}

/**
 * Reducing `axes` of `shape` as the kernel's [A, B, C, D] over A and C (size-1 dims dropped,
 * neighbours of one kind merged), or null when the reduced dims form another pattern.
 */
export function reduceView(shape: Shape, axes: readonly number[]): [number, number, number, number] | null {
  const runs: { reduced: boolean; n: number }[] = [];
  shape.forEach((n, d) => {
    if (n === 1) return;
    const reduced = axes.includes(d), last = runs[runs.length - 1];
    if (last && last.reduced === reduced) last.n *= n;
    else runs.push({ reduced, n });
  });
  let i = 0;
  const take = (reduced: boolean) => (runs[i]?.reduced === reduced ? runs[i++].n : 1);
  let A = take(true), B = take(false), C = take(true), D = take(false);
  if (i !== runs.length) return null;
  // [A, B] (leading axes): the kept dims are contiguous, four outputs at a time; [A] alone: one contiguous run
  if (C === 1 && D === 1) [B, D] = [1, B];
  if (B === 1 && C === 1 && D === 1) [A, C] = [1, A];
  return [A, B, C, D];
}

/** sum / max / min over `axes` on WASM, or null where the JS reference should do it (arg ops, other patterns). */
export function wasmReduce(rt: WasmRuntime, op: ReduceOp, x: Float32Array, shape: Shape, axes: readonly number[]): Float32Array | null {
  const view = (REDUCE_OPS as readonly string[]).includes(op) ? reduceView(shape, axes) : null;
  if (!view) return null;
  const [A, B, C, D] = view;
  if (x.length < A * B * C * D) throw new RangeError(`reduce: ${x.length} elements cannot have shape [${shape}]`);
  const out = output(rt, B * D);
  if (out.length === 0) return handOut(rt, out);
  return withOutputs(rt, { out }, (scratch) => {
    const common = { x: scratch.input(x), out: at(rt, out), A, B, C, D };
    // by b when there are enough, else by d in runs of four (the kernel's vector width)
    const byB = B >= rt.threads || D === 1;
    const units = byB ? B : Math.ceil(D / 4);
    const T = threadsFor(rt, COST_PER_ELEMENT * x.length, units);
    const blocks: number[] = [];
    for (let t = 0; t < T; t++) {
      const [u0, u1] = part(units, T, t);
      blocks.push(params(scratch, reduceParams, byB
        ? { ...common, b0: u0, b1: u1, d0: 0, d1: D }
        : { ...common, b0: 0, b1: B, d0: u0 * 4, d1: Math.min(D, u1 * 4) }));
    }
    dispatch(rt, reduceKernel(op as WasmReduceOp), blocks);
  }).out;
}

/**
 * The update `op` in place over `size` elements of the arrays, split over threads by element
 * ranges. The written arrays must live in the memory (false, nothing done, otherwise: the
 * caller then runs the JS reference, which updates them where they are), as must a tree
 * with a SIMD rendering; arrays only read (the gradient) are copied in when they do not.
 */
export function wasmUpdate(rt: WasmRuntime, op: UpdateOp, arrays: Float32Array[], size: number, scalars: readonly number[]): boolean {
  const written = new Set(writtenArrays(op));
  if (arrays.some((a, k) => !(a instanceof Float32Array) || (written.has(k) && rt.addressOf(a) === null))) return false;
  const ids = rt.generatedKernels(op.name, () => updateModule(op, { shared: rt.shared }));
  if (!ids) return false;
  if (size === 0) return true;
  const scratch = new Scratch(rt);
  try {
    const pointers = arrays.map((a, k) => (written.has(k) ? rt.addressOf(a)! : scratch.input(a.length === size ? a : a.subarray(0, size))));
    const k = scratch.alloc(4 * Math.max(1, scalars.length));
    rt.f32.set(scalars, k / 4);
    const T = threadsFor(rt, COST_PER_ELEMENT * size * arrays.length, size);
    const blocks: number[] = [];
    for (let t = 0; t < T; t++) {
      const [i0, i1] = part(size, T, t);
      const fields: Record<string, number> = { scalars: k, i0, i1 };
      updateParams.fields.slice(0, MAX_UPDATE_ARRAYS).forEach((f, a) => (fields[f] = pointers[a] ?? 0));
      blocks.push(params(scratch, updateParams as unknown as Layout<string>, fields));
    }
    rt.run(blocks.map((pp) => ({ kernel: ids.update, params: pp })));
  } finally {
    scratch.done();
  }
  return true;
}

/**
 * Row-wise softmax / log-softmax on WASM, rows split over threads. The kernel's exp is
 * within 2 ulp of Math.exp (kernels-wasm softmax.ts), so results match the JS reference to
 * float32 rounding; log-softmax takes each row's log here (wasm has none) between two passes.
 */
export function wasmSoftmax(rt: WasmRuntime, x: Float32Array, rows: number, cols: number, log: boolean): Float32Array {
  const out = output(rt, rows * cols);
  if (out.length === 0) return handOut(rt, out);
  return withOutputs(rt, { out }, (scratch) => {
    const stats = log ? scratch.alloc(16 * rows) : 0;
    const common = { x: scratch.input(x), out: at(rt, out), stats, cols, log: log ? 1 : 0 };
    // an exp costs about as much as a few elements of the memory-bound kernels
    const T = threadsFor(rt, 4 * COST_PER_ELEMENT * rows * cols, rows);
    const blocks: number[] = [];
    for (let t = 0; t < T; t++) {
      const [r0, r1] = part(rows, T, t);
      blocks.push(params(scratch, softmaxParams, { ...common, r0, r1 }));
    }
    dispatch(rt, 'softmaxRows', blocks);
    if (!log) return;
    const maxAndSum = new Float64Array(rt.memory.buffer, stats, 2 * rows);
    for (let r = 0; r < rows; r++) maxAndSum[2 * r] += Math.log(maxAndSum[2 * r + 1]); // lse = max + log(sum), as the reference
    dispatch(rt, 'logSoftmaxRows', blocks);
  }).out;
}
