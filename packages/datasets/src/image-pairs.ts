import { basename, extname, join } from 'node:path';
import { decodeFileList, type CachedDecodeOptions } from './decode-cached';
import type { Colour } from './decode-image';
import { sharedBytes, type PairSet, type SkippedFile, type Splits } from './image-set';
import { imageFiles, requireFolder, tailCount } from './list-files';
import { channelsOf, resolveShape, type ShapeOptions } from './load-image';
import { naturalCompare } from './natural-order';
import { reportSkipped, type BadFilePolicy } from './skipped';

export interface ImagePairsOptions extends CachedDecodeOptions, BadFilePolicy, ShapeOptions {
  /** Inputs and targets are resized to this. Default: the first target's size. */
  size?: number | [number, number];
  colour?: Colour;
  /** The last this many percent of scenes (in natural order) form the test set. Default 20. */
  testPercent?: number;
}

interface Scene {
  name: string;
  target: string;
  inputs: string[];
}

const stem = (path: string) => basename(path, extname(path));

/** Matches hazy/<scene>_<level>.* to clear/<scene>.*; the rest is skipped with a reason. */
function matchScenes(root: string): { scenes: Scene[]; skipped: SkippedFile[] } {
  const hazyDir = join(root, 'hazy');
  const clearDir = join(root, 'clear');
  requireFolder(hazyDir, 'imagePairs');
  requireFolder(clearDir, 'imagePairs');
  const hazy = imageFiles(hazyDir);
  const clear = imageFiles(clearDir);
  if (!hazy.images.length) throw new Error(`imagePairs: folder ${hazyDir} has no images (.jpg, .jpeg or .png)`);
  if (!clear.images.length) throw new Error(`imagePairs: folder ${clearDir} has no images (.jpg, .jpeg or .png)`);
  const byScene = new Map<string, Scene>(clear.images.map((p) => [stem(p), { name: stem(p), target: p, inputs: [] }]));
  const skipped = [...hazy.others, ...clear.others];
  for (const p of hazy.images) {
    const m = /^(.+)_([^_]+)$/.exec(stem(p));
    const scene = m && byScene.get(m[1]);
    if (!m) skipped.push({ path: p, reason: 'name is not <scene>_<level>' });
    else if (!scene) skipped.push({ path: p, reason: `no clear image for scene ${m[1]} in ${clearDir}` });
    else scene.inputs.push(p);
  }
  const scenes = [...byScene.values()].filter((s) => s.inputs.length).sort((a, b) => naturalCompare(a.name, b.name));
  if (!scenes.length) throw new Error(`imagePairs: no hazy image in ${hazyDir} matches a clear image in ${clearDir}`);
  return { scenes, skipped };
}

/**
 * Dehazing pairs: `root/hazy/<scene>_<level>.*` with `root/clear/<scene>.*`, resized together and
 * split by scene (the last `testPercent` % of scenes are the test set), so no clear image is on
 * both sides.
 */
export async function imagePairs(root: string, opts: ImagePairsOptions = {}): Promise<Splits<PairSet>> {
  const { scenes, skipped } = matchScenes(root);
  const shape = resolveShape(opts.size, opts.colour, scenes.map((s) => s.target), opts);
  const files = [...scenes.map((s) => s.target), ...scenes.flatMap((s) => s.inputs)];
  const decoded = await decodeFileList(files, shape, opts);
  const rowOf = new Map(decoded.kept.map((fileIndex, row) => [files[fileIndex], row]));
  for (const s of decoded.skipped) skipped.push({ path: s.path, reason: s.reason });
  for (const scene of scenes) {
    if (rowOf.has(scene.target)) continue;
    for (const p of scene.inputs) if (rowOf.has(p)) skipped.push({ path: p, reason: `its clear image ${scene.target} is unreadable` });
  }
  reportSkipped('imagePairs', skipped, opts);
  const usable = (s: Scene) => rowOf.has(s.target) && s.inputs.some((p) => rowOf.has(p));
  const size = channelsOf(shape.colour) * shape.height * shape.width;
  const copy = (paths: string[]) => {
    const out = sharedBytes(paths.length * size);
    paths.forEach((p, i) => {
      const row = rowOf.get(p)!;
      out.set(decoded.pixels.subarray(row * size, (row + 1) * size), i * size);
    });
    return out;
  };
  const side = (sideScenes: Scene[], skippedHere: SkippedFile[]): PairSet => {
    const inputs = sideScenes.flatMap((s) => s.inputs.filter((p) => rowOf.has(p)));
    const sceneOf = new Map(sideScenes.flatMap((s, i) => s.inputs.map((p) => [p, i] as const)));
    return {
      inputs: copy(inputs),
      targets: copy(sideScenes.map((s) => s.target)),
      targetOf: Int32Array.from(inputs, (p) => sceneOf.get(p)!),
      count: inputs.length,
      channels: channelsOf(shape.colour),
      height: shape.height,
      width: shape.width,
      scenes: sideScenes.map((s) => s.name),
      files: inputs,
      skipped: skippedHere,
    };
  };
  // Split the listed scenes, so that one unreadable file does not move a scene across.
  const firstTest = scenes.length - tailCount(scenes.length, opts.testPercent ?? 20);
  const testFiles = new Set(scenes.slice(firstTest).flatMap((s) => [s.target, ...s.inputs]));
  const train = side(scenes.slice(0, firstTest).filter(usable), skipped.filter((f) => !testFiles.has(f.path)));
  return { train, test: side(scenes.slice(firstTest).filter(usable), skipped.filter((f) => testFiles.has(f.path))) };
}
