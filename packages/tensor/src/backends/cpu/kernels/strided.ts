import type { Shape, TypedArray } from '../../../backend';

const prod = (xs: readonly number[]) => xs.reduce((a, b) => a * b, 1);
const like = <T extends TypedArray>(x: T, n: number): T => new (x.constructor as new (n: number) => T)(n);

/** Calls body(outStart, srcBase) for each run of the last dim, walking the outer dims as an odometer. */
function forEachRow(shape: Shape, strides: readonly number[], offset: number, body: (o: number, base: number) => void): void {
  const rank = shape.length;
  const total = prod(shape);
  if (total === 0) return;
  if (rank === 0) return body(0, offset);
  const n = shape[rank - 1];
  const idx = new Array<number>(rank - 1).fill(0);
  let base = offset;
  for (let o = 0; o < total; o += n) {
    body(o, base);
    for (let d = rank - 2; d >= 0; d--) {
      idx[d]++;
      base += strides[d];
      if (idx[d] < shape[d]) break;
      base -= strides[d] * idx[d];
      idx[d] = 0;
    }
  }
}

/** out[i] = x[offset + Σ idx_d · strides[d]]. */
export function strided<T extends TypedArray>(x: T, outShape: Shape, strides: readonly number[], offset: number): T {
  const out = like(x, prod(outShape));
  const rank = outShape.length;
  const n = rank ? outShape[rank - 1] : 1;
  const inner = rank ? strides[rank - 1] : 0;
  forEachRow(outShape, strides, offset, (o, base) => {
    if (inner === 1) out.set(x.subarray(base, base + n), o);
    else for (let j = 0; j < n; j++) out[o + j] = x[base + j * inner];
  });
  return out;
}

/** dst[dstOffset + Σ idx_d · dstStrides[d]] = src[i]. */
export function writeStrided(dst: TypedArray, src: TypedArray, srcShape: Shape, dstStrides: readonly number[], dstOffset: number): void {
  const rank = srcShape.length;
  const n = rank ? srcShape[rank - 1] : 1;
  const inner = rank ? dstStrides[rank - 1] : 0;
  forEachRow(srcShape, dstStrides, dstOffset, (o, base) => {
    if (inner === 1) dst.set(src.subarray(o, o + n), base);
    else for (let j = 0; j < n; j++) dst[base + j * inner] = src[o + j];
  });
}


/** torch.gather: out[o, i, r] = x[o, index[o, i, r], r] (index may be smaller than x in other dims). */
export function gather<T extends TypedArray>(x: T, xShape: Shape, index: Int32Array, indexShape: Shape, axis: number): T {
  const out = like(x, index.length);
  const xStrides = stridesOf(xShape);
  const axisLen = xShape[axis];
  forEachIndex(indexShape, xStrides, axis, (i, base) => {
    const j = index[i];
    if (j < 0 || j >= axisLen) throw new RangeError(`gather: index ${j} is out of range for dim ${axis} of size ${axisLen}`);
    out[i] = x[base + j * xStrides[axis]];
  });
  return out;
}

/** The adjoint of gather: zeros(outShape), then out[.., index[i], ..] += src[i]. */
export function scatterAdd<T extends TypedArray>(src: T, index: Int32Array, indexShape: Shape, outShape: Shape, axis: number): T {
  const out = like(src, prod(outShape));
  const oStrides = stridesOf(outShape);
  const axisLen = outShape[axis];
  forEachIndex(indexShape, oStrides, axis, (i, base) => {
    const j = index[i];
    if (j < 0 || j >= axisLen) throw new RangeError(`scatterAdd: index ${j} is out of range for dim ${axis} of size ${axisLen}`);
    out[base + j * oStrides[axis]] += src[i];
  });
  return out;
}

function stridesOf(shape: Shape): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    s[d] = acc;
    acc *= shape[d];
  }
  return s;
}

/** For each position i of indexShape, base = the target offset with the axis coordinate left out. */
function forEachIndex(indexShape: Shape, targetStrides: number[], axis: number, body: (i: number, base: number) => void): void {
  const strides = targetStrides.map((s, d) => (d === axis ? 0 : s));
  const n = indexShape.length ? indexShape[indexShape.length - 1] : 1;
  const inner = indexShape.length ? strides[indexShape.length - 1] : 0;
  forEachRow(indexShape, strides, 0, (o, base) => {
    for (let j = 0; j < n; j++) body(o + j, base + j * inner);
  });
}

