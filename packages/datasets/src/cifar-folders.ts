import { join } from 'node:path';
import { CIFAR10_CLASSES } from './cifar-binary';
import { imageFolder, type ImageFolderOptions } from './image-folder';
import type { ImageSet, Splits } from './image-set';

export type CifarFolderOptions = Omit<ImageFolderOptions, 'classes' | 'testPercent' | 'size' | 'colour'>;

/** CIFAR-10 stored as images: `root/train/<class>/*.jpg` and `root/test/<class>/*.jpg` (the shared copy). */
export async function readCifar10Folders(root: string, opts: CifarFolderOptions = {}): Promise<Splits<ImageSet>> {
  const common = { ...opts, classes: CIFAR10_CLASSES, size: 32, colour: 'rgb' as const };
  const train = await imageFolder(join(root, 'train'), common);
  const test = await imageFolder(join(root, 'test'), common);
  return { train: train.train, test: test.train };
}
