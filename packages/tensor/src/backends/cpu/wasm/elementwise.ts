/**
 * float32 elementwise ops (unary, broadcasting binary, where, fused) on the WASM SIMD kernels that
 * kernels-wasm renders from the op table: each op's module is built and added to the
 * runtime on its first use, then cached; an op whose tree has no SIMD rendering returns
 * null here and stays on the JavaScript loop.
 *
 * The broadcast is planned here: dims of size 1 dropped, neighbours that every operand
 * walks alike merged, so that the kernel sees contiguous runs along the last dim (each
 * operand advancing or repeating) and an odometer over the rest. Threads split the output
 * into element ranges (one run) or whole runs; an element's value never depends on the
 * split, so any thread count gives the same bits.
 */
import type { ElementwiseKernelOp, FusedElementwiseOp } from '@webgrad/kernels-ir';
import { DIM_RECORD, FUSED_DIM_RECORD, elementwiseModule, elementwiseParams, fusedModule, fusedParams, whereModule, type Layout } from '@webgrad/kernels-wasm';
import type { DType, Shape } from '../../../backend';
import { sizeOf } from '../../../shape';
import { f32Bits, params, part, withOutputs } from './kernels';
import { wasmRuntime, type KernelId, type WasmRuntime } from './runtime';

/**
 * Below this many elements per thread, waking another thread (~15-20 µs) costs more than
 * it saves: the kernels stream about 1 element per ns on one thread.
 */
const MIN_ELEMENTS_PER_THREAD = 32768;

/** The runtime for an elementwise op from and to float32, when tensors live in its memory. */
export function elementwiseRuntime(inDtype: DType, outDtype: DType): WasmRuntime | null {
  if (inDtype !== 'float32' || outDtype !== 'float32') return null;
  const rt = wasmRuntime();
  return rt?.shared ? rt : null;
}

// --- modules -------------------------------------------------------------------------------

function kernels(rt: WasmRuntime, key: ElementwiseKernelOp | 'where'): Record<string, KernelId> | null {
  const opts = { shared: rt.shared };
  return rt.generatedKernels(key, () => (key === 'where' ? whereModule(opts) : elementwiseModule(key, opts)));
}

/** By name: a jit pass makes a new op object per trace, with the same tree. */
function fusedKernels(rt: WasmRuntime, op: FusedElementwiseOp): Record<string, KernelId> | null {
  return rt.generatedKernels(op.name, () => fusedModule(op, { shared: rt.shared }));
}

/** A kernel's parameter block: its layout and the words per dimTable record (size, then a byte stride per operand slot). */
interface Block {
  layout: Layout<string>;
  record: number;
  /** The operand pointer fields, in0 .. (record - 2), named once: every call writes them. */
  inputs: string[];
}
const block = (layout: Layout<string>, record: number): Block => ({ layout, record, inputs: Array.from({ length: record - 1 }, (_, k) => `in${k}`) });
const OPS_BLOCK = block(elementwiseParams as unknown as Layout<string>, DIM_RECORD);
const FUSED_BLOCK = block(fusedParams as unknown as Layout<string>, FUSED_DIM_RECORD);

// --- the broadcast plan ----------------------------------------------------------------------

interface Dim {
  size: number;
  /** Per operand, in elements (0 where it is broadcast). */
  strides: number[];
}

/**
 * outShape as a few dims: size-1 dims dropped, a dim merged into the next inner one where
 * every operand continues contiguously across it. The last dim is the run; every operand's
 * stride along it is 0 or 1.
 */
export function collapse(outShape: Shape, shapes: Shape[]): Dim[] {
  const rank = outShape.length;
  const strides = shapes.map((s) => {
    const out = new Array<number>(rank);
    let acc = 1;
    for (let d = rank - 1; d >= 0; d--) {
      out[d] = s[d] === 1 ? 0 : acc;
      acc *= s[d];
    }
    return out;
  });
  const dims: Dim[] = [];
  for (let d = 0; d < rank; d++) {
    if (outShape[d] === 1) continue;
    const dim = { size: outShape[d], strides: strides.map((s) => s[d]) };
    const prev = dims[dims.length - 1];
    if (prev && prev.strides.every((s, k) => s === dim.strides[k] * dim.size)) {
      dims[dims.length - 1] = { size: prev.size * dim.size, strides: dim.strides };
    } else dims.push(dim);
  }
  return dims.length ? dims : [{ size: 1, strides: shapes.map(() => 1) }];
}

/**
 * Runs `kernel` over the collapsed broadcast of the inputs into a new float32 array of
 * outShape's size.
 */
