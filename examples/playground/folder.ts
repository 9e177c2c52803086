/**
 * A folder the user picks in the page (`<input webkitdirectory>`), read as the lab reads its
 * own folders (examples/lab/sets.ts): one subfolder per class (the vehicle photos: car/,
 * minibus/, truck/, …), the last 25 % of each class in natural file-name order as the test
 * set; or dehazing pairs, hazy/<scene>_<level>.* with clear/<scene>.*, split by scene, the
 * last 20 % of scenes as the test set. Only the plan: which file goes where. Browser-safe;
 * the panel decodes the files.
 */

/** What a picked `File` offers: its name and its path below the picked folder's parent. */
export interface PickedFile {
  name: string;
  webkitRelativePath: string;
}

export interface ClassesPlan<F> {
  kind: 'classes';
  /** The picked folder's name. */
  root: string;
  classes: string[];
  train: { file: F; label: number }[];
  test: { file: F; label: number }[];
  /** Relative paths left out, with the reason. */
  skipped: string[];
}

export interface PairsPlan<F> {
  kind: 'pairs';
  root: string;
  train: { hazy: F; clear: F; scene: string }[];
  test: { hazy: F; clear: F; scene: string }[];
  skipped: string[];
}

export type FolderPlan<F> = ClassesPlan<F> | PairsPlan<F>;

export interface FolderLimits {
  /** Training images per class at most (the first ones, in natural order). */
  trainPerClass: number;
  /** Test images per class at most. */
  testPerClass: number;
  /** Hazy images per scene at most. */
  levelsPerScene: number;
}

const IMAGE = /\.(jpe?g|png)$/i;
// Numbers in names compare as numbers (car2 before car10), as the lab's naturalCompare does.
const natural = new Intl.Collator('en', { numeric: true }).compare;
const stem = (name: string) => name.replace(/\.[^.]*$/, '');
const tail = (n: number, percent: number) => (n < 2 ? 0 : Math.max(1, Math.round((n * percent) / 100)));

export function planFolder<F extends PickedFile>(files: readonly F[], limits: FolderLimits): FolderPlan<F> {
  if (!files.length) throw new Error('the picked folder is empty');
  const root = files[0].webkitRelativePath.split('/')[0] || 'folder';
  const skipped: string[] = [];
  const images: { file: F; parent: string }[] = [];
  for (const file of files) {
    const parts = file.webkitRelativePath.split('/');
    if (!IMAGE.test(file.name)) skipped.push(`${file.webkitRelativePath}: not a .jpg, .jpeg or .png`);
    else if (parts.length < 3) skipped.push(`${file.webkitRelativePath}: not in a subfolder (one per class, or hazy/ and clear/)`);
    else images.push({ file, parent: parts[parts.length - 2] });
  }
  const hazy = images.filter((i) => i.parent === 'hazy');
  const clear = images.filter((i) => i.parent === 'clear');
  if (hazy.length && clear.length) return planPairs(root, hazy.map((i) => i.file), clear.map((i) => i.file), skipped, limits);

  const byClass = new Map<string, F[]>();
  for (const { file, parent } of images) byClass.set(parent, [...(byClass.get(parent) ?? []), file]);
  const classes = [...byClass.keys()].sort(natural);
  if (classes.length < 2) {
    throw new Error(`${root}: found ${classes.length ? `one class (${classes[0]})` : 'no images in subfolders'}; pick a folder with one subfolder per class (e.g. vehicles/ holding car/, minibus/, truck/) or with hazy/ and clear/ (dehazing pairs)`);
  }
  const train: ClassesPlan<F>['train'] = [];
  const test: ClassesPlan<F>['test'] = [];
  classes.forEach((c, label) => {
    const all = byClass.get(c)!.sort((a, b) => natural(a.name, b.name));
    const cut = all.length - tail(all.length, 25);
    for (const file of all.slice(0, cut).slice(0, limits.trainPerClass)) train.push({ file, label });
    for (const file of all.slice(cut).slice(0, limits.testPerClass)) test.push({ file, label });
  });
  return { kind: 'classes', root, classes, train, test, skipped };
}

function planPairs<F extends PickedFile>(root: string, hazy: F[], clear: F[], skipped: string[], limits: FolderLimits): PairsPlan<F> {
  const scenes = new Map<string, { clear: F; hazy: F[] }>(clear.map((f) => [stem(f.name), { clear: f, hazy: [] }]));
  for (const f of hazy) {
    const m = /^(.+)_([^_]+)$/.exec(stem(f.name));
    const scene = m && scenes.get(m[1]);
    if (!m) skipped.push(`${f.webkitRelativePath}: name is not <scene>_<level>`);
    else if (!scene) skipped.push(`${f.webkitRelativePath}: no clear/${m[1]}.* for it`);
    else scene.hazy.push(f);
  }
  const names = [...scenes.keys()].filter((s) => scenes.get(s)!.hazy.length).sort(natural);
  if (!names.length) throw new Error(`${root}: no hazy/<scene>_<level> image matches a clear/<scene> image`);
  const cut = names.length - tail(names.length, 20);
  const pairs = (list: string[]) =>
    list.flatMap((scene) => {
      const s = scenes.get(scene)!;
      return s.hazy.sort((a, b) => natural(a.name, b.name)).slice(0, limits.levelsPerScene).map((h) => ({ hazy: h, clear: s.clear, scene }));
    });
  return { kind: 'pairs', root, train: pairs(names.slice(0, cut)), test: pairs(names.slice(cut)), skipped };
}
