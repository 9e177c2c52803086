/**
 * float32 matmul and convolution on the WASM kernels. Inputs that already live in the
 * memory (arrays from allocArray: the cpu backend's storage) are read in place, others are
 * copied into scratch; results are arrays in the memory. The work is split over threads by
 * outputs (batch items, rows or columns of C, input channels of dW: never a sum).
 */
import { conv3, sizeOf, type BatchNormParams, type ConvParams, type MatmulParams, type PoolParams } from '@webgrad/kernels-ir';
import { dims } from '../kernels/pool';
import { batchNormParams, convParams, gemmParams, maxPool2x2Params, maxPoolParams, type Layout, CONV_GEO, MR, NR, PACK_A_BYTES, PACK_B_BYTES, TILE_BYTES } from '@webgrad/kernels-wasm';
import type { KernelName, WasmRuntime } from './runtime';

/**
 * Below this many flops one thread is faster than waking the others (~20 µs per dispatch,
 * ≈ 2e6 GEMM flops). Memory-bound and scalar kernels weigh their elements by COST_PER_ELEMENT
 * GEMM flops: each costs about as long as that many flops in the packed GEMM.
 */
export const MIN_FLOPS_PER_THREAD = 2e6;
export const COST_PER_ELEMENT = 25;

/** [start, end) of part i when `total` units are split into `parts` nearly equal runs. */
export function part(total: number, parts: number, i: number): [number, number] {
  return [Math.floor((total * i) / parts), Math.floor((total * (i + 1)) / parts)];
}

export function threadsFor(rt: WasmRuntime, flops: number, units: number): number {
  return Math.max(1, Math.min(rt.threads, units, Math.floor(flops / MIN_FLOPS_PER_THREAD)));
}

/** Scratch blocks of one kernel call, all released by done(). */
export class Scratch {
  private blocks: [number, number][] = [];
  constructor(readonly rt: WasmRuntime) {}
  alloc(bytes: number): number {
    const at = this.rt.alloc(bytes);
    this.blocks.push([at, bytes]);
    return at;
  }
  /** The address of `a` in the memory: in place when it lives there, else a copy. */
  input(a: Float32Array | Int32Array): number {
    const at = this.rt.addressOf(a);
    if (at !== null) return at;
    const copy = this.alloc(a.length * 4);
    (a instanceof Int32Array ? this.rt.i32 : this.rt.f32).set(a, copy / 4);
    return copy;
  }
  /** Per-thread packing scratch. */
  packs() {
    return { packA: this.alloc(PACK_A_BYTES), packB: this.alloc(PACK_B_BYTES), tile: this.alloc(TILE_BYTES) };
  }
  done(): void {
    for (const [at, bytes] of this.blocks) this.rt.release(at, bytes);
    this.blocks = [];
  }
}

/** A result array in the memory, every element of which the kernel writes. */
export const output = (rt: WasmRuntime, n: number) => rt.allocArray('float32', n, false) as Float32Array;

/**
 * The result as handed out: in place on a shared memory; copied to the JS heap from a plain
 * one, whose next growth would detach the view.
 */
export function handOut<T extends Float32Array | Int32Array>(rt: WasmRuntime, a: T): T {
  if (rt.shared) return a;
  const copy = rt.currentView(a).slice() as T;
  rt.freeArray(a);
  return copy;
}

/**
 * One kernel call: `fill` writes the outputs, using a fresh scratch for its inputs and
 * parameters. On success the outputs are handed out; on any error they are freed. The
 * scratch is released either way.
 */
export function withOutputs<T extends Record<string, Float32Array | Int32Array>>(rt: WasmRuntime, outputs: T, fill: (scratch: Scratch) => void): T {
  const scratch = new Scratch(rt);
  try {
    fill(scratch);
  } catch (err) {
    for (const a of Object.values(outputs)) rt.freeArray(a);
    throw err;
  } finally {
    scratch.done();
  }
  return Object.fromEntries(Object.entries(outputs).map(([name, a]) => [name, handOut(rt, a)])) as T;
}

/** Byte address of an array from allocArray (its byteOffset reads 0 once a plain memory grows). */
export const at = (rt: WasmRuntime, a: Float32Array | Int32Array): number => rt.addressOf(a)!;

/**
 * Writes a parameter block and returns its address. The values are evaluated (and their
 * scratch allocated) before the memory is viewed: an allocation may grow a plain memory,
 * which detaches earlier views.
 */
export function params<F extends string>(scratch: Scratch, l: Layout<F>, values: Record<F, number>): number {
  const pp = scratch.alloc(l.bytes);
  l.write(scratch.rt.i32, pp, values);
  return pp;
}

