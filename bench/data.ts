/**
 * `npm run bench -- data`: the data pipeline on the shared CIFAR-10 JPEG folders — JPEG decoding
 * alone (webgrad's decoder against jpeg-js, the one it replaced), seconds to
 * decode all 60,000 images the first time (worker threads, cache written), seconds to load
 * them again from the disk cache, and DataLoader batches per second with augmentation
 * (random crop 32 with padding 4, horizontal flip, normalise) into cpu tensors (the best of
 * two epochs per row, the rows taking turns).
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
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

interface EpochRate {
  batchesPerS: number;
  imagesPerS: number;
}

const EPOCH_ROUNDS = 2;

/**
 * DataLoader throughput of whole epochs, one loader per entry of `workerCounts` (0: main thread).
 * Each loader takes one warm-up batch (worker threads started) outside the timing; then the
 * loaders time EPOCH_ROUNDS epochs each, taking turns, and each keeps its best epoch, as
 * decodeRates does: the machine may be shared. One epoch per row, timed once and row after row,
 * moved 2-3x between back-to-back runs of one commit on a shared two-core machine (1 worker:
 * 13,698 then 35,544 img/s), which read as a regression between commits; the load average is
 * printed with the rows for the same reason.
 */
async function epochRates(set: ImageSet, workerCounts: number[]): Promise<EpochRate[]> {
  const augment = [transforms.randomCrop(32, { padding: 4 }), transforms.horizontalFlip(), transforms.toTensor(), transforms.normalize(MEAN, STD)];
  const loaders = workerCounts.map((workers) => new DataLoader(set, { batchSize: BATCH, shuffle: true, seed: 1, transforms: augment, device: 'cpu', workers }));
  const best = workerCounts.map(() => ({ batchesPerS: 0, imagesPerS: 0 }));
  try {
    for (const loader of loaders) {
      for await (const b of loader) {
        b.x.dispose();
        b.y.dispose();
        break;
      }
    }
    for (let round = 0; round < EPOCH_ROUNDS; round++) {
      for (const [i, loader] of loaders.entries()) {
        let batches = 0;
        let images = 0;
        const [, s] = await seconds(async () => {
          for await (const b of loader) {
            batches++;
            images += b.x.shape[0];
            b.x.dispose();
            b.y.dispose();
          }
        });
        if (images / s > best[i].imagesPerS) best[i] = { batchesPerS: batches / s, imagesPerS: images / s };
      }
    }
  } finally {
    for (const loader of loaders) await loader.close();
  }
  return best;
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
    const load = loadavg()[0];
    const [threaded, twoThreads, inline] = await epochRates(first.train, [1, 2, 0]);
    const results = {
      images,
      cores: availableParallelism(),
      loadAverage1Min: load,
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
    printTable(`data: CIFAR-10 JPEG folders (${images} images, ${results.cores} cores, load average ${load.toFixed(1)} before the DataLoader rows), DataLoader batch ${BATCH} with crop+flip+normalize, best of ${EPOCH_ROUNDS} epochs`, [
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
