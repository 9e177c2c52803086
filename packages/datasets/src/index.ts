/**
 * @webgrad/datasets for a page (and any platform): loading, transforms and image decoding
 * from bytes, Files, Blobs, URLs and ImageBitmaps. Node resolves the package to ./node.ts,
 * which adds the readers of files and folders, downloads and worker threads.
 */
export { decodeImage, type Colour, type Pixels, type DecodeImageOptions } from './decode-image';
export { decodeJpeg } from './jpeg-decode';
export { decodePng } from './png-decode';
export { DEFAULT_MAX_PIXELS } from './pixel-limit';
export { resizeToPlanar, resizePixels, RESIZE_FILTERS, DEFAULT_RESIZE_FILTER, type ResizeFilter } from './resize';
export { decodeImageSource, imageSetFromSources, type ImageSourceInPage, type ImageSetFromSourcesOptions } from './image-sources';
export { naturalCompare } from './natural-order';
export { type ImageSet, type PairSet, type Splits, type SkippedFile, subsetImages, classCounts } from './image-set';
// Loading
export { DataLoader, type DataLoaderOptions, type Batch } from './data-loader';
export { TensorDataset, isDataset, collate, type Dataset, type Sample } from '@webgrad/tensor';
import { transforms as transformList } from './transforms';
import { compose } from './compose';
export { compileTransforms, type Transform, type TransformPlan } from './transforms';
export { Compose, type ComposeApplyOptions, type ImageSource } from './compose';
/** torchvision's transforms: the list a DataLoader applies, and compose() for single images and batches. */
export const transforms = { ...transformList, compose };
export { permutation } from './rng';
