import type { PadMode } from '../backend';
import { record } from '../autograd';
import { getBackend, isGradEnabled } from '../engine';
import { fmt, normalizeDim, shapesEqual, sizeOf, stridesOf } from '../shape';
import { Tensor } from '../tensor';
import { commonBackend, requireInt, wrap } from './util';
import { sumTo } from './reduce';

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

/** A strided gather copy: the one primitive behind permute, expand and slices. */
function stridedCopy(x: Tensor, shape: number[], strides: number[], offset: number): Tensor {
  return wrap(x.backend, x.backend.strided(x.storage, shape, strides, offset, x.dtype), shape, x.dtype);
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
  return record('permute', out, [x], (g) => [permute(g, inverse)]);
}

export function transpose(x: Tensor, dim0 = -2, dim1 = -1): Tensor {
  const a = normalizeDim('transpose', dim0, x.rank);
  const b = normalizeDim('transpose', dim1, x.rank);
  const dims = [...x.shape.keys()];
  [dims[a], dims[b]] = [dims[b], dims[a]];
  return permute(x, dims);
}

/** Broadcasts size-1 dims to `shape` (-1 keeps a dim); materialised as a copy. */
export function expand(x: Tensor, shape: readonly number[]): Tensor {
  if (shape.length < x.rank) throw new Error(`expand: target ${fmt(shape)} has fewer dims than ${fmt(x.shape)}`);
  const lead = shape.length - x.rank;
  const src = stridesOf(x.shape);
  const target = shape.map((d, i) => (i >= lead && d === -1 ? x.shape[i - lead] : d));
  const strides = target.map((d, i) => {
    if (i < lead) return 0;
    const own = x.shape[i - lead];
    if (own === d) return src[i - lead];
    if (own === 1) return 0;
    throw new Error(`expand: cannot expand ${fmt(x.shape)} to ${fmt(shape)}: dim ${i} is ${own}, not 1 or ${d}`);
  });
  if (shapesEqual(target, x.shape)) return reshape(x, x.shape);
  const out = stridedCopy(x, target, strides, 0);
  return record('expand', out, [x], (g) => [sumTo(g, x.shape)]);
}

