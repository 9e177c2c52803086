/**
 * The lab's view of an image-classification set: @webgrad/datasets' train and test ImageSets
 * (pixels as bytes, in memory) with the name and description the report shows, and the
 * DataLoader batches the experiments train on.
 */
import * as ds from '@webgrad/datasets';

export interface LabImageSet {
  /** Short name for tables, e.g. 'CIFAR-10 (2,000 / 500)'. */
  name: string;
  /** One sentence for the settings: source, subset rule and sizes. */
  description: string;
  classes: string[];
  channels: number;
  height: number;
  width: number;
  train: ds.ImageSet;
  test: ds.ImageSet;
}

/** Classification inputs are centred: (x − 0.5) / 0.25 per channel. Without it AlexNet (no BatchNorm) stays at chance for epochs. */
export const NORMALISE = { mean: 0.5, std: 0.25 };
export const normaliseText = `pixels scaled to [0, 1], then (x − ${NORMALISE.mean}) / ${NORMALISE.std} per channel`;

/**
 * Mini-batches as float tensors: reshuffled every epoch for training, in order for
 * evaluation; `normalise` centres the inputs (classification), otherwise pixels stay in
 * [0, 1] (image-to-image). Built on this thread: the lab's images are small, and on two
 * cores a loader thread would compete with the training for the same CPU.
 */
export function batches(set: { train: ds.ImageSet | ds.PairSet; test: ds.ImageSet | ds.PairSet }, split: 'train' | 'test', batchSize: number, opts: { shuffle?: boolean; seed?: number; normalise?: boolean } = {}): ds.DataLoader {
  const c = set[split].channels;
  const transforms = opts.normalise ? [ds.transforms.normalize(new Array(c).fill(NORMALISE.mean), new Array(c).fill(NORMALISE.std))] : [];
  return new ds.DataLoader(set[split], { batchSize, shuffle: opts.shuffle ?? split === 'train', seed: opts.seed ?? 0, workers: 0, transforms });
}

/** Per-class counts, e.g. 'car 195, minibus 195, truck 195'. */
export function classCounts(set: LabImageSet, split: 'train' | 'test'): string {
  const counts = ds.classCounts(set[split]);
  return set.classes.map((c, i) => `${c} ${counts[i]}`).join(', ');
}

/** The first `perClass` images of each class, in the set's order: a balanced, reproducible subset. */
export function firstPerClass(set: ds.ImageSet, perClass: number): ds.ImageSet {
  if (!Number.isFinite(perClass)) return set;
  const taken = new Array<number>(set.classes.length).fill(0);
  const keep: number[] = [];
  for (let i = 0; i < set.count; i++) {
    const c = set.labels[i];
    if (taken[c] < perClass) {
      taken[c]++;
      keep.push(i);
    }
  }
  return ds.subsetImages(set, keep);
}

/** One image of a byte set as planar floats in [0, 1] (for image grids). */
export function planarFloats(bytes: Uint8Array, index: number, channels: number, height: number, width: number): Float32Array {
  const size = channels * height * width;
  return Float32Array.from(bytes.subarray(index * size, (index + 1) * size), (v) => v / 255);
}