export function dispatch(rt: WasmRuntime, kernel: KernelName, blocks: number[]): void {
  rt.run(blocks.map((params) => ({ kernel, params })));
}

export function wasmMatmul(rt: WasmRuntime, a: Float32Array, b: Float32Array, p: MatmulParams): Float32Array {
  const { batch, m, n, k, transA, transB, aBatchStride, bBatchStride } = p;
  const out = output(rt, batch * m * n);
  if (out.length === 0) return handOut(rt, out);
  return withOutputs(rt, { out }, (scratch) => {
    const A = scratch.input(a), B = scratch.input(b), C = at(rt, out);
    const flops = 2 * batch * m * n * k;
    const rowTiles = Math.ceil(m / MR), colTiles = Math.ceil(n / NR);
    // split the batch when it alone feeds every thread, else the longer side of C in whole tiles
    const by = batch >= rt.threads ? 'batch' : colTiles >= rowTiles ? 'cols' : 'rows';
    const units = by === 'batch' ? batch : by === 'cols' ? colTiles : rowTiles;
    const T = threadsFor(rt, flops, units);
    const blocks: number[] = [];
    for (let t = 0; t < T; t++) {
      const [u0, u1] = part(units, T, t);
      const b0 = by === 'batch' ? u0 : 0;
      blocks.push(params(scratch, gemmParams, {
        A: A + b0 * aBatchStride * 4, rsA: transA ? 1 : k, csA: transA ? m : 1, aBatch: aBatchStride,
        B: B + b0 * bBatchStride * 4, rsB: transB ? 1 : n, csB: transB ? k : 1, bBatch: bBatchStride,
        C: C + b0 * m * n * 4, ldc: n, cBatch: m * n,
        batch: by === 'batch' ? u1 - u0 : batch,
        m0: by === 'rows' ? u0 * MR : 0, m1: by === 'rows' ? Math.min(m, u1 * MR) : m,
        n0: by === 'cols' ? u0 * NR : 0, n1: by === 'cols' ? Math.min(n, u1 * NR) : n,
        k, accumulate: 0, ...scratch.packs(),
      }));
    }
    dispatch(rt, 'gemm', blocks);
  }).out;
}

type Conv = 'convForward' | 'convBackwardInput' | 'convBackwardWeight';

/** The spatial dims left-padded to 3 (size 1, stride 1, no padding), as CONV_GEO orders them. */
function geometry(p: ConvParams): Record<(typeof CONV_GEO)[number], number> {
  const { i: [ID, IH, IW], k: [KD, KH, KW], o: [OD, OH, OW], s: [sD, sH, sW], p: [pD, pH, pW], d: [dD, dH, dW] } = conv3(p);
  return { ID, IH, IW, KD, KH, KW, OD, OH, OW, sD, sH, sW, pD, pH, pW, dD, dH, dW };
}

/** Columns wanted per conv product: items are grouped until nb·L reaches this. */
const TARGET_COLS = 512;

/**
 * Runs one of the three conv kernels. `inputs` are x / w / bias / gy as the kernel reads
 * them; the result has `outSize` elements.
 */
function wasmConv(
  rt: WasmRuntime, kernel: Conv, p: ConvParams,
  inputs: { x?: Float32Array; w?: Float32Array; bias?: Float32Array | null; gy?: Float32Array },
  outSize: number, opts: ConvOptions,
): Float32Array {
  const G = p.groups, cinG = p.inChannels / G, coutG = p.outChannels / G;
  if (!Number.isInteger(cinG) || !Number.isInteger(coutG) || G < 1) {
    throw new Error(`conv: groups ${G} must divide inChannels ${p.inChannels} and outChannels ${p.outChannels}`);
  }
  const K = sizeOf(p.kernel), L = sizeOf(p.outSize), plane = sizeOf(p.inSize), rows = cinG * K;
  if (outSize === 0 || p.batch === 0 || L === 0) return handOut(rt, rt.allocArray('float32', outSize) as Float32Array);
  const result = output(rt, outSize);
  return withOutputs(rt, { result }, (scratch) => {
    const ptr = (a: Float32Array | null | undefined) => (a ? scratch.input(a) : 0);
    const x = ptr(inputs.x), w = ptr(inputs.w), bias = ptr(inputs.bias), gy = ptr(inputs.gy);
    const out = at(rt, result);
    const flops = 2 * p.batch * p.outChannels * rows * L;
    const byRows = kernel === 'convBackwardWeight';
    // Items per product: enough for a wide product when L is small. The weight gradient sums
    // over items, so its nb must not depend on the thread count; the others may cap it so
    // every thread gets a group. The weight gradient splits dW's columns in whole tiles.
    const wide = Math.max(1, Math.min(p.batch, Math.floor(TARGET_COLS / L)));
    const rowTiles = Math.ceil(rows / NR);
    const T0 = threadsFor(rt, flops, byRows ? rowTiles : p.batch);
    const nb = byRows ? wide : Math.max(1, Math.min(wide, Math.ceil(p.batch / T0)));
    const units = byRows ? rowTiles : Math.ceil(p.batch / nb);
    const T = Math.min(T0, units);
    const direct = kernel !== 'convBackwardInput' && directIm2colFits(p) && (opts.direct ?? directIm2colPays(p, L));
    const blocks: number[] = [];
    for (let t = 0; t < T; t++) {
      const [u0, u1] = part(units, T, t);
      const r0 = byRows ? u0 * NR : 0, r1 = byRows ? Math.min(rows, u1 * NR) : rows;
      const c0 = Math.floor(r0 / K), c1 = Math.ceil(r1 / K);
      blocks.push(params(scratch, convParams, {
        x, w, bias, gy, out, nb,
        n0: byRows ? 0 : u0 * nb, n1: byRows ? p.batch : Math.min(p.batch, u1 * nb),
        c0, c1, r0, r1,
        G, cinG, coutG, rows, L, plane, K,
        cols: direct ? 0 : scratch.alloc((c1 - c0) * K * nb * L * 4), part: nb > 1 ? scratch.alloc(coutG * nb * L * 4) : 0, ...scratch.packs(),
        direct: direct ? 1 : 0,
        ...geometry(p),
      }));
    }
    dispatch(rt, kernel, blocks);
  }).result;
}

