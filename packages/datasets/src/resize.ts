import type { Pixels } from './decode-image';

/**
 * How images are resized:
 * - 'bilinear' (default): PIL's `resize(size, Image.BILINEAR)`, which torchvision uses on PIL
 *   images (as `antialias=True`): a triangle filter whose support widens with the shrink factor,
 *   so every source pixel counts. The uint8 result equals PIL 9.4's.
 * - 'nearest': PIL's `Image.NEAREST`, the same source pixel PIL picks.
 * - 'area': each output pixel averages the source area it covers (bilinear with half-pixel
 *   centres when enlarging), webgrad's resize before it matched PIL.
 */
export type ResizeFilter = 'bilinear' | 'nearest' | 'area';
export const RESIZE_FILTERS: readonly ResizeFilter[] = ['bilinear', 'nearest', 'area'];
export const DEFAULT_RESIZE_FILTER: ResizeFilter = 'bilinear';

/** An error naming the filters, for a filter option that is none of them. */
export function checkResizeFilter(filter: unknown, where: string): ResizeFilter {
  if (!RESIZE_FILTERS.includes(filter as ResizeFilter)) throw new Error(`${where}: resize filter must be one of ${RESIZE_FILTERS.map((f) => `'${f}'`).join(', ')}, got ${JSON.stringify(filter)}`);
  return filter as ResizeFilter;
}

/** For each output pixel along one axis: the first source pixel, how many, and their weights. */
interface AxisWeights {
  start: Int32Array;
  count: Int32Array;
  /** Weights of output pixel o start at offset[o]. */
  offset: Int32Array;
  weights: Float64Array | Float32Array;
}

// PIL's Resample.c keeps its coefficients in fixed point with 22 fractional bits.
const PRECISION_BITS = 22;
const ROUND = 1 << (PRECISION_BITS - 1);

const weightCache = new Map<string, AxisWeights>();

/**
 * PIL's precompute_coeffs with the bilinear filter, then normalize_coeffs_8bpc: the same
 * double arithmetic in the same order, then each weight rounded to an integer of 2^-22.
 */
function pilBilinearWeights(src: number, dst: number): AxisWeights {
  const scale = src / dst;
  const filterscale = Math.max(scale, 1);
  const support = 1 * filterscale;
  const ss = 1 / filterscale;
  const start = new Int32Array(dst);
  const count = new Int32Array(dst);
  const offset = new Int32Array(dst);
  const all: number[] = [];
  for (let o = 0; o < dst; o++) {
    const center = (o + 0.5) * scale;
    const xmin = Math.max(Math.trunc(center - support + 0.5), 0);
    const xmax = Math.min(Math.trunc(center + support + 0.5), src) - xmin;
    const k: number[] = [];
    let ww = 0;
    for (let x = 0; x < xmax; x++) {
      const t = Math.abs((x + xmin - center + 0.5) * ss);
      const w = t < 1 ? 1 - t : 0;
      k.push(w);
      ww += w;
    }
    offset[o] = all.length;
    start[o] = xmin;
    count[o] = xmax;
    for (const w of k) {
      const n = ww !== 0 ? w / ww : w;
      all.push(n < 0 ? Math.trunc(-0.5 + n * (1 << PRECISION_BITS)) : Math.trunc(0.5 + n * (1 << PRECISION_BITS)));
    }
  }
  return { start, count, offset, weights: Float64Array.from(all) };
}

/** webgrad's area average (bilinear with half-pixel centres when enlarging), in floats. */
function areaWeights(src: number, dst: number): AxisWeights {
  const scale = src / dst;
  const start = new Int32Array(dst);
  const count = new Int32Array(dst);
  const offset = new Int32Array(dst);
  const all: number[] = [];
  for (let o = 0; o < dst; o++) {
    offset[o] = all.length;
    if (scale <= 1) {
      const x = Math.min(Math.max((o + 0.5) * scale - 0.5, 0), src - 1);
      const i = Math.floor(x);
      const f = x - i;
      start[o] = i;
      if (i + 1 < src && f > 0) all.push(1 - f, f);
      else all.push(1);
    } else {
      const a = o * scale;
      const b = a + scale;
      start[o] = Math.floor(a);
      for (let i = start[o]; i < Math.min(Math.ceil(b), src); i++) all.push((Math.min(b, i + 1) - Math.max(a, i)) / scale);
    }
    count[o] = all.length - offset[o];
  }
  return { start, count, offset, weights: Float32Array.from(all) };
}

function axisWeights(filter: 'bilinear' | 'area', src: number, dst: number): AxisWeights {
  const key = `${filter}:${src}:${dst}`;
  let w = weightCache.get(key);
  if (!w) {
    w = filter === 'bilinear' ? pilBilinearWeights(src, dst) : areaWeights(src, dst);
    weightCache.set(key, w);
  }
  return w;
}

