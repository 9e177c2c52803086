import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { readIdx } from './idx';
import { sharedBytes, type ImageSet, type Splits } from './image-set';

/** Fashion-MNIST's class names in label order. */
export const FASHION_MNIST_CLASSES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];
/** MNIST's digits as class names. */
export const MNIST_CLASSES = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];
/** Where Debian's `dataset-fashion-mnist` package puts the files. */
export const DEBIAN_FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist';

const FILES = {
  train: ['train-images-idx3-ubyte', 'train-labels-idx1-ubyte'],
  test: ['t10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte'],
};

/** `dir/name` or `dir/name.gz`, whichever exists. */
function idxFile(dir: string, name: string): string | null {
  for (const p of [join(dir, `${name}.gz`), join(dir, name)]) if (existsSync(p)) return p;
  return null;
}

/** The first folder that holds the four MNIST-layout IDX files, or null. */
export function findMnistFiles(dirs: readonly string[]): string | null {
  return dirs.find((d) => [...FILES.train, ...FILES.test].every((n) => idxFile(d, n))) ?? null;
}

/** Images [N, rows, cols] and labels [N] from two IDX files, checked against each other. */
export function readIdxImageSet(imagesPath: string, labelsPath: string, classes: string[]): ImageSet {
  const images = readIdx(imagesPath);
  const labels = readIdx(labelsPath);
  if (images.dims.length !== 3 || !(images.data instanceof Uint8Array)) throw new Error(`IDX: ${imagesPath}: expected unsigned bytes [N, rows, cols], got ${images.dims.length} dimensions`);
  if (labels.dims.length !== 1 || !(labels.data instanceof Uint8Array)) throw new Error(`IDX: ${labelsPath}: expected unsigned bytes [N], got ${labels.dims.length} dimensions`);
  const [count, height, width] = images.dims;
  if (labels.dims[0] !== count) throw new Error(`IDX: ${labelsPath} has ${labels.dims[0]} labels but ${imagesPath} has ${count} images`);
  const bad = labels.data.findIndex((l) => l >= classes.length);
  if (bad >= 0) throw new Error(`IDX: ${labelsPath}: label ${bad} is ${labels.data[bad]}, but there are ${classes.length} classes`);
  const shared = sharedBytes(images.data.length);
  shared.set(images.data);
  return { images: shared, labels: Int32Array.from(labels.data), count, channels: 1, height, width, classes, skipped: [] };
}

/** An MNIST-layout folder (train-images-idx3-ubyte[.gz], …) read as train and test sets. */
export function readMnistFolder(dir: string, classes: string[] = MNIST_CLASSES): Splits<ImageSet> {
  const path = (name: string) => {
    const p = idxFile(dir, name);
    if (!p) throw new Error(`IDX: missing ${join(dir, name)}[.gz]`);
    return p;
  };
  const read = (split: 'train' | 'test') => readIdxImageSet(path(FILES[split][0]), path(FILES[split][1]), classes);
  return { train: read('train'), test: read('test') };
}

/**
 * Fashion-MNIST from `dir` when given, else from $WEBGRAD_FASHION_MNIST or Debian's package
 * folder; the error says how to get it.
 */
export function loadFashionMnist(opts: { dir?: string } = {}): Splits<ImageSet> {
  const candidates = opts.dir ? [opts.dir] : [process.env.WEBGRAD_FASHION_MNIST, DEBIAN_FASHION_MNIST_DIR].filter((d): d is string => !!d);
  const dir = findMnistFiles(candidates);
  if (!dir) {
    throw new Error(`Fashion-MNIST: not found in ${candidates.join(', ')}; install it with \`sudo apt-get install dataset-fashion-mnist\` (Debian/Ubuntu) or pass { dir } holding train-images-idx3-ubyte.gz and the other three IDX files`);
  }
  return readMnistFolder(dir, FASHION_MNIST_CLASSES);
}
