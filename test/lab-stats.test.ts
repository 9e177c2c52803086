/**
 * The lab report's one statistical rule (examples/lab/stats.ts): Wilson intervals, the
 * two-proportion decision, chance level, t intervals, and the sentences built on them.
 * Reference values from SciPy (t quantiles, normal p-values) and the Wilson interval's
 * textbook cases.
 */
import { describe, expect, it } from 'vitest';
import {
  accuracyCell,
  atChance,
  bestText,
  chanceText,
  compareOnSameImages,
  compareProportions,
  compareText,
  fasterByRange,
  meanInterval,
  normalCdf,
  packResults,
  proportionOf,
  speedText,
  unpackResults,
  side,
  t95,
  wilson,
} from '../examples/lab/stats';

describe('wilson', () => {
  it('matches the textbook intervals', () => {
    const half = wilson({ correct: 50, n: 100 });
    expect(half.low).toBeCloseTo(0.4038, 4);
    expect(half.high).toBeCloseTo(0.5962, 4);
    const none = wilson({ correct: 0, n: 10 });
    expect(none.low).toBe(0);
    expect(none.high).toBeCloseTo(0.2775, 4);
    const all = wilson({ correct: 10, n: 10 });
    expect(all.low).toBeCloseTo(0.7225, 4);
    expect(all.high).toBe(1);
  });

  it('narrows as the test set grows', () => {
    const small = wilson({ correct: 30, n: 50 });
    const large = wilson({ correct: 600, n: 1000 });
    expect(large.high - large.low).toBeLessThan((small.high - small.low) / 3);
  });

  it('rejects counts that are not a proportion', () => {
    expect(() => wilson({ correct: 11, n: 10 })).toThrow(/0 ≤ correct ≤ n/);
    expect(() => wilson({ correct: 1.5, n: 10 })).toThrow(/integers/);
    expect(() => proportionOf(1.2, 10)).toThrow(/\[0, 1\]/);
    expect(proportionOf(0.579, 1000)).toEqual({ correct: 579, n: 1000 });
  });
});

describe('decision rule', () => {
  it('normalCdf agrees with the normal distribution', () => {
    expect(normalCdf(0)).toBeCloseTo(0.5, 7);
    expect(normalCdf(1.959964)).toBeCloseTo(0.975, 6);
    expect(normalCdf(-1)).toBeCloseTo(0.158655, 6);
  });

  it('two-proportion z-test: p-value as SciPy, verdicts at α = 0.05', () => {
    const d = compareProportions({ correct: 60, n: 100 }, { correct: 45, n: 100 });
    expect(d.z).toBeCloseTo(2.1239, 3);
    expect(d.p).toBeCloseTo(0.03368, 4);
    expect(d.verdict).toBe('a');
    expect(compareProportions({ correct: 45, n: 100 }, { correct: 60, n: 100 }).verdict).toBe('b');
    // The default run: HDC 21.3 % against ordinary 27.7 % on 300 test images cannot decide.
    expect(compareProportions({ correct: 64, n: 300 }, { correct: 83, n: 300 }).verdict).toBe('tie');
    // Identical and degenerate results are ties, never a division by zero.
    expect(compareProportions({ correct: 10, n: 10 }, { correct: 10, n: 10 })).toMatchObject({ verdict: 'tie', p: 1 });
    expect(compareProportions({ correct: 0, n: 0 }, { correct: 3, n: 10 }).verdict).toBe('tie');
  });

  it('chance level: the interval contains 1 / classes', () => {
    expect(atChance({ correct: 5, n: 50 }, 10)).toBe(true);
    expect(atChance({ correct: 20, n: 50 }, 10)).toBe(false);
    // 57.9 % on 3 classes with 120 test photos is well above 33 %.
    expect(atChance(proportionOf(0.579, 120), 3)).toBe(false);
    expect(atChance({ correct: 45, n: 120 }, 3)).toBe(true);
    expect(() => atChance({ correct: 1, n: 2 }, 1)).toThrow(/at least 2 classes/);
    expect(chanceText({ correct: 5, n: 50 }, 10)).toMatch(/^at chance level \(10\.0 % for 10 classes\)/);
    expect(chanceText({ correct: 0, n: 300 }, 3)).toMatch(/^below chance/);
  });
});

