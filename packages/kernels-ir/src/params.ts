/**
 * One parameter type per kernel family, shared by the tensor package's Backend interface
 * and every generator (WGSL, WebAssembly, JavaScript): what a kernel computes, with the
 * sizes it computes it on.
 */

/**
 * One N-d convolution (N = inSize.length, 1 to 3), NC(D)(H)W layout.
 */
export interface ConvParams {
  batch: number;
  inChannels: number;
  outChannels: number;
  groups: number;
  inSize: readonly number[];   // spatial input size
  kernel: readonly number[];   // spatial kernel size
  outSize: readonly number[];  // spatial output size (the op layer computes it)
  stride: readonly number[];
  padding: readonly number[];  // zero padding BEFORE each spatial dim; reads past the end are zero too
  dilation: readonly number[];
}

/** Sliding windows over planes: x is [planes, ...inSize]. */
export interface PoolParams {
  planes: number;     // batch * channels
  inSize: readonly number[];
  kernel: readonly number[];
  outSize: readonly number[];
  stride: readonly number[];
  padding: readonly number[];  // before each dim
  dilation: readonly number[];
  countIncludePad: boolean;    // avg only (PyTorch's count_include_pad)
}

/**
 * Batched C[b] = op(A[b]) @ op(B[b]), C [batch, m, n] contiguous; A[b] starts at
 * b * aBatchStride (0 broadcasts one matrix).
 */
export interface MatmulParams {
  batch: number; m: number; n: number; k: number;
  transA: boolean; transB: boolean;
  aBatchStride: number; bBatchStride: number;
}

/** x viewed as [n, c, s] (s = product of the spatial dims, 1 when there are none); statistics per channel over its n·s values. */
export interface BatchNormShape {
  n: number;
  c: number;
  s: number;
}

/** Batch normalisation with batch statistics. */
export interface BatchNormParams extends BatchNormShape {
  eps: number;
}

/** What the running-statistics update needs besides the four per-channel tensors. */
export interface RunningStatsParams {
  c: number;
  momentum: number;
  eps: number;
  /** Values per channel in the batch (n·s): the variance is made unbiased with count / (count − 1). */
  count: number;
}

/** torch.optim.SGD's settings for one step. */
export interface SgdParams {
  lr: number; momentum: number; dampening: number; weightDecay: number; nesterov: boolean;
  /** first step: the momentum buffer is set to the gradient instead of blended (PyTorch) */
  firstStep: boolean;
}

/** torch.optim.Adam's (and AdamW's) settings for one step. */
export interface AdamParams {
  lr: number; beta1: number; beta2: number; eps: number; weightDecay: number;
  decoupled: boolean; // AdamW
  step: number;       // 1-based, for bias correction
}

/** Hard-label cross-entropy over the rows of a [rows, cols] logits matrix (class indices int32). */
export interface CrossEntropyParams {
  /** 'none': one loss per row; 'mean' / 'sum': one value over the rows. */
  reduction: 'mean' | 'sum' | 'none';
  /** ε: the target is (1 − ε)·onehot + ε/cols (PyTorch's label_smoothing). */
  labelSmoothing: number;
}
