/**
 * How sure the report is of a number: the one rule every experiment's analysis and the
 * closing conclusions use, so that "A beats B" means the same thing everywhere.
 *
 * - An accuracy measured on n test images is a binomial proportion: its 95 % interval is
 *   Wilson's score interval (good at small n and near 0 or 1, where the normal one is not).
 * - Two accuracies differ when a two-sided test rejects equality at α = 0.05. Runs scored on
 *   the same test images (their per-image results are stored) are compared paired, with
 *   McNemar's exact test on the images only one of them got right: their errors are
 *   correlated, and pairing removes what they share. Otherwise a pooled two-proportion z-test
 *   (unpaired, and conservative for a shared test set).
 * - An accuracy is at chance level when its interval contains 1 / classes.
 * - A mean over paired per-image differences (dehazing's gain over the hazy input) gets a
 *   Student t interval; it is an improvement when the interval lies above zero.
 * - Timings (a few epochs each) differ when their ranges do not overlap.
 */

export const ALPHA = 0.05;
/** The two-sided 95 % quantile of the standard normal. */
export const Z95 = 1.959963984540054;

export interface Interval {
  low: number;
  high: number;
}

/** `correct` of `n` test images. */
export interface Proportion {
  correct: number;
  n: number;
}

/** Wilson's 95 % score interval of a proportion. */
export function wilson(p: Proportion, z = Z95): Interval {
  checkProportion(p);
  if (p.n === 0) return { low: 0, high: 1 };
  const phat = p.correct / p.n;
  const z2 = z * z;
  const centre = (phat + z2 / (2 * p.n)) / (1 + z2 / p.n);
  const half = (z / (1 + z2 / p.n)) * Math.sqrt((phat * (1 - phat)) / p.n + z2 / (4 * p.n * p.n));
  // At 0 or n correct the bound is exactly 0 or 1; rounding would leave 1e-16 off.
  return { low: p.correct === 0 ? 0 : Math.max(0, centre - half), high: p.correct === p.n ? 1 : Math.min(1, centre + half) };
}

/** An accuracy (0..1) measured on n images back to a count of correct images. */
export function proportionOf(accuracy: number, n: number): Proportion {
  if (!Number.isFinite(accuracy) || accuracy < 0 || accuracy > 1) throw new Error(`accuracy must lie in [0, 1], got ${accuracy}`);
  return { correct: Math.round(accuracy * n), n };
}

/** Standard normal cumulative distribution (Abramowitz & Stegun 7.1.26 for erf, error < 1.5e-7). */
export function normalCdf(x: number): number {
  const t = 1 / (1 + (0.3275911 * Math.abs(x)) / Math.SQRT2);
  const poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  const erf = 1 - poly * Math.exp(-(x * x) / 2);
  return x >= 0 ? (1 + erf) / 2 : (1 - erf) / 2;
}

export interface Difference {
  /** a − b, as proportions. */
  difference: number;
  z: number;
  /** Two-sided p-value. */
  p: number;
  /** Which one is higher beyond the noise, or 'tie' when the test cannot tell them apart. */
  verdict: 'a' | 'b' | 'tie';
}

/** The decision rule: pooled two-proportion z-test, two-sided, at α = 0.05. */
export function compareProportions(a: Proportion, b: Proportion, alpha = ALPHA): Difference {
  checkProportion(a);
  checkProportion(b);
  const pa = a.n ? a.correct / a.n : 0;
  const pb = b.n ? b.correct / b.n : 0;
  const difference = pa - pb;
  if (a.n === 0 || b.n === 0) return { difference, z: 0, p: 1, verdict: 'tie' };
  const pooled = (a.correct + b.correct) / (a.n + b.n);
  const se = Math.sqrt(pooled * (1 - pooled) * (1 / a.n + 1 / b.n));
  // Both perfect or both zero: no variance, and no evidence of a difference either.
  const z = se === 0 ? 0 : difference / se;
  const p = z === 0 ? 1 : 2 * (1 - normalCdf(Math.abs(z)));
  return { difference, z, p, verdict: p < alpha ? (difference > 0 ? 'a' : 'b') : 'tie' };
}

/** ln C(n, k), by summing logs (n is a test-set size: thousands at most). */
function logChoose(n: number, k: number): number {
  let s = 0;
  for (let i = 1; i <= k; i++) s += Math.log(n - k + i) - Math.log(i);
  return s;
}

/** P(X ≤ k) for X ~ Binomial(n, ½), summed in log space so large n does not underflow. */
function binomialHalfCdf(k: number, n: number): number {
  let total = 0;
  let logTerm = -n * Math.LN2; // C(n, 0) / 2^n
  for (let i = 0; i <= k; i++) {
    total += Math.exp(logTerm);
    logTerm += Math.log(n - i) - Math.log(i + 1);
  }
  return Math.min(1, total);
}

