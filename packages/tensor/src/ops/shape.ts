import { record } from '../autograd';
import { getBackend, isGradEnabled } from '../engine';
import { fmt, normalizeDim, shapesEqual, sizeOf, stridesOf } from '../shape';
import { Tensor, isTensor } from '../tensor';
import { commonBackend, padRaw, requireInt, stridedCopy, wrap } from './util';
import { checkTensorFits } from '../limits';

/** Same values, new shape (one dim may be -1). Shares storage with x. */
export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  const target = [...shape];
  const free = target.indexOf(-1);
  if (free !== target.lastIndexOf(-1)) throw new Error(`reshape: only one dim can be -1, got ${fmt(shape)}`);
  if (free >= 0) {
    const known = sizeOf(target.filter((_, i) => i !== free));
    if (known === 0 || x.size % known !== 0) throw new Error(`reshape: cannot reshape ${fmt(x.shape)} (${x.size} elements) to ${fmt(shape)}`);
    target[free] = x.size / known;
  }
  if (sizeOf(target) !== x.size || target.some((d) => !Number.isInteger(d) || d < 0)) {
    throw new Error(`reshape: cannot reshape ${fmt(x.shape)} (${x.size} elements) to ${fmt(shape)} (${sizeOf(target)} elements)`);
  }
  const out = new Tensor(x._ref.retain(), target, x.dtype);
  return record('reshape', out, [x], (g) => [reshape(g, x.shape)]);
}

export const view = reshape;

export function flatten(x: Tensor, startDim = 0, endDim = -1): Tensor {
  if (x.rank === 0) return reshape(x, [1]);
  const s = normalizeDim('flatten', startDim, x.rank);
  const e = normalizeDim('flatten', endDim, x.rank);
  if (s > e) throw new Error(`flatten: startDim ${startDim} comes after endDim ${endDim}`);
  return reshape(x, [...x.shape.slice(0, s), sizeOf(x.shape.slice(s, e + 1)), ...x.shape.slice(e + 1)]);
}

export function squeeze(x: Tensor, dim?: number | number[]): Tensor {
  if (dim === undefined) return reshape(x, x.shape.filter((d) => d !== 1));
  const ds = (Array.isArray(dim) ? dim : [dim]).map((d) => normalizeDim('squeeze', d, x.rank));
  return reshape(x, x.shape.filter((d, i) => !(ds.includes(i) && d === 1)));
}

export function unsqueeze(x: Tensor, dim: number): Tensor {
  const d = normalizeDim('unsqueeze', dim, x.rank + 1);
  return reshape(x, [...x.shape.slice(0, d), 1, ...x.shape.slice(d)]);
}

export function permute(x: Tensor, dims: readonly number[]): Tensor {
  if (dims.length !== x.rank) throw new Error(`permute: got ${dims.length} dims [${dims}] for a tensor of rank ${x.rank} ${fmt(x.shape)}`);
  const ds = dims.map((d) => normalizeDim('permute', d, x.rank));
  if (new Set(ds).size !== ds.length) throw new Error(`permute: dims [${dims}] repeat a dim`);
  if (ds.every((d, i) => d === i)) return reshape(x, x.shape);
  const src = stridesOf(x.shape);
  const out = stridedCopy(x, ds.map((d) => x.shape[d]), ds.map((d) => src[d]), 0);
  const inverse = new Array<number>(ds.length);
  ds.forEach((d, i) => (inverse[d] = i));
  return record('permute', out, [x], (g) => [permute(g, inverse)], { dims: ds });
}

export function transpose(x: Tensor, dim0 = -2, dim1 = -1): Tensor {
  const a = normalizeDim('transpose', dim0, x.rank);
  const b = normalizeDim('transpose', dim1, x.rank);
  const dims = [...x.shape.keys()];
  [dims[a], dims[b]] = [dims[b], dims[a]];
  return permute(x, dims);
}

