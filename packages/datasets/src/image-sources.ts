/**
 * Images as a page has them (File objects from <input type=file> or a drop, Blobs, URLs,
 * ImageBitmaps) decoded to pixels and gathered into an ImageSet a DataLoader batches. Bytes
 * go through decodeImage, the decoder the Node readers use, so a page sees the same pixels;
 * an ImageBitmap (already decoded by the browser) is read back through an OffscreenCanvas.
 */
import { decodeImage, type Colour, type Pixels } from './decode-image';
import { type ImageSet, sharedBytes } from './image-set';
import { resizeToPlanar } from './resize';

/** An image in a page: a File or Blob, a URL to fetch, or an ImageBitmap. */
export type ImageSourceInPage = Blob | ImageBitmap | string | URL;

const describe = (s: ImageSourceInPage) => (typeof s === 'string' || s instanceof URL ? String(s) : typeof File === 'function' && s instanceof File ? s.name : Object.prototype.toString.call(s));

/** RGBA from a canvas to RGB (alpha dropped) or grey (ITU-R 601-2 luma), as decodeImage converts. */
function fromRgba(rgba: Uint8ClampedArray, width: number, height: number, colour: Colour): Pixels {
  const n = width * height;
  const channels = colour === 'rgb' ? 3 : 1;
  const data = new Uint8Array(channels * n);
  for (let i = 0; i < n; i++) {
    const [r, g, b] = [rgba[4 * i], rgba[4 * i + 1], rgba[4 * i + 2]];
    if (channels === 3) data.set([r, g, b], 3 * i);
    else data[i] = (r * 299 + g * 587 + b * 114 + 500) / 1000;
  }
  return { width, height, channels, data };
}

function bitmapPixels(bitmap: ImageBitmap, colour: Colour): Pixels {
  const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
  const context = canvas.getContext('2d');
  if (!context) throw new Error('no 2d context on an OffscreenCanvas');
  context.drawImage(bitmap, 0, 0);
  return fromRgba(context.getImageData(0, 0, bitmap.width, bitmap.height, { colorSpace: 'srgb' }).data, bitmap.width, bitmap.height, colour);
}

async function blobPixels(blob: Blob, colour: Colour): Promise<Pixels> {
  const bytes = new Uint8Array(await blob.arrayBuffer());
  if (bytes.length === 0) throw new Error('empty file');
  return decodeImage(bytes, colour);
}

/** One image from a page decoded at its own size; an error names the file or URL. */
export async function decodeImageSource(source: ImageSourceInPage, colour: Colour = 'rgb'): Promise<Pixels> {
  const where = describe(source);
  try {
    if (typeof source === 'string' || source instanceof URL) {
      const response = await fetch(source);
      if (!response.ok) throw new Error(`HTTP ${response.status} ${response.statusText}`);
      return await blobPixels(await response.blob(), colour);
    }
    if (typeof ImageBitmap === 'function' && source instanceof ImageBitmap) return bitmapPixels(source, colour);
    if (source instanceof Blob) return await blobPixels(source, colour);
    throw new Error('expected a File, Blob, URL or ImageBitmap');
  } catch (err) {
    throw new Error(`decodeImageSource: ${where}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
}

export interface ImageSetFromSourcesOptions {
  /** [height, width] (or a number for a square) every image is resized to, as the Node readers do. */
  size: number | readonly [number, number];
  colour?: Colour;
  /** The class of each image (default 0). */
  labels?: ArrayLike<number>;
  /** Class names (default: 'class 0' up to the largest label). */
  classes?: string[];
}

/** Images from a page decoded, resized and stacked into an ImageSet, for a DataLoader. */
export async function imageSetFromSources(sources: readonly ImageSourceInPage[], opts: ImageSetFromSourcesOptions): Promise<ImageSet> {
  const [height, width] = typeof opts.size === 'number' ? [opts.size, opts.size] : opts.size;
  if (!(Number.isInteger(height) && height > 0 && Number.isInteger(width) && width > 0)) throw new Error(`imageSetFromSources: size must be positive integers, got ${JSON.stringify(opts.size)}`);
  if (opts.labels && opts.labels.length !== sources.length) throw new Error(`imageSetFromSources: ${opts.labels.length} labels for ${sources.length} images`);
  const colour = opts.colour ?? 'rgb';
  const channels = colour === 'rgb' ? 3 : 1;
  const plane = channels * height * width;
  const images = sharedBytes(sources.length * plane);
  const decoded = await Promise.all(sources.map((s) => decodeImageSource(s, colour)));
  decoded.forEach((px, i) => resizeToPlanar(px, height, width, images.subarray(i * plane, (i + 1) * plane)));
  const labels = Int32Array.from(opts.labels ?? new Array<number>(sources.length).fill(0));
  const classes = opts.classes ?? Array.from({ length: Math.max(0, ...labels) + 1 }, (_, c) => `class ${c}`);
  return { images, labels, count: sources.length, channels, height, width, classes, skipped: [] };
}
