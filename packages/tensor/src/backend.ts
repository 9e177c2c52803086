/**
 * The one interface both backends implement. The op layer (src/ops) calls only these
 * methods; gradients are written with ops, so they run wherever the tensors live.
 *
 * Conventions shared by every method:
 * - Storage is one contiguous, row-major buffer of `size` elements. Backends own its type
 *   (typed arrays on cpu, GPUBuffers on webgpu); nothing outside a backend looks inside.
 * - Methods never modify their inputs, except those named `...InPlace` / `write...`.
 * - Shapes are plain number arrays; broadcasting has already been resolved by the op layer
 *   into explicit shapes (and, for `strided`, into strides with 0 for broadcast dims).
 */
export type DType = 'float32' | 'int32' | 'float64';
export type TypedArray = Float32Array | Int32Array | Float64Array;
export type Shape = readonly number[];

/** Opaque backend storage. `bytes` feeds memoryStats(). */
export interface Storage {
  readonly bytes: number;
}

/**
 * One elementwise op of the op table (src/ops/elementwise.ts): its name (a cache key), its
 * arity, its expression tree and whether int32 stays exact. Backends get the declaration
 * itself, not a name to look up, and render the tree into their own code once per op.
 */
export type { ElementwiseKernelOp as ElementwiseOp } from '@webgrad/kernels-ir';
import type { ElementwiseKernelOp as ElementwiseOp, FusedElementwiseOp, UpdateOp } from '@webgrad/kernels-ir';
export type { Axes3, FusedElementwiseOp, ProductEpilogue, UpdateOp } from '@webgrad/kernels-ir';
import type { ProductEpilogue } from '@webgrad/kernels-ir';

export type ReduceOp = 'sum' | 'max' | 'min' | 'argmax' | 'argmin';

export type PadMode = 'constant' | 'reflect' | 'replicate' | 'circular';

// One parameter type per kernel family, shared with every generator (kernels-ir).
export type { AdamParams, BatchNormParams, ConvParams, CrossEntropyParams, MatmulParams, PoolParams, RunningStatsParams, SgdParams } from '@webgrad/kernels-ir';
import type { AdamParams, BatchNormParams, ConvParams, CrossEntropyParams, MatmulParams, PoolParams, SgdParams } from '@webgrad/kernels-ir';

/**
 * Elementwise work fused into a float32 reduction: the values reduced are
 * `prologue.op(x, ...prologue.others)` (every input of x's shape), each result r becomes
 * `epilogue(r)` (arity 1), each rounded to float32 as the separate calls store them.
 */
export interface ReduceFusion {
  prologue?: { op: FusedElementwiseOp; others: Storage[] };
  epilogue?: FusedElementwiseOp;
}

/**
 * Elementwise work fused into a float32 matmul or convolution where it stores (kernels-ir's
 * ProductEpilogue): each value v of the product, viewed as three axes (matmul [batch, m, n],
 * conv [N, Cout, prod(outSize)]), becomes `op(v, others[0][..], ...)`, `others[k]` a
 * contiguous storage of three-axis shape `shapes[k]` read broadcast; rounded to float32 as
 * a `fused` call after the product would store it.
 */
export interface ProductFusion extends ProductEpilogue {
  others: Storage[];
}

/** One parameter's arrays in an update (param, grad, optimizer state: the op's order), `size` elements each. */
export interface UpdateItem { arrays: Storage[]; size: number }

/**
 * One elementwise op of a batch norm epilogue: its tree reads the value so far as x and,
 * for a binary op, `residual` (a storage of x's shape, read at the same index) as y; `a`,
 * `b` are its parameters (default 0), as unary's. Each step's result is rounded to the
 * dtype before the next reads it, as separate calls would store it.
 */
export interface ElementwiseStep { op: ElementwiseOp; residual?: Storage; a?: number; b?: number }
/** One step, or a chain such as relu(bn(x) + shortcut): [add with residual, relu]. */
export type BatchNormEpilogue = ElementwiseStep | readonly ElementwiseStep[];
/** The running statistics a training batch norm updates (RunningStatsParams besides c and eps). */
export interface BatchNormRunning { mean: Storage; var: Storage; momentum: number; count: number }
/** batchNorm's parameters, with the running statistics to update in the same call. */
export interface BatchNormCall extends BatchNormParams { running?: BatchNormRunning }
/** What convBackwardWeight returns: the weight gradient, and the bias's when asked for. */
export interface ConvWeightGradients {
  weight: Storage;
  bias: Storage | null;
}


