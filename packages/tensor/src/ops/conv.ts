import type { ConvParams, PadMode } from '../backend';
import { record } from '../autograd';
import { expandArg, fmt } from '../shape';
import { convOutputLength } from '../shape-rules';
import { Tensor } from '../tensor';
import { allocate, commonBackend, requireFloat, wrap } from './util';
import { reshape } from './shape';
import { pad } from './pad';
import { sum } from './reduce';

export type PaddingMode = 'zeros' | 'reflect' | 'replicate' | 'circular';

export interface ConvOptions {
  stride?: number | number[];
  /** A number, one per spatial dim, 'same' (stride 1 only) or 'valid' (no padding). */
  padding?: number | number[] | 'same' | 'valid';
  dilation?: number | number[];
  groups?: number;
  /** How padded positions are filled (nn.Conv2d's padding_mode); zeros by default. */
  paddingMode?: PaddingMode;
}

function convNd(nd: number, x: Tensor, w: Tensor, bias: Tensor | null | undefined, opts: ConvOptions): Tensor {
  const op = `conv${nd}d`;
  requireFloat(op, x, w, ...(bias ? [bias] : []));
  // On the caller's shapes, before an unbatched input becomes [1, ...].
  commonBackend(op, x, w, ...(bias ? [bias] : []));
  const batched = x.rank === nd + 2;
  if (!batched && x.rank !== nd + 1) {
    throw new Error(`${op}: input must be ${nd + 2}-D [N, C, ${spatialNames(nd)}] (or ${nd + 1}-D unbatched), got ${fmt(x.shape)}`);
  }
  if (w.rank !== nd + 2) throw new Error(`${op}: weight must be ${nd + 2}-D [Cout, Cin/groups, ${spatialNames(nd)}], got ${fmt(w.shape)}`);
  const xb = batched ? x : reshape(x, [1, ...x.shape]);
  const groups = opts.groups ?? 1;
  const [n, cin] = xb.shape;
  const [cout, cinPerGroup] = w.shape;
  const shapes = `(input ${fmt(x.shape)}, weight ${fmt(w.shape)})`;
  if (!Number.isInteger(groups) || groups < 1) throw new Error(`${op}: groups must be a positive integer, got ${groups}`);
  if (cin % groups !== 0) throw new Error(`${op}: input channels (${cin}) are not divisible by groups (${groups}) ${shapes}`);
  if (cout % groups !== 0) throw new Error(`${op}: output channels (${cout}) are not divisible by groups (${groups}) ${shapes}`);
  if (cinPerGroup * groups !== cin) {
    throw new Error(`${op}: input has ${cin} channels but weight expects ${cinPerGroup * groups} (${cinPerGroup} per group × ${groups} groups) ${shapes}`);
  }
  if (bias && (bias.rank !== 1 || bias.shape[0] !== cout)) throw new Error(`${op}: bias must be [${cout}], got ${fmt(bias.shape)}`);

  const kernel = w.shape.slice(2);
  const stride = expandArg(op, 'stride', opts.stride ?? 1, nd);
  const dilation = expandArg(op, 'dilation', opts.dilation ?? 1, nd);
  for (const [name, v] of [['stride', stride], ['dilation', dilation]] as const) {
    if (v.some((s) => !Number.isInteger(s) || s < 1)) throw new Error(`${op}: ${name} must be positive integers, got [${v}]`);
  }
  let before: number[];
  let after: number[];
  const padding = opts.padding ?? 0;
  if (padding === 'valid') {
    before = after = new Array<number>(nd).fill(0);
  } else if (padding === 'same') {
    if (stride.some((s) => s !== 1)) throw new Error(`${op}: padding 'same' needs stride 1, got stride [${stride}]`);
    const total = kernel.map((k, i) => dilation[i] * (k - 1));
    before = total.map((t) => Math.floor(t / 2));
    after = total.map((t, i) => t - before[i]);
  } else {
    before = after = expandArg(op, 'padding', padding, nd);
    if (before.some((p) => !Number.isInteger(p) || p < 0)) throw new Error(`${op}: padding must be non-negative integers, got [${before}]`);
  }

  let input = xb;
  const mode = opts.paddingMode ?? 'zeros';
  if (mode !== 'zeros' && [...before, ...after].some((p) => p > 0)) {
    // Non-zero modes pad explicitly first (as nn.Conv2d does), then convolve without padding.
    const pads: number[] = [];
    for (let i = nd - 1; i >= 0; i--) pads.push(before[i], after[i]);
    input = pad(xb, pads, mode as PadMode);
    before = after = new Array<number>(nd).fill(0);
  }
  const inSize = input.shape.slice(2);
  const outSize = inSize.map((s, i) => convOutputLength(s, kernel[i], before[i], after[i], stride[i], dilation[i]));
  if (outSize.some((o) => o < 1)) {
    const extent = kernel.map((k, i) => dilation[i] * (k - 1) + 1);
    throw new Error(
      `${op}: kernel (dilated extent [${extent}]) is larger than the padded input [${inSize.map((s, i) => s + before[i] + after[i])}] ${shapes}`,
    );
  }
  const p: ConvParams = { batch: n, inChannels: cin, outChannels: cout, groups, inSize, kernel, outSize, stride, padding: before, dilation };
  const backend = commonBackend(op, input, w, ...(bias ? [bias] : []));
  const yShape = [n, cout, ...outSize];
  const y = wrap(backend, allocate(op, yShape, () => backend.conv(input.storage, w.storage, bias ? bias.storage : null, p, x.dtype)), yShape, x.dtype);
  const out = record(op, y, bias ? [input, w, bias] : [input, w], (g) => {
    // The bias gradient comes with the weights' (one dispatch on a GPU); alone, it is g's sum.
    const gw = w.requiresGrad ? allocate(`${op} weight gradient`, w.shape, () => backend.convBackwardWeight(input.storage, g.storage, p, g.dtype, !!bias?.requiresGrad)) : null;
    return [
      input.requiresGrad ? wrap(backend, allocate(`${op} backward`, input.shape, () => backend.convBackwardInput(g.storage, w.storage, p, g.dtype)), input.shape, g.dtype) : null,
      gw && wrap(backend, gw.weight, w.shape, g.dtype),
      gw?.bias ? wrap(backend, gw.bias, [cout], g.dtype) : bias?.requiresGrad ? sum(g, [0, ...outSize.map((_, i) => i + 2)]) : null,
    ];
  }, { stride, dilation, groups, padBefore: before, padAfter: after });
  return batched ? out : reshape(out, out.shape.slice(1));
}