export interface PairedDifference extends Difference {
  /** Images only a got right, and only b. */
  onlyA: number;
  onlyB: number;
}

/**
 * McNemar's exact test for two classifiers scored on the same images (`a[i]`, `b[i]`: 1 when
 * image i was right): under equal accuracy the images only one got right split ½ / ½, so the
 * two-sided p-value is twice the binomial tail of the smaller count.
 */
export function compareOnSameImages(a: ArrayLike<number>, b: ArrayLike<number>, alpha = ALPHA): PairedDifference {
  if (a.length !== b.length) throw new Error(`paired comparison needs the same test images: ${a.length} against ${b.length} results`);
  let onlyA = 0, onlyB = 0, correctA = 0, correctB = 0;
  for (let i = 0; i < a.length; i++) {
    correctA += a[i] ? 1 : 0;
    correctB += b[i] ? 1 : 0;
    if (a[i] && !b[i]) onlyA++;
    else if (b[i] && !a[i]) onlyB++;
  }
  const n = a.length;
  const difference = n ? (correctA - correctB) / n : 0;
  const discordant = onlyA + onlyB;
  const p = discordant === 0 ? 1 : Math.min(1, 2 * binomialHalfCdf(Math.min(onlyA, onlyB), discordant));
  const z = discordant === 0 ? 0 : (onlyA - onlyB) / Math.sqrt(discordant);
  return { difference, z, p, onlyA, onlyB, verdict: p < alpha ? (onlyA > onlyB ? 'a' : 'b') : 'tie' };
}

/** Chance level: the accuracy's 95 % interval contains 1 / classes. */
export function atChance(p: Proportion, classes: number): boolean {
  if (!Number.isInteger(classes) || classes < 2) throw new Error(`chance level needs at least 2 classes, got ${classes}`);
  const ci = wilson(p);
  return ci.low <= 1 / classes && 1 / classes <= ci.high;
}

/** Two-sided 95 % quantiles of Student's t for 1..30 degrees of freedom. */
const T95 = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131, 2.12, 2.11, 2.101, 2.093, 2.086, 2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042];

export function t95(df: number): number {
  if (!Number.isInteger(df) || df < 1) throw new Error(`degrees of freedom must be a positive integer, got ${df}`);
  if (df <= T95.length) return T95[df - 1];
  // Cornish-Fisher expansion around the normal quantile: error below 1e-3 beyond 30.
  const z = Z95;
  return z + (z ** 3 + z) / (4 * df) + (5 * z ** 5 + 16 * z ** 3 + 3 * z) / (96 * df ** 2);
}

export interface MeanInterval extends Interval {
  mean: number;
  n: number;
}

/** Mean of a sample with its 95 % Student t interval (one value: no interval, low = high = mean). */
export function meanInterval(values: readonly number[]): MeanInterval {
  const n = values.length;
  if (n === 0) throw new Error('meanInterval: no values');
  if (values.some((v) => !Number.isFinite(v))) throw new Error('meanInterval: values must be finite numbers');
  const mean = values.reduce((s, v) => s + v, 0) / n;
  if (n === 1) return { mean, low: mean, high: mean, n };
  const variance = values.reduce((s, v) => s + (v - mean) ** 2, 0) / (n - 1);
  const half = t95(n - 1) * Math.sqrt(variance / n);
  return { mean, low: mean - half, high: mean + half, n };
}

/** Where an interval lies against a threshold: above it, below it, or across it. */
export function side(ci: Interval, threshold: number): 'above' | 'below' | 'across' {
  if (ci.low > threshold) return 'above';
  if (ci.high < threshold) return 'below';
  return 'across';
}

/** Timings differ when their ranges do not overlap: 'a' when every a is faster than every b. */
export function fasterByRange(a: readonly number[], b: readonly number[]): 'a' | 'b' | 'tie' {
  if (!a.length || !b.length) return 'tie';
  if (Math.max(...a) < Math.min(...b)) return 'a';
  if (Math.max(...b) < Math.min(...a)) return 'b';
  return 'tie';
}

function checkProportion(p: Proportion): void {
  if (!Number.isInteger(p.n) || p.n < 0 || !Number.isInteger(p.correct) || p.correct < 0 || p.correct > p.n)
    throw new Error(`a proportion needs integers 0 ≤ correct ≤ n, got ${p.correct} of ${p.n}`);
}

// ------------------------------------------------------------------------------------ words

const pc = (v: number) => `${(100 * v).toFixed(1)} %`;

/** "61.2 % (95 % CI 58.1–64.2 %)", the way every test accuracy reads in the report. */
export function accuracyText(p: Proportion): string {
  const ci = wilson(p);
  return `${pc(p.n ? p.correct / p.n : 0)} (95 % CI ${(100 * ci.low).toFixed(1)}–${pc(ci.high)})`;
}

