import { readFileSync } from 'node:fs';
import { decodeImage, type Colour } from './decode-image';
import { resizeToPlanar } from './resize';

/** The one size and colour every image of a set is brought to. */
export interface ImageShape {
  height: number;
  width: number;
  colour: Colour;
}

/** 3 for RGB, 1 for grey. */
export const channelsOf = (colour: Colour) => (colour === 'rgb' ? 3 : 1);

/** An image file decoded and resized into `out` (planar [C, H, W]); throws with the reason on a bad file. */
export function loadImageInto(path: string, shape: ImageShape, out: Uint8Array): void {
  const bytes = readFileSync(path);
  if (bytes.length === 0) throw new Error('empty file');
  resizeToPlanar(decodeImage(bytes, shape.colour), shape.height, shape.width, out);
}

/** An image file decoded and resized to `shape`. */
export function loadImage(path: string, shape: ImageShape): Uint8Array {
  const out = new Uint8Array(channelsOf(shape.colour) * shape.height * shape.width);
  loadImageInto(path, shape, out);
  return out;
}

/** The width and height of an image file as stored. */
export function imageSize(path: string): { height: number; width: number } {
  const px = decodeImage(readFileSync(path));
  return { height: px.height, width: px.width };
}

/** `size` as [height, width]: a number means a square. */
export function parseSize(size: number | readonly [number, number]): [number, number] {
  const [h, w] = typeof size === 'number' ? [size, size] : size;
  if (!(Number.isInteger(h) && h > 0 && Number.isInteger(w) && w > 0)) throw new Error(`image size must be positive integers, got ${JSON.stringify(size)}`);
  return [h, w];
}

/** The shape to decode to: as asked, else the size of the first file that decodes. */
export function resolveShape(size: number | readonly [number, number] | undefined, colour: Colour | undefined, files: readonly string[]): ImageShape {
  const shape = (height: number, width: number): ImageShape => ({ height, width, colour: colour ?? 'rgb' });
  if (size !== undefined) return shape(...parseSize(size));
  for (const f of files) {
    try {
      const s = imageSize(f);
      return shape(s.height, s.width);
    } catch {
      // A bad file is reported when the whole list is decoded; look at the next one here.
    }
  }
  throw new Error(`no readable image among ${files.length} files (first: ${files[0]})`);
}
