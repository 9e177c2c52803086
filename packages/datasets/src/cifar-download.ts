import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { x as extractTar } from 'tar';
import { CIFAR10_TEST_FILES, CIFAR10_TRAIN_FILES } from './cifar-binary';
import { downloadFile, UnreachableError, type Checksum, type DownloadFileOptions } from './download-file';
import { defaultDataDir } from './paths';

/** The official binary distribution of CIFAR-10. */
export const CIFAR10_URL = 'https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz';
/** The MD5 published with the archive on the CIFAR-10 page. */
export const CIFAR10_CHECKSUM: Checksum = { algorithm: 'md5', digest: 'c32a1d4ab5d03f1284b67883e8d87530' };
/** The folder the archive unpacks to. */
export const CIFAR10_BATCHES = 'cifar-10-batches-bin';

export interface DownloadCifar10Options extends Omit<DownloadFileOptions, 'checksum'> {
  /** The folder that receives cifar-10-batches-bin/. Default `<repo>/data`. */
  dest?: string;
  url?: string;
  /** Default: the official MD5; null skips the check. */
  checksum?: Checksum | null;
  /** Keep the .tar.gz after extracting it. Default false. */
  keepArchive?: boolean;
}

const complete = (dir: string) => [...CIFAR10_TRAIN_FILES, ...CIFAR10_TEST_FILES].every((f) => existsSync(join(dir, f)));

/**
 * Fetches the official CIFAR-10 binary archive, verifies it and extracts it (node-tar) into
 * `dest/cifar-10-batches-bin`; returns that folder. Does nothing when it is already there.
 */
export async function downloadCifar10(opts: DownloadCifar10Options = {}): Promise<string> {
  const dest = opts.dest ?? defaultDataDir();
  const url = opts.url ?? CIFAR10_URL;
  const target = join(dest, CIFAR10_BATCHES);
  if (complete(target)) return target;
  const archive = join(dest, url.split('/').pop() || 'cifar-10-binary.tar.gz');
  if (!existsSync(archive)) {
    try {
      await downloadFile(url, archive, { ...opts, checksum: opts.checksum === null ? undefined : (opts.checksum ?? CIFAR10_CHECKSUM) });
    } catch (err) {
      if (!(err instanceof UnreachableError)) throw err;
      throw new Error(`CIFAR-10: ${err.message}. Offline? Download ${url} by hand and unpack it into ${dest} (giving ${target}/data_batch_1.bin …), or point the loader at a folder that has CIFAR-10`);
    }
  }
  // Unpack beside the target and move into place only when complete.
  const scratch = join(dest, `.${CIFAR10_BATCHES}.extracting-${process.pid}`);
  rmSync(scratch, { recursive: true, force: true });
  mkdirSync(scratch, { recursive: true });
  try {
    await extractTar({ file: archive, cwd: scratch, strict: true });
    const unpacked = join(scratch, CIFAR10_BATCHES);
    if (!complete(unpacked)) throw new Error(`CIFAR-10: ${archive} does not hold ${CIFAR10_BATCHES}/ with ${[...CIFAR10_TRAIN_FILES, ...CIFAR10_TEST_FILES].join(', ')}`);
    rmSync(target, { recursive: true, force: true });
    renameSync(unpacked, target);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  if (!opts.keepArchive) rmSync(archive, { force: true });
  return target;
}