export interface BatchNormResult {
  y: Storage;
  mean: Storage;
  invstd: Storage;
  /**
   * The updated running statistics, new storages, when p.running was given. Flat fields,
   * not an object, so the jit records them as results of the call like y.
   */
  runningMean?: Storage;
  runningVar?: Storage;
}
/** The op whose backward precedes batchNormBackward's: it reads gy as x and `y` as y. */
export interface BatchNormPrologue { op: ElementwiseOp; y: Storage; a?: number; b?: number }
/** Checks an update call against its op: every item with the op's arrays, the op's scalars. */
export function checkUpdate(op: UpdateOp, items: readonly UpdateItem[], scalars: readonly number[]): void {
  for (const it of items) {
    if (it.arrays.length !== op.arrays || scalars.length !== op.scalars) throw new Error(`update: ${op.arrays} arrays and ${op.scalars} scalars expected, got ${it.arrays.length} and ${scalars.length}`);
  }
}

/** The epilogue as a list of steps. */
export const epilogueSteps = (e: BatchNormEpilogue | undefined): readonly ElementwiseStep[] =>
  e === undefined ? [] : 'op' in e ? [e as ElementwiseStep] : (e as readonly ElementwiseStep[]);

import type { DeviceLimits } from './limits';

export interface Backend {
  readonly name: string;
  /** Human-readable description (adapter name for webgpu). */
  readonly description: string;
  /** The largest buffer and binding the device allows; none on cpu. */
  readonly limits?: DeviceLimits;

  // --- memory ----------------------------------------------------------------------
  upload(data: TypedArray, dtype: DType): Storage;
  /** A new storage of `size` elements, every one equal to `value`. */
  fill(size: number, value: number, dtype: DType): Storage;
  read(s: Storage, size: number, dtype: DType): Promise<TypedArray>;
  /** Synchronous read, where the backend can (cpu); otherwise undefined. */
  readSync?(s: Storage, size: number, dtype: DType): TypedArray;
  dispose(s: Storage): void;
  /** Buffers and bytes the backend holds for live storages (pool excluded). */
  stats(): { buffers: number; bytes: number };
  /**
   * Called between steps, when an async read lets the event loop turn (the tensors' GC safety
   * net gets its turn then): a backend whose storage the JS engine does not count may ask for
   * a garbage collection when that storage keeps growing.
   */
  collectionTurn?(): void;
  /** Wait for all queued work (no-op on cpu). */
  sync(): Promise<void>;
  /**
   * Runs `run` with every command it issues going into one command buffer, submitted when
   * it returns (a jit replay: one encoder per training step). Backends that execute each call
   * as it comes (cpu) leave it out.
   */
  oneSubmission?(run: () => void): void;

  // --- elementwise -----------------------------------------------------------------
  /** out = op(x) with the op's scalar parameters a, b; outDtype differs from inDtype for casts. */
  unary(op: ElementwiseOp, x: Storage, size: number, inDtype: DType, outDtype: DType, a?: number, b?: number): Storage;
  /** Broadcasting binary op; aShape/bShape are already right-aligned to outShape's rank. */
  binary(op: ElementwiseOp, a: Storage, aShape: Shape, b: Storage, bShape: Shape, outShape: Shape, inDtype: DType, outDtype: DType): Storage;
  /**
   * A fused elementwise op (a tree of the table's ops, made by kernels-ir's fusedOp):
   * float32 inputs broadcast to outShape as `binary` does (shapes already of its rank),
   * float32 out.
   */
  fused(op: FusedElementwiseOp, inputs: Storage[], inputShapes: Shape[], outShape: Shape): Storage;
  /** cond != 0 ? a : b, all three broadcast to outShape (same rank). */
  where(cond: Storage, condShape: Shape, condDtype: DType, a: Storage, aShape: Shape, b: Storage, bShape: Shape, outShape: Shape, dtype: DType): Storage;

  // --- reductions ------------------------------------------------------------------
  /**
   * Reduce `axes` of x (shape `shape`). The result holds the remaining dims in order
   * (same element count as keepdim). argmax/argmin take exactly one axis and give int32.
   * With `fusion` (float32 sum, max and min only), elementwise work around it in one call:
   * what the separate fused calls compute, as a jit's fusion pass makes it (jit/fuse-reduce.ts).
   */
  reduce(op: ReduceOp, x: Storage, shape: Shape, axes: number[], dtype: DType, fusion?: ReduceFusion): Storage;

