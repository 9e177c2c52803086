/**
 * The lab trains on the pixels the PyTorch reference trains on: its photos are resized with
 * PIL's bilinear filter (LAB_RESIZE_FILTER), so a vehicle photo at 64×64 and a dehazing pair
 * at 128×96 equal PIL 9.4's `Image.open(f).convert('RGB').resize(size, BILINEAR)` byte for byte
 * (fixtures in packages/datasets/test/fixtures/pil).
 */
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LAB_RESIZE_FILTER, loadDehaze, loadVehicles } from '../examples/lab/sets';
import type { ExperimentContext } from '../examples/lab/experiment';
import { compareWithPil, PIL_FIXTURES, pilManifest } from '../packages/datasets/test/helpers/pil-fixtures';

const root = mkdtempSync(join(tmpdir(), 'webgrad-lab-pixels-'));
// The readers' disk cache goes here, not to the user's ~/.cache.
process.env.WEBGRAD_CACHE = join(root, 'cache');
afterAll(() => rmSync(root, { recursive: true, force: true }));
const manifest = pilManifest();
const fixture = (name: string) => join(PIL_FIXTURES, 'jpeg', name);

/** Just what the data loaders of sets.ts use of an experiment's context. */
function context(data: Record<string, string>): ExperimentContext {
  const located = Object.fromEntries(Object.entries(data).map(([k, path]) => [k, { path, source: 'test' }]));
  return { data: { ...located, use: () => {} }, log: () => {}, skip: (why: string) => { throw new Error(why); } } as unknown as ExperimentContext;
}

/** PIL's planes-first RGB of a stored interleaved resize fixture, as the lab stores images. */
function pilResize(source: string, width: number, height: number) {
  const e = manifest.resized.find((r) => r.source === source && r.filter === 'bilinear' && r.colour === 'rgb' && r.width === width && r.height === height);
  if (!e) throw new Error(`no PIL fixture for ${source} at ${width}×${height}`);
  return e;
}

function interleaved(planar: Uint8Array, width: number, height: number): Uint8Array {
  const plane = width * height;
  const out = new Uint8Array(3 * plane);
  for (let i = 0; i < plane; i++) for (let c = 0; c < 3; c++) out[3 * i + c] = planar[c * plane + i];
  return out;
}

describe('the lab resizes as PIL does', () => {
  it(`uses the '${LAB_RESIZE_FILTER}' filter`, () => {
    expect(LAB_RESIZE_FILTER).toBe('bilinear');
  });

  it('vehicles: a 100×100 photo at 64×64 equals PIL 9.4 BILINEAR', async () => {
    const dir = join(root, 'vehicles');
    for (const cls of ['car', 'minibus', 'truck']) mkdirSync(join(dir, cls), { recursive: true });
    copyFileSync(fixture('vehicles-car-car101.jpg'), join(dir, 'car', 'car1.jpg'));
    copyFileSync(fixture('vehicles-minibus-minibus101.jpg'), join(dir, 'minibus', 'minibus1.jpg'));
    copyFileSync(fixture('vehicles-truck-truck101.jpg'), join(dir, 'truck', 'truck1.jpg'));
    const set = await loadVehicles(context({ vehicles: dir }), { size: 64, testPercent: 0, trainPerClass: Infinity, testPerClass: Infinity });
    const e = pilResize('vehicles-car-car101.jpg', 64, 64);
    expect(set.train.files?.[0]).toMatch(/car1\.jpg$/);
    expect(compareWithPil(interleaved(set.train.images.subarray(0, 3 * 64 * 64), 64, 64), e.file, e.sha256)).toBe('');
  });

  it('dehaze: a 310×230 pair at 128×96 equals PIL 9.4 BILINEAR', async () => {
    const dir = join(root, 'dehaze');
    mkdirSync(join(dir, 'hazy'), { recursive: true });
    mkdirSync(join(dir, 'clear'), { recursive: true });
    copyFileSync(fixture('dehaze-hazy-1400_1.jpg'), join(dir, 'hazy', '1_1.jpg'));
    copyFileSync(fixture('dehaze-clear-1400.jpg'), join(dir, 'clear', '1.jpg'));
    copyFileSync(fixture('dehaze-hazy-1400_2.jpg'), join(dir, 'hazy', '2_1.jpg'));
    copyFileSync(fixture('dehaze-clear-1401.jpg'), join(dir, 'clear', '2.jpg'));
    const pairs = await loadDehaze(context({ dehaze: dir }), { width: 128, height: 96, levelsPerScene: Infinity, trainScenes: Infinity, testScenes: Infinity, testPercent: 50 });
    const e = pilResize('dehaze-hazy-1400_1.jpg', 128, 96);
    expect(compareWithPil(interleaved(pairs.train.inputs.subarray(0, 3 * 128 * 96), 128, 96), e.file, e.sha256)).toBe('');
  });
});
