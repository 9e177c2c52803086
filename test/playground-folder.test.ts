/** The playground's picked-folder plan: class subfolders split as the lab splits them, dehazing pairs matched and split by scene, the rest skipped with a reason. */
import { describe, expect, it } from 'vitest';
import { planFolder } from '../examples/playground/folder';

const file = (path: string) => ({ name: path.split('/').pop()!, webkitRelativePath: path });
const LIMITS = { trainPerClass: 100, testPerClass: 100, levelsPerScene: 1 };

describe('playground folder', () => {
  it('class subfolders: classes in order, the last 25 % of each class in natural file-name order as the test set', () => {
    const names = [1, 2, 3, 4, 5, 6, 7, 8, 10].map((i) => `car${i}.jpg`);
    const files = [
      ...names.map((n) => file(`vehicles/car/${n}`)),
      ...[1, 2, 3, 4].map((i) => file(`vehicles/truck/t${i}.png`)),
      ...[1, 2, 3, 4].map((i) => file(`vehicles/minibus/m${i}.JPEG`)),
      file('vehicles/notes.txt'),
      file('vehicles/top.jpg'),
    ];
    const plan = planFolder(files, LIMITS);
    if (plan.kind !== 'classes') throw new Error('expected classes');
    expect(plan.root).toBe('vehicles');
    expect(plan.classes).toEqual(['car', 'minibus', 'truck']);
    // 9 cars: 2 test, and car10 sorts after car8, not before car2.
    expect(plan.test.filter((e) => e.label === 0).map((e) => e.file.name)).toEqual(['car8.jpg', 'car10.jpg']);
    expect(plan.train.filter((e) => e.label === 2).map((e) => e.file.name)).toEqual(['t1.png', 't2.png', 't3.png']);
    expect(plan.skipped).toEqual(['vehicles/notes.txt: not a .jpg, .jpeg or .png', 'vehicles/top.jpg: not in a subfolder (one per class, or hazy/ and clear/)']);
    const capped = planFolder(files, { ...LIMITS, trainPerClass: 2, testPerClass: 1 });
    expect(capped.kind === 'classes' && capped.train.filter((e) => e.label === 0).map((e) => e.file.name)).toEqual(['car1.jpg', 'car2.jpg']);
    expect(capped.kind === 'classes' && capped.test.filter((e) => e.label === 0).map((e) => e.file.name)).toEqual(['car8.jpg']);
  });

  it('hazy/ and clear/: pairs by scene, the last 20 % of scenes as the test set, bad names skipped with the reason', () => {
    const files = [
      ...[1, 2, 3, 4, 10].flatMap((s) => [file(`dehaze/hazy/${s}_1.jpg`), file(`dehaze/hazy/${s}_2.jpg`), file(`dehaze/clear/${s}.jpg`)]),
      file('dehaze/hazy/odd.jpg'),
      file('dehaze/hazy/9_1.jpg'),
    ];
    const plan = planFolder(files, LIMITS);
    if (plan.kind !== 'pairs') throw new Error('expected pairs');
    expect(plan.train.map((p) => `${p.hazy.name}>${p.clear.name}`)).toEqual(['1_1.jpg>1.jpg', '2_1.jpg>2.jpg', '3_1.jpg>3.jpg', '4_1.jpg>4.jpg']);
    expect(plan.test.map((p) => p.scene)).toEqual(['10']);
    expect(plan.skipped).toEqual(['dehaze/hazy/odd.jpg: name is not <scene>_<level>', 'dehaze/hazy/9_1.jpg: no clear/9.* for it']);
    expect(planFolder(files, { ...LIMITS, levelsPerScene: 2 }).train).toHaveLength(8);
  });

  it('a folder with fewer than two classes and no pairs says what to pick', () => {
    expect(() => planFolder([file('cats/a/1.jpg')], LIMITS)).toThrow(/cats: found one class \(a\); pick a folder with one subfolder per class .* or with hazy\/ and clear\//);
    expect(() => planFolder([], LIMITS)).toThrow(/empty/);
    expect(() => planFolder([file('x/hazy/q.jpg'), file('x/clear/r.jpg')], LIMITS)).toThrow(/x: no hazy\/<scene>_<level> image matches/);
  });
});
