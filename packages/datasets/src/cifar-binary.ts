import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { sharedBytes, type ImageSet, type Splits } from './image-set';
import { requireFolder } from './list-files';

/** CIFAR-10's class names in label order. */
export const CIFAR10_CLASSES = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'];
/** The batch files of each split in a cifar-10-batches-bin folder. */
export const CIFAR10_TRAIN_FILES = [1, 2, 3, 4, 5].map((i) => `data_batch_${i}.bin`);
export const CIFAR10_TEST_FILES = ['test_batch.bin'];
const PIXELS = 3 * 32 * 32;
const RECORD = 1 + PIXELS;

/** One batch file's records, checked: whole records only and labels 0–9; errors name the file and record. */
export function parseCifarBatch(bytes: Uint8Array, file: string): { images: Uint8Array; labels: Int32Array } {
  if (bytes.length === 0 || bytes.length % RECORD !== 0) {
    throw new Error(`CIFAR-10: ${file} is ${bytes.length} bytes, not a whole number of ${RECORD}-byte records (1 label byte + ${PIXELS} pixel bytes); the file is truncated or not a CIFAR-10 batch`);
  }
  const count = bytes.length / RECORD;
  const images = sharedBytes(count * PIXELS);
  const labels = new Int32Array(count);
  for (let r = 0; r < count; r++) {
    const at = r * RECORD;
    const label = bytes[at];
    if (label > 9) throw new Error(`CIFAR-10: ${file}: record ${r} (byte ${at}) has label ${label}; CIFAR-10 labels are 0–9`);
    labels[r] = label;
    // The record's pixels are already R, G, B planes of 32×32: the planar layout of an ImageSet.
    images.set(bytes.subarray(at + 1, at + RECORD), r * PIXELS);
  }
  return { images, labels };
}

function readBatches(dir: string, files: string[], classes: string[]): ImageSet {
  const parts = files.map((name) => {
    const path = join(dir, name);
    if (!existsSync(path)) throw new Error(`CIFAR-10: missing ${path} (a cifar-10-batches-bin folder holds ${[...CIFAR10_TRAIN_FILES, ...CIFAR10_TEST_FILES].join(', ')})`);
    return parseCifarBatch(readFileSync(path), path);
  });
  const count = parts.reduce((n, p) => n + p.labels.length, 0);
  const images = sharedBytes(count * PIXELS);
  const labels = new Int32Array(count);
  let at = 0;
  for (const p of parts) {
    images.set(p.images, at * PIXELS);
    labels.set(p.labels, at);
    at += p.labels.length;
  }
  return { images, labels, count, channels: 3, height: 32, width: 32, classes, skipped: [] };
}

/** Class names from batches.meta.txt when present (one per line), else the standard ten. */
function classNames(dir: string): string[] {
  const meta = join(dir, 'batches.meta.txt');
  if (!existsSync(meta)) return CIFAR10_CLASSES;
  const names = readFileSync(meta, 'utf8').split('\n').map((l) => l.trim()).filter(Boolean);
  return names.length === 10 ? names : CIFAR10_CLASSES;
}

/** CIFAR-10 in its official binary format: `dir` is a cifar-10-batches-bin folder. */
export function readCifar10Binary(dir: string): Splits<ImageSet> {
  requireFolder(dir, 'CIFAR-10');
  const classes = classNames(dir);
  return { train: readBatches(dir, CIFAR10_TRAIN_FILES, classes), test: readBatches(dir, CIFAR10_TEST_FILES, classes) };
}