/** PIL's clip8: a fixed-point sum back to 0..255. */
const clip8 = (acc: number) => {
  const v = Math.floor(acc / (1 << PRECISION_BITS));
  return v < 0 ? 0 : v > 255 ? 255 : v;
};
const clipRound = (acc: number) => Math.min(255, Math.max(0, Math.round(acc)));

/**
 * One separable pass over interleaved pixels, along x (`horizontal`) or y, into bytes or (for
 * 'area' between its passes) floats. PIL rounds to uint8 between its passes, so 'bilinear'
 * (`fixed`, PIL's fixed point) does too.
 */
function pass<T extends Uint8Array | Float32Array>(src: Uint8Array | Float32Array, w: number, h: number, C: number, axis: AxisWeights, horizontal: boolean, out: T, fixed: boolean): T {
  const outW = horizontal ? axis.start.length : w;
  const outH = horizontal ? h : axis.start.length;
  const step = horizontal ? C : w * C;
  for (let y = 0; y < outH; y++) {
    for (let x = 0; x < outW; x++) {
      const o = horizontal ? x : y;
      const first = (horizontal ? y * w + axis.start[o] : axis.start[o] * w + x) * C;
      const n = axis.count[o];
      const k0 = axis.offset[o];
      for (let c = 0; c < C; c++) {
        let acc = fixed ? ROUND : 0;
        for (let k = 0, i = first + c; k < n; k++, i += step) acc += axis.weights[k0 + k] * src[i];
        out[(y * outW + x) * C + c] = fixed ? clip8(acc) : out instanceof Uint8Array ? clipRound(acc) : acc;
      }
    }
  }
  return out;
}

/** PIL's NEAREST (ImagingScaleAffine): source positions accumulated in doubles, as PIL does. */
function nearestIndex(src: number, dst: number): Int32Array {
  const a = src / dst;
  const idx = new Int32Array(dst);
  let xo = a * 0.5;
  for (let x = 0; x < dst; x++) {
    const xin = xo < 0 ? -1 : Math.trunc(xo);
    idx[x] = xin < src ? xin : -1;
    xo += a;
  }
  return idx;
}

/** Resizes interleaved pixels to interleaved pixels, `height`×`width`. */
export function resizePixels(px: Pixels, height: number, width: number, filter: ResizeFilter = DEFAULT_RESIZE_FILTER): Pixels {
  checkResizeFilter(filter, 'resize');
  const { width: W, height: H, channels: C, data } = px;
  if (W === width && H === height) return px;
  if (filter === 'nearest') {
    const xs = nearestIndex(W, width);
    const ys = nearestIndex(H, height);
    const out = new Uint8Array(height * width * C);
    for (let y = 0; y < height; y++) {
      if (ys[y] < 0) continue;
      for (let x = 0; x < width; x++) {
        if (xs[x] < 0) continue;
        for (let c = 0; c < C; c++) out[(y * width + x) * C + c] = data[(ys[y] * W + xs[x]) * C + c];
      }
    }
    return { width, height, channels: C, data: out };
  }
  const kind = filter;
  const fixed = kind === 'bilinear';
  // PIL skips a pass whose size does not change, and goes horizontal first.
  let cur: Uint8Array | Float32Array = data;
  let curW = W;
  if (width !== W) {
    const into = fixed || height === H ? new Uint8Array(H * width * C) : new Float32Array(H * width * C);
    cur = pass(cur, W, H, C, axisWeights(kind, W, width), true, into, fixed);
    curW = width;
  }
  if (height !== H) cur = pass(cur, curW, H, C, axisWeights(kind, H, height), false, new Uint8Array(height * width * C), fixed);
  return { width, height, channels: C, data: cur as Uint8Array };
}

/** Interleaved [H, W, C] to planar [C, H, W], into `out`. */
function toPlanar(px: Pixels, out: Uint8Array): Uint8Array {
  const { width, height, channels, data } = px;
  const plane = width * height;
  for (let i = 0; i < plane; i++) {
    for (let c = 0; c < channels; c++) out[c * plane + i] = data[i * channels + c];
  }
  return out;
}

/** Resizes interleaved pixels to planar [channels, height, width], writing into `out` when given. */
export function resizeToPlanar(px: Pixels, height: number, width: number, out: Uint8Array = new Uint8Array(px.channels * height * width), filter: ResizeFilter = DEFAULT_RESIZE_FILTER): Uint8Array {
  return toPlanar(resizePixels(px, height, width, filter), out);
}
