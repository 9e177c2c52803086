/**
 * @webgrad/datasets for Node (the package's "node" condition): everything the page entry
 * has, plus the readers of files and folders, downloads, the decoded-image cache and the
 * worker threads of DataLoader and decodeFiles.
 */
import { availableParallelism } from 'node:os';
import { readImage } from './load-image';
import { nodeOnly } from './platform';
import { WorkerPool } from './worker-pool';

nodeOnly.workerPool = (size) => new WorkerPool(size);
nodeOnly.cores = availableParallelism;
nodeOnly.readImageFile = readImage;

export * from './index';
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
export { loadImage, readImage, imageSize, type ImageShape, type ShapeOptions } from './load-image';
export { decodeFiles, type DecodeOptions } from './decode-files';
export { imageCache, cacheKey, readCache, writeCache, clearCache, type CacheEntry } from './image-cache';
export { repoRoot, findRepoRoot, defaultCacheDir, defaultDataDir } from './paths';