const spatialNames = (nd: number) => ['L', 'H, W', 'D, H, W'][nd - 1];

export const conv1d = (x: Tensor, w: Tensor, bias?: Tensor | null, opts: ConvOptions = {}) => convNd(1, x, w, bias, opts);
export const conv2d = (x: Tensor, w: Tensor, bias?: Tensor | null, opts: ConvOptions = {}) => convNd(2, x, w, bias, opts);
export const conv3d = (x: Tensor, w: Tensor, bias?: Tensor | null, opts: ConvOptions = {}) => convNd(3, x, w, bias, opts);

export interface UnfoldOptions {
  stride?: number | number[];
  padding?: number | number[];
  dilation?: number | number[];
}

/**
 * Sliding local blocks (PyTorch's F.unfold, any of 1-3 spatial dims):
 * x [N, C, ...in] -> [N, C·∏k, L]. Its gradient folds the blocks back (col2im).
 */
export function unfold(x: Tensor, kernelSize: number | number[], opts: UnfoldOptions = {}): Tensor {
  requireFloat('unfold', x);
  const nd = x.rank - 2;
  if (nd < 1 || nd > 3) throw new Error(`unfold: input must be [N, C, ...spatial] with 1 to 3 spatial dims, got ${fmt(x.shape)}`);
  const kernel = expandArg('unfold', 'kernelSize', kernelSize, nd);
  const stride = expandArg('unfold', 'stride', opts.stride ?? 1, nd);
  const padding = expandArg('unfold', 'padding', opts.padding ?? 0, nd);
  const dilation = expandArg('unfold', 'dilation', opts.dilation ?? 1, nd);
  const [n, c] = x.shape;
  const inSize = x.shape.slice(2);
  const outSize = inSize.map((s, i) => convOutputLength(s, kernel[i], padding[i], padding[i], stride[i], dilation[i]));
  if (outSize.some((o) => o < 1)) throw new Error(`unfold: kernel [${kernel}] is larger than the padded input ${fmt(x.shape)}`);
  const p: ConvParams = { batch: n, inChannels: c, outChannels: c, groups: 1, inSize, kernel, outSize, stride, padding, dilation };
  const rows = c * kernel.reduce((a, b) => a * b, 1);
  const cols = outSize.reduce((a, b) => a * b, 1);
  const out = wrap(x.backend, x.backend.im2col(x.storage, p, x.dtype), [n, rows, cols], x.dtype);
  return record('unfold', out, [x], (g) => [wrap(g.backend, g.backend.col2im(g.storage, p, g.dtype), x.shape, g.dtype)]);
}
