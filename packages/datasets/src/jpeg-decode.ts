/**
 * A JPEG decoder that gives the pixels libjpeg-turbo gives with its defaults (and so PIL's
 * `Image.open(f).convert('RGB')` and browsers'): baseline and progressive Huffman JPEGs,
 * restart markers, grey, YCbCr, RGB, CMYK and YCCK. Pure TypeScript, for Node and browsers.
 */
import { idctIslow } from './jpeg-idct';
import { buildHuffmanTable, type HuffmanTable } from './jpeg-huffman';
import { decodeScan, NATURAL_ORDER, type JpegComponent, type ScanComponent } from './jpeg-scan';
import { adobeCmykToRgb, interleave, upsample, ycckToCmyk, yccToRgb, type Plane } from './jpeg-colour';
import { checkPixelLimit } from './pixel-limit';

/** Decoded samples: 1 channel for a grey JPEG, 3 (RGB) for every other kind. */
export interface JpegImage {
  width: number;
  height: number;
  channels: 1 | 3;
  data: Uint8Array;
}

const SOF_NAMES: Record<number, string> = {
  0xc3: 'lossless',
  0xc5: 'hierarchical (differential sequential)',
  0xc6: 'hierarchical (differential progressive)',
  0xc7: 'hierarchical (differential lossless)',
  0xc9: 'arithmetic-coded (sequential)',
  0xca: 'arithmetic-coded (progressive)',
  0xcb: 'arithmetic-coded (lossless)',
  0xcd: 'arithmetic-coded hierarchical',
  0xce: 'arithmetic-coded hierarchical',
  0xcf: 'arithmetic-coded hierarchical',
};

interface Frame {
  width: number;
  height: number;
  progressive: boolean;
  components: JpegComponent[];
  hmax: number;
  vmax: number;
  mcusPerLine: number;
  mcusPerColumn: number;
}

const u16 = (d: Uint8Array, p: number) => (d[p] << 8) | d[p + 1];

function readFrame(d: Uint8Array, p: number, progressive: boolean, maxPixels: number): Frame {
  const precision = d[p];
  if (precision !== 8) throw new Error(`JPEG has ${precision}-bit samples; only 8-bit JPEGs are supported`);
  const height = u16(d, p + 1);
  const width = u16(d, p + 3);
  if (height === 0) throw new Error('JPEG gives its height in a DNL marker, which is not supported');
  if (width === 0) throw new Error('JPEG has width 0');
  checkPixelLimit(width, height, maxPixels);
  const n = d[p + 5];
  if (n !== 1 && n !== 3 && n !== 4) throw new Error(`JPEG has ${n} components; only 1 (grey), 3 (colour) and 4 (CMYK) are supported`);
  const parts = Array.from({ length: n }, (_, i) => ({ id: d[p + 6 + 3 * i], h: d[p + 7 + 3 * i] >> 4, v: d[p + 7 + 3 * i] & 15, quantIndex: d[p + 8 + 3 * i] }));
  for (const c of parts) if (c.h < 1 || c.h > 4 || c.v < 1 || c.v > 4) throw new Error(`JPEG component ${c.id} has bad sampling factors ${c.h}×${c.v}`);
  const hmax = Math.max(...parts.map((c) => c.h));
  const vmax = Math.max(...parts.map((c) => c.v));
  const mcusPerLine = Math.ceil(width / (8 * hmax));
  const mcusPerColumn = Math.ceil(height / (8 * vmax));
  const components = parts.map((c): JpegComponent => {
    const blocksPerLine = mcusPerLine * c.h;
    const blocksPerColumn = mcusPerColumn * c.v;
    return {
      ...c,
      blocksPerLine,
      blocksPerColumn,
      usedBlocksPerLine: Math.ceil(Math.ceil((width * c.h) / hmax) / 8),
      usedBlocksPerColumn: Math.ceil(Math.ceil((height * c.v) / vmax) / 8),
      coefs: new Int16Array(blocksPerLine * blocksPerColumn * 64),
    };
  });
  return { width, height, progressive, components, hmax, vmax, mcusPerLine, mcusPerColumn };
}

