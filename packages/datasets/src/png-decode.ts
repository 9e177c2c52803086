/**
 * A PNG decoder over fflate's inflate (pure JavaScript: Node and browsers) that gives what PIL's
 * `Image.open(f).convert('RGB')` gives: every colour type and bit depth, palettes, Adam7
 * interlacing. PIL reads 16-bit colour by its high byte and 16-bit grey as 32-bit integers
 * clipped to 0..255, ignores tRNS and drops alpha; so does this.
 */
import { unzlibSync } from 'fflate';
import { checkPixelLimit } from './pixel-limit';

/** Decoded samples: 1 channel where PIL's mode is grey (1, L, LA, I), else 3 (RGB). */
export interface PngImage {
  width: number;
  height: number;
  channels: 1 | 3;
  data: Uint8Array;
}

export interface PngOptions {
  /** Refuse images with more pixels than this, from the header (see pixel-limit.ts). */
  maxPixels?: number;
}

const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const SAMPLES: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };
const DEPTHS: Record<number, number[]> = { 0: [1, 2, 4, 8, 16], 2: [8, 16], 3: [1, 2, 4, 8], 4: [8, 16], 6: [8, 16] };
// Adam7: first column, first row, column step, row step of each pass.
const ADAM7 = [
  [0, 0, 8, 8],
  [4, 0, 8, 8],
  [0, 4, 4, 8],
  [2, 0, 4, 4],
  [0, 2, 2, 4],
  [1, 0, 2, 2],
  [0, 1, 1, 2],
];

const u32 = (d: Uint8Array, p: number) => ((d[p] << 24) | (d[p + 1] << 16) | (d[p + 2] << 8) | d[p + 3]) >>> 0;

/** Undoes the per-row filters (PNG spec 9) of one pass, in place; returns the rows' bytes without filter bytes. */
function unfilter(src: Uint8Array, rows: number, rowBytes: number, bpp: number): Uint8Array {
  const out = new Uint8Array(rows * rowBytes);
  for (let y = 0; y < rows; y++) {
    const type = src[y * (rowBytes + 1)];
    const s = y * (rowBytes + 1) + 1;
    const o = y * rowBytes;
    const up = o - rowBytes;
    for (let x = 0; x < rowBytes; x++) {
      const raw = src[s + x];
      const a = x >= bpp ? out[o + x - bpp] : 0;
      const b = y > 0 ? out[up + x] : 0;
      let v: number;
      if (type === 0) v = raw;
      else if (type === 1) v = raw + a;
      else if (type === 2) v = raw + b;
      else if (type === 3) v = raw + ((a + b) >> 1);
      else if (type === 4) {
        const c = x >= bpp && y > 0 ? out[up + x - bpp] : 0;
        const p = a + b - c;
        const pa = Math.abs(p - a);
        const pb = Math.abs(p - b);
        const pc = Math.abs(p - c);
        v = raw + (pa <= pb && pa <= pc ? a : pb <= pc ? b : c);
      } else throw new Error(`PNG row ${y} has unknown filter type ${type}`);
      out[o + x] = v & 255;
    }
  }
  return out;
}

/** Sample i of a row of `depth`-bit samples, as 8 bits the way PIL's unpackers give it. */
function sampleReader(depth: number, colourType: number): (row: Uint8Array, at: number, i: number) => number {
  if (depth === 8) return (row, at, i) => row[at + i];
  if (depth === 16) return (row, at, i) => row[at + 2 * i]; // high byte (RGB;16B, LA;16B, ...)
  const perByte = 8 / depth;
  const mask = (1 << depth) - 1;
  // Grey at 1, 2, 4 bits is scaled to 0..255 (modes 1, L;2, L;4); palette indices are not.
  const scale = colourType === 3 ? 1 : 255 / mask;
  return (row, at, i) => ((row[at + Math.floor(i / perByte)] >> (8 - depth * ((i % perByte) + 1))) & mask) * scale;
}

