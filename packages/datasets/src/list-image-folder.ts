import { join } from 'node:path';
import type { SkippedFile } from './image-set';
import { imageFiles, requireFolder, subfolders, tailCount } from './list-files';

/** Which class folders to use: a list of folder names, or folder name → class name (renaming, or merging when two share a name). */
export type ClassSelection = readonly string[] | Readonly<Record<string, string>>;

export interface ImageFolderListing {
  classes: string[];
  /** Image files, grouped by class in class order, each group in file-name order. */
  files: string[];
  labels: number[];
  /** Per file: true when it belongs to the test split. */
  isTest: boolean[];
  /** Entries skipped by the listing: files that are not images by name, link loops, dangling links, unreadable entries. */
  others: SkippedFile[];
}

function selectFolders(root: string, selection: ClassSelection | undefined, skipped: SkippedFile[]): [folder: string, name: string][] {
  if (!selection) {
    const all = subfolders(root);
    skipped.push(...all.skipped);
    if (!all.folders.length) throw new Error(`imageFolder: no class folders in ${root}`);
    return all.folders.map((f) => [f, f]);
  }
  const pairs: [string, string][] = Array.isArray(selection) ? selection.map((f) => [f, f]) : Object.entries(selection);
  if (!pairs.length) throw new Error(`imageFolder: the class selection for ${root} is empty`);
  for (const [folder] of pairs) requireFolder(join(root, folder), 'imageFolder: class');
  return pairs;
}

/**
 * Lists `root/<class>/*.{jpg,jpeg,png}` and marks the lab's split: the last `testPercent` % of
 * each class, in file-name order, is the test set.
 */
export function listImageFolder(root: string, opts: { classes?: ClassSelection; testPercent?: number } = {}): ImageFolderListing {
  requireFolder(root, 'imageFolder');
  const others: SkippedFile[] = [];
  const folders = selectFolders(root, opts.classes, others);
  const classes = [...new Set(folders.map(([, name]) => name))];
  const byClass = classes.map(() => [] as string[]);
  for (const [folder, name] of folders) {
    const dir = join(root, folder);
    const found = imageFiles(dir);
    if (!found.images.length) throw new Error(`imageFolder: class folder ${dir} has no images (.jpg, .jpeg or .png)`);
    byClass[classes.indexOf(name)].push(...found.images);
    others.push(...found.others);
  }
  const listing: ImageFolderListing = { classes, files: [], labels: [], isTest: [], others };
  byClass.forEach((files, label) => {
    const firstTest = files.length - tailCount(files.length, opts.testPercent ?? 0);
    files.forEach((f, i) => {
      listing.files.push(f);
      listing.labels.push(label);
      listing.isTest.push(i >= firstTest);
    });
  });
  return listing;
}
