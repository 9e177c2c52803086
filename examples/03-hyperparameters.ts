/**
 * Experiment 3 — hyper-parameters (LAB.md §6.3): learning rate, batch size, kernel size and
 * layer count, one at a time around a base configuration, on the same CIFAR-10 subset.
 *
 *   npx tsx examples/03-hyperparameters.ts [--quick | --full] [--help]
 */
import * as wg from '@webgrad/tensor';
import * as nn from '@webgrad/nn';
import type { Experiment } from './lab/experiment';
import { isMain, runAlone } from './lab/main';
import { bySize } from './lab/presets';
import { loadImages } from './lab/sets';
import { classificationSettings, headlineOf, named, testCell, testProportion, trainClassifier } from './lab/classify';
import { bestText, compareProportions, compareText, speedText, wilson } from './lab/stats';
import { type GroupedRow, curvesChart, groupedBars } from './lab/charts';
import { pct } from './lab/format';
import { finalOf } from './lab/train';
import type { RunSummary } from './lab/types';

const SIZES = {
  quick: { trainPerClass: 10, testPerClass: 5, epochs: 2, channels: [4, 8, 16] },
  default: { trainPerClass: 200, testPerClass: 100, epochs: 3, channels: [16, 32, 64] },
  full: { trainPerClass: Infinity, testPerClass: Infinity, epochs: 30, channels: [32, 64, 128] },
};

interface Config {
  lr: number;
  batchSize: number;
  kernelSize: number;
  blocks: number;
}

const BASE: Config = { lr: 1e-3, batchSize: 32, kernelSize: 3, blocks: 3 };

/** Each sweep changes one setting of the base; the base itself sits in every sweep. */
const SWEEPS: { name: string; key: keyof Config; values: number[] }[] = [
  { name: 'learning rate', key: 'lr', values: [1e-4, 1e-3, 1e-2] },
  { name: 'batch size', key: 'batchSize', values: [16, 32, 128] },
  { name: 'kernel size', key: 'kernelSize', values: [3, 5] },
  { name: 'layer count (conv blocks)', key: 'blocks', values: [1, 2, 3] },
];

/** The smallest difference from `accuracy` that the two-proportion test calls real on n test images each. */
function detectable(n: number, accuracy: number): number {
  const base = Math.round(accuracy * n);
  for (let k = 1; k <= n; k++) {
    const up = Math.min(n, base + k);
    if (compareProportions({ correct: up, n }, { correct: base, n }).verdict === 'a' || up === n) return (up - base) / n;
  }
  return 1;
}

/**
 * The base configuration is trained this many more times with other seeds (initialisation
 * and shuffle): the run-to-run spread a single comparison has to beat.
 */
const SEED_REPEATS = 2;

const keyOf = (c: Config) => `lr${c.lr}-b${c.batchSize}-k${c.kernelSize}-n${c.blocks}`;
const labelOf = (c: Config) => `lr ${c.lr}, batch ${c.batchSize}, kernel ${c.kernelSize}, ${c.blocks} block${c.blocks === 1 ? '' : 's'}`;