function runBroadcast(rt: WasmRuntime, kernel: KernelId, inputs: (Float32Array | Int32Array)[], shapes: Shape[], outShape: Shape, a = 0, b = 0, blk: Block = OPS_BLOCK): Float32Array {
  const total = sizeOf(outShape);
  const out = rt.allocArray('float32', total, false) as Float32Array;
  if (total === 0) return withOutputs(rt, { out }, () => {}).out;
  return withOutputs(rt, { out }, (scratch) => {
    const base = inputs.map((x) => scratch.input(x));
    const dims = collapse(outShape, shapes);
    const run = dims[dims.length - 1], outer = dims.slice(0, -1);
    const len = run.size, rows = total / len;
    const inner = run.strides.reduce((bits, s, k) => bits | (s === 1 ? 1 << k : 0), 0);
    const outAt = rt.addressOf(out)!;
    const T = Math.max(1, Math.min(rt.threads, Math.floor(total / MIN_ELEMENTS_PER_THREAD), outer.length ? rows : Infinity));
    const table = scratch.alloc(Math.max(1, outer.length) * blk.record * 4);
    outer.forEach((d, i) => rt.i32.set([d.size, ...blk.inputs.map((_, k) => (d.strides[k] ?? 0) * 4)], table / 4 + i * blk.record));
    const pointers = (element: number[], outElement: number) => {
      const p: Record<string, number> = { out: outAt + outElement * 4 };
      blk.inputs.forEach((name, k) => (p[name] = (base[k] ?? 0) + (element[k] ?? 0) * 4));
      return p;
    };
    const common = { dims: outer.length, dimTable: table, inner, a: f32Bits(a), b: f32Bits(b) };
    const blocks: number[] = [];
    for (let t = 0; t < T; t++) {
      if (outer.length === 0) {
        // one run: element ranges, aligned to 4 so every thread's vectors are whole
        const boundary = (i: number) => (i === T ? len : Math.floor(part(len, T, i)[0] / 4) * 4);
        const e0 = boundary(t), e1 = boundary(t + 1);
        const idx = scratch.alloc(4);
        blocks.push(params(scratch, blk.layout, {
          ...common, rows: 1, len: e1 - e0, idx, ...pointers(run.strides.map((s) => s * e0), e0),
        }));
      } else {
        const [r0, r1] = part(rows, T, t);
        // the odometer at run r0, and each operand's offset there
        const idx = scratch.alloc(outer.length * 4);
        const at = new Array<number>(outer.length);
        for (let d = outer.length - 1, r = r0; d >= 0; d--) {
          at[d] = r % outer[d].size;
          r = Math.floor(r / outer[d].size);
        }
        rt.i32.set(at, idx / 4);
        const offsets = inputs.map((_, k) => outer.reduce((sum, d, i) => sum + at[i] * d.strides[k], 0));
        blocks.push(params(scratch, blk.layout, { ...common, rows: r1 - r0, len, idx, ...pointers(offsets, r0 * len) }));
      }
    }
    rt.run(blocks.map((p) => ({ kernel, params: p })));
  }).out;
}

// --- the ops -----------------------------------------------------------------------------------

/** out = op(x, a, b) over x's elements, or null when the op has no SIMD rendering. */
export function wasmUnary(rt: WasmRuntime, op: ElementwiseKernelOp, x: Float32Array, size: number, a: number, b: number): Float32Array | null {
  const ids = kernels(rt, op);
  return ids && runBroadcast(rt, ids.unary, [x], [[size]], [size], a, b);
}

/** out = op(x, y), shapes padded to outShape's rank; null when the op has no SIMD rendering. */
export function wasmBinary(rt: WasmRuntime, op: ElementwiseKernelOp, x: Float32Array, xShape: Shape, y: Float32Array, yShape: Shape, outShape: Shape): Float32Array | null {
  const ids = kernels(rt, op);
  return ids && runBroadcast(rt, ids.binary, [x, y], [xShape, yShape], outShape);
}

/** cond != 0 ? a : b over float32 values; cond float32 or int32. Shapes padded to outShape's rank. */
export function wasmWhere(rt: WasmRuntime, cond: Float32Array | Int32Array, condShape: Shape, a: Float32Array, aShape: Shape, b: Float32Array, bShape: Shape, outShape: Shape): Float32Array {
  const ids = kernels(rt, 'where')!;
  return runBroadcast(rt, cond instanceof Int32Array ? ids.whereI32 : ids.whereF32, [cond, a, b], [condShape, aShape, bShape], outShape);
}

/**
 * out = op(inputs...), shapes padded to outShape's rank; null when the op's tree has no
 * SIMD rendering (the caller runs the JavaScript loop, see fusedBitwiseOnWasm).
 */
export function wasmFused(rt: WasmRuntime, op: FusedElementwiseOp, inputs: Float32Array[], shapes: Shape[], outShape: Shape): Float32Array | null {
  const ids = fusedKernels(rt, op);
  return ids && runBroadcast(rt, ids.fused, inputs, shapes, outShape, 0, 0, FUSED_BLOCK);
}
