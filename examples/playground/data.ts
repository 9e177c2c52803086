/**
 * The images the playground trains on, found by the lab's own data search
 * (examples/lab/locate.ts): a balanced CIFAR-10 subset (JPEG folders or the binary
 * batches), else Fashion-MNIST, else a synthetic set of drawn shapes; never a download.
 * Node-only: the server sends the result to the page. What the page gets names the data set
 * and where the lab found it (`--data`, `WEBGRAD_DATA`, …), never a folder of this machine:
 * the folders stay in `local`, for the server's console.
 */
import { join } from 'node:path';
import * as ds from '@webgrad/datasets';
import { firstPerClass } from '../lab/images';
import { dataRoots, findCifar10, findFashionMnist } from '../lab/locate';
import type { ImageData8 } from './core';

export interface SubsetOptions {
  trainPerClass: number;
  testPerClass: number;
  /** As the lab's --data. */
  dataDir?: string;
  /** Skip the search and use the synthetic set (tests that must not depend on data). */
  synthetic?: boolean;
}

/** The images, plus what only the server's console says: the folders read and searched. */
export interface Subset extends ImageData8 {
  local: { source: string; fallback: string | null };
}

function join8(meta: Omit<ImageData8['meta'], 'trainCount' | 'testCount' | 'classes' | 'channels' | 'height' | 'width'>, train: ds.ImageSet, test: ds.ImageSet): ImageData8 {
  const pixels = new Uint8Array(train.images.length + test.images.length);
  pixels.set(train.images, 0);
  pixels.set(test.images, train.images.length);
  const labels = Uint8Array.from([...train.labels, ...test.labels]);
  return {
    meta: { ...meta, classes: train.classes, channels: train.channels, height: train.height, width: train.width, trainCount: train.count, testCount: test.count },
    pixels,
    labels,
  };
}

async function cifarFolders(path: string, split: 'train' | 'test', perClass: number): Promise<ds.ImageSet> {
  const listing = ds.listImageFolder(join(path, split), { classes: ds.CIFAR10_CLASSES });
  const files: string[] = [];
  const labels: number[] = [];
  listing.classes.forEach((_, c) => {
    for (const f of listing.files.filter((_, i) => listing.labels[i] === c).slice(0, perClass)) {
      files.push(f);
      labels.push(c);
    }
  });
  const { pixels, failures } = await ds.decodeFiles(files, { height: 32, width: 32, colour: 'rgb' }, { workers: 0 });
  if (failures.length) throw new Error(`cannot decode ${files[failures[0].index]}: ${failures[0].reason}`);
  return { images: pixels, labels: Int32Array.from(labels), count: files.length, channels: 3, height: 32, width: 32, classes: listing.classes, skipped: [] };
}

export async function loadSubset(o: SubsetOptions): Promise<Subset> {
  const rule = `the first ${o.trainPerClass} train and ${o.testPerClass} test images of each class`;
  if (o.synthetic) return withLocal(syntheticShapes(o, 'synthetic set requested'));
  const roots = dataRoots(o.dataDir);
  const cifar = findCifar10(roots);
  if (cifar) {
    const meta = { name: 'CIFAR-10', source: `the lab's data folder (${cifar.source}), ${rule}`, fallback: null };
    const local = { source: `${cifar.path} (${cifar.source}), ${rule}`, fallback: null };
    if (cifar.layout === 'binary') {
      const { train, test } = ds.readCifar10Binary(cifar.path);
      return { ...join8(meta, firstPerClass(train, o.trainPerClass), firstPerClass(test, o.testPerClass)), local };
    }
    const train = await cifarFolders(cifar.path, 'train', o.trainPerClass);
    const test = await cifarFolders(cifar.path, 'test', o.testPerClass);
    return { ...join8(meta, train, test), local };
  }
  const searched = roots.map((r) => r.path).join(', ');
  const sources = roots.map((r) => r.source).join(', ');
  const mnist = findFashionMnist();
  if (mnist) {
    const { train, test } = ds.loadFashionMnist({ dir: mnist.path });
    const subset = join8(
      { name: 'Fashion-MNIST', source: `${mnist.source}, ${rule}`, fallback: `CIFAR-10 was not found in the lab's data folders (${sources}); training on Fashion-MNIST instead` },
      firstPerClass(train, o.trainPerClass),
      firstPerClass(test, o.testPerClass),
    );
    return { ...subset, local: { source: `${mnist.path} (${mnist.source}), ${rule}`, fallback: `CIFAR-10 was not found in ${searched}; training on Fashion-MNIST instead` } };
  }
  const missing = (where: string) => `neither CIFAR-10 (searched ${where}) nor Fashion-MNIST (sudo apt-get install dataset-fashion-mnist) was found`;
  const subset = syntheticShapes(o, missing(`the lab's data folders: ${sources}`));
  return { ...subset, local: { source: subset.meta.source, fallback: `${missing(searched)}; training on synthetic shapes instead` } };
}

const withLocal = (d: ImageData8): Subset => ({ ...d, local: { source: d.meta.source, fallback: d.meta.fallback } });

const SHAPES = ['square', 'disc', 'cross', 'horizontal bar', 'vertical bar', 'diagonal'];

/** Drawn shapes at random positions, sizes and colours on noise: 32×32 RGB, one class per shape. */
export function syntheticShapes(o: SubsetOptions, why: string): ImageData8 {
  let s = 12345;
  const rand = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 4294967296);
  const [c, h, w] = [3, 32, 32];
  const count = (o.trainPerClass + o.testPerClass) * SHAPES.length;
  const pixels = new Uint8Array(count * c * h * w);
  const labels = new Uint8Array(count);
  const order: number[] = [];
  for (const perClass of [o.trainPerClass, o.testPerClass]) for (let k = 0; k < perClass; k++) for (let cls = 0; cls < SHAPES.length; cls++) order.push(cls);
  order.forEach((cls, n) => {
    labels[n] = cls;
    const colour = [rand(), rand(), rand()].map((v) => 80 + 175 * v);
    const r = 5 + rand() * 7;
    const cy = r + rand() * (h - 2 * r);
    const cx = r + rand() * (w - 2 * r);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const dy = y - cy;
        const dx = x - cx;
        const inside = [
          Math.abs(dx) < r && Math.abs(dy) < r,
          dx * dx + dy * dy < r * r,
          (Math.abs(dx) < r / 3 && Math.abs(dy) < r) || (Math.abs(dy) < r / 3 && Math.abs(dx) < r),
          Math.abs(dy) < r / 3 && Math.abs(dx) < r,
          Math.abs(dx) < r / 3 && Math.abs(dy) < r,
          Math.abs(dx - dy) < r / 3 && Math.abs(dx) < r,
        ][cls];
        for (let ch = 0; ch < c; ch++) pixels[((n * c + ch) * h + y) * w + x] = inside ? colour[ch] : 40 * rand();
      }
    }
  });
  return {
    meta: {
      name: 'synthetic shapes',
      source: `the server's drawing code, ${o.trainPerClass} train and ${o.testPerClass} test images per class`,
      fallback: `${why}; training on synthetic shapes instead`,
      classes: SHAPES,
      channels: c,
      height: h,
      width: w,
      trainCount: o.trainPerClass * SHAPES.length,
      testCount: o.testPerClass * SHAPES.length,
    },
    pixels,
    labels,
  };
}
