import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { CIFAR10_TEST_FILES, CIFAR10_TRAIN_FILES, readCifar10Binary } from './cifar-binary';
import { CIFAR10_BATCHES, downloadCifar10, type DownloadCifar10Options } from './cifar-download';
import { readCifar10Folders, type CifarFolderOptions } from './cifar-folders';
import type { ImageSet, Splits } from './image-set';
import { defaultDataDir } from './paths';

export interface LoadCifar10Options extends CifarFolderOptions {
  /** A cifar-10-batches-bin folder to read first. */
  binaryDir?: string;
  /** Where a download goes and where an earlier one is found. Default `<repo>/data`. */
  dataDir?: string;
  /** A folder holding cifar10/train and cifar10/test as JPEG folders (e.g. a team's shared data sets). */
  sharedRoot?: string;
  /** Download when no copy is found. Default true. */
  download?: boolean;
  downloadOptions?: Omit<DownloadCifar10Options, 'dest'>;
}

export type LoadedCifar10 = Splits<ImageSet> & { source: string };

const hasBatches = (dir: string) => [...CIFAR10_TRAIN_FILES, ...CIFAR10_TEST_FILES].every((f) => existsSync(join(dir, f)));

/**
 * CIFAR-10 from the first place that has it: `binaryDir`, a download in `dataDir`, the JPEG
 * folders under `sharedRoot`; else downloaded into `dataDir`. `source` says which.
 */
export async function loadCifar10(opts: LoadCifar10Options = {}): Promise<LoadedCifar10> {
  const dataDir = opts.dataDir ?? defaultDataDir();
  const shared = opts.sharedRoot ? join(opts.sharedRoot, 'cifar10') : undefined;
  for (const dir of [opts.binaryDir, join(dataDir, CIFAR10_BATCHES)]) {
    if (dir && hasBatches(dir)) return { ...readCifar10Binary(dir), source: dir };
  }
  if (shared && existsSync(join(shared, 'train')) && existsSync(join(shared, 'test'))) return { ...(await readCifar10Folders(shared, opts)), source: shared };
  if (opts.download === false) {
    throw new Error(`CIFAR-10: not found in ${[opts.binaryDir, join(dataDir, CIFAR10_BATCHES), shared].filter(Boolean).join(', ')}, and download is off`);
  }
  const dir = await downloadCifar10({ ...opts.downloadOptions, dest: dataDir });
  return { ...readCifar10Binary(dir), source: dir };
}
