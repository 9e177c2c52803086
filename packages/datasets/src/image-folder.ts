import { decodeFileList, type CachedDecodeOptions } from './decode-cached';
import { sharedBytes, type ImageSet, type Splits } from './image-set';
import { channelsOf, resolveShape, type ShapeOptions } from './load-image';
import type { Colour } from './decode-image';
import { listImageFolder, type ClassSelection } from './list-image-folder';
import { reportSkipped, type BadFilePolicy } from './skipped';

export interface ImageFolderOptions extends CachedDecodeOptions, BadFilePolicy, ShapeOptions {
  /** Every image is resized to this (a number: square). Default: the first image's size. */
  size?: number | [number, number];
  /** Default 'rgb'. */
  colour?: Colour;
  /** Class folders to use, optionally renamed. Default: every subfolder, by name. */
  classes?: ClassSelection;
  /** The last this many percent of each class, in file-name order, form the test set. Default 0. */
  testPercent?: number;
}

/**
 * Images in `root/<class>/*.{jpg,jpeg,png}`, decoded (on worker threads, or from the disk cache)
 * and resized to one size, split into train and test by the last `testPercent` % of each class.
 */
export async function imageFolder(root: string, opts: ImageFolderOptions = {}): Promise<Splits<ImageSet>> {
  const listing = listImageFolder(root, opts);
  const shape = resolveShape(opts.size, opts.colour, listing.files, opts);
  const decoded = await decodeFileList(listing.files, shape, opts);
  reportSkipped('imageFolder', [...listing.others, ...decoded.skipped], opts);
  const size = channelsOf(shape.colour) * shape.height * shape.width;
  const side = (test: boolean): ImageSet => {
    const rows = decoded.kept.map((fileIndex, row) => ({ fileIndex, row })).filter((k) => listing.isTest[k.fileIndex] === test);
    const images = sharedBytes(rows.length * size);
    rows.forEach((k, i) => images.set(decoded.pixels.subarray(k.row * size, (k.row + 1) * size), i * size));
    return {
      images,
      labels: Int32Array.from(rows, (k) => listing.labels[k.fileIndex]),
      count: rows.length,
      channels: channelsOf(shape.colour),
      height: shape.height,
      width: shape.width,
      classes: listing.classes,
      files: rows.map((k) => listing.files[k.fileIndex]),
      skipped: decoded.skipped.filter((s) => listing.isTest[s.index] === test).map(({ path, reason }) => ({ path, reason })),
    };
  };
  const train = side(false);
  // Files skipped by name have no split; they are counted with the training set.
  train.skipped.unshift(...listing.others);
  return { train, test: side(true) };
}