/** The part of x from `begin` with `size` elements per dim (size -1: to the end). tfjs's slice. */
export function slice(x: Tensor, begin: readonly number[], size?: readonly number[]): Tensor {
  // PyTorch has no Tensor.slice; a PyTorch user's x.slice(dim, start, end) would otherwise
  // be read as begin/size lists and fail far away, or not at all.
  if (typeof begin === 'number' || (size !== undefined && typeof size === 'number')) {
    throw new Error(`slice: takes TF.js-style lists, slice(begin: number[], size?: number[]), got slice(${JSON.stringify(begin)}, ${JSON.stringify(size)}, ...); for PyTorch's dim/start/length use narrow(dim, start, length), or index([null, [start, end]]) for start:end`);
  }
  if (begin.length > x.rank) throw new Error(`slice: begin [${begin}] has more dims than ${fmt(x.shape)}`);
  const starts = x.shape.map((d, i) => {
    const b = begin[i] ?? 0;
    return b < 0 ? b + d : b;
  });
  const sizes = x.shape.map((d, i) => {
    const s = size?.[i] ?? -1;
    return s === -1 ? d - starts[i] : s;
  });
  x.shape.forEach((d, i) => {
    if (starts[i] < 0 || sizes[i] < 0 || starts[i] + sizes[i] > d) {
      throw new Error(`slice: begin ${starts[i]} with size ${sizes[i]} is out of range for dim ${i} of size ${d} in ${fmt(x.shape)}`);
    }
  });
  const src = stridesOf(x.shape);
  const offset = starts.reduce((acc, s, i) => acc + s * src[i], 0);
  const out = stridedCopy(x, sizes, src, offset);
  return record('slice', out, [x], (g) => [padRaw(g, x.shape.map((d, i) => [starts[i], d - starts[i] - sizes[i]] as [number, number]), 'constant', 0)], { starts });
}

/** length elements of dim starting at start (PyTorch's narrow). */
export function narrow(x: Tensor, dim: number, start: number, length: number): Tensor {
  const d = normalizeDim('narrow', dim, x.rank);
  const begin = x.shape.map(() => 0);
  const size = x.shape.map(() => -1);
  begin[d] = start < 0 ? start + x.shape[d] : start;
  size[d] = length;
  return slice(x, begin, size);
}

/** PyTorch's select: the slice at `index` along dim, with that dim removed. */
export function select(x: Tensor, dim: number, index: number): Tensor {
  const d = normalizeDim('select', dim, x.rank);
  return squeeze(narrow(x, d, checkIndex('select', index, d, x.shape), 1), d);
}

/** PyTorch's t(): a 2-D tensor transposed; 0-D and 1-D tensors come back as they are. */
export function t(x: Tensor): Tensor {
  if (x.rank > 2) throw new Error(`t: expects a tensor of rank 2 or less, got ${fmt(x.shape)}; use transpose(dim0, dim1), or mT for the last two dims`);
  return x.rank < 2 ? x : transpose(x, 0, 1);
}

/** PyTorch's mT: the last two dims swapped (a batch of matrices, each transposed). */
export function mT(x: Tensor): Tensor {
  if (x.rank < 2) throw new Error(`mT: expects a tensor of rank 2 or more, got ${fmt(x.shape)}`);
  return transpose(x, -2, -1);
}

/** PyTorch's T: every dim reversed (for a matrix, its transpose). */
export function reverseDims(x: Tensor): Tensor {
  return permute(x, [...x.shape.keys()].reverse());
}

function checkIndex(op: string, index: number, dim: number, shape: readonly number[]): number {
  const size = shape[dim];
  if (!Number.isInteger(index) || index < -size || index >= size) {
    throw new Error(`${op}: index ${index} is out of range for dim ${dim} of size ${size} in ${fmt(shape)}`);
  }
  return index < 0 ? index + size : index;
}

/**
 * One entry per dim of `index`: null (the whole dim), a number (that position, the dim
 * removed), `[start, end, step]` (Python's start:end:step, each part optional and null-able,
 * negatives counting from the end), or a 1-D int32 tensor of positions (at most one).
 */
export type IndexItem = null | undefined | number | readonly [start?: number | null, end?: number | null, step?: number | null] | Tensor;

/**
 * PyTorch's x[...] for basic indexing, as a list per dim: `x.index([null, [0, 4], 2])` is
 * `x[:, 0:4, 2]`. Missing trailing dims are whole. Gradients flow to x.
 */
