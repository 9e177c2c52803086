/**
 * Where the data sets are. Folders are searched in this order, and each set is taken from
 * the first folder that has it:
 *   1. --data DIR   2. $WEBGRAD_DATA   3. ./data
 *   4. the shared data beside the repository (../shared/data, or $WEBGRAD_SHARED_DATA),
 *      where the lab's developers and CI keep the real sets.
 * Fashion-MNIST comes from Debian's package (`apt-get install dataset-fashion-mnist`) or
 * $WEBGRAD_FASHION_MNIST.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import * as ds from '@webgrad/datasets';

export interface DataRoot {
  path: string;
  source: string;
}

export interface Located {
  path: string;
  source: string;
}


/** The developers' and CI's shared data sets: $WEBGRAD_SHARED_DATA, else `../shared/data` beside the repository. */
export function sharedDataRoot(env: NodeJS.ProcessEnv = process.env): string {
  return env.WEBGRAD_SHARED_DATA ? resolve(env.WEBGRAD_SHARED_DATA) : join(ds.repoRoot(), '..', 'shared', 'data');
}

export function dataRoots(dataDir: string | undefined, env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): DataRoot[] {
  const roots: DataRoot[] = [];
  const add = (path: string | undefined, source: string) => {
    if (!path) return;
    const abs = resolve(cwd, path);
    if (!roots.some((r) => r.path === abs)) roots.push({ path: abs, source });
  };
  add(dataDir, '--data');
  add(env.WEBGRAD_DATA, 'WEBGRAD_DATA');
  add('data', './data');
  add(sharedDataRoot(env), env.WEBGRAD_SHARED_DATA ? 'WEBGRAD_SHARED_DATA' : '../shared/data beside the repository');
  return roots;
}

/** The folder a download should go to: the first root the user named, else ./data. */
export function downloadRoot(roots: DataRoot[]): string {
  return (roots.find((r) => r.source === '--data' || r.source === 'WEBGRAD_DATA') ?? roots.find((r) => r.source === './data') ?? roots[0]).path;
}

const isDir = (p: string) => existsSync(p) && statSync(p).isDirectory();
const hasFiles = (p: string) => isDir(p) && readdirSync(p).length > 0;

export type CifarLayout = 'folders' | 'binary';

/** CIFAR-10 as JPEG folders (cifar10/train/<class>/*.jpg) or the official binary batches. */
export function findCifar10(roots: DataRoot[]): (Located & { layout: CifarLayout }) | null {
  for (const r of roots) {
    const base = join(r.path, 'cifar10');
    if (hasFiles(join(base, 'train')) && hasFiles(join(base, 'test'))) return { path: base, source: r.source, layout: 'folders' };
    for (const bin of [join(base, 'cifar-10-batches-bin'), join(r.path, 'cifar-10-batches-bin')]) {
      if (existsSync(join(bin, 'data_batch_1.bin')) && existsSync(join(bin, 'test_batch.bin'))) return { path: bin, source: r.source, layout: 'binary' };
    }
  }
  return null;
}

export const VEHICLE_CLASSES = ['car', 'minibus', 'truck'];

export function findVehicles(roots: DataRoot[]): Located | null {
  for (const r of roots) {
    const base = join(r.path, 'vehicles');
    if (VEHICLE_CLASSES.every((c) => hasFiles(join(base, c)))) return { path: base, source: r.source };
  }
  return null;
}

export function findDehaze(roots: DataRoot[]): Located | null {
  for (const r of roots) {
    const base = join(r.path, 'dehaze');
    if (hasFiles(join(base, 'hazy')) && hasFiles(join(base, 'clear'))) return { path: base, source: r.source };
  }
  return null;
}

export function findFashionMnist(env: NodeJS.ProcessEnv = process.env): Located | null {
  const dir = ds.findMnistFiles([env.WEBGRAD_FASHION_MNIST, ds.DEBIAN_FASHION_MNIST_DIR].filter((d): d is string => !!d));
  if (!dir) return null;
  return { path: dir, source: dir === ds.DEBIAN_FASHION_MNIST_DIR ? "Debian's dataset-fashion-mnist package" : 'WEBGRAD_FASHION_MNIST' };
}

/** The one line that makes a missing set appear, for the report's "skipped" entries. */
export const ENABLE = {
  vehicles: 'put the vehicle photos (car/, minibus/, truck/ of Zenodo record 6634554) in data/vehicles/, or pass --data DIR that holds vehicles/',
  dehaze: 'put hazy/clear pairs (RESIDE SOTS-indoor: hazy/<scene>_<level>.jpg, clear/<scene>.jpg) in data/dehaze/, or pass --data DIR that holds dehaze/',
  cifar10: 'npm run lab while online (CIFAR-10 is downloaded into ./data), or pass --data DIR that holds cifar10/ or cifar-10-batches-bin/',
  images: 'npm run lab (online: CIFAR-10 is downloaded into ./data), or sudo apt-get install dataset-fashion-mnist',
};