export interface ConvOptions {
  /**
   * true: pack im2col values straight into the GEMM's panels wherever directIm2colFits;
   * false: build the im2col matrix and pack it (the general path). Unset: directIm2colPays
   * decides. Both give the same bits; tests compare them.
   */
  direct?: boolean;
}

/**
 * Can the forward and weight-gradient GEMMs pack im2col values straight into their B panels?
 * packIm2col moves 4 columns at a time and needs whole units in every output row.
 */
export const directIm2colFits = (p: ConvParams): boolean => p.outSize[p.outSize.length - 1] % 4 === 0;

/**
 * Where the direct path was measured faster (2 threads, ResNet-18 layers at batch 32): unit
 * stride along W and small output planes, which group several items per product (8×8:
 * forward and weight gradient +6–15 %). On 32×32 planes and on strided rows, which
 * packIm2col gathers lane by lane, the materialised columns were as fast or up to 7 % faster.
 */
export const directIm2colPays = (p: ConvParams, L: number): boolean =>
  p.stride[p.stride.length - 1] === 1 && L < TARGET_COLS;

export function wasmConvForward(rt: WasmRuntime, x: Float32Array, w: Float32Array, bias: Float32Array | null, p: ConvParams, opts: ConvOptions = {}): Float32Array {
  return wasmConv(rt, 'convForward', p, { x, w, bias }, p.batch * p.outChannels * sizeOf(p.outSize), opts);
}

export function wasmConvBackwardInput(rt: WasmRuntime, gy: Float32Array, w: Float32Array, p: ConvParams): Float32Array {
  return wasmConv(rt, 'convBackwardInput', p, { gy, w }, p.batch * p.inChannels * sizeOf(p.inSize), {});
}

export function wasmConvBackwardWeight(rt: WasmRuntime, x: Float32Array, gy: Float32Array, p: ConvParams, opts: ConvOptions = {}): Float32Array {
  return wasmConv(rt, 'convBackwardWeight', p, { x, gy }, p.outChannels * (p.inChannels / p.groups) * sizeOf(p.kernel), opts);
}

/** The f32 bits of x as an i32 (parameter blocks hold words). */
export const f32Bits = (x: number) => new Int32Array(new Float32Array([x]).buffer)[0];

/** Channels [c0, c1) per thread: every channel's statistics come from one thread. */
function batchNormRun(rt: WasmRuntime, kernel: 'batchNorm' | 'batchNormBackward', p: BatchNormParams, scratch: Scratch,
  ptrs: Partial<Record<'x' | 'weight' | 'bias' | 'y' | 'mean' | 'invstd' | 'gy' | 'gx' | 'gweight' | 'gbias', number>>): void {
  const T = threadsFor(rt, 3 * COST_PER_ELEMENT * p.n * p.c * p.s, p.c);
  const blocks: number[] = [];
  for (let t = 0; t < T; t++) {
    const [c0, c1] = part(p.c, T, t);
    blocks.push(params(scratch, batchNormParams, {
      x: 0, weight: 0, bias: 0, y: 0, mean: 0, invstd: 0, gy: 0, gx: 0, gweight: 0, gbias: 0, ...ptrs,
      n: p.n, c: p.c, s: p.s, c0, c1, eps: f32Bits(p.eps),
    }));
  }
  dispatch(rt, kernel, blocks);
}