describe('intervals of means and timings', () => {
  it('t quantiles match SciPy beyond the table and at its ends', () => {
    expect(t95(1)).toBeCloseTo(12.706, 3);
    expect(t95(30)).toBeCloseTo(2.042, 3);
    expect(t95(31)).toBeCloseTo(2.0395, 3);
    expect(t95(40)).toBeCloseTo(2.0211, 3);
    expect(t95(100)).toBeCloseTo(1.984, 3);
    expect(() => t95(0)).toThrow(/positive integer/);
  });

  it('meanInterval: a t interval around the mean', () => {
    const m = meanInterval([1, 2, 3, 4, 5]);
    expect(m.mean).toBe(3);
    // s = √2.5, half-width t(4) · s / √5 = 2.776 · 0.7071.
    expect(m.high - m.mean).toBeCloseTo(2.776 * Math.sqrt(2.5 / 5), 3);
    expect(side(m, 0)).toBe('above');
    expect(side(meanInterval([-1, 1, -2, 2]), 0)).toBe('across');
    expect(side(meanInterval([-3, -2, -4]), 0)).toBe('below');
    expect(meanInterval([7])).toEqual({ mean: 7, low: 7, high: 7, n: 1 });
    expect(() => meanInterval([])).toThrow(/no values/);
  });

  it('timings decide only when their ranges do not overlap', () => {
    expect(fasterByRange([1, 1.2], [3, 4])).toBe('a');
    expect(fasterByRange([3, 4], [1, 1.2])).toBe('b');
    expect(fasterByRange([1, 3], [2, 4])).toBe('tie');
  });
});

describe('sentences', () => {
  const run = (label: string, correct: number, n: number, classes = 10) => ({ label, accuracy: { correct, n }, classes });

  it('says "above" only beyond the noise', () => {
    expect(compareText(run('CNN', 183, 300), run('MLP', 120, 300))).toMatch(/CNN is 21\.0 points above MLP, more than the noise \(two-proportion z-test, p < 0\.001\)/);
    const tie = compareText(run('HDC', 64, 300), run('ordinary', 83, 300));
    expect(tie).toMatch(/cannot tell them apart/);
    expect(tie).toMatch(/`--full`/);
    expect(tie).not.toMatch(/above/);
  });

  it('says chance level, not a winner, when both runs are at chance', () => {
    const t = compareText(run('HDC [1, 2, 5]', 5, 50), run('ordinary', 5, 50));
    expect(t).toMatch(/both are at chance level \(10\.0 % for 10 classes\)/);
    expect(t).not.toMatch(/best|above/);
  });

  it('names a best run only above chance and beyond the noise (and beyond a seed spread when given)', () => {
    const allChance = bestText([run('lr 0.001', 7, 50), run('lr 0.01', 5, 50), run('lr 0.0001', 4, 50)], 'configuration');
    expect(allChance.best).toBeNull();
    expect(allChance.text).toMatch(/^All 3 configurations are at chance level \(10\.0 % for 10 classes; the highest, lr 0\.001, reached 14\.0 % .*\), so this run names no best configuration; more test images/);
    const close = bestText([run('A', 150, 300), run('B', 141, 300)], 'run');
    expect([close.best, close.text]).toEqual([null, expect.stringMatching(/^The highest two, A 50\.0 % .* against the runner-up B 47\.0 % .*, are within the noise of each other \(two-proportion z-test, p = 0\.\d+\), so this run names no best run;/)]);
    const clear = bestText([run('B', 120, 300), run('A', 183, 300), run('C', 30, 300)], 'run');
    expect(clear.best?.label).toBe('A');
    expect(clear.text).toMatch(/^The best run was A 61\.0 % .* against the runner-up B 40\.0 % .*: 21\.0 points above it, more than the noise \(two-proportion z-test, p < 0\.001\)\.$/);
    const seeds = bestText([run('B', 120, 300), run('A', 183, 300)], 'configuration', 0.25);
    expect(seeds.best).toBeNull();
    expect(seeds.text).toMatch(/beyond the test noise .* but not beyond the 25\.0 points one configuration moved between seeds, so this run names no best configuration/);
  });

  it('calls a run faster only when the per-epoch times do not overlap', () => {
    expect(speedText({ label: 'batch 128', seconds: [0.5, 0.6] }, { label: 'batch 16', seconds: [1.1, 1.3] })).toBe(
      'batch 128 was 2.2× faster per epoch than batch 16 (0.50–0.60 s against 1.1–1.3 s; the per-epoch ranges do not overlap)',
    );
    expect(speedText({ label: 'HDC', seconds: [0.8, 1.2] }, { label: 'ordinary', seconds: [1.1, 1.0] })).toBe(
      'an epoch took 0.8–1.2 s for HDC against 1.0–1.1 s for ordinary: the per-epoch ranges overlap, so neither was faster beyond the noise',
    );
  });

  it('table cells carry the interval', () => {
    expect(accuracyCell({ correct: 50, n: 100 })).toBe('50.0 % [40.4, 59.6]');
  });
});