/** The position of the next marker at or after p (entropy-coded data may run up to it). */
function nextMarker(d: Uint8Array, p: number): number {
  while (p + 1 < d.length && !(d[p] === 0xff && d[p + 1] !== 0 && d[p + 1] !== 0xff && !(d[p + 1] >= 0xd0 && d[p + 1] <= 0xd7))) p++;
  return p;
}

/** A component's samples: every block through the IDCT with its quantization table. */
function samplesOf(c: JpegComponent, quant: Uint16Array, frame: Frame): Plane {
  const stride = c.blocksPerLine * 8;
  const data = new Uint8Array(stride * c.blocksPerColumn * 8);
  // Only blocks holding image data are needed; the padding blocks of the last MCUs are not.
  for (let by = 0; by < c.usedBlocksPerColumn; by++) {
    for (let bx = 0; bx < c.usedBlocksPerLine; bx++) idctIslow(c.coefs, (by * c.blocksPerLine + bx) * 64, quant, data, by * 8 * stride + bx * 8, stride);
  }
  return { data, stride, width: Math.ceil((frame.width * c.h) / frame.hmax), height: Math.ceil((frame.height * c.v) / frame.vmax) };
}

/** libjpeg's choice of colour space (jdapimin.c, default_decompress_parms). */
function colourSpace(n: number, ids: number[], jfif: boolean, adobeTransform: number | undefined): 'grey' | 'ycc' | 'rgb' | 'cmyk' | 'ycck' {
  if (n === 1) return 'grey';
  if (n === 3) {
    if (jfif) return 'ycc';
    if (adobeTransform !== undefined) return adobeTransform === 0 ? 'rgb' : 'ycc';
    return ids[0] === 82 && ids[1] === 71 && ids[2] === 66 ? 'rgb' : 'ycc';
  }
  if (adobeTransform !== undefined) return adobeTransform === 0 ? 'cmyk' : 'ycck';
  return 'cmyk';
}

export interface JpegOptions {
  /** Refuse images with more pixels than this, before decoding (see pixel-limit.ts). */
  maxPixels?: number;
}