export function index(x: Tensor, items: readonly IndexItem[]): Tensor {
  if (!Array.isArray(items)) throw new Error(`index: expects a list with one entry per dim, e.g. index([null, [0, 4], 2]) for x[:, 0:4, 2]; got ${String(items)}`);
  if (items.length > x.rank) throw new Error(`index: ${items.length} entries for a tensor of rank ${x.rank} ${fmt(x.shape)}`);
  const starts = x.shape.map(() => 0);
  const sizes = [...x.shape];
  const steps = x.shape.map(() => 1);
  const dropped: number[] = [];
  let picked: [number, Tensor] | undefined;
  for (let d = 0; d < items.length; d++) {
    const item = items[d];
    const n = x.shape[d];
    if (item === null || item === undefined) continue;
    if (typeof item === 'number') {
      starts[d] = checkIndex('index', item, d, x.shape);
      sizes[d] = 1;
      dropped.push(d);
    } else if (isTensor(item)) {
      if (picked) throw new Error(`index: at most one tensor entry (got one for dims ${picked[0]} and ${d}); PyTorch's combined advanced indexing is not supported, index one dim at a time`);
      picked = [d, item];
    } else if (Array.isArray(item) && item.length <= 3) {
      const [s, e, step] = item;
      const st = step ?? 1;
      if (!Number.isInteger(st) || st < 1) throw new Error(`index: step ${st} for dim ${d} must be a positive integer (as in PyTorch)`);
      const bound = (v: number | null | undefined, dflt: number) => {
        if (v === null || v === undefined) return dflt;
        if (!Number.isInteger(v)) throw new Error(`index: slice [${item.join(', ')}] for dim ${d} must hold integers`);
        return Math.min(Math.max(v < 0 ? v + n : v, 0), n);
      };
      starts[d] = bound(s, 0);
      sizes[d] = Math.max(0, Math.ceil((bound(e, n) - starts[d]) / st));
      steps[d] = st;
    } else {
      throw new Error(`index: entry ${d} must be null, a number, [start, end, step] or an int32 tensor, got ${JSON.stringify(item)}`);
    }
  }
  let out = steps.every((s) => s === 1) ? slice(x, starts, sizes) : steppedSlice(x, starts, sizes, steps);
  if (picked) out = indexSelect(out, picked[0], picked[1]);
  return dropped.length ? reshape(out, out.shape.filter((_, i) => !dropped.includes(i))) : out;
}

/** Every steps[i]-th element from starts[i], sizes[i] of them, per dim. */
function steppedSlice(x: Tensor, starts: readonly number[], sizes: number[], steps: readonly number[]): Tensor {
  const src = stridesOf(x.shape);
  const offset = starts.reduce((acc, s, i) => acc + s * src[i], 0);
  const out = stridedCopy(x, sizes, src.map((s, i) => s * steps[i]), offset);
  return record('slice', out, [x], (g) => [steppedScatter(g, x.shape, starts, steps)], { starts, steps });
}

/** steppedSlice's adjoint: g written back at the positions it was taken from, zeros elsewhere. */
function steppedScatter(g: Tensor, shape: readonly number[], starts: readonly number[], steps: readonly number[]): Tensor {
  const dst = stridesOf(shape);
  const out = wrap(g.backend, g.backend.fill(sizeOf(shape), 0, g.dtype), shape, g.dtype);
  g.backend.writeStrided(out.storage, g.storage, g.shape, dst.map((s, i) => s * steps[i]), starts.reduce((acc, s, i) => acc + s * dst[i], 0), g.dtype);
  return record('steppedScatter', out, [g], (gg) => [steppedSlice(gg, starts, [...g.shape], steps)]);
}

// --- joining and indexing -----------------------------------------------------------------

export function cat(tensors: readonly Tensor[], dim = 0): Tensor {
  if (tensors.length === 0) throw new Error('cat: expected at least one tensor');
  const first = tensors[0];
  const d = normalizeDim('cat', dim, first.rank);
  const backend = commonBackend('cat', ...tensors);
  for (const t of tensors) {
    if (t.rank !== first.rank || t.shape.some((s, i) => i !== d && s !== first.shape[i]) || t.dtype !== first.dtype) {
      throw new Error(`cat: shapes ${tensors.map((x) => `${fmt(x.shape)} ${x.dtype}`).join(', ')} must match (and share a dtype) except in dim ${d}`);
    }
  }
  const shape = [...first.shape];
  shape[d] = tensors.reduce((acc, t) => acc + t.shape[d], 0);
  const out = wrap(backend, backend.fill(sizeOf(shape), 0, first.dtype), shape, first.dtype);
  const strides = stridesOf(shape);
  let offset = 0;
  for (const t of tensors) {
    backend.writeStrided(out.storage, t.storage, t.shape, strides, offset * strides[d], t.dtype);
    offset += t.shape[d];
  }
  return record('cat', out, [...tensors], (g) => {
    let start = 0;
    return tensors.map((t) => {
      const part = narrow(g, d, start, t.shape[d]);
      start += t.shape[d];
      return part;
    });
  }, { dim: d });
}