/** "61.2 % [58.1, 64.2]", for table cells. */
export function accuracyCell(p: Proportion): string {
  const ci = wilson(p);
  return `${pc(p.n ? p.correct / p.n : 0)} [${(100 * ci.low).toFixed(1)}, ${(100 * ci.high).toFixed(1)}]`;
}

/** "p < 0.001", "p = 0.012", "p = 0.049" (three decimals near α, so 0.049 never reads as 0.05), "p = 0.31". */
export const pValue = (p: number) => (p < 0.001 ? 'p < 0.001' : `p = ${p.toFixed(p < 0.1 ? 3 : 2)}`);

export interface Named {
  label: string;
  accuracy: Proportion;
  classes: number;
  /** Per test image, 1 when this run got it right, and the id of those test images, when stored. */
  perImage?: { set: string; correct: Uint8Array };
}

/** A run's stored per-image results, unpacked (undefined when it has none). */
export function perImageOf(run: { testImages?: { set: string; correct: string }; testCount: number }): Named['perImage'] {
  return run.testImages ? { set: run.testImages.set, correct: unpackResults(run.testImages.correct, run.testCount) } : undefined;
}

/** Per-image results as stored in a report: one bit per image, base64. */
export function packResults(correct: ArrayLike<number>): string {
  const bytes = new Uint8Array(Math.ceil(correct.length / 8));
  for (let i = 0; i < correct.length; i++) if (correct[i]) bytes[i >> 3] |= 1 << (i & 7);
  return Buffer.from(bytes).toString('base64');
}

export function unpackResults(packed: string, n: number): Uint8Array {
  const bytes = Buffer.from(packed, 'base64');
  if (bytes.length !== Math.ceil(n / 8)) throw new Error(`per-image results hold ${bytes.length * 8} bits, not the ${n} test images`);
  return Uint8Array.from({ length: n }, (_, i) => (bytes[i >> 3] >> (i & 7)) & 1);
}

/** Two runs by the rule: paired when both carry per-image results on the same test images. */
export function compareRuns(a: Named, b: Named): Difference & { paired: PairedDifference | null } {
  const [pa, pb] = [a.perImage, b.perImage];
  if (pa && pb && pa.set === pb.set && pa.correct.length === a.accuracy.n && pb.correct.length === b.accuracy.n) {
    const paired = compareOnSameImages(pa.correct, pb.correct);
    return { ...paired, paired };
  }
  return { ...compareProportions(a.accuracy, b.accuracy), paired: null };
}

/** How the comparison was tested, for the sentence's parenthesis. */
function testName(d: ReturnType<typeof compareRuns>, a: Named, b: Named): string {
  if (d.paired) return `McNemar's exact test on the same ${a.accuracy.n} test images: ${d.paired.onlyA} right only for ${a.label}, ${d.paired.onlyB} only for ${b.label}; ${pValue(d.p)}`;
  return `two-proportion z-test, ${pValue(d.p)}`;
}

/** What would make an undecided comparison decide, said the same way everywhere. */
export const MORE_EVIDENCE = 'more test images, more training data or epochs (`--full`) would';

/**
 * One sentence comparing two runs by the rule: "A is above B", "cannot tell apart", and
 * chance level said as such.
 */
export function compareText(a: Named, b: Named): string {
  const d = compareRuns(a, b);
  const pts = `${Math.abs(100 * d.difference).toFixed(1)} points`;
  const both = `${a.label} ${accuracyText(a.accuracy)} against ${b.label} ${accuracyText(b.accuracy)}`;
  const chanceA = atChance(a.accuracy, a.classes);
  const chanceB = atChance(b.accuracy, b.classes);
  if (chanceA && chanceB) return `${both}: both are at chance level (${pc(1 / a.classes)} for ${a.classes} classes), so this run cannot tell them apart; ${MORE_EVIDENCE}.`;
  const images = a.accuracy.n === b.accuracy.n ? `${a.accuracy.n} test images` : `${a.accuracy.n} and ${b.accuracy.n} test images`;
  if (d.verdict === 'tie') return `${both}: a difference of ${pts} is within the noise of ${images} (${testName(d, a, b)}), so this run cannot tell them apart; ${MORE_EVIDENCE}.`;
  const [hi, lo] = d.verdict === 'a' ? [a, b] : [b, a];
  const chance = atChance(lo.accuracy, lo.classes) ? ` (${lo.label} is at chance level, ${pc(1 / lo.classes)})` : '';
  return `${both}: ${hi.label} is ${pts} above ${lo.label}${chance}, more than the noise (${testName(d, a, b)}).`;
}