  // --- copies ----------------------------------------------------------------------
  /** out[i] = x[offset + sum_d idx_d(i) * strides[d]] for i over outShape (permute, expand, slice). */
  strided(x: Storage, outShape: Shape, strides: number[], offset: number, dtype: DType): Storage;
  /** dst[offset + sum_d idx_d(i) * dstStrides[d]] = src[i] for i over srcShape, in place (cat). */
  writeStrided(dst: Storage, src: Storage, srcShape: Shape, dstStrides: number[], dstOffset: number, dtype: DType): void;
  /** Pad every dim by [before, after]; negative values crop. */
  pad(x: Storage, shape: Shape, pads: [number, number][], mode: PadMode, value: number, dtype: DType): Storage;
  /** out[..., i_axis, ...] = x[..., index[..., i_axis, ...], ...]; out has index's shape. */
  gather(x: Storage, xShape: Shape, index: Storage, indexShape: Shape, axis: number, dtype: DType): Storage;
  /** The adjoint of gather: zeros(outShape), then out[.., index[i], ..] += src[i]. */
  scatterAdd(src: Storage, index: Storage, indexShape: Shape, outShape: Shape, axis: number, dtype: DType): Storage;
  /** Overwrite dst's first `size` elements with src's (in place). */
  copyInto(dst: Storage, src: Storage, size: number, dtype: DType): void;

  // --- linear algebra --------------------------------------------------------------
  /**
   * Batched C[b] = op(A[b]) @ op(B[b]), C is [batch, m, n] contiguous.
   * A[b] starts at b * aBatchStride (0 broadcasts one matrix); op transposes when trans*.
   * A is [m, k] (or [k, m] when transA), B is [k, n] (or [n, k] when transB), row-major.
   * `epilogue` (float32 only): C is the epilogue applied to the product, bit for bit what
   * `fused(op, [C, ...others], shapes, [batch, m, n])` after it gives (see ProductFusion).
   */
  matmul(a: Storage, b: Storage, p: MatmulParams, dtype: DType, epilogue?: ProductFusion): Storage;

  // --- convolution -----------------------------------------------------------------
  /**
   * y = conv(x, w) (+ bias[cout] when given). x [N, Cin, ...in], w [Cout, Cin/g, ...k] -> [N, Cout, ...out].
   * `epilogue` (float32 only): y is the epilogue applied to that (bias included), bit for bit
   * what `fused(op, [y, ...others], shapes, [N, Cout, prod(out)])` after it gives.
   */
  conv(x: Storage, w: Storage, bias: Storage | null, p: ConvParams, dtype: DType, epilogue?: ProductFusion): Storage;
  /** d loss / d x from gy [N, Cout, ...out] and w. */
  convBackwardInput(gy: Storage, w: Storage, p: ConvParams, dtype: DType): Storage;
  /**
   * d loss / d w from x and gy; with `bias`, d loss / d bias too: gy summed over the batch and
   * every output position, bit for bit fusion.ts's convBiasGradient (gy's `reduce('sum')`) where
   * the backend has no kernel that does both (a GPU does both in one dispatch).
   */
  convBackwardWeight(x: Storage, gy: Storage, p: ConvParams, dtype: DType, bias?: boolean): ConvWeightGradients;
  /** x [N, C, ...in] -> columns [N, C * prod(kernel), prod(out)]. Channels are p.inChannels. */
  im2col(x: Storage, p: ConvParams, dtype: DType): Storage;
  /** The adjoint of im2col: columns summed back into [N, C, ...in]. */
  col2im(cols: Storage, p: ConvParams, dtype: DType): Storage;

  // --- pooling ---------------------------------------------------------------------
  /** Max over each window (padding never wins); argmax = flat index into the input plane, -1 if none. */
  maxPool(x: Storage, p: PoolParams, dtype: DType): { out: Storage; argmax: Storage };
  maxPoolBackward(gy: Storage, argmax: Storage, p: PoolParams, dtype: DType): Storage;
  avgPool(x: Storage, p: PoolParams, dtype: DType): Storage;
  avgPoolBackward(gy: Storage, p: PoolParams, dtype: DType): Storage;

