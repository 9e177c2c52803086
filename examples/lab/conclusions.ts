/**
 * The report's closing section: the lab's questions, each answered from this run's numbers
 * (the runs and metrics each experiment stored, so a --resume or a metrics.json alone gives
 * the same answers) and marked supported, not supported or undecided by the rule of
 * stats.ts. A question whose experiment was skipped, failed or not selected says so.
 */
import type { Conclusion, ExperimentResult, LabReport, RunSummary, Verdict } from './types';
import { duration } from './format';
import { testLossRises } from './train';
import {
  type MeanInterval,
  type Named,
  type Proportion,
  accuracyText,
  atChance,
  chanceText,
  compareRuns,
  compareText,
  fasterByRange,
  perImageOf,
  proportionOf,
  side,
  wilson,
} from './stats';

type Answer = { verdict: Verdict; evidence: string };

interface Question {
  /** The experiment whose numbers answer it. */
  experiment: string;
  question: string;
  answer(e: ExperimentResult): Answer;
}

/** Thrown when a finished experiment lacks what a question needs (an older metrics.json). */
class Missing extends Error {}

function run(e: ExperimentResult, key: string): RunSummary {
  const r = e.runs.find((x) => x.key === key);
  if (!r) throw new Missing(`run '${key}' is not in this report`);
  return r;
}

function named(r: RunSummary, label = r.label): Named {
  const acc = r.epochs[r.epochs.length - 1]?.testAccuracy ?? null;
  if (acc === null || !r.testCount || !r.classes) throw new Missing(`${r.label} has no test accuracy and class count`);
  return { label, accuracy: proportionOf(acc, r.testCount), classes: r.classes, perImage: perImageOf(r) };
}

function metric<T>(e: ExperimentResult, name: string): T {
  if (!(name in e.metrics)) throw new Missing(`metric '${name}' is not in this report`);
  return e.metrics[name] as T;
}

/** The lab's claim "A is more accurate than B", by the report's rule (paired where it can be). */
function moreAccurate(a: Named, b: Named): Answer {
  const d = compareRuns(a, b);
  const both = atChance(a.accuracy, a.classes) && atChance(b.accuracy, b.classes);
  const verdict: Verdict = both || d.verdict === 'tie' ? 'undecided' : d.verdict === 'a' ? 'supported' : 'not supported';
  return { verdict, evidence: compareText(a, b) };
}

/** Experiment 3's base configuration trained with several seeds: how far one run moves by chance. */
function seedSpread(e: ExperimentResult): { testAccuracy: number[]; spread: number } | undefined {
  return e.metrics.seedSpread as { testAccuracy: number[]; spread: number } | undefined;
}

/**
 * A single-run comparison against the seed-to-seed spread: a difference the test set resolves
 * but another seed could produce as well is undecided, not supported.
 */
function beyondSeedSpread(e: ExperimentResult, a: Answer, hi: Named, lo: Named): Answer {
  const seeds = seedSpread(e);
  if (!seeds || a.verdict !== 'supported') return a;
  const diff = hi.accuracy.correct / hi.accuracy.n - lo.accuracy.correct / lo.accuracy.n;
  const spread = `${(100 * seeds.spread).toFixed(1)} points`;
  if (diff > seeds.spread) return { verdict: a.verdict, evidence: `${a.evidence} That is also more than the base configuration's seed-to-seed spread (${spread}).` };
  return { verdict: 'undecided', evidence: `${a.evidence} But the base configuration moved ${spread} between seeds, so one run each cannot tell this from chance; more data or epochs (\`--full\`) would.` };
}

const perImage = (r: RunSummary) => r.epochs.map((ep) => ep.seconds / r.trainCount);
const times = (v: number) => `${v.toFixed(1)}×`;

