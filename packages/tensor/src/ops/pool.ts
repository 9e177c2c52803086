import type { PoolParams } from '../backend';
import { record } from '../autograd';
import { expandArg, fmt, sizeOf } from '../shape';
import { poolOutputLength } from '../shape-rules';
import { Tensor } from '../tensor';
import { requireFloat, wrap } from './util';
import { reshape } from './shape';
import { matmul } from './linalg';
import { tensor } from './creation';
import { unfold } from './conv';

export interface PoolOptions {
  /** Defaults to kernelSize. */
  stride?: number | number[];
  padding?: number | number[];
  dilation?: number | number[];
  /** Round the output size up, keeping windows that start inside the (left-padded) input. */
  ceilMode?: boolean;
  /** avg only: count padded zeros in the divisor (PyTorch's default true). */
  countIncludePad?: boolean;
}

function poolParams(op: string, nd: number, x: Tensor, kernelSize: number | number[], opts: PoolOptions): { p: PoolParams; lead: number[] } {
  requireFloat(op, x);
  if (x.rank !== nd + 1 && x.rank !== nd + 2) {
    throw new Error(`${op}: input must be [N, C, ...${nd} spatial dims] or [C, ...], got ${fmt(x.shape)}`);
  }
  const lead = x.shape.slice(0, x.rank - nd);
  const inSize = x.shape.slice(x.rank - nd);
  const kernel = expandArg(op, 'kernelSize', kernelSize, nd);
  const stride = expandArg(op, 'stride', opts.stride ?? kernel, nd);
  const padding = expandArg(op, 'padding', opts.padding ?? 0, nd);
  const dilation = expandArg(op, 'dilation', opts.dilation ?? 1, nd);
  if ([...kernel, ...stride, ...dilation].some((v) => !Number.isInteger(v) || v < 1)) {
    throw new Error(`${op}: kernelSize [${kernel}], stride [${stride}] and dilation [${dilation}] must be positive integers`);
  }
  padding.forEach((pd, i) => {
    if (pd < 0 || pd > Math.floor(kernel[i] / 2)) {
      throw new Error(`${op}: padding ${pd} must be between 0 and half the kernel size (${kernel[i]}) in dim ${i}`);
    }
  });
  const outSize = inSize.map((s, i) => poolOutputLength(s, kernel[i], padding[i], stride[i], dilation[i], !!opts.ceilMode));
  if (outSize.some((o) => o < 1)) {
    throw new Error(`${op}: kernel [${kernel}] is larger than the padded input [${inSize.map((s, i) => s + 2 * padding[i])}] (input ${fmt(x.shape)})`);
  }
  const p: PoolParams = { planes: sizeOf(lead), inSize, kernel, outSize, stride, padding, dilation, countIncludePad: opts.countIncludePad ?? true };
  return { p, lead };
}

/** What an exporter needs to redo the pooling: the resolved window geometry. */
function poolAttrs(p: PoolParams, opts: PoolOptions) {
  const { kernel, stride, padding, dilation, countIncludePad } = p;
  return { kernel, stride, padding, dilation, ceilMode: !!opts.ceilMode, countIncludePad };
}

function maxPoolNd(nd: number, x: Tensor, kernelSize: number | number[], opts: PoolOptions): Tensor {
  const op = `maxPool${nd}d`;
  const { p, lead } = poolParams(op, nd, x, kernelSize, opts);
  const { out, argmax } = x.backend.maxPool(x.storage, p, x.dtype);
  const shape = [...lead, ...p.outSize];
  const y = wrap(x.backend, out, shape, x.dtype);
  const idx = wrap(x.backend, argmax, shape, 'int32');
  record(op, y, [x], (g) => [wrap(g.backend, g.backend.maxPoolBackward(g.storage, idx.storage, p, g.dtype), x.shape, g.dtype)], poolAttrs(p, opts));
  // No graph recorded (no gradient wanted, or inside noGrad): the argmax has no reader.
  if (y._node === null) idx.dispose();
  return y;
}

function avgPoolNd(nd: number, x: Tensor, kernelSize: number | number[], opts: PoolOptions): Tensor {
  const op = `avgPool${nd}d`;
  const { p, lead } = poolParams(op, nd, x, kernelSize, opts);
  if (p.dilation.some((d) => d !== 1)) throw new Error(`${op}: dilation is not supported for average pooling`);
  const y = wrap(x.backend, x.backend.avgPool(x.storage, p, x.dtype), [...lead, ...p.outSize], x.dtype);
  return record(op, y, [x], (g) => [wrap(g.backend, g.backend.avgPoolBackward(g.storage, p, g.dtype), x.shape, g.dtype)], poolAttrs(p, opts));
}

