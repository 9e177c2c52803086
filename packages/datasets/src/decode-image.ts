import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';

export type Colour = 'rgb' | 'grey';

/** Decoded pixels, interleaved [height, width, channels], 0..255. */
export interface Pixels {
  width: number;
  height: number;
  channels: number;
  data: Uint8Array;
}

const isPng = (b: Uint8Array) => b.length >= 8 && b[0] === 0x89 && b[1] === 0x50 && b[2] === 0x4e && b[3] === 0x47;
const isJpeg = (b: Uint8Array) => b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff;

/** jpeg-js fills a cut-off scan with grey instead of failing, so a missing end marker is checked here. */
function endsWithEoi(b: Uint8Array): boolean {
  for (let i = b.length - 2; i >= Math.max(2, b.length - 1024); i--) {
    if (b[i] === 0xff && b[i + 1] === 0xd9) return true;
  }
  return false;
}

/** RGB from RGBA or RGB input; alpha is dropped, as PIL's convert('RGB') does. */
function toRgb(src: Uint8Array, stride: number, n: number): Uint8Array {
  if (stride === 3) return src;
  const out = new Uint8Array(3 * n);
  for (let i = 0, j = 0; i < n; i++, j += stride) {
    out[3 * i] = src[j];
    out[3 * i + 1] = src[j + 1];
    out[3 * i + 2] = src[j + 2];
  }
  return out;
}

/** Luma with ITU-R 601-2 weights, PIL's convert('L'); grey sources pass through unchanged. */
function toGrey(src: Uint8Array, stride: number, n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0, j = 0; i < n; i++, j += stride) {
    out[i] = (src[j] * 299 + src[j + 1] * 587 + src[j + 2] * 114 + 500) / 1000;
  }
  return out;
}

function decodeRaw(bytes: Uint8Array): { width: number; height: number; stride: number; data: Uint8Array } {
  if (isJpeg(bytes)) {
    if (!endsWithEoi(bytes)) throw new Error('truncated JPEG (no end-of-image marker)');
    const img = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: false });
    return { width: img.width, height: img.height, stride: 3, data: img.data };
  }
  if (isPng(bytes)) {
    // pngjs expands palette, grey and grey+alpha to RGBA and scales 16-bit samples to 8 bits.
    const img = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    return { width: img.width, height: img.height, stride: 4, data: new Uint8Array(img.data.buffer, img.data.byteOffset, img.data.byteLength) };
  }
  throw new Error('not a JPEG or PNG image');
}

/** Decodes a JPEG or PNG (told apart by content, not name) to RGB or grey; throws on anything else. */
export function decodeImage(bytes: Uint8Array, colour: Colour = 'rgb'): Pixels {
  const raw = decodeRaw(bytes);
  const n = raw.width * raw.height;
  if (n === 0) throw new Error('image has no pixels');
  const data = colour === 'rgb' ? toRgb(raw.data, raw.stride, n) : toGrey(raw.data, raw.stride, n);
  return { width: raw.width, height: raw.height, channels: colour === 'rgb' ? 3 : 1, data };
}
