/**
 * Strided copies (permute, expand, slice, cat) and gather / scatterAdd.
 *
 * Shapes are first simplified: dims of size 1 are dropped and neighbours that are
 * contiguous with each other are merged, so a permute of a big tensor usually becomes a
 * 2-D or 3-D walk, and a slice with a contiguous last dim copies whole rows at once.
 */
import type { Shape, TypedArray } from '../../../backend';
import { sizeOf, stridesOf } from '../../../shape';

/**
 * Makes a kernel's output of n elements: zeroed unless `written` (the kernel then sets every
 * element). The backend passes one that places it in the WASM kernels' memory.
 */
export type Alloc<T> = (n: number, written: boolean) => T;
/** A new array of x's type on the JS heap (always zeroed). */
export const like = <T extends TypedArray>(x: T): Alloc<T> => (n) => new (x.constructor as new (n: number) => T)(n);

/** Rows at least this long are copied with TypedArray.set (memcpy) instead of a loop. */
const SET_MIN = 64;

/** Drops size-1 dims and merges dims d, d+1 when stride[d] == stride[d+1] * shape[d+1]. */
function simplify(shape: Shape, strides: readonly number[]): { shape: number[]; strides: number[] } {
  const sh: number[] = [];
  const st: number[] = [];
  for (let d = 0; d < shape.length; d++) {
    if (shape[d] === 1) continue;
    const n = sh.length;
    if (n > 0 && st[n - 1] === strides[d] * shape[d]) {
      sh[n - 1] *= shape[d];
      st[n - 1] = strides[d];
    } else {
      sh.push(shape[d]);
      st.push(strides[d]);
    }
  }
  return { shape: sh, strides: st };
}

function checkRank(op: string, shape: Shape, strides: readonly number[]): void {
  if (strides.length !== shape.length) throw new Error(`${op}: ${strides.length} strides for shape [${shape}]`);
}

/** out[i] = x[offset + sum_d idx_d(i) * strides[d]] for i over outShape (row-major). */
export function strided<T extends TypedArray>(x: T, outShape: Shape, strides: readonly number[], offset: number, alloc: Alloc<T> = like(x)): T {
  checkRank('strided', outShape, strides);
  const total = sizeOf(outShape);
  const out = alloc(total, true);
  if (total === 0) return out;
  const { shape, strides: st } = simplify(outShape, strides);
  const rank = shape.length;
  if (rank === 0) {
    out[0] = x[offset];
    return out;
  }
  const n = shape[rank - 1];
  const inner = st[rank - 1];
  if (rank === 1) {
    copyRow(x, offset, inner, out, 0, n);
    return out;
  }
  if (rank === 2) {
    const s0 = st[0];
    for (let i = 0, o = 0, b = offset; i < shape[0]; i++, o += n, b += s0) copyRow(x, b, inner, out, o, n);
    return out;
  }
  const idx = new Array<number>(rank - 1).fill(0);
  let base = offset;
  for (let o = 0; o < total; o += n) {
    copyRow(x, base, inner, out, o, n);
    for (let d = rank - 2; d >= 0; d--) {
      base += st[d];
      if (++idx[d] < shape[d]) break;
      base -= st[d] * idx[d];
      idx[d] = 0;
    }
  }
  return out;
}

/** out[o .. o + n) = x[b], x[b + s], ... */
function copyRow(x: TypedArray, b: number, s: number, out: TypedArray, o: number, n: number): void {
  if (s === 1) {
    if (n >= SET_MIN) out.set(x.subarray(b, b + n), o);
    else for (let j = 0; j < n; j++) out[o + j] = x[b + j];
  } else if (s === 0) {
    out.fill(x[b], o, o + n);
  } else {
    for (let j = 0; j < n; j++) out[o + j] = x[b + j * s];
  }
}

/** dst[dstOffset + sum_d idx_d(i) * dstStrides[d]] = src[i] for i over srcShape, in place. */
export function writeStrided(dst: TypedArray, src: TypedArray, srcShape: Shape, dstStrides: readonly number[], dstOffset: number): void {
  checkRank('writeStrided', srcShape, dstStrides);
  const total = sizeOf(srcShape);
  if (total === 0) return;
  const { shape, strides: st } = simplify(srcShape, dstStrides);
  const rank = shape.length;
  if (rank === 0) {
    dst[dstOffset] = src[0];
    return;
  }
  const n = shape[rank - 1];
  const inner = st[rank - 1];
  const idx = new Array<number>(Math.max(0, rank - 1)).fill(0);
  let base = dstOffset;
  for (let o = 0; o < total; o += n) {
    if (inner === 1) {
      if (n >= SET_MIN) dst.set(src.subarray(o, o + n), base);
      else for (let j = 0; j < n; j++) dst[base + j] = src[o + j];
    } else {
      for (let j = 0; j < n; j++) dst[base + j * inner] = src[o + j];
    }
    for (let d = rank - 2; d >= 0; d--) {
      base += st[d];
      if (++idx[d] < shape[d]) break;
      base -= st[d] * idx[d];
      idx[d] = 0;
    }
  }
}