export function decodePng(d: Uint8Array, opts: PngOptions = {}): PngImage {
  if (d.length < 8 || SIGNATURE.some((b, i) => d[i] !== b)) throw new Error('not a PNG (bad signature)');
  let p = 8;
  let header: { width: number; height: number; depth: number; colourType: number; interlace: number } | undefined;
  let palette: Uint8Array | undefined;
  const idat: Uint8Array[] = [];
  let ended = false;
  while (p + 8 <= d.length) {
    const len = u32(d, p);
    const type = String.fromCharCode(d[p + 4], d[p + 5], d[p + 6], d[p + 7]);
    const body = p + 8;
    if (body + len + 4 > d.length) throw new Error(`truncated PNG (the ${type} chunk runs past the end of the file)`);
    const data = d.subarray(body, body + len);
    if (type === 'IHDR') {
      if (len < 13) throw new Error('PNG header (IHDR) is too short');
      header = { width: u32(data, 0), height: u32(data, 4), depth: data[8], colourType: data[9], interlace: data[12] };
      const { width, height, depth, colourType } = header;
      if (!(colourType in SAMPLES)) throw new Error(`PNG has unknown colour type ${colourType}`);
      if (!DEPTHS[colourType].includes(depth)) throw new Error(`PNG colour type ${colourType} cannot have bit depth ${depth}`);
      if (data[10] !== 0 || data[11] !== 0 || header.interlace > 1) throw new Error('PNG uses an unknown compression, filter or interlace method');
      if (width === 0 || height === 0) throw new Error('image has no pixels');
      checkPixelLimit(width, height, opts.maxPixels ?? Infinity);
    } else if (type === 'PLTE') palette = data;
    else if (type === 'IDAT') idat.push(data);
    else if (type === 'IEND') {
      ended = true;
      break;
    }
    p = body + len + 4;
  }
  if (!header) throw new Error('PNG has no header (IHDR)');
  if (!idat.length) throw new Error('PNG has no image data (IDAT)');
  if (!ended) throw new Error('truncated PNG (no IEND chunk)');
  const { width, height, depth, colourType, interlace } = header;
  if (colourType === 3 && !palette) throw new Error('palette PNG has no palette (PLTE)');

  const joined = new Uint8Array(idat.reduce((n, c) => n + c.length, 0));
  idat.reduce((at, c) => (joined.set(c, at), at + c.length), 0);
  let inflated: Uint8Array;
  try {
    inflated = unzlibSync(joined);
  } catch (err) {
    throw new Error(`truncated or corrupt PNG image data (${err instanceof Error ? err.message : String(err)})`);
  }

  const spp = SAMPLES[colourType];
  const bpp = Math.max(1, (spp * depth) >> 3);
  const grey = colourType === 0 || colourType === 4;
  const channels = grey ? 1 : 3;
  const out = new Uint8Array(width * height * channels);
  const read = sampleReader(depth, colourType);
  // PIL's palette starts as a grey ramp, so an index past the PLTE entries reads as (i, i, i).
  const lut = new Uint8Array(768);
  for (let i = 0; i < 256; i++) lut[3 * i] = lut[3 * i + 1] = lut[3 * i + 2] = i;
  if (palette) lut.set(palette.subarray(0, Math.min(palette.length - (palette.length % 3), 768)));

  const passes = interlace ? ADAM7 : [[0, 0, 1, 1]];
  let offset = 0;
  for (const [x0, y0, dx, dy] of passes) {
    const w = Math.ceil((width - x0) / dx);
    const h = Math.ceil((height - y0) / dy);
    if (w <= 0 || h <= 0) continue;
    const rowBytes = Math.ceil((w * spp * depth) / 8);
    const size = h * (rowBytes + 1);
    if (offset + size > inflated.length) throw new Error('truncated PNG (image data ends early)');
    const rows = unfilter(inflated.subarray(offset, offset + size), h, rowBytes, bpp);
    offset += size;
    for (let y = 0; y < h; y++) {
      const at = y * rowBytes;
      for (let x = 0; x < w; x++) {
        const o = ((y0 + y * dy) * width + x0 + x * dx) * channels;
        if (colourType === 3) {
          const i = read(rows, at, x);
          out[o] = lut[3 * i];
          out[o + 1] = lut[3 * i + 1];
          out[o + 2] = lut[3 * i + 2];
        } else if (grey) {
          // 16-bit grey is PIL mode I: the full value, clipped to 0..255 by convert.
          out[o] = depth === 16 && colourType === 0 ? Math.min(255, (rows[at + 2 * x] << 8) | rows[at + 2 * x + 1]) : read(rows, at, x * spp);
        } else {
          out[o] = read(rows, at, x * spp);
          out[o + 1] = read(rows, at, x * spp + 1);
          out[o + 2] = read(rows, at, x * spp + 2);
        }
      }
    }
  }
  return { width, height, channels, data: out };
}
