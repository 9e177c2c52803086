/**
 * What libjpeg-turbo does between the IDCT and its output, by default: "fancy" chroma
 * upsampling (jdsample.c) and YCbCr/YCCK conversion with its fixed-point tables (jdcolor.c).
 * Bit-exact, so that decoded pixels equal PIL's and browsers'.
 */

/** A component's samples after the IDCT: `width`×`height` of real data in rows of `stride`. */
export interface Plane {
  data: Uint8Array;
  stride: number;
  width: number;
  height: number;
}

/**
 * The horizontal half of libjpeg's triangle filter over one row of (vertically filtered)
 * sums: output 2i is (3·s[i] + s[i-1] + evenBias) >> shift, output 2i+1 is
 * (3·s[i] + s[i+1] + oddBias) >> shift, edges repeated; written while inside outWidth.
 */
function pairs(s: Int32Array, evenBias: number, oddBias: number, shift: number, out: Uint8Array, o: number, outWidth: number): void {
  const n = s.length;
  const end = o + outWidth;
  out[o] = (4 * s[0] + evenBias) >> shift;
  if (o + 1 < end) out[o + 1] = (3 * s[0] + s[1] + oddBias) >> shift;
  let i = 1;
  // Interior pairs: both neighbours exist and both outputs fall inside the row.
  for (let p = o + 2; i < n - 1 && p + 1 < end; i++, p += 2) {
    const near = 3 * s[i];
    out[p] = (near + s[i - 1] + evenBias) >> shift;
    out[p + 1] = (near + s[i + 1] + oddBias) >> shift;
  }
  for (; i < n; i++) {
    const p = o + 2 * i;
    if (p >= end) break;
    const near = 3 * s[i];
    out[p] = (near + s[i - 1] + evenBias) >> shift;
    if (p + 1 < end) out[p + 1] = (near + s[Math.min(i + 1, n - 1)] + oddBias) >> shift;
  }
}

/**
 * A component brought to the image's full resolution (outWidth×outHeight, packed), `hf`×`vf`
 * times its own. 2×1, 1×2 and 2×2 use libjpeg's triangle filters ("fancy upsampling"),
 * which weight the nearer sample 3/4 and the farther 1/4 and repeat the edge samples; other
 * integer factors repeat samples, as libjpeg's int_upsample does.
 */
export function upsample(p: Plane, hf: number, vf: number, outWidth: number, outHeight: number): Uint8Array {
  const out = new Uint8Array(outWidth * outHeight);
  const { data, stride, width, height } = p;
  const lastCol = width - 1;
  const lastRow = height - 1;
  if (hf === 1 && vf === 1) {
    for (let y = 0; y < outHeight; y++) out.set(data.subarray(y * stride, y * stride + outWidth), y * outWidth);
  } else if (hf === 2 && vf === 1 && width > 2) {
    const sums = new Int32Array(width);
    for (let y = 0; y < outHeight; y++) {
      const row = y * stride;
      for (let x = 0; x < width; x++) sums[x] = data[row + x];
      pairs(sums, 1, 2, 2, out, y * outWidth, outWidth);
    }
  } else if (hf === 1 && vf === 2) {
    for (let y = 0; y < outHeight; y++) {
      const i = y >> 1;
      const row = i * stride;
      const far = (y & 1 ? Math.min(i + 1, lastRow) : Math.max(i - 1, 0)) * stride;
      const bias = y & 1 ? 2 : 1;
      let o = y * outWidth;
      for (let x = 0; x < outWidth; x++) out[o++] = (3 * data[row + x] + data[far + x] + bias) >> 2;
    }
  } else if (hf === 2 && vf === 2 && width > 2) {
    const sums = new Int32Array(width);
    for (let y = 0; y < outHeight; y++) {
      const i = y >> 1;
      const row = i * stride;
      const far = (y & 1 ? Math.min(i + 1, lastRow) : Math.max(i - 1, 0)) * stride;
      for (let x = 0; x < width; x++) sums[x] = 3 * data[row + x] + data[far + x];
      pairs(sums, 8, 7, 4, out, y * outWidth, outWidth);
    }
  } else {
    for (let y = 0; y < outHeight; y++) {
      const row = Math.floor(y / vf) * stride;
      let o = y * outWidth;
      for (let x = 0; x < outWidth; x++) out[o++] = data[row + Math.floor(x / hf)];
    }
  }
  return out;
}