/** The part of x from `begin` with `size` elements per dim (size -1: to the end). tfjs's slice. */
export function slice(x: Tensor, begin: readonly number[], size?: readonly number[]): Tensor {
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
  return record('slice', out, [x], (g) => [padRaw(g, x.shape.map((d, i) => [starts[i], d - starts[i] - sizes[i]] as [number, number]), 'constant', 0)]);
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

// --- padding ---------------------------------------------------------------------------

function padRaw(x: Tensor, pads: [number, number][], mode: PadMode, value: number): Tensor {
  const shape = x.shape.map((d, i) => d + pads[i][0] + pads[i][1]);
  return wrap(x.backend, x.backend.pad(x.storage, x.shape, pads, mode, value, x.dtype), shape, x.dtype);
}

/**
 * Pads x. `pads` follows PyTorch's F.pad: pairs (before, after) starting from the LAST dim.
 * Modes: constant (value), reflect (mirror without the edge), replicate, circular.
 */
export function pad(x: Tensor, pads: readonly number[], mode: PadMode = 'constant', value = 0): Tensor {
  if (pads.length % 2 !== 0 || pads.length / 2 > x.rank) {
    throw new Error(`pad: pads [${pads}] must hold (before, after) pairs for at most ${x.rank} dims of ${fmt(x.shape)}`);
  }
  const perDim: [number, number][] = x.shape.map(() => [0, 0]);
  for (let k = 0; k < pads.length / 2; k++) perDim[x.rank - 1 - k] = [pads[2 * k], pads[2 * k + 1]];
  perDim.forEach(([b, a], i) => {
    const n = x.shape[i];
    if (n + b + a < 0) throw new Error(`pad: pads (${b}, ${a}) crop dim ${i} of size ${n} below zero`);
    if (mode === 'reflect' && (b >= n || a >= n) && (b > 0 || a > 0)) {
      throw new Error(`pad: reflect padding (${b}, ${a}) must be smaller than dim ${i} of size ${n} in ${fmt(x.shape)}`);
    }
    if ((mode === 'circular' && (b > n || a > n)) || ((mode === 'replicate' || mode === 'circular') && n === 0 && (b > 0 || a > 0))) {
      throw new Error(`pad: ${mode} padding (${b}, ${a}) is too large for dim ${i} of size ${n} in ${fmt(x.shape)}`);
    }
  });
  if (mode !== 'constant' && perDim.some(([b, a]) => b < 0 || a < 0)) {
    throw new Error(`pad: ${mode} padding needs non-negative pads, got [${pads}] (crop with narrow or constant padding)`);
  }
  const out = padRaw(x, perDim, mode, value);
  return record('pad', out, [x], (g) => {
    if (mode === 'constant') return [padRaw(g, perDim.map(([b, a]) => [-b, -a] as [number, number]), 'constant', 0)];
    // Every mode but constant is separable: the padding of each dim is a 1-D map applied
    // in turn, so the adjoint undoes one dim at a time with whole-slab ops, O(size).
    let grad = g;
    perDim.forEach(([b, a], d) => {
      if (b === 0 && a === 0) return;
      const next = padAdjointAlong(grad, d, b, a, x.shape[d], mode);
      if (grad !== g) grad.dispose();
      grad = next;
    });
    return [grad === g ? clone(g) : grad];
  });
}

/**
 * The gradient of a 1-D pad along dim d: the centre of g plus each padded slab folded back
 * onto the inputs it copied (reflect mirrors it, replicate sums it into the edge, circular
 * shifts it to the far end).
 */
function padAdjointAlong(g: Tensor, d: number, b: number, a: number, n: number, mode: PadMode): Tensor {
  let acc = narrow(g, d, b, n);
  const fold = (slab: Tensor, start: number): void => {
    const placed = padAlong(slab, d, start, n - start - slab.shape[d]);
    const sum = acc.add(placed);
    for (const t of [acc, slab, placed]) t.dispose();
    acc = sum;
  };
  const reversed = (t: Tensor): Tensor => {
    const idx = arangeInt(t.backend, t.shape[d], true);
    const out = indexSelect(t, d, idx);
    idx.dispose();
    return out;
  };
  if (b > 0) {
    const before = narrow(g, d, 0, b);
    if (mode === 'reflect') fold(swap(before, reversed(before)), 1);
    else if (mode === 'replicate') fold(swap(before, before.sum(d, true)), 0);
    else fold(before, n - b);
  }
  if (a > 0) {
    const after = narrow(g, d, b + n, a);
    if (mode === 'reflect') fold(swap(after, reversed(after)), n - 1 - a);
    else if (mode === 'replicate') fold(swap(after, after.sum(d, true)), n - 1);
    else fold(after, 0);
  }
  return acc;
}

/** Zero-pads dim d only. */
function padAlong(t: Tensor, d: number, before: number, after: number): Tensor {
  const pads: [number, number][] = t.shape.map(() => [0, 0]);
  pads[d] = [before, after];
  return padRaw(t, pads, 'constant', 0);
}

function swap(old: Tensor, replacement: Tensor): Tensor {
  old.dispose();
  return replacement;
}

function arangeInt(backend: Tensor['backend'], n: number, descending: boolean): Tensor {
  const values = new Int32Array(n);
  for (let i = 0; i < n; i++) values[i] = descending ? n - 1 - i : i;
  return wrap(backend, backend.upload(values, 'int32'), [n], 'int32');
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
  });
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
  // The expanded index stays alive with the graph: gather's backward scatters through it.
  return gather(x, d, expand(reshape(index, viewShape), shape));
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
  const data = x.backend.readSync(x.storage, x.size, x.dtype);
  const out = wrap(target, target.upload(data, x.dtype), x.shape, x.dtype);
  return record('to', out, [x], (g) => [to(g, x.device)]);
}

/** Like to(), for a source that must be read asynchronously (a GPU). */
export async function toAsync(x: Tensor, device: string): Promise<Tensor> {
  if (x.device === device || x.backend.readSync) return to(x, device);
  const target = getBackend(device);
  const out = wrap(target, target.upload(await x.data(), x.dtype), x.shape, x.dtype);
  // x's device has no synchronous read but the target has (to() covers the other cases), so
  // the gradient flows back by upload.
  return record('to', out, [x], (g) => [to(g, x.device)]);
}