export const hyperparameters: Experiment = {
  id: '03-hyperparameters',
  number: 3,
  title: 'Hyper-parameters: learning rate, batch size, kernel size, layer count',
  short: 'hyper-parameters',
  summary: 'one-at-a-time sweeps around a base CNN on the same CIFAR-10 subset',
  async run(ctx) {
    const s = bySize(ctx.preset, SIZES);
    const set = await loadImages(ctx, s);
    classificationSettings(ctx, set, { epochs: s.epochs, batchSize: `base ${BASE.batchSize} (swept)`, lr: `base ${BASE.lr} (swept)` });
    ctx.setting('base model', `simpleCnn: ${BASE.blocks} × [Conv ${BASE.kernelSize}×${BASE.kernelSize} → BatchNorm → ReLU → MaxPool 2] → Linear, channels ${s.channels.join(' / ')}`);
    ctx.setting('sweeps', SWEEPS.map((w) => `${w.name}: ${w.values.join(', ')}`).join('; '));

    const runs = new Map<string, RunSummary>();
    const model = (c: Config) =>
      nn.simpleCnn({ inChannels: set.channels, inputSize: set.height, numClasses: set.classes.length, blocks: c.blocks, channels: s.channels.slice(0, c.blocks), kernelSize: c.kernelSize });
    const run = async (c: Config) => {
      const key = keyOf(c);
      const done = runs.get(key);
      if (done) return done;
      const r = await trainClassifier(ctx, set, { key, label: labelOf(c), model: model(c), epochs: s.epochs, batchSize: c.batchSize, lr: c.lr });
      runs.set(key, r);
      return r;
    };

    const accuracy: GroupedRow[] = [];
    const time: { facet: string; x: string; series: string; value: number }[] = [];
    const rows: (string | number)[][] = [];
    const findings: string[] = [];
    for (const sweep of SWEEPS) {
      const results: { value: number; run: RunSummary }[] = [];
      for (const v of sweep.values) results.push({ value: v, run: await run({ ...BASE, [sweep.key]: v }) });
      for (const { value, run: r } of results) {
        const f = finalOf(r);
        const x = String(value);
        const p = testProportion(r);
        const ci = p ? wilson(p) : null;
        accuracy.push(
          { facet: sweep.name, x, series: 'train', value: 100 * (f.trainAccuracy ?? 0) },
          { facet: sweep.name, x, series: 'test', value: 100 * (f.testAccuracy ?? 0), ...(ci ? { low: 100 * ci.low, high: 100 * ci.high } : {}) },
        );
        time.push({ facet: sweep.name, x, series: 'seconds per epoch', value: r.trainSeconds / r.epochs.length });
        rows.push([sweep.name, x, r.parameters, f.trainLoss.toFixed(4), (f.testLoss ?? Number.NaN).toFixed(4), pct(f.trainAccuracy), testCell(r), (r.trainSeconds / r.epochs.length).toFixed(2)]);
      }
      const ranked = [...results].sort((a, b) => (finalOf(b.run).testAccuracy ?? 0) - (finalOf(a.run).testAccuracy ?? 0));
      const [top, bottom] = [ranked[0], ranked[ranked.length - 1]];
      const byTime = [...results].sort((a, b) => a.run.trainSeconds - b.run.trainSeconds);
      const label = (r: { value: number; run: RunSummary }) => ({ ...named(r.run), label: `${sweep.name} ${r.value}` });
      const epochTimes = (r: { value: number; run: RunSummary }) => ({ label: `${sweep.name} ${r.value}`, seconds: r.run.epochs.map((e) => e.seconds) });
      findings.push(
        `${sweep.name}, the highest against the lowest test accuracy: ${compareText(label(top), label(bottom))} ` +
          `Speed, the two ends: ${speedText(epochTimes(byTime[0]), epochTimes(byTime[byTime.length - 1]))}.`,
      );
    }
    // Last, so the sweeps draw the same random numbers whether or not the replicas run.
    const replicas = [runs.get(keyOf(BASE)) as RunSummary];
    for (let k = 1; k <= SEED_REPEATS; k++) {
      const seed = ctx.seed + k;
      wg.manualSeed(seed + 1000 * hyperparameters.number);
      replicas.push(await trainClassifier(ctx, set, { key: `${keyOf(BASE)}-seed${k}`, label: `${labelOf(BASE)}, seed ${seed}`, model: model(BASE), epochs: s.epochs, batchSize: BASE.batchSize, lr: BASE.lr, seed }));
    }
    const seedAccuracies = replicas.map((r) => finalOf(r).testAccuracy ?? 0);
    const seedSpread = Math.max(...seedAccuracies) - Math.min(...seedAccuracies);
    for (const r of replicas.slice(1)) {
      const f = finalOf(r);
      rows.push(['seed (base)', r.label.split(', ').pop() as string, r.parameters, f.trainLoss.toFixed(4), (f.testLoss ?? Number.NaN).toFixed(4), pct(f.trainAccuracy), testCell(r), (r.trainSeconds / r.epochs.length).toFixed(2)]);
    }
    ctx.metric('seedSpread', { keys: replicas.map((r) => r.key), testAccuracy: seedAccuracies, spread: seedSpread });
    ctx.table({ title: 'Final epoch of every configuration', columns: ['swept', 'value', 'parameters', 'train loss', 'test loss', 'train acc.', 'test acc. [95 % CI]', 's / epoch'], rows, note: `Everything else at the base: ${labelOf(BASE)}.` });
    await ctx.chart('accuracy', 'Final accuracy per hyper-parameter value', groupedBars(accuracy, { title: `Final train and test accuracy, one setting changed at a time (${set.name})`, axis: 'accuracy (%)', columns: 4 }),
      `Whiskers: 95 % Wilson intervals of the test accuracy (${set.test.count} test images); chance is ${(100 / set.classes.length).toFixed(0)} %.`);
    await ctx.chart('time', 'Seconds per epoch per hyper-parameter value', groupedBars(time, { title: 'Training seconds per epoch', axis: 'seconds', columns: 4 }));
    const lrRuns = SWEEPS[0].values.map((v) => runs.get(keyOf({ ...BASE, lr: v })) as RunSummary);
    await ctx.chart('curves-learning-rate', 'Learning-rate sweep: curves', curvesChart(lrRuns.map((r) => ({ label: r.label, epochs: r.epochs })), 'Learning rate: loss and accuracy per epoch'));

    ctx.metric('sweeps', SWEEPS.map((w) => ({ name: w.name, values: w.values, keys: w.values.map((v) => keyOf({ ...BASE, [w.key]: v })) })));
    const base = runs.get(keyOf(BASE)) as RunSummary;
    headlineOf(ctx, base, set.name);
    const best = bestText([...runs.values()].map(named), 'configuration', seedSpread);
    const bestRun = [...runs.values()].find((r) => r.label === best.best?.label);
    if (bestRun && bestRun !== base) headlineOf(ctx, bestRun, set.name);
    for (const f of findings) ctx.analysis(f);
    ctx.analysis(
      `Seed to seed: the base configuration trained ${replicas.length} times (seeds ${ctx.seed}–${ctx.seed + SEED_REPEATS}) ended at ${seedAccuracies.map((a) => pct(a)).join(', ')} test accuracy, ` +
        `a spread of ${(100 * seedSpread).toFixed(1)} points: a single run's difference smaller than that is initialisation and shuffle, not the hyper-parameter.`,
    );
    const get = (c: Partial<Config>) => runs.get(keyOf({ ...BASE, ...c })) as RunSummary;
    const [lo, hi] = [get({ lr: 1e-4 }), get({ lr: 1e-2 })];
    const [small, large] = [get({ batchSize: 16 }), get({ batchSize: 128 })];
    ctx.analysis(
      `Over all ${runs.size} configurations (base: ${pct(finalOf(base).testAccuracy)}): ${best.text} ` +
        `Learning rate 1e-4 ended at train loss ${finalOf(lo).trainLoss.toFixed(3)} against ${finalOf(base).trainLoss.toFixed(3)} at 1e-3 and ${finalOf(hi).trainLoss.toFixed(3)} at 1e-2` +
        `${finalOf(lo).trainLoss > finalOf(base).trainLoss ? ': too small a rate learns slowly in so few epochs' : ''}. ` +
        `Batch size and speed: ${speedText({ label: 'batch 128', seconds: large.epochs.map((e) => e.seconds) }, { label: 'batch 16', seconds: small.epochs.map((e) => e.seconds) })}; ` +
        `batch 128 made ${Math.ceil(set.train.count / 128)} optimizer steps per epoch instead of ${Math.ceil(set.train.count / 16)}, ending at ${pct(finalOf(large).testAccuracy)} against ${pct(finalOf(small).testAccuracy)} test accuracy. ` +
        `With ${s.epochs} epoch(s) on ${set.train.count} training and ${set.test.count} test images, the smallest accuracy difference an unpaired test can tell from noise is about ${(100 * detectable(set.test.count, finalOf(base).testAccuracy ?? 0.5)).toFixed(0)} points (two-proportion z-test at 5 %); the paired comparisons above resolve less when two runs agree on most images.`,
    );
  },
};

if (isMain(import.meta.url)) await runAlone(hyperparameters);