/** Shared checks of gather / scatterAdd: ranks agree, axis in range, index no larger than the target off the axis. */
function checkIndexShape(op: string, targetName: string, target: Shape, index: Int32Array, indexShape: Shape, axis: number): void {
  if (indexShape.length !== target.length) {
    throw new Error(`${op}: index has rank ${indexShape.length} but ${targetName} has rank ${target.length} (index [${indexShape}], ${targetName} [${target}])`);
  }
  if (!Number.isInteger(axis) || axis < 0 || axis >= Math.max(1, target.length)) {
    throw new Error(`${op}: axis ${axis} is out of range for rank ${target.length}`);
  }
  for (let d = 0; d < target.length; d++) {
    if (d !== axis && indexShape[d] > target[d]) {
      throw new Error(`${op}: index size ${indexShape[d]} exceeds ${targetName} size ${target[d]} in dim ${d} (index [${indexShape}], ${targetName} [${target}])`);
    }
  }
  if (index.length < sizeOf(indexShape)) throw new Error(`${op}: index holds ${index.length} values, shape [${indexShape}] needs ${sizeOf(indexShape)}`);
}

function badIndex(op: string, j: number, axis: number, len: number): RangeError {
  return new RangeError(`${op}: index ${j} is out of range for dim ${axis} of size ${len}`);
}

/**
 * Walks indexShape row by row: body(o, base, n, inner) for each last-dim run, where base
 * is the target offset with the axis coordinate left out and inner the target stride of
 * the last dim (0 when the last dim is the axis).
 */
function forEachRun(indexShape: Shape, tStrides: number[], axis: number, body: (o: number, base: number, n: number, inner: number) => void): void {
  const rank = indexShape.length;
  const total = sizeOf(indexShape);
  if (total === 0) return;
  if (rank === 0) {
    body(0, 0, 1, 0);
    return;
  }
  const st = tStrides.map((s, d) => (d === axis ? 0 : s));
  const n = indexShape[rank - 1];
  const inner = st[rank - 1];
  const idx = new Array<number>(rank - 1).fill(0);
  let base = 0;
  for (let o = 0; o < total; o += n) {
    body(o, base, n, inner);
    for (let d = rank - 2; d >= 0; d--) {
      base += st[d];
      if (++idx[d] < indexShape[d]) break;
      base -= st[d] * idx[d];
      idx[d] = 0;
    }
  }
}

/** torch.gather: out[.., i_axis, ..] = x[.., index[.., i_axis, ..], ..]; out has index's shape. */
export function gather<T extends TypedArray>(x: T, xShape: Shape, index: Int32Array, indexShape: Shape, axis: number, alloc: Alloc<T> = like(x)): T {
  checkIndexShape('gather', 'input', xShape, index, indexShape, axis);
  const out = alloc(sizeOf(indexShape), true);
  if (xShape.length === 0) {
    if (out.length) {
      if (index[0] !== 0) throw badIndex('gather', index[0], axis, 1);
      out[0] = x[0];
    }
    return out;
  }
  const xs = stridesOf(xShape);
  const len = xShape[axis];
  const sa = xs[axis];
  forEachRun(indexShape, xs, axis, (o, base, n, inner) => {
    for (let j = 0; j < n; j++) {
      const t = index[o + j];
      if (t < 0 || t >= len) throw badIndex('gather', t, axis, len);
      out[o + j] = x[base + j * inner + t * sa];
    }
  });
  return out;
}

/** The adjoint of gather: zeros(outShape), then out[.., index[i], ..] += src[i]. */
export function scatterAdd<T extends TypedArray>(src: T, index: Int32Array, indexShape: Shape, outShape: Shape, axis: number, alloc: Alloc<T> = like(src)): T {
  checkIndexShape('scatterAdd', 'output', outShape, index, indexShape, axis);
  const out = alloc(sizeOf(outShape), false);
  if (outShape.length === 0) {
    if (index.length && sizeOf(indexShape)) {
      if (index[0] !== 0) throw badIndex('scatterAdd', index[0], axis, 1);
      out[0] += src[0];
    }
    return out;
  }
  const os = stridesOf(outShape);
  const len = outShape[axis];
  const sa = os[axis];
  forEachRun(indexShape, os, axis, (o, base, n, inner) => {
    for (let j = 0; j < n; j++) {
      const t = index[o + j];
      if (t < 0 || t >= len) throw badIndex('scatterAdd', t, axis, len);
      out[base + j * inner + t * sa] += src[o + j];
    }
  });
  return out;
}
