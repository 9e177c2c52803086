/**
 * The data sets as the experiments load them (through @webgrad/datasets), each recording in
 * the catalogue which files it used:
 * - images: CIFAR-10 (JPEG folders or the official binary batches, downloaded when missing),
 *   else Fashion-MNIST from Debian's package; a balanced subset (the first n of each class).
 * - vehicles: the photos of some classes, resized, the LAST 25 % of each class (natural
 *   file-name order) as the test set.
 * - dehaze: hazy/clear pairs split by scene, the last 20 % of the scenes as the test set.
 * Only the files a subset needs are decoded, so the small presets start quickly.
 */
import { join } from 'node:path';
import * as ds from '@webgrad/datasets';
import type { ExperimentContext } from './experiment';
import { type LabImageSet, firstPerClass } from './images';
import { ENABLE, VEHICLE_CLASSES, downloadRoot, findCifar10 } from './locate';
import { int } from './format';

export interface SubsetSize {
  /** Images per class; Infinity for the whole split. */
  trainPerClass: number;
  testPerClass: number;
}

/**
 * How the lab resizes photos: PIL's bilinear filter, as torchvision's Resize does to the PIL
 * images of the PyTorch reference, so both train on the same pixels.
 */
export const LAB_RESIZE_FILTER: ds.ResizeFilter = 'bilinear';

const sizeText = (n: number) => (Number.isFinite(n) ? int(n) : 'all');
const take = <T>(a: T[], n: number) => (Number.isFinite(n) ? a.slice(0, n) : a);

/** Decodes a file list (resized to one shape) into an ImageSet. */
async function decodeSet(files: string[], labels: number[], classes: string[], height: number, width: number): Promise<ds.ImageSet> {
  const { pixels, failures } = await ds.decodeFiles(files, { height, width, colour: 'rgb', filter: LAB_RESIZE_FILTER });
  if (failures.length) throw new Error(`cannot decode ${files[failures[0].index]}: ${failures[0].reason}`);
  return { images: pixels, labels: Int32Array.from(labels), count: files.length, channels: 3, height, width, classes, files, skipped: [] };
}

/** The first `perClass` files of each class of a listing, restricted to one side of its split. */
function pickFiles(listing: ds.ImageFolderListing, test: boolean, perClass: number): { files: string[]; labels: number[] } {
  const files: string[] = [];
  const labels: number[] = [];
  listing.classes.forEach((_, c) => {
    const mine = listing.files.filter((_, i) => listing.labels[i] === c && listing.isTest[i] === test);
    for (const f of take(mine, perClass)) {
      files.push(f);
      labels.push(c);
    }
  });
  return { files, labels };
}

function describe(name: string, rule: string, set: Omit<LabImageSet, 'name' | 'description'>): LabImageSet {
  return {
    ...set,
    name: `${name} (${int(set.train.count)} / ${int(set.test.count)})`,
    description: `${name}, ${set.channels}×${set.height}×${set.width}, ${set.classes.length} classes; ${rule}: ${int(set.train.count)} train / ${int(set.test.count)} test images`,
  };
}

const shapeOf = (s: ds.ImageSet) => ({ classes: s.classes, channels: s.channels, height: s.height, width: s.width });

/** CIFAR-10 (found, or downloaded), else Fashion-MNIST, else the experiment is skipped. */
export async function loadImages(ctx: ExperimentContext, size: SubsetSize): Promise<LabImageSet> {
  const cat = ctx.data;
  if (!cat.cifar10 && !cat.fashionMnist && !cat.allowDownload) return ctx.skip('CIFAR-10 was not found and --no-download forbids fetching it; Fashion-MNIST is not installed', ENABLE.images);
  if (!cat.cifar10 && cat.allowDownload && !cat.downloadFailed) {
    const dest = downloadRoot(cat.roots);
    try {
      ctx.log(`CIFAR-10 not found: downloading the official binary version into ${dest} …`);
      const dir = await ds.downloadCifar10({ dest, onProgress: (done, total) => ctx.progress.bytes('CIFAR-10 download', done, total) });
      cat.cifar10 = { path: dir, source: `downloaded from ${ds.CIFAR10_URL}`, layout: 'binary' };
    } catch (err) {
      cat.downloadFailed = true;
      ctx.log(`download failed (${(err as Error).message}); falling back to Fashion-MNIST`);
    }
    cat.cifar10 ??= findCifar10(cat.roots);
  }
  const rule = `the first ${sizeText(size.trainPerClass)} train and ${sizeText(size.testPerClass)} test images of each class`;
  if (cat.cifar10) {
    cat.use('CIFAR-10', cat.cifar10);
    if (cat.cifar10.layout === 'binary') {
      const { train, test } = ds.readCifar10Binary(cat.cifar10.path);
      return describe('CIFAR-10', `official binary batches, ${rule}`, { ...shapeOf(train), train: firstPerClass(train, size.trainPerClass), test: firstPerClass(test, size.testPerClass) });
    }
    const side = async (split: 'train' | 'test', perClass: number) => {
      const listing = ds.listImageFolder(join(cat.cifar10!.path, split), { classes: ds.CIFAR10_CLASSES });
      const { files, labels } = pickFiles(listing, false, perClass);
      return decodeSet(files, labels, listing.classes, 32, 32);
    };
    const train = await side('train', size.trainPerClass);
    const test = await side('test', size.testPerClass);
    return describe('CIFAR-10', `JPEG folders, ${rule}`, { ...shapeOf(train), train, test });
  }
  if (cat.fashionMnist) {
    cat.use('Fashion-MNIST', cat.fashionMnist);
    const { train, test } = ds.loadFashionMnist({ dir: cat.fashionMnist.path });
    return describe('Fashion-MNIST', `IDX files, ${rule}`, { ...shapeOf(train), train: firstPerClass(train, size.trainPerClass), test: firstPerClass(test, size.testPerClass) });
  }
  return ctx.skip('neither CIFAR-10 nor Fashion-MNIST is available', ENABLE.images);
}