function fromInterval(m: MeanInterval | undefined, what: string, unit: (v: number) => string): Answer {
  if (!m) throw new Missing(`the per-image ${what} gain is not in this report`);
  const where = side(m, 0);
  const verdict: Verdict = where === 'above' ? 'supported' : where === 'below' ? 'not supported' : 'undecided';
  const said = { above: 'an improvement beyond the noise', below: 'worse than the hazy input beyond the noise', across: 'this run cannot tell it from no change; more test scenes or epochs (`--full`) would' }[where];
  return { verdict, evidence: `${what} gain over the hazy input, mean over ${m.n} test images: ${unit(m.mean)} (95 % CI ${unit(m.low)} to ${unit(m.high)}): ${said}.` };
}

const signed = (digits: number, suffix = '') => (v: number) => `${v >= 0 ? '+' : '−'}${Math.abs(v).toFixed(digits)}${suffix}`;

/** The lab's questions in LAB.md's order; each one's answer reads only its experiment's result. */
export const QUESTIONS: Question[] = [
  {
    experiment: '01-basics',
    question: 'Back-propagation recovers the edge kernel [1, −1] (and bias 0) from X and Y',
    answer(e) {
      const k = metric<{ kernel: number[]; bias: number; steps: number }>(e, 'learnedKernel');
      const err = Math.max(Math.abs(k.kernel[0] - 1), Math.abs(k.kernel[1] + 1), Math.abs(k.bias));
      // Deterministic: no test set, so the answer is a tolerance, not a test.
      return {
        verdict: err < 0.05 ? 'supported' : 'not supported',
        evidence: `learned K = [${k.kernel.map((v) => v.toFixed(3)).join(', ')}], b = ${k.bias.toFixed(3)} after ${k.steps} steps: at most ${err.toFixed(3)} from the target (tolerance 0.05).`,
      };
    },
  },
  {
    experiment: '02-cifar-handwritten',
    question: 'The library convolution trains faster than the hand-written one (per epoch, measured)',
    answer(e) {
      const hand = run(e, 'handwritten-n1');
      const lib = run(e, 'library-n1');
      const [h, l] = [perImage(hand), perImage(lib)];
      const ratio = Math.min(...h) / Math.max(...l);
      const full = (e.metrics.secondsPerFullEpoch ?? {}) as Record<string, { seconds: number }>;
      const epochText = full[hand.key] && full[lib.key] ? ` A full epoch of CIFAR-10 would take ${duration(full[hand.key].seconds)} by hand (extrapolated) against ${duration(full[lib.key].seconds)} with the library.` : '';
      const faster = fasterByRange(l, h);
      const verdict: Verdict = faster === 'a' ? 'supported' : faster === 'b' ? 'not supported' : 'undecided';
      const range = (v: number[]) => (Math.min(...v) === Math.max(...v) ? `${(1000 * v[0]).toFixed(2)} ms` : `${(1000 * Math.min(...v)).toFixed(2)}–${(1000 * Math.max(...v)).toFixed(2)} ms`);
      const epochs = (v: number[]) => `${v.length} epoch${v.length === 1 ? '' : 's'}`;
      const measured = `${range(h)} per training image by hand (${epochs(h)}), ${range(l)} with the library (${epochs(l)})`;
      const said = faster === 'a' ? `the ranges do not overlap: the library is at least ${times(ratio)} faster.` : faster === 'b' ? 'the hand-written convolution was faster in every epoch.' : 'the per-epoch ranges overlap.';
      return { verdict, evidence: `${measured}; ${said}${epochText}` };
    },
  },
  {
    experiment: '02-cifar-handwritten',
    question: 'The library CNN with N = 3 conv blocks is more accurate than N = 1 on the same data',
    answer: (e) => moreAccurate(named(run(e, 'library-n3')), named(run(e, 'library-n1-set'))),
  },
  {
    experiment: '03-hyperparameters',
    question: 'Three conv blocks are more accurate than one (layer count)',
    answer(e) {
      const sweep = metric<{ name: string; values: number[]; keys: string[] }[]>(e, 'sweeps').find((s) => s.name.startsWith('layer count'));
      if (!sweep) throw new Missing('the layer-count sweep is not in this report');
      const at = (n: number) => run(e, sweep.keys[sweep.values.indexOf(n)]);
      return beyondSeedSpread(e, moreAccurate(named(at(3), '3 blocks'), named(at(1), '1 block')), named(at(3)), named(at(1)));
    },
  },
  {
    experiment: '03-hyperparameters',
    question: 'Learning rate, batch size, kernel size and layer count change the test accuracy (best against worst value of each)',
    answer(e) {
      const sweeps = metric<{ name: string; values: number[]; keys: string[] }[]>(e, 'sweeps');
      const seeds = seedSpread(e);
      const parts = sweeps.map((s) => {
        const rs = s.keys.map((k, i) => named(run(e, k), `${s.name} ${s.values[i]}`));
        const sorted = [...rs].sort((a, b) => b.accuracy.correct / b.accuracy.n - a.accuracy.correct / a.accuracy.n);
        const [best, worst] = [sorted[0], sorted[sorted.length - 1]];
        const d = compareRuns(best, worst);
        const changed = d.verdict === 'a' && (!seeds || d.difference > seeds.spread);
        const said = changed ? 'changed it' : d.verdict === 'a' ? 'a difference beyond the test noise but within the seed spread' : 'no difference beyond the noise';
        return { changed, text: `${s.name}: ${said} (best ${best.label.replace(`${s.name} `, '')} ${accuracyText(best.accuracy)}, worst ${worst.label.replace(`${s.name} `, '')} ${accuracyText(worst.accuracy)})` };
      });
      const changed = parts.filter((p) => p.changed).length;
      const seedText = seeds ? ` The base configuration over ${seeds.testAccuracy.length} seeds spread ${(100 * seeds.spread).toFixed(1)} points; a sweep counts only beyond that.` : '';
      return {
        verdict: changed > 0 ? 'supported' : 'undecided',
        evidence: `${parts.map((p) => p.text).join('; ')}.${seedText}${changed < parts.length ? ' Where no difference shows, more test images, data or epochs (`--full`) would tell.' : ''}`,
      };
    },
  },
  {
    experiment: '04-alexnet',
    question: 'The reduced AlexNet learns the vehicle classes (test accuracy above chance)',
    answer(e) {
      const a = named(run(e, 'alexnet'));
      const above = wilson(a.accuracy).low > 1 / a.classes;
      return { verdict: above ? 'supported' : 'undecided', evidence: `${accuracyText(a.accuracy)} on ${a.accuracy.n} test photos, ${chanceText(a.accuracy, a.classes)}.` };
    },
  },
  {
    experiment: '05-mlp-vs-cnn',
    question: 'The CNN is more accurate than the MLP on the same data',
    answer: (e) => moreAccurate(named(run(e, 'cnn')), named(run(e, 'mlp'))),
  },
  {
    experiment: '06-dilated',
    question: 'HDC [1, 2, 5] avoids gridding: every pixel of its receptive field reaches the output, unlike [2, 2, 2]',
    answer(e) {
      const holes = metric<Record<string, { zero: number; window: number }>>(e, 'unreachedInWindow');
      const [hdc, grid] = [holes['HDC [1, 2, 5]'], holes['gridding [2, 2, 2]']];
      if (!hdc || !grid) throw new Missing('the coverage counts are not in this report');
      return {
        verdict: hdc.zero === 0 && grid.zero > 0 ? 'supported' : 'not supported',
        evidence: `coverage maps (exact, no noise): ${hdc.zero} of ${hdc.window} pixels unreached for [1, 2, 5], ${grid.zero} of ${grid.window} for [2, 2, 2].`,
      };
    },
  },
  {
    experiment: '06-dilated',
    question: 'HDC [1, 2, 5] is more accurate than the gridding stack [2, 2, 2]',
    answer: (e) => moreAccurate(named(run(e, 'hdc-1-2-5')), named(run(e, 'gridding-2-2-2'))),
  },
  {
    experiment: '06-dilated',
    question: 'HDC [1, 2, 5] is more accurate than the ordinary stack [1, 1, 1] with the same parameters',
    answer: (e) => moreAccurate(named(run(e, 'hdc-1-2-5')), named(run(e, 'ordinary-1-1-1'))),
  },
  {
    experiment: '07-resnet',
    question: 'ResNet-18 trains better than its plain 18-layer twin (test accuracy; train loss and curve steadiness alongside)',
    answer(e) {
      const [res, plain] = [run(e, 'resnet18'), run(e, 'plain18')];
      const a = moreAccurate(named(res), named(plain));
      const last = (r: RunSummary) => r.epochs[r.epochs.length - 1].trainLoss.toFixed(3);
      const rises = (r: RunSummary) => testLossRises(r)?.toFixed(3) ?? '–';
      return { verdict: a.verdict, evidence: `${a.evidence} Final train loss ${last(res)} residual against ${last(plain)} plain; the test loss went back up by ${rises(res)} in all (residual) against ${rises(plain)} (plain).` };
    },
  },
  {
    experiment: '08-vehicles',
    question: 'The CNN tells car, minibus and truck apart: every class recognised above chance',
    answer(e) {
      const c = metric<{ classes: string[]; matrix: number[][] }>(e, 'confusion');
      const k = c.classes.length;
      const recall: { name: string; p: Proportion }[] = c.matrix.map((row, i) => ({ name: c.classes[i], p: { correct: row[i], n: row.reduce((s, v) => s + v, 0) } }));
      const total: Proportion = { correct: recall.reduce((s, r) => s + r.p.correct, 0), n: recall.reduce((s, r) => s + r.p.n, 0) };
      const above = recall.filter((r) => r.p.n > 0 && wilson(r.p).low > 1 / k);
      const below = recall.filter((r) => r.p.n > 0 && wilson(r.p).high < 1 / k);
      const verdict: Verdict = above.length === k ? 'supported' : below.length ? 'not supported' : 'undecided';
      return {
        verdict,
        evidence: `overall ${accuracyText(total)}, ${chanceText(total, k)}; per class: ${recall.map((r) => `${r.name} ${accuracyText(r.p)}`).join(', ')}${below.length ? `; below chance: ${below.map((r) => r.name).join(', ')}` : ''}.`,
      };
    },
  },
  {
    experiment: '09-dehaze',
    question: 'Dehazing improves PSNR over the hazy input',
    answer: (e) => fromInterval(metric<{ gain?: { psnr: MeanInterval } }>(e, 'quality').gain?.psnr, 'PSNR', signed(2, ' dB')),
  },
  {
    experiment: '09-dehaze',
    question: 'Dehazing improves SSIM over the hazy input',
    answer: (e) => fromInterval(metric<{ gain?: { ssim: MeanInterval } }>(e, 'quality').gain?.ssim, 'SSIM', signed(3)),
  },
];

/** The experiment number of an id such as '06-dilated'. */
const numberOf = (id: string) => Number(id.slice(0, 2));

export function conclusions(report: Pick<LabReport, 'experiments'>): Conclusion[] {
  return QUESTIONS.map((q) => {
    const e = report.experiments.find((x) => x.id === q.experiment);
    const head = { experiment: e?.number ?? numberOf(q.experiment), question: q.question };
    if (!e) return { ...head, verdict: 'not run', evidence: `experiment ${q.experiment} was not part of this run (--only).` };
    if (e.status === 'skipped') return { ...head, verdict: 'not run', evidence: `experiment skipped: ${e.reason}. To enable: \`${e.enable}\`` };
    if (e.status === 'failed') return { ...head, verdict: 'not run', evidence: `experiment failed: ${e.error}` };
    try {
      return { ...head, ...q.answer(e) };
    } catch (err) {
      if (err instanceof Missing) return { ...head, verdict: 'not run', evidence: `cannot answer from this report: ${err.message}.` };
      throw err;
    }
  });
}
