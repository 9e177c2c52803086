/** A file left out of a set because it could not be read as an image. */
export interface SkippedFile {
  path: string;
  reason: string;
}

/**
 * Labelled images of one size, all in memory. Pixels are 0..255 in [count, channels, height,
 * width] order (planar, like NCHW) and sit in a SharedArrayBuffer so that loader workers
 * read them without copies.
 */
export interface ImageSet {
  images: Uint8Array;
  labels: Int32Array;
  count: number;
  channels: number;
  height: number;
  width: number;
  classes: string[];
  /** The file of each image, when the set came from files. */
  files?: string[];
  /** Files left out as unreadable (folder sets only). */
  skipped: SkippedFile[];
}

/**
 * Input/target image pairs (hazy/clear). Several inputs share one target, so targets are
 * stored once per scene and `targetOf[i]` names the target of input i.
 */
export interface PairSet {
  inputs: Uint8Array;
  targets: Uint8Array;
  targetOf: Int32Array;
  count: number;
  channels: number;
  height: number;
  width: number;
  /** The scene of each target. */
  scenes: string[];
  files?: string[];
  skipped: SkippedFile[];
}

/** A train/test pair of anything. */
export interface Splits<T> {
  train: T;
  test: T;
}

/**
 * Zeroed bytes that worker threads can share; plain bytes where there is no shared memory
 * (a page that is not cross-origin isolated, which has no workers to share with either).
 */
export function sharedBytes(length: number): Uint8Array {
  return new Uint8Array(typeof SharedArrayBuffer === 'function' ? new SharedArrayBuffer(length) : new ArrayBuffer(length));
}

/** A copy of `bytes` in shared memory (or `bytes` itself when already shared). */
export function toShared(bytes: Uint8Array): Uint8Array {
  if (typeof SharedArrayBuffer !== 'function' || bytes.buffer instanceof SharedArrayBuffer) return bytes;
  const out = sharedBytes(bytes.length);
  out.set(bytes);
  return out;
}

/** The images of `set` at `indices`, in that order, as a new set. */
export function subsetImages(set: ImageSet, indices: ArrayLike<number>): ImageSet {
  const size = set.channels * set.height * set.width;
  const images = sharedBytes(indices.length * size);
  const labels = new Int32Array(indices.length);
  const files = set.files ? [] as string[] : undefined;
  for (let i = 0; i < indices.length; i++) {
    const j = indices[i];
    images.set(set.images.subarray(j * size, (j + 1) * size), i * size);
    labels[i] = set.labels[j];
    files?.push(set.files![j]);
  }
  return { ...set, images, labels, count: indices.length, files };
}

/** How many images of each class `set` holds, in class order. */
export function classCounts(set: Pick<ImageSet, 'labels' | 'classes'>): number[] {
  const counts = new Array<number>(set.classes.length).fill(0);
  for (const l of set.labels) counts[l]++;
  return counts;
}