const SCALEBITS = 16;
const ONE_HALF = 1 << (SCALEBITS - 1);
const fix = (x: number) => Math.floor(x * (1 << SCALEBITS) + 0.5);

// jdcolor.c's build_ycc_rgb_table, indexed by the chroma sample 0..255.
const CR_R = new Int32Array(256);
const CB_B = new Int32Array(256);
const CR_G = new Int32Array(256);
const CB_G = new Int32Array(256);
for (let i = 0; i < 256; i++) {
  const x = i - 128;
  CR_R[i] = (fix(1.402) * x + ONE_HALF) >> SCALEBITS;
  CB_B[i] = (fix(1.772) * x + ONE_HALF) >> SCALEBITS;
  CR_G[i] = -fix(0.71414) * x;
  CB_G[i] = -fix(0.34414) * x + ONE_HALF;
}

// libjpeg's range limit as a table: LIMIT[v + LIMIT_OFFSET] is v clamped to 0..255, for the
// -227..482 that luma plus a chroma term can reach.
const LIMIT_OFFSET = 384;
const LIMIT = Uint8Array.from({ length: 1024 }, (_, i) => Math.min(255, Math.max(0, i - LIMIT_OFFSET)));

const clamp = (v: number) => (v < 0 ? 0 : v > 255 ? 255 : v);

/** YCbCr planes to interleaved RGB (jdcolor.c, ycc_rgb_convert). */
export function yccToRgb(y: Uint8Array, cb: Uint8Array, cr: Uint8Array): Uint8Array {
  const n = y.length;
  const out = new Uint8Array(3 * n);
  const limit = LIMIT;
  for (let i = 0, o = 0; i < n; i++, o += 3) {
    const Y = y[i] + LIMIT_OFFSET;
    const b = cb[i];
    const r = cr[i];
    out[o] = limit[Y + CR_R[r]];
    out[o + 1] = limit[Y + ((CB_G[b] + CR_G[r]) >> SCALEBITS)];
    out[o + 2] = limit[Y + CB_B[b]];
  }
  return out;
}

/** Planes to interleaved samples, unchanged (an RGB JPEG, or CMYK before conversion). */
export function interleave(planes: Uint8Array[]): Uint8Array {
  const n = planes[0].length;
  const c = planes.length;
  const out = new Uint8Array(c * n);
  planes.forEach((p, k) => {
    for (let i = 0, o = k; i < n; i++, o += c) out[o] = p[i];
  });
  return out;
}

/** YCCK planes to CMYK (jdcolor.c, ycck_cmyk_convert): YCbCr → RGB, inverted; K passes through. */
export function ycckToCmyk(y: Uint8Array, cb: Uint8Array, cr: Uint8Array, k: Uint8Array): Uint8Array[] {
  const rgb = yccToRgb(y, cb, cr);
  const n = y.length;
  const c = new Uint8Array(n);
  const m = new Uint8Array(n);
  const ye = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    c[i] = 255 - rgb[3 * i];
    m[i] = 255 - rgb[3 * i + 1];
    ye[i] = 255 - rgb[3 * i + 2];
  }
  return [c, m, ye, k];
}

/**
 * Adobe-style (inverted) CMYK samples to RGB as PIL gets them: PIL reads every CMYK JPEG as
 * inverted ("CMYK;I"), then convert('RGB') computes, per channel, nk - x·nk/255 with nk = 255 - k
 * (Convert.c, cmyk2rgb, MULDIV255 rounding).
 */
export function adobeCmykToRgb(c: Uint8Array, m: Uint8Array, y: Uint8Array, k: Uint8Array): Uint8Array {
  const n = c.length;
  const out = new Uint8Array(3 * n);
  const mulDiv255 = (a: number, b: number) => {
    const t = a * b + 128;
    return ((t >> 8) + t) >> 8;
  };
  for (let i = 0, o = 0; i < n; i++, o += 3) {
    const nk = k[i]; // 255 - (255 - k): the stored sample is already inverted
    out[o] = clamp(nk - mulDiv255(255 - c[i], nk));
    out[o + 1] = clamp(nk - mulDiv255(255 - m[i], nk));
    out[o + 2] = clamp(nk - mulDiv255(255 - y[i], nk));
  }
  return out;
}