/** Per-image results with `both` images right for both, `onlyA` / `onlyB` for one, the rest for neither. */
function pairs(both: number, onlyA: number, onlyB: number, neither: number): [Uint8Array, Uint8Array] {
  const a: number[] = [], b: number[] = [];
  const push = (n: number, x: number, y: number) => { for (let i = 0; i < n; i++) { a.push(x); b.push(y); } };
  push(both, 1, 1); push(onlyA, 1, 0); push(onlyB, 0, 1); push(neither, 0, 0);
  return [Uint8Array.from(a), Uint8Array.from(b)];
}

describe("McNemar's exact test (runs on the same test images)", () => {
  // p-values: 2 · P(X ≤ min(b, c)) for X ~ Binomial(b + c, ½), from Python's math.comb.
  it.each([
    [10, 2, 0.03857421875],
    [25, 10, 0.01667384780012071],
    [60, 40, 0.05688793364098079],
    [120, 80, 0.0056851559967503055],
    [7, 7, 1],
    [0, 5, 0.0625],
    [1300, 1200, 0.047681865221043604],
  ])('%i right only for a, %i only for b: p = %f', (onlyA, onlyB, p) => {
    const [a, b] = pairs(500, onlyA, onlyB, 300);
    const d = compareOnSameImages(a, b);
    expect(d.p).toBeCloseTo(p, 10);
    expect(d.onlyA).toBe(onlyA);
    expect(d.onlyB).toBe(onlyB);
    expect(d.difference).toBeCloseTo((onlyA - onlyB) / a.length, 12);
    expect(d.verdict).toBe(p < 0.05 ? (onlyA > onlyB ? 'a' : 'b') : 'tie');
  });

  it('decides a difference the unpaired test cannot, when the runs agree on most images', () => {
    // 2,000 images, 46.5 % against 44.0 %: 50 more right for a, 60 images disagree.
    const [a, b] = pairs(875, 55, 5, 1065);
    const sum = (v: Uint8Array) => v.reduce((s, x) => s + x, 0);
    expect(compareProportions({ correct: sum(a), n: a.length }, { correct: sum(b), n: b.length }).verdict).toBe('tie');
    expect(compareOnSameImages(a, b).verdict).toBe('a');
  });

  it('refuses results of different lengths', () => {
    expect(() => compareOnSameImages(new Uint8Array(3), new Uint8Array(4))).toThrow(/same test images: 3 against 4/);
  });

  it('says which test it used', () => {
    const [a, b] = pairs(875, 55, 5, 1065);
    const named = (label: string, correct: Uint8Array, set = 'cifar') => ({ label, accuracy: { correct: correct.reduce((s, x) => s + x, 0), n: correct.length }, classes: 10, perImage: { set, correct } });
    expect(compareText(named('HDC', a), named('gridding', b))).toMatch(/HDC is 2\.5 points above gridding, more than the noise \(McNemar's exact test on the same 2000 test images: 55 right only for HDC, 5 only for gridding; p < 0\.001\)/);
    // different test sets: the unpaired rule, which cannot tell these apart
    expect(compareText(named('HDC', a), named('gridding', b, 'other'))).toMatch(/within the noise of 2000 test images \(two-proportion z-test/);
  });
});

describe('per-image results in a report', () => {
  it('round-trip through one bit per image', () => {
    const v = Uint8Array.from({ length: 1003 }, (_, i) => (i * 7919) % 3 === 0 ? 1 : 0);
    expect(unpackResults(packResults(v), v.length)).toEqual(v);
    expect(() => unpackResults(packResults(v), 2000)).toThrow(/hold 1008 bits, not the 2000 test images/);
  });
});