/** "at chance level (10.0 % for 10 classes)" or "above chance (10.0 % for 10 classes)". */
export function chanceText(p: Proportion, classes: number): string {
  const where = atChance(p, classes) ? 'at chance level' : wilson(p).high < 1 / classes ? 'below chance' : 'above chance';
  return `${where} (${pc(1 / classes)} for ${classes} classes)`;
}

export const RULE_TEXT =
  'Test accuracies carry 95 % Wilson intervals from the test-set size. Two accuracies are called different only when a two-sided test rejects equality at α = 0.05: ' +
  "McNemar's exact test on the images only one of the two runs got right, when both were scored on the same test images (paired), else a two-proportion z-test; otherwise the run cannot tell them apart. " +
  'An accuracy whose interval contains 1 / classes is at chance level. ' +
  'Dehazing gains are means of per-image differences with a Student t interval; timings differ when their per-epoch ranges do not overlap.';

/** "1.2 s", "0.35 s" or "1.1–1.4 s": a run's per-epoch times (two decimals below a second, so short epochs do not read 0.0). */
function secondsRange(v: readonly number[]): string {
  const f = (x: number) => x.toFixed(Math.max(...v) < 1 ? 2 : 1);
  const [lo, hi] = [f(Math.min(...v)), f(Math.max(...v))];
  return lo === hi ? `${lo} s` : `${lo}–${hi} s`;
}

/**
 * One sentence comparing two runs' speed by the rule: one is called faster only when its
 * per-epoch times and the other's do not overlap.
 */
export function speedText(a: { label: string; seconds: readonly number[] }, b: { label: string; seconds: readonly number[] }): string {
  const f = fasterByRange(a.seconds, b.seconds);
  if (f === 'tie') return `an epoch took ${secondsRange(a.seconds)} for ${a.label} against ${secondsRange(b.seconds)} for ${b.label}: the per-epoch ranges overlap, so neither was faster beyond the noise`;
  const [fast, slow] = f === 'a' ? [a, b] : [b, a];
  const mean = (v: readonly number[]) => v.reduce((s, x) => s + x, 0) / v.length;
  return `${fast.label} was ${(mean(slow.seconds) / mean(fast.seconds)).toFixed(1)}× faster per epoch than ${slow.label} (${secondsRange(fast.seconds)} against ${secondsRange(slow.seconds)}; the per-epoch ranges do not overlap)`;
}

/**
 * Which of several runs is the most accurate, by the rule the Conclusions use: the top run is
 * named only when it is above chance and above the runner-up beyond the noise (and, given the
 * seed-to-seed spread of one configuration, by more than that). Otherwise the sentence says
 * that this run names no best, and why. `noun` names one run ("configuration").
 */
export function bestText(runs: readonly Named[], noun: string, seedSpread?: number): { best: Named | null; text: string } {
  const acc = (r: Named) => (r.accuracy.n ? r.accuracy.correct / r.accuracy.n : 0);
  const [top, second] = [...runs].sort((a, b) => acc(b) - acc(a));
  if (!top) throw new Error('bestText: no runs');
  const chance = `${pc(1 / top.classes)} for ${top.classes} classes`;
  if (!second) return { best: null, text: `${top.label}: ${accuracyText(top.accuracy)} test accuracy, ${chanceText(top.accuracy, top.classes)}.` };
  if (runs.every((r) => atChance(r.accuracy, r.classes)))
    return { best: null, text: `All ${runs.length} ${noun}s are at chance level (${chance}; the highest, ${top.label}, reached ${accuracyText(top.accuracy)}), so this run names no best ${noun}; ${MORE_EVIDENCE}.` };
  if (atChance(top.accuracy, top.classes))
    return { best: null, text: `The highest test accuracy, ${top.label}'s ${accuracyText(top.accuracy)}, is itself at chance level (${chance}), so this run names no best ${noun}; ${MORE_EVIDENCE}.` };
  const d = compareRuns(top, second);
  const both = `${top.label} ${accuracyText(top.accuracy)} against the runner-up ${second.label} ${accuracyText(second.accuracy)}`;
  if (d.verdict !== 'a')
    return { best: null, text: `The highest two, ${both}, are within the noise of each other (${testName(d, top, second)}), so this run names no best ${noun}; ${MORE_EVIDENCE}.` };
  const pts = `${(100 * d.difference).toFixed(1)} points`;
  if (seedSpread !== undefined && d.difference <= seedSpread)
    return { best: null, text: `The highest two, ${both}, differ by ${pts}, beyond the test noise (${testName(d, top, second)}) but not beyond the ${(100 * seedSpread).toFixed(1)} points one configuration moved between seeds, so this run names no best ${noun}; ${MORE_EVIDENCE}.` };
  return { best: top, text: `The best ${noun} was ${both}: ${pts} above it, more than the noise (${testName(d, top, second)})${seedSpread !== undefined ? ' and more than the seed-to-seed spread' : ''}.` };
}
