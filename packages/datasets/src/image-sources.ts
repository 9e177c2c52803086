/**
 * Images as a page has them (File objects from <input type=file> or a drop, Blobs, URLs,
 * ImageBitmaps) decoded to pixels and gathered into an ImageSet a DataLoader batches. JPEG and
 * PNG bytes go through decodeImage, the decoder the Node readers use, so a page sees the
 * pixels PIL and `npm run lab` see. Other formats the page can decode (WebP, GIF, BMP, AVIF)
 * go through the browser's decoder (createImageBitmap), as does an ImageBitmap given
 * directly; those pixels are the browser's, read back through an OffscreenCanvas.
 */
import { decodeImage, isDecodableImage, rgbToGrey, type Colour, type Pixels } from './decode-image';
import { type ImageSet, sharedBytes } from './image-set';
import { resizeToPlanar } from './resize';

/** An image in a page: a File or Blob, a URL to fetch, or an ImageBitmap. */
export type ImageSourceInPage = Blob | ImageBitmap | string | URL;

const describe = (s: ImageSourceInPage) => (typeof s === 'string' || s instanceof URL ? String(s) : typeof File === 'function' && s instanceof File ? s.name : Object.prototype.toString.call(s));

/** RGBA from a canvas to RGB (alpha dropped) or grey, as decodeImage converts (PIL's luma). */
function fromRgba(rgba: Uint8ClampedArray, width: number, height: number, colour: Colour): Pixels {
  const n = width * height;
  const rgb = new Uint8Array(3 * n);
  for (let i = 0, o = 0; i < n; i++, o += 3) {
    rgb[o] = rgba[4 * i];
    rgb[o + 1] = rgba[4 * i + 1];
    rgb[o + 2] = rgba[4 * i + 2];
  }
  return colour === 'rgb' ? { width, height, channels: 3, data: rgb } : { width, height, channels: 1, data: rgbToGrey(rgb) };
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
  if (isDecodableImage(bytes) || typeof createImageBitmap !== 'function') return decodeImage(bytes, colour);
  let bitmap: ImageBitmap;
  try {
    bitmap = await createImageBitmap(blob);
  } catch (err) {
    throw new Error(`not an image this page can decode (webgrad reads JPEG and PNG; the browser could not read it either: ${err instanceof Error ? err.message : String(err)})`, { cause: err });
  }
  try {
    return bitmapPixels(bitmap, colour);
  } finally {
    bitmap.close();
  }
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
