import { existsSync, readdirSync, readlinkSync, realpathSync, statSync } from 'node:fs';
import { extname, join, sep } from 'node:path';
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
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new Error(`cannot read the folder ${dir}: ${e.code === 'EACCES' ? 'permission denied (EACCES)' : e.message}`, { cause: err });
  }
  return names.filter((n) => !n.startsWith('.')).sort(naturalCompare);
}

type Entry = { kind: 'file' | 'folder' | 'other' } | { kind: 'bad'; reason: string };

/**
 * What a folder entry is, following symbolic links; an entry that cannot be followed (a link
 * loop, a dangling link, no permission) is 'bad' with the reason, for the bad-file policy.
 */
function entryKind(path: string): Entry {
  try {
    const s = statSync(path);
    return { kind: s.isFile() ? 'file' : s.isDirectory() ? 'folder' : 'other' };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ELOOP') return { kind: 'bad', reason: 'a symbolic link loop (ELOOP)' };
    if (code === 'ENOENT') {
      let target = '?';
      try {
        target = readlinkSync(path);
      } catch {
        // removed meanwhile: the reason below still holds
      }
      return { kind: 'bad', reason: `a dangling symbolic link: its target ${target} does not exist (ENOENT)` };
    }
    if (code === 'EACCES') return { kind: 'bad', reason: 'unreadable: permission denied (EACCES)' };
    return { kind: 'bad', reason: `unreadable: ${(err as Error).message}` };
  }
}

/**
 * The subfolders of `dir`, in natural order, and its entries that cannot be followed (loops,
 * dangling links; a link back to `dir` or above it is a loop too) as skipped.
 */
export function subfolders(dir: string): { folders: string[]; skipped: SkippedFile[] } {
  const folders: string[] = [];
  const skipped: SkippedFile[] = [];
  const real = realpathSync(dir);
  for (const name of visibleEntries(dir)) {
    const path = join(dir, name);
    const e = entryKind(path);
    if (e.kind === 'bad') skipped.push({ path, reason: e.reason });
    else if (e.kind === 'folder') {
      const target = realpathSync(path);
      if (real === target || real.startsWith(target + sep)) skipped.push({ path, reason: `a symbolic link loop: it leads back to ${target}, which contains it` });
      else folders.push(name);
    }
  }
  return { folders, skipped };
}

/**
 * A folder's image files in natural order, and as skipped: its other files (not images by
 * name), entries that cannot be followed (link loops, dangling links, no permission) and
 * image names that are not regular files (a FIFO would block the reader forever).
 */
export function imageFiles(dir: string): { images: string[]; others: SkippedFile[] } {
  const images: string[] = [];
  const others: SkippedFile[] = [];
  for (const name of visibleEntries(dir)) {
    const path = join(dir, name);
    const e = entryKind(path);
    if (e.kind === 'bad') others.push({ path, reason: e.reason });
    else if (e.kind === 'folder') continue;
    else if (!isImageName(name)) others.push({ path, reason: `not an image file (expected ${IMAGE_EXTENSIONS.join(', ')})` });
    else if (e.kind === 'other') others.push({ path, reason: 'not a regular file (a FIFO, socket or device)' });
    else images.push(path);
  }
  return { images, others };
}

/** How many of n items form the last p %, rounded to the nearest item. */
export function tailCount(n: number, percent: number): number {
  if (!(percent >= 0 && percent <= 100)) throw new Error(`test percent must be in [0, 100], got ${percent}`);
  return Math.round((n * percent) / 100);
}
