import { decodeJpeg } from './jpeg-decode';
import { decodePng } from './png-decode';
import { DEFAULT_MAX_PIXELS } from './pixel-limit';

export type Colour = 'rgb' | 'grey';

/**
 * Names the decoders' output: part of the image cache's key, so that pixels cached by an
 * earlier decoder are not reused. Change it whenever a decoder's output bytes change.
 */
export const DECODER_VERSION = 'jpeg: libjpeg-turbo 2.1 defaults, bit-exact; png: PIL convert; 1';

/** Decoded pixels, interleaved [height, width, channels], 0..255. */
export interface Pixels {
  width: number;
  height: number;
  channels: number;
  data: Uint8Array;
}

export interface DecodeImageOptions {
  /**
   * Images with more pixels are refused from their header, before decoding (a small file can
   * declare a huge image). Default 89,478,485, PIL's Image.MAX_IMAGE_PIXELS.
   */
  maxPixels?: number;
}

const isPng = (b: Uint8Array) => b.length >= 8 && b[0] === 0x89 && b[1] === 0x50 && b[2] === 0x4e && b[3] === 0x47;
const isJpeg = (b: Uint8Array) => b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff;

/** Whether decodeImage reads these bytes (a JPEG or PNG, by content). */
export const isDecodableImage = (bytes: Uint8Array): boolean => isJpeg(bytes) || isPng(bytes);

/** An image as its decoder gives it: one grey channel, or RGB. */
interface Raw {
  width: number;
  height: number;
  channels: 1 | 3;
  data: Uint8Array;
}

/** Grey to RGB by repeating the sample, as PIL's convert('RGB') does. */
function greyToRgb(src: Uint8Array): Uint8Array {
  const out = new Uint8Array(3 * src.length);
  for (let i = 0, o = 0; i < src.length; i++, o += 3) out[o] = out[o + 1] = out[o + 2] = src[i];
  return out;
}

/** Luma with ITU-R 601-2 weights in PIL's fixed point (Convert.c, L24), PIL's convert('L'). */
export function rgbToGrey(src: Uint8Array): Uint8Array {
  const out = new Uint8Array(src.length / 3);
  for (let i = 0, j = 0; i < out.length; i++, j += 3) out[i] = (src[j] * 19595 + src[j + 1] * 38470 + src[j + 2] * 7471 + 0x8000) >>> 16;
  return out;
}

function decodeRaw(bytes: Uint8Array, maxPixels: number): Raw {
  if (isJpeg(bytes)) return decodeJpeg(bytes, { maxPixels });
  if (isPng(bytes)) return decodePng(bytes, { maxPixels });
  throw new Error('not a JPEG or PNG image');
}

/**
 * Decodes a JPEG or PNG (told apart by content, not name) to RGB or grey, with the bytes PIL's
 * `Image.open(f).convert('RGB')` (or 'L') gives; throws on anything else.
 */
export function decodeImage(bytes: Uint8Array, colour: Colour = 'rgb', opts: DecodeImageOptions = {}): Pixels {
  const maxPixels = opts.maxPixels ?? DEFAULT_MAX_PIXELS;
  if (!(maxPixels > 0)) throw new Error(`maxPixels must be a positive number, got ${maxPixels}`);
  const raw = decodeRaw(bytes, maxPixels);
  if (raw.width * raw.height === 0) throw new Error('image has no pixels');
  const channels = colour === 'rgb' ? 3 : 1;
  const data = raw.channels === channels ? raw.data : channels === 3 ? greyToRgb(raw.data) : rgbToGrey(raw.data);
  return { width: raw.width, height: raw.height, channels, data };
}