  // --- normalisation ---------------------------------------------------------------
  /**
   * Training-mode batch norm of x [n, c, s]: mean [c] and invstd [c] = 1 / sqrt(biased
   * variance + eps) per channel, y = (x − mean) · invstd (· weight[c]) (+ bias[c]).
   * weight / bias null: 1 / 0.
   *
   * Extras folded into the same call (without these arguments nothing changes):
   * - `epilogue`: y is the steps applied in order to the normalised value (see
   *   BatchNormEpilogue), bit for bit what unary / binary calls after this one would give;
   *   mean and invstd are unchanged.
   * - `p.running`: also the running statistics after this training step, as new storages
   *   (runningMean, runningVar) of p.c values: (1 − momentum)·running + momentum·batch, the
   *   batch variance being 1 / invstd² − eps made unbiased by count / (count − 1), in the
   *   backend's f32 (or f64) arithmetic; the storages passed in are not written. Asked of
   *   batchNorm rather than a method of its own so that a backend can fold it into the
   *   statistics pass (one op where elementwise ops would take a dozen). The op layer's
   *   training batch norm always passes it when there are running statistics.
   */
  batchNorm(x: Storage, weight: Storage | null, bias: Storage | null, p: BatchNormCall, dtype: DType, epilogue?: BatchNormEpilogue): BatchNormResult;
  /**
   * Its gradients from gy [n, c, s] and the forward's mean / invstd, xhat = (x − mean) · invstd:
   * gbias = Σ gy, gweight = Σ gy · xhat (per channel), gx = (w · invstd / M) · (M · gy − gbias − xhat · gweight),
   * M = n · s, w = 1 when weight is null.
   *
   * `prologue`: gy is replaced by op(gy, prologue.y) wherever it is read (the backward of
   * an elementwise op between this batch norm and the loss, e.g. reluGrad), bit for bit
   * what batchNormBackward(binary(op, gy, y), ...) gives.
   */
  batchNormBackward(gy: Storage, x: Storage, mean: Storage, invstd: Storage, weight: Storage | null, p: BatchNormParams, dtype: DType, prologue?: BatchNormPrologue): { gx: Storage; gweight: Storage; gbias: Storage };

  // --- fused -----------------------------------------------------------------------
  /** Softmax (or log-softmax) over the last axis of a [rows, cols] matrix. */
  softmax(x: Storage, rows: number, cols: number, log: boolean, dtype: DType): Storage;
  /**
   * Cross-entropy of logits x [rows, cols] against int32 class indices target [rows], with
   * label smoothing: per row lse = log Σ_c exp(x[c]) (stable: row max subtracted) and the
   * loss lse − x[t] or, with ε > 0, (1 − ε)·(lse − x[t]) + ε·(lse − Σ_c x[c] / cols).
   * `loss`: `rows` values for 'none', else one (their mean or sum; the mean of no rows is NaN);
   * `lse`: the rows' lse, which crossEntropyBackward takes. A NaN or +∞ logit, a row of −∞
   * or a target outside [0, cols) makes the row's loss NaN (the op layer checks targets).
   * One op, so a backend can make it one launch including the reduction over rows.
   */
  crossEntropy(x: Storage, target: Storage, rows: number, cols: number, p: CrossEntropyParams, dtype: DType): { loss: Storage; lse: Storage };
  /**
   * Its gradient from g (one value, or `rows` for 'none'): gx [rows, cols] =
   * (exp(x − lse) − (1 − ε)·onehot(target) − ε / cols) · g_r, g_r = g[0] / rows ('mean'),
   * g[0] ('sum') or g[r] ('none').
   */
  crossEntropyBackward(g: Storage, x: Storage, lse: Storage, target: Storage, rows: number, cols: number, p: CrossEntropyParams, dtype: DType): Storage;
  /**
   * In-place update `op` (the optimizer steps: ops/optim.ts) of one or more parameters'
   * arrays with the same scalars (PyTorch's foreach); each item's values are what the update
   * of that item alone gives, whatever else is in the list. On webgpu the first update of
   * two or more items moves the arrays it writes into shared buffers (the storages keep their
   * identity), and each update is then one dispatch per buffer (backends/webgpu/pack.ts).
   */
  update(op: UpdateOp, items: UpdateItem[], scalars: readonly number[], dtype: DType): void;
}
