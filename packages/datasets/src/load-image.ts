import { readFileSync } from 'node:fs';
import { decodeImage, type Colour, type DecodeImageOptions, type Pixels } from './decode-image';
import { checkResizeFilter, DEFAULT_RESIZE_FILTER, resizeToPlanar, type ResizeFilter } from './resize';
import { naming } from './naming';

/** The one size and colour every image of a set is brought to, and how. */
export interface ImageShape {
  height: number;
  width: number;
  colour: Colour;
  /** Default 'bilinear' (PIL's, see resize.ts). */
  filter?: ResizeFilter;
  /** Larger images are skipped as bad files (see DecodeImageOptions). */
  maxPixels?: number;
}

/** 3 for RGB, 1 for grey. */
export const channelsOf = (colour: Colour) => (colour === 'rgb' ? 3 : 1);

/** An image file decoded and resized into `out` (planar [C, H, W]); throws with the reason on a bad file. */
export function loadImageInto(path: string, shape: ImageShape, out: Uint8Array): void {
  const bytes = readFileSync(path);
  if (bytes.length === 0) throw new Error('empty file');
  resizeToPlanar(decodeImage(bytes, shape.colour, { maxPixels: shape.maxPixels }), shape.height, shape.width, out, shape.filter ?? DEFAULT_RESIZE_FILTER);
}

/** An image file decoded and resized to `shape`; an error names the file. */
export function loadImage(path: string, shape: ImageShape): Uint8Array {
  const out = new Uint8Array(channelsOf(shape.colour) * shape.height * shape.width);
  naming('loadImage', path, () => loadImageInto(path, shape, out));
  return out;
}

/** The width and height of an image file as stored; an error names the file. */
export function imageSize(path: string, opts: DecodeImageOptions = {}): { height: number; width: number } {
  const px = naming('imageSize', path, () => {
    const bytes = readFileSync(path);
    if (bytes.length === 0) throw new Error('empty file');
    return decodeImage(bytes, 'rgb', opts);
  });
  return { height: px.height, width: px.width };
}

export { naming } from './naming';

/** `size` as [height, width]: a number means a square. */
export function parseSize(size: number | readonly [number, number]): [number, number] {
  const [h, w] = typeof size === 'number' ? [size, size] : size;
  if (!(Number.isInteger(h) && h > 0 && Number.isInteger(w) && w > 0)) throw new Error(`image size must be positive integers, got ${JSON.stringify(size)}`);
  return [h, w];
}

/** How a reader decodes and resizes: its options as ImageShape's. */
export interface ShapeOptions {
  /** Default 'bilinear', PIL's (see resize.ts). */
  resizeFilter?: ResizeFilter;
  /** Default 89,478,485, PIL's Image.MAX_IMAGE_PIXELS; larger images are skipped as bad files. */
  maxPixels?: number;
}

/** The shape to decode to: as asked, else the size of the first file that decodes. */
export function resolveShape(size: number | readonly [number, number] | undefined, colour: Colour | undefined, files: readonly string[], opts: ShapeOptions = {}): ImageShape {
  const filter = checkResizeFilter(opts.resizeFilter ?? DEFAULT_RESIZE_FILTER, 'resizeFilter');
  const shape = (height: number, width: number): ImageShape => ({ height, width, colour: colour ?? 'rgb', filter, ...(opts.maxPixels === undefined ? {} : { maxPixels: opts.maxPixels }) });
  if (size !== undefined) return shape(...parseSize(size));
  for (const f of files) {
    try {
      const s = imageSize(f, { maxPixels: opts.maxPixels });
      return shape(s.height, s.width);
    } catch {
      // A bad file is reported when the whole list is decoded; look at the next one here.
    }
  }
  throw new Error(`no readable image among ${files.length} files (first: ${files[0]})`);
}

/** An image file (path) or its bytes, decoded at its own size; an error names the file. */
export function readImage(source: string | Uint8Array, colour: Colour = 'rgb', opts: DecodeImageOptions = {}): Pixels {
  if (typeof source !== 'string') {
    if (!(source instanceof Uint8Array)) throw new Error(`readImage: expected a file path or the file's bytes (Uint8Array), got ${Object.prototype.toString.call(source)}`);
    return naming('readImage', '<bytes>', () => {
      if (source.length === 0) throw new Error('empty file');
      return decodeImage(source, colour, opts);
    });
  }
  return naming('readImage', source, () => {
    const bytes = readFileSync(source);
    if (bytes.length === 0) throw new Error('empty file');
    return decodeImage(bytes, colour, opts);
  });
}