export const maxPool1d = (x: Tensor, kernelSize: number | number[], opts: PoolOptions = {}) => maxPoolNd(1, x, kernelSize, opts);
export const maxPool2d = (x: Tensor, kernelSize: number | number[], opts: PoolOptions = {}) => maxPoolNd(2, x, kernelSize, opts);
export const maxPool3d = (x: Tensor, kernelSize: number | number[], opts: PoolOptions = {}) => maxPoolNd(3, x, kernelSize, opts);
export const avgPool1d = (x: Tensor, kernelSize: number | number[], opts: PoolOptions = {}) => avgPoolNd(1, x, kernelSize, opts);
export const avgPool2d = (x: Tensor, kernelSize: number | number[], opts: PoolOptions = {}) => avgPoolNd(2, x, kernelSize, opts);
export const avgPool3d = (x: Tensor, kernelSize: number | number[], opts: PoolOptions = {}) => avgPoolNd(3, x, kernelSize, opts);

/** [out, in] matrix whose rows average PyTorch's adaptive windows [⌊i·in/out⌋, ⌈(i+1)·in/out⌉). */
function adaptiveMatrix(input: number, output: number, like: Tensor): Tensor {
  const m = new Float64Array(output * input);
  for (let i = 0; i < output; i++) {
    const start = Math.floor((i * input) / output);
    const end = Math.ceil(((i + 1) * input) / output);
    for (let j = start; j < end; j++) m[i * input + j] = 1 / (end - start);
  }
  return tensor(m, [output, input], { device: like.device, dtype: like.dtype });
}

/**
 * Average pooling to a fixed output size. Exact windows become avgPool2d; otherwise the
 * pooling is separable and linear, so it is two small matrix products (gradient for free).
 */
export function adaptiveAvgPool2d(x: Tensor, outputSize: number | [number | null, number | null]): Tensor {
  requireFloat('adaptiveAvgPool2d', x);
  if (x.rank !== 3 && x.rank !== 4) throw new Error(`adaptiveAvgPool2d: input must be [N, C, H, W] or [C, H, W], got ${fmt(x.shape)}`);
  const [h, w] = x.shape.slice(-2);
  const size = typeof outputSize === 'number' ? [outputSize, outputSize] : outputSize;
  const oh = size[0] ?? h;
  const ow = size[1] ?? w;
  if (oh < 1 || ow < 1) throw new Error(`adaptiveAvgPool2d: output size [${oh},${ow}] must be positive`);
  if (h % oh === 0 && w % ow === 0) return avgPool2d(x, [h / oh, w / ow]);
  const ah = adaptiveMatrix(h, oh, x);
  const aw = adaptiveMatrix(w, ow, x);
  const rows = matmul(ah, x); // [.., oh, w]
  const out = matmul(rows, aw, { transB: true }); // [.., oh, ow]
  ah.dispose();
  aw.dispose();
  return out;
}

/**
 * A user-defined pooling: `reduce` receives every window as a tensor
 * [N, C, k·k, L] and reduces dim 2 (e.g. (w) => w.max(2), or a softmax-weighted sum).
 */
export function pool2d(x: Tensor, kernelSize: number | number[], reduce: (windows: Tensor) => Tensor, opts: { stride?: number | number[]; padding?: number | number[] } = {}): Tensor {
  if (x.rank !== 4) throw new Error(`pool2d: input must be [N, C, H, W], got ${fmt(x.shape)}`);
  const [n, c, h, w] = x.shape;
  const kernel = expandArg('pool2d', 'kernelSize', kernelSize, 2);
  const stride = expandArg('pool2d', 'stride', opts.stride ?? kernel, 2);
  const padding = expandArg('pool2d', 'padding', opts.padding ?? 0, 2);
  const cols = unfold(x, kernel, { stride, padding }); // [N, C*kh*kw, L]
  const windows = reshape(cols, [n, c, kernel[0] * kernel[1], -1]);
  const reduced = reduce(windows);
  const oh = poolOutputLength(h, kernel[0], padding[0], stride[0], 1, false);
  const ow = poolOutputLength(w, kernel[1], padding[1], stride[1], 1, false);
  if (reduced.size !== n * c * oh * ow) {
    throw new Error(`pool2d: reduce must return one value per window ([${n},${c},${oh * ow}]), got ${fmt(reduced.shape)}`);
  }
  return reshape(reduced, [n, c, oh, ow]);
}
