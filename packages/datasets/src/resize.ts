import type { Pixels } from './decode-image';

/** For each output pixel along one axis: the first source pixel and the weights from there on. */
interface AxisWeights {
  start: Int32Array;
  count: Int32Array;
  offset: Int32Array;
  weights: Float32Array;
}

const weightCache = new Map<string, AxisWeights>();

/**
 * Bilinear (half-pixel centres) when enlarging; when shrinking, each output pixel averages
 * the source area it covers, since bilinear alone would skip pixels and alias.
 */
function axisWeights(src: number, dst: number): AxisWeights {
  const key = `${src}:${dst}`;
  const hit = weightCache.get(key);
  if (hit) return hit;
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
  const w = { start, count, offset, weights: Float32Array.from(all) };
  weightCache.set(key, w);
  return w;
}

function transpose(px: Pixels): Uint8Array {
  const { width, height, channels, data } = px;
  const plane = width * height;
  const out = new Uint8Array(channels * plane);
  for (let i = 0; i < plane; i++) {
    for (let c = 0; c < channels; c++) out[c * plane + i] = data[i * channels + c];
  }
  return out;
}

/** Resizes interleaved pixels to planar [channels, height, width], writing into `out` when given. */
export function resizeToPlanar(px: Pixels, height: number, width: number, out: Uint8Array = new Uint8Array(px.channels * height * width)): Uint8Array {
  const C = px.channels;
  if (px.width === width && px.height === height) {
    out.set(transpose(px));
    return out;
  }
  const wx = axisWeights(px.width, width);
  const wy = axisWeights(px.height, height);
  // Horizontal pass into [srcHeight, width, C] floats, then vertical into planar bytes.
  const rows = new Float32Array(px.height * width * C);
  for (let y = 0; y < px.height; y++) {
    const srcRow = y * px.width * C;
    for (let x = 0; x < width; x++) {
      const s = wx.start[x];
      const o = wx.offset[x];
      for (let c = 0; c < C; c++) {
        let acc = 0;
        for (let k = 0; k < wx.count[x]; k++) acc += wx.weights[o + k] * px.data[srcRow + (s + k) * C + c];
        rows[(y * width + x) * C + c] = acc;
      }
    }
  }
  const plane = height * width;
  for (let y = 0; y < height; y++) {
    const s = wy.start[y];
    const o = wy.offset[y];
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < C; c++) {
        let acc = 0;
        for (let k = 0; k < wy.count[y]; k++) acc += wy.weights[o + k] * rows[((s + k) * width + x) * C + c];
        out[c * plane + y * width + x] = Math.min(255, Math.max(0, Math.round(acc)));
      }
    }
  }
  return out;
}
