import { existsSync, readdirSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import type { SkippedFile } from './image-set';
import { naturalCompare } from './natural-order';

/** File extensions read as images (JPEG and PNG, either case). */
export const IMAGE_EXTENSIONS = ['.jpg', '.jpeg', '.png'];

/** Whether a file name has an image extension. */
export const isImageName = (name: string) => IMAGE_EXTENSIONS.includes(extname(name).toLowerCase());

/** Throws, naming `what` and the path, unless `path` is a folder. */
export function requireFolder(path: string, what: string): void {
  if (!existsSync(path)) throw new Error(`${what}: folder not found: ${path}`);
  if (!statSync(path).isDirectory()) throw new Error(`${what}: not a folder: ${path}`);
}

/** The visible entries of a folder in natural file-name order (hidden files like .DS_Store are left out). */
export function visibleEntries(dir: string): string[] {
  return readdirSync(dir).filter((n) => !n.startsWith('.')).sort(naturalCompare);
}

/** The subfolders of `dir`, in natural order. */
export function subfolders(dir: string): string[] {
  return visibleEntries(dir).filter((n) => statSync(join(dir, n)).isDirectory());
}

/** A folder's image files in natural order, and its other files as skipped (they are not images). */
export function imageFiles(dir: string): { images: string[]; others: SkippedFile[] } {
  const images: string[] = [];
  const others: SkippedFile[] = [];
  for (const name of visibleEntries(dir)) {
    const path = join(dir, name);
    if (!statSync(path).isFile()) continue;
    if (isImageName(name)) images.push(path);
    else others.push({ path, reason: `not an image file (expected ${IMAGE_EXTENSIONS.join(', ')})` });
  }
  return { images, others };
}

/** How many of n items form the last p %, rounded to the nearest item. */
export function tailCount(n: number, percent: number): number {
  if (!(percent >= 0 && percent <= 100)) throw new Error(`test percent must be in [0, 100], got ${percent}`);
  return Math.round((n * percent) / 100);
}