export function wasmBatchNorm(rt: WasmRuntime, x: Float32Array, weight: Float32Array | null, bias: Float32Array | null, p: BatchNormParams) {
  const outputs = { y: output(rt, p.n * p.c * p.s), mean: output(rt, p.c), invstd: output(rt, p.c) };
  return withOutputs(rt, outputs, (scratch) => batchNormRun(rt, 'batchNorm', p, scratch, {
    x: scratch.input(x), weight: weight ? scratch.input(weight) : 0, bias: bias ? scratch.input(bias) : 0,
    y: at(rt, outputs.y), mean: at(rt, outputs.mean), invstd: at(rt, outputs.invstd),
  }));
}

export function wasmBatchNormBackward(rt: WasmRuntime, gy: Float32Array, x: Float32Array, mean: Float32Array, invstd: Float32Array, weight: Float32Array | null, p: BatchNormParams) {
  const outputs = { gx: output(rt, p.n * p.c * p.s), gweight: output(rt, p.c), gbias: output(rt, p.c) };
  return withOutputs(rt, outputs, (scratch) => batchNormRun(rt, 'batchNormBackward', p, scratch, {
    gy: scratch.input(gy), x: scratch.input(x), mean: scratch.input(mean), invstd: scratch.input(invstd),
    weight: weight ? scratch.input(weight) : 0,
    gx: at(rt, outputs.gx), gweight: at(rt, outputs.gweight), gbias: at(rt, outputs.gbias),
  }));
}

/** Splits `planes` over threads by `work` (elements touched) and runs `kernel` with each part's parameter block. */
export function overPlanes(rt: WasmRuntime, planes: number, work: number, block: (p0: number, p1: number) => number, kernel: KernelName): void {
  const T = threadsFor(rt, COST_PER_ELEMENT * work, planes);
  const blocks: number[] = [];
  for (let t = 0; t < T; t++) blocks.push(block(...part(planes, T, t)));
  dispatch(rt, kernel, blocks);
}

/** nn.MaxPool2d(2)'s windows, four outputs to a row at a time: what the WASM maxPool2x2 takes. */
const isPool2x2 = (p: PoolParams) =>
  p.inSize.length === 2 && [p.kernel, p.stride].every((v) => v[0] === 2 && v[1] === 2) && p.padding.every((v) => v === 0) &&
  p.dilation.every((v) => v === 1) && p.outSize.every((o, j) => 2 * o <= p.inSize[j]) && p.outSize[1] % 4 === 0;

/** Max pooling (see the JS reference for the semantics); planes split over threads. */
export function wasmMaxPool(rt: WasmRuntime, x: Float32Array, p: PoolParams): { out: Float32Array; argmax: Int32Array } {
  const [D, H, W] = dims(p, 'maxPool', false);
  const plane = sizeOf(p.inSize), L = sizeOf(p.outSize);
  const out = output(rt, p.planes * L);
  const argmax = rt.allocArray('int32', p.planes * L, false) as Int32Array;
  if (p.planes * L === 0) return { out: handOut(rt, out), argmax: handOut(rt, argmax) };
  if (isPool2x2(p)) {
    const [IH, IW] = p.inSize, [OH, OW] = p.outSize;
    return withOutputs(rt, { out, argmax }, (scratch) => {
      const common = { x: scratch.input(x), out: at(rt, out), argmax: at(rt, argmax), IH, IW, OH, OW };
      overPlanes(rt, p.planes, p.planes * L * 4, (p0, p1) => params(scratch, maxPool2x2Params, { ...common, p0, p1 }), 'maxPool2x2');
    });
  }
  return withOutputs(rt, { out, argmax }, (scratch) => {
    const table = (t: Int32Array) => {
      const at = scratch.alloc(t.length * 4);
      rt.i32.set(t, at / 4);
      return at;
    };
    const common = {
      x: scratch.input(x), out: at(rt, out), argmax: at(rt, argmax), plane, L, IH: H.inLen, IW: W.inLen,
      outD: D.outLen, outH: H.outLen, outW: W.outLen,
      firstD: table(D.first), countD: table(D.count), firstH: table(H.first), countH: table(H.count),
      firstW: table(W.first), countW: table(W.count), stepD: D.step, stepH: H.step, stepW: W.step,
    };
    overPlanes(rt, p.planes, p.planes * L * sizeOf(p.kernel), (p0, p1) => params(scratch, maxPoolParams, { ...common, p0, p1 }), 'maxPool');
  });
}
