/**
 * `npm run bench -- data`: the data pipeline on the shared CIFAR-10 JPEG folders — JPEG decoding
 * alone (webgrad's decoder against jpeg-js, the one it replaced), seconds to
 * decode all 60,000 images the first time (worker threads, cache written), seconds to load
 * them again from the disk cache, and DataLoader batches per second with augmentation
 * (random crop 32 with padding 4, horizontal flip, normalise) into cpu tensors.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import jpeg from 'jpeg-js';
import { DataLoader, decodeImage, readCifar10Folders, repoRoot, transforms, type ImageSet } from '@webgrad/datasets';
import { printTable } from './util';

const BATCH = 64;
const MEAN = [0.4914, 0.4822, 0.4465];
const STD = [0.247, 0.2435, 0.2616];

async function seconds<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const t0 = performance.now();
  const out = await fn();
  return [out, (performance.now() - t0) / 1000];
}

async function epochRate(set: ImageSet, workers: number): Promise<{ batchesPerS: number; imagesPerS: number }> {
  const augment = [transforms.randomCrop(32, { padding: 4 }), transforms.horizontalFlip(), transforms.toTensor(), transforms.normalize(MEAN, STD)];
  const loader = new DataLoader(set, { batchSize: BATCH, shuffle: true, seed: 1, transforms: augment, device: 'cpu', workers });
  let batches = 0;
  let images = 0;
  // One warm-up batch starts the worker threads outside the timing.
  for await (const b of loader) {
    b.x.dispose();
    b.y.dispose();
    break;
  }
  const [, s] = await seconds(async () => {
    for await (const b of loader) {
      batches++;
      images += b.x.shape[0];
      b.x.dispose();
      b.y.dispose();
    }
  });
  await loader.close();
  return { batchesPerS: batches / s, imagesPerS: images / s };
}

const DECODE_FILES = 5000;

/**
 * Images/s of the JPEG decoder alone on CIFAR-10's files (bytes in memory, one thread), and of
 * jpeg-js, webgrad's decoder before it matched libjpeg-turbo (issue 24), in the same run.
 */
function decodeRates(root: string): { files: number; webgrad: number; jpegJs: number } {
  const dir = join(root, 'train');
  const files = readdirSync(dir).flatMap((c) => readdirSync(join(dir, c)).slice(0, DECODE_FILES / 10).map((f) => readFileSync(join(dir, c, f))));
  const rate = (decode: (b: Uint8Array) => unknown) => {
    for (const b of files.slice(0, 200)) decode(b); // warm-up
    const t0 = performance.now();
    for (const b of files) decode(b);
    return files.length / ((performance.now() - t0) / 1000);
  };
  // Alternate and keep the better of two rounds each: the machine may be shared.
  const webgrad = [rate((b) => decodeImage(b)), 0];
  const jpegJs = [rate((b) => jpeg.decode(b, { useTArray: true, formatAsRGBA: false })), 0];
  webgrad[1] = rate((b) => decodeImage(b));
  jpegJs[1] = rate((b) => jpeg.decode(b, { useTArray: true, formatAsRGBA: false }));
  return { files: files.length, webgrad: Math.max(...webgrad), jpegJs: Math.max(...jpegJs) };
}

export async function benchData(): Promise<Record<string, number | string>> {
  // The developers' shared data sets ($WEBGRAD_SHARED_DATA, else ../shared/data beside the repository).
  const root = join(process.env.WEBGRAD_SHARED_DATA ?? join(repoRoot(), '..', 'shared', 'data'), 'cifar10');
  if (!existsSync(root)) {
    console.log(`\ndata: skipped, no CIFAR-10 folders at ${root} (set WEBGRAD_SHARED_DATA)`);
    return { skipped: `no CIFAR-10 folders at ${root}` };
  }
  const decodeOnly = decodeRates(root);
  const cache = mkdtempSync(join(tmpdir(), 'webgrad-bench-cache-'));
  try {
    const [first, decodeS] = await seconds(() => readCifar10Folders(root, { cache }));
    const [, cacheS] = await seconds(() => readCifar10Folders(root, { cache }));
    const images = first.train.count + first.test.count;
    const threaded = await epochRate(first.train, 1);
    const twoThreads = await epochRate(first.train, 2);
    const inline = await epochRate(first.train, 0);
    const results = {
      images,
      cores: availableParallelism(),
      decodeOnlyImagesPerS: decodeOnly.webgrad,
      decodeOnlyImagesPerSJpegJs: decodeOnly.jpegJs,
      decodeAllSeconds: decodeS,
      cacheLoadSeconds: cacheS,
      loaderBatchesPerS: threaded.batchesPerS,
      loaderImagesPerS: threaded.imagesPerS,
      loaderBatchesPerS2Workers: twoThreads.batchesPerS,
      loaderBatchesPerSMainThread: inline.batchesPerS,
    };
    const row = (step: string, s: number | string, imagesPerS: number, batchesPerS: number | string) => ({ step, seconds: s, 'images/s': imagesPerS, 'batches/s': batchesPerS });
    printTable(`data: CIFAR-10 JPEG folders (${images} images, ${results.cores} cores), DataLoader batch ${BATCH} with crop+flip+normalize`, [
      row(`JPEG decode only, ${decodeOnly.files} files in memory, 1 thread: webgrad (libjpeg-turbo exact)`, '', decodeOnly.webgrad, ''),
      row(`JPEG decode only, ${decodeOnly.files} files in memory, 1 thread: jpeg-js 0.4 (before issue 24)`, '', decodeOnly.jpegJs, ''),
      row('decode all (first run, writes cache)', decodeS, images / decodeS, ''),
      row('load from disk cache', cacheS, images / cacheS, ''),
      row('DataLoader epoch, 1 worker thread', '', threaded.imagesPerS, threaded.batchesPerS),
      row('DataLoader epoch, 2 worker threads', '', twoThreads.imagesPerS, twoThreads.batchesPerS),
      row('DataLoader epoch, main thread only', '', inline.imagesPerS, inline.batchesPerS),
    ]);
    return results;
  } finally {
    rmSync(cache, { recursive: true, force: true });
  }
}