export interface VehicleOptions extends SubsetSize {
  /** Square side the photos are resized to. */
  size: number;
  /** Percent of each class, taken from its end in file-name order, that is the test set. */
  testPercent: number;
  /** Class folders (default the lab's car / minibus / truck; 'all' for every folder). */
  classes?: string[] | 'all';
}

export type VehicleSet = LabImageSet & { perClass: { name: string; files: number; train: number; test: number; firstTest: string }[] };

/** The lab's vehicle task: per class the files in natural order, the last testPercent % of them the test set. */
export async function loadVehicles(ctx: ExperimentContext, o: VehicleOptions): Promise<VehicleSet> {
  const where = ctx.data.vehicles;
  if (!where) return ctx.skip('the vehicle photos were not found', ENABLE.vehicles);
  ctx.data.use('vehicles', where);
  const listing = ds.listImageFolder(where.path, { classes: o.classes === 'all' ? undefined : (o.classes ?? VEHICLE_CLASSES), testPercent: o.testPercent });
  const tr = pickFiles(listing, false, o.trainPerClass);
  const te = pickFiles(listing, true, o.testPerClass);
  const train = await decodeSet(tr.files, tr.labels, listing.classes, o.size, o.size);
  const test = await decodeSet(te.files, te.labels, listing.classes, o.size, o.size);
  const perClass = listing.classes.map((name, c) => {
    const idx = listing.files.map((_, i) => i).filter((i) => listing.labels[i] === c);
    const firstTest = idx.find((i) => listing.isTest[i]);
    return {
      name,
      files: idx.length,
      train: tr.labels.filter((l) => l === c).length,
      test: te.labels.filter((l) => l === c).length,
      firstTest: firstTest === undefined ? '–' : (listing.files[firstTest].split('/').pop() as string),
    };
  });
  const set = describe(
    'vehicles',
    `${listing.classes.join(' / ')} photos resized to ${o.size}×${o.size}; per class the last ${o.testPercent} % of the files (natural name order) is the test set; ` +
      `used: the first ${sizeText(o.trainPerClass)} of each class's training part and the first ${sizeText(o.testPerClass)} of its test part`,
    { ...shapeOf(train), train, test },
  );
  return { ...set, perClass };
}

export interface DehazeOptions {
  width: number;
  height: number;
  /** Haze levels used per scene (of the 10 in SOTS), evenly spread; Infinity for all. */
  levelsPerScene: number;
  /** Scenes used from each side of the split, evenly spread; Infinity for all. */
  trainScenes: number;
  testScenes: number;
  /** Percent of the scenes, the last ones by number, that form the test set (20 in the lab). */
  testPercent: number;
}

export interface LabPairSet {
  description: string;
  width: number;
  height: number;
  train: ds.PairSet;
  test: ds.PairSet;
}

const spread = <T>(a: T[], n: number) => (Number.isFinite(n) && n < a.length ? Array.from({ length: n }, (_, i) => a[Math.floor((i * a.length) / n)]) : a);

/** The pairs of some scenes, some haze levels each. */
function subsetPairs(set: ds.PairSet, scenes: number, levels: number): ds.PairSet {
  const keepScenes = spread(set.scenes.map((_, i) => i), scenes);
  const size = set.channels * set.height * set.width;
  const inputs: number[] = [];
  for (const s of keepScenes) inputs.push(...spread([...set.targetOf.keys()].filter((i) => set.targetOf[i] === s), levels));
  const pick = (bytes: Uint8Array, rows: number[]) => {
    const out = new Uint8Array(rows.length * size);
    rows.forEach((r, i) => out.set(bytes.subarray(r * size, (r + 1) * size), i * size));
    return out;
  };
  return {
    ...set,
    inputs: pick(set.inputs, inputs),
    targets: pick(set.targets, keepScenes),
    targetOf: Int32Array.from(inputs, (i) => keepScenes.indexOf(set.targetOf[i])),
    count: inputs.length,
    scenes: keepScenes.map((s) => set.scenes[s]),
    files: set.files ? inputs.map((i) => set.files![i]) : undefined,
  };
}

/** Hazy/clear pairs split by SCENE (the same clear image must not sit on both sides). */
export async function loadDehaze(ctx: ExperimentContext, o: DehazeOptions): Promise<LabPairSet> {
  const where = ctx.data.dehaze;
  if (!where) return ctx.skip('the dehazing pairs were not found', ENABLE.dehaze);
  ctx.data.use('dehaze', where);
  const all = await ds.imagePairs(where.path, { size: [o.height, o.width], resizeFilter: LAB_RESIZE_FILTER, testPercent: o.testPercent, onWarning: (l) => ctx.log(l) });
  const train = subsetPairs(all.train, o.trainScenes, o.levelsPerScene);
  const test = subsetPairs(all.test, o.testScenes, o.levelsPerScene);
  const scenes = all.train.scenes.length + all.test.scenes.length;
  const levels = Number.isFinite(o.levelsPerScene) ? `${o.levelsPerScene} haze level(s) per scene (evenly spread)` : 'every haze level';
  return {
    width: o.width,
    height: o.height,
    train,
    test,
    description:
      `RESIDE SOTS-indoor pairs resized to ${o.width}×${o.height}; split by scene, the last ${o.testPercent} % of the ${scenes} scenes (by number, from ${all.test.scenes[0]}) are the test set; ` +
      `used: ${train.scenes.length} train and ${test.scenes.length} test scenes, ${levels}: ${int(train.count)} train / ${int(test.count)} test pairs`,
  };
}
