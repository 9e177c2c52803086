// Readers
export { readCifar10Binary, parseCifarBatch, CIFAR10_CLASSES } from './cifar-binary';
export { readCifar10Folders, type CifarFolderOptions } from './cifar-folders';
export { downloadCifar10, CIFAR10_URL, CIFAR10_CHECKSUM, type DownloadCifar10Options } from './cifar-download';
export { loadCifar10, type LoadCifar10Options, type LoadedCifar10 } from './cifar10';
export { downloadFile, type Checksum, type DownloadFileOptions } from './download-file';
export { readIdx, parseIdx, type IdxArray, type IdxData } from './idx';
export { loadFashionMnist, readMnistFolder, readIdxImageSet, findMnistFiles, FASHION_MNIST_CLASSES, MNIST_CLASSES, DEBIAN_FASHION_MNIST_DIR } from './mnist';
export { imageFolder, type ImageFolderOptions } from './image-folder';
export { listImageFolder, type ClassSelection, type ImageFolderListing } from './list-image-folder';
export { imagePairs, type ImagePairsOptions } from './image-pairs';
export { decodeImage, type Colour, type Pixels, type DecodeImageOptions } from './decode-image';
export { decodeJpeg } from './jpeg-decode';
export { decodePng } from './png-decode';
export { DEFAULT_MAX_PIXELS } from './pixel-limit';
export { resizeToPlanar, resizePixels, RESIZE_FILTERS, DEFAULT_RESIZE_FILTER, type ResizeFilter } from './resize';
export { loadImage, readImage, imageSize, type ImageShape, type ShapeOptions } from './load-image';
export { decodeFiles, type DecodeOptions } from './decode-files';
export { imageCache, cacheKey, readCache, writeCache, clearCache, type CacheEntry } from './image-cache';
export { naturalCompare } from './natural-order';
export { type ImageSet, type PairSet, type Splits, type SkippedFile, subsetImages, classCounts } from './image-set';
export { repoRoot, defaultCacheDir, defaultDataDir } from './paths';
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