export function stack(tensors: readonly Tensor[], dim = 0): Tensor {
  if (tensors.length === 0) throw new Error('stack: expected at least one tensor');
  const d = normalizeDim('stack', dim, tensors[0].rank + 1);
  for (const t of tensors) {
    if (!shapesEqual(t.shape, tensors[0].shape)) throw new Error(`stack: all tensors must have one shape, got ${tensors.map((x) => fmt(x.shape)).join(', ')}`);
  }
  return cat(tensors.map((t) => unsqueeze(t, d)), d);
}

/** torch.gather: out[i][j] = x[i][index[i][j]] along dim; out has index's shape. */
export function gather(x: Tensor, dim: number, index: Tensor): Tensor {
  requireInt('gather', 'index', index);
  const d = normalizeDim('gather', dim, x.rank);
  if (index.rank !== x.rank) throw new Error(`gather: index ${fmt(index.shape)} must have the same rank as input ${fmt(x.shape)}`);
  index.shape.forEach((s, i) => {
    if (i !== d && s > x.shape[i]) throw new Error(`gather: index ${fmt(index.shape)} is larger than input ${fmt(x.shape)} in dim ${i}`);
  });
  const backend = commonBackend('gather', x, index);
  const out = wrap(backend, backend.gather(x.storage, x.shape, index.storage, index.shape, d, x.dtype), index.shape, x.dtype);
  return record('gather', out, [x], (g) => [
    wrap(backend, backend.scatterAdd(g.storage, index.storage, index.shape, x.shape, d, g.dtype), x.shape, g.dtype),
  ]);
}

/** Rows (or slices along dim) picked by a 1-D int32 index. */
export function indexSelect(x: Tensor, dim: number, index: Tensor): Tensor {
  requireInt('indexSelect', 'index', index);
  if (index.rank !== 1) throw new Error(`indexSelect: index must be 1-D, got ${fmt(index.shape)}`);
  const d = normalizeDim('indexSelect', dim, x.rank);
  const shape = [...x.shape];
  shape[d] = index.size;
  const viewShape = shape.map((s, i) => (i === d ? s : 1));
  // The index broadcast along the other dims (a plain copy: int32 takes no gradient); it
  // stays alive with the graph, as gather's backward scatters through it.
  const expanded = stridedCopy(index, shape, shape.map((_, i) => (i === d ? 1 : 0)), 0);
  return gather(x, d, expanded);
}

export function clone(x: Tensor): Tensor {
  const out = stridedCopy(x, x.shape, stridesOf(x.shape), 0);
  return record('clone', out, [x], (g) => [g]);
}

/** A copy on another device; gradients flow back across. */
export function to(x: Tensor, device: string): Tensor {
  if (x.device === device) return x;
  const target = getBackend(device);
  if (!x.backend.readSync) {
    throw new Error(`to: '${x.device}' can only be read asynchronously: use await x.toAsync('${device}')`);
  }
  // The gradient would have to come back from the target synchronously, which a GPU cannot do.
  if (!target.readSync && x.requiresGrad && isGradEnabled()) {
    throw new Error(`to: tensor ${fmt(x.shape)} on '${x.device}' requires a gradient, which cannot flow back from '${device}' (read only asynchronously): detach() it first, or create it on '${device}'`);
  }
  checkTensorFits('to', device, target.limits, x.shape, x.dtype);
  const data = x.backend.readSync(x.storage, x.size, x.dtype);
  const out = wrap(target, target.upload(data, x.dtype), x.shape, x.dtype);
  return record('to', out, [x], (g) => [to(g, x.device)]);
}

/** Like to(), for a source that must be read asynchronously (a GPU). */
export async function toAsync(x: Tensor, device: string): Promise<Tensor> {
  if (x.device === device || x.backend.readSync) return to(x, device);
  const target = getBackend(device);
  checkTensorFits('toAsync', device, target.limits, x.shape, x.dtype);
  const out = wrap(target, target.upload(await x.data(), x.dtype), x.shape, x.dtype);
  // x's device has no synchronous read but the target has (to() covers the other cases), so
  // the gradient flows back by upload.
  return record('to', out, [x], (g) => [to(g, x.device)]);
}