/** Decodes a JPEG file's bytes; throws with the reason on anything it cannot decode as libjpeg would. */
export function decodeJpeg(d: Uint8Array, opts: JpegOptions = {}): JpegImage {
  if (!(d[0] === 0xff && d[1] === 0xd8)) throw new Error('not a JPEG (no start-of-image marker)');
  const quant: (Uint16Array | undefined)[] = [];
  const dcTables: (HuffmanTable | undefined)[] = [];
  const acTables: (HuffmanTable | undefined)[] = [];
  const latched = new Map<JpegComponent, Uint16Array>();
  let frame: Frame | undefined;
  let restartInterval = 0;
  let jfif = false;
  let adobeTransform: number | undefined;
  let ended = false;
  let p = 2;
  while (p < d.length) {
    if (d[p] !== 0xff) {
      p++; // libjpeg skips garbage between segments (with a warning)
      continue;
    }
    const marker = d[p + 1];
    p += 2;
    if (marker === 0xff || (marker >= 0xd0 && marker <= 0xd7) || marker === 0x01) {
      if (marker === 0xff) p--;
      continue;
    }
    if (marker === 0xd9) {
      ended = true;
      break;
    }
    if (p + 2 > d.length) break;
    const len = u16(d, p);
    const body = p + 2;
    const end = p + len;
    if (len < 2 || end > d.length) throw new Error(`truncated JPEG (no end-of-image marker): segment 0x${marker.toString(16)} runs past the end of the file`);
    if (marker === 0xe0 && len >= 7 && String.fromCharCode(...d.subarray(body, body + 5)) === 'JFIF\0') jfif = true;
    else if (marker === 0xee && len >= 14 && String.fromCharCode(...d.subarray(body, body + 5)) === 'Adobe') adobeTransform = d[body + 11];
    else if (marker === 0xdb) {
      for (let q = body; q < end; ) {
        const wide = d[q] >> 4;
        const t = new Uint16Array(64);
        for (let k = 0; k < 64; k++) t[NATURAL_ORDER[k]] = wide ? u16(d, q + 1 + 2 * k) : d[q + 1 + k];
        quant[d[q] & 15] = t;
        q += 1 + 64 * (wide ? 2 : 1);
      }
    } else if (marker === 0xc4) {
      for (let q = body; q < end; ) {
        const counts = d.subarray(q + 1, q + 17);
        const total = counts.reduce((a, b) => a + b, 0);
        const table = buildHuffmanTable(counts, d.subarray(q + 17, q + 17 + total));
        (d[q] >> 4 ? acTables : dcTables)[d[q] & 15] = table;
        q += 17 + total;
      }
    } else if (marker === 0xdd) {
      restartInterval = u16(d, body);
    } else if (marker === 0xc0 || marker === 0xc1 || marker === 0xc2) {
      if (frame) throw new Error('JPEG has more than one frame');
      frame = readFrame(d, body, marker === 0xc2, opts.maxPixels ?? Infinity);
    } else if (SOF_NAMES[marker]) {
      throw new Error(`${SOF_NAMES[marker]} JPEGs are not supported (only baseline and progressive Huffman JPEGs, as PIL's build of libjpeg reads)`);
    } else if (marker === 0xda) {
      if (!frame) throw new Error('JPEG scan before its frame header');
      const f: Frame = frame;
      const n = d[body];
      const components: ScanComponent[] = [];
      for (let i = 0; i < n; i++) {
        const id = d[body + 1 + 2 * i];
        const component = f.components.find((c) => c.id === id);
        if (!component) throw new Error(`JPEG scan names component ${id}, which the frame does not have`);
        const tables = d[body + 2 + 2 * i];
        if (!latched.has(component)) {
          const q = quant[component.quantIndex];
          if (!q) throw new Error(`JPEG component ${id} uses quantization table ${component.quantIndex}, which was never defined`);
          latched.set(component, q);
        }
        components.push({ component, dc: dcTables[tables >> 4], ac: acTables[tables & 15] });
      }
      const s = body + 1 + 2 * n;
      const scan = { components, ss: d[s], se: d[s + 1], ah: d[s + 2] >> 4, al: d[s + 2] & 15, progressive: f.progressive, restartInterval, mcusPerLine: f.mcusPerLine, mcusPerColumn: f.mcusPerColumn };
      if (!f.progressive) Object.assign(scan, { ss: 0, se: 63, ah: 0, al: 0 });
      if (scan.ss > scan.se || scan.se > 63 || (f.progressive && scan.ss === 0 && scan.se !== 0) || (f.progressive && scan.ss > 0 && n !== 1)) {
        throw new Error(`JPEG progressive scan has bad parameters (Ss ${scan.ss}, Se ${scan.se}, ${n} components)`);
      }
      p = nextMarker(d, decodeScan(d, end, scan));
      continue;
    }
    p = end;
  }
  if (!frame) throw new Error('JPEG has no frame header');
  if (!ended) throw new Error('truncated JPEG (no end-of-image marker)');
  return toPixels(frame, latched, colourSpace(frame.components.length, frame.components.map((c) => c.id), jfif, adobeTransform));
}

function toPixels(f: Frame, latched: Map<JpegComponent, Uint16Array>, space: ReturnType<typeof colourSpace>): JpegImage {
  const planes = f.components.map((c) => {
    const q = latched.get(c);
    if (!q) throw new Error(`JPEG component ${c.id} has no scan`);
    const h = f.hmax / c.h;
    const v = f.vmax / c.v;
    if (!Number.isInteger(h) || !Number.isInteger(v)) throw new Error(`JPEG sampling ${c.h}×${c.v} of ${f.hmax}×${f.vmax} is fractional, which libjpeg does not support`);
    return upsample(samplesOf(c, q, f), h, v, f.width, f.height);
  });
  const { width, height } = f;
  if (space === 'grey') return { width, height, channels: 1, data: planes[0] };
  let data: Uint8Array;
  if (space === 'ycc') data = yccToRgb(planes[0], planes[1], planes[2]);
  else if (space === 'rgb') data = interleave(planes);
  else {
    const [c, m, y, k] = space === 'ycck' ? ycckToCmyk(planes[0], planes[1], planes[2], planes[3]) : planes;
    data = adobeCmykToRgb(c, m, y, k);
  }
  return { width, height, channels: 3, data };
}
