/**
 * Experiment 4 — AlexNet (LAB.md §6.4) on the vehicle photos: every vehicle class found
 * (six in the public set), the last 25 % of each class as the test set. The architecture
 * keeps AlexNet's shape (11×11 stride-4 first layer, 5×5 then three 3×3 convolutions, three
 * 3×3/2 max pools, two dropout fc layers) at the photos' native 100×100 instead of 227×227,
 * with its widths scaled down to fit a CPU.
 *
 *   npx tsx examples/04-alexnet.ts [--quick | --full] [--help]
 */
import * as nn from '@webgrad/nn';
import type { Experiment } from './lab/experiment';
import { isMain, runAlone } from './lab/main';
import { bySize } from './lab/presets';
import { loadVehicles } from './lab/sets';
import { PER_CLASS_COLUMNS, classificationSettings, confusion, headlineOf, layerShapes, overfitText, perClassAccuracy, testProportion, trainClassifier } from './lab/classify';
import { type Proportion, accuracyText, chanceText, compareProportions, pValue } from './lab/stats';
import { confusionChart, curvesChart } from './lab/charts';
import { duration, int, pct } from './lab/format';

const SIZES = {
  quick: { trainPerClass: 8, testPerClass: 4, epochs: 2, width: 1 / 16, batchSize: 16, lr: 1e-3 },
  default: { trainPerClass: 300, testPerClass: 100, epochs: 5, width: 1 / 8, batchSize: 32, lr: 1e-3 },
  full: { trainPerClass: Infinity, testPerClass: Infinity, epochs: 60, width: 1, batchSize: 128, lr: 1e-4 },
};
const INPUT = 100;
const fraction = (w: number) => (w < 1 ? `1/${Math.round(1 / w)}` : String(w));

/**
 * The best and worst recognised classes (recall sorted high to low), named only when the two
 * differ beyond the noise of their few test photos; else the sentence says there is no such pair.
 */
function classRangeText(recall: { c: string; p: Proportion }[]): string {
  if (recall.length < 2) return '';
  const [first, last] = [recall[0], recall[recall.length - 1]];
  const d = compareProportions(first.p, last.p);
  const one = (r: { c: string; p: Proportion }) => `${r.c}, ${accuracyText(r.p)} of its ${r.p.n} test photos`;
  if (d.verdict === 'a') return `Best recognised: ${one(first)}; worst: ${one(last)}: a difference beyond the noise (two-proportion z-test, ${pValue(d.p)}). `;
  return `Per class, recall ran from ${one(first)} to ${one(last)}: within the noise of so few photos (two-proportion z-test, ${pValue(d.p)}), so this run names no best or worst recognised class. `;
}

export const alexnetExperiment: Experiment = {
  id: '04-alexnet',
  number: 4,
  title: 'AlexNet on the vehicle photos',
  short: 'AlexNet',
  summary: 'AlexNet reduced to 100×100 photos and a CPU, all vehicle classes, last 25 % of each class as test',
  async run(ctx) {
    const s = bySize(ctx.preset, SIZES);
    const set = await loadVehicles(ctx, { ...s, size: INPUT, testPercent: 25, classes: 'all' });
    const classes = set.classes;
    classificationSettings(ctx, set, { epochs: s.epochs, batchSize: s.batchSize, lr: s.lr });
    const model = nn.alexnet({ inputSize: INPUT, variant: 'original', width: s.width, numClasses: classes.length, dropout: 0.5 });
    ctx.setting('model', `AlexNet, original layout at ${INPUT}×${INPUT} input, channel and fc widths × ${fraction(s.width)} (${int(model.numParameters())} parameters; the original has 62.4 M), dropout 0.5, ${classes.length} outputs`);
    ctx.table({ title: 'Architecture (output shape after each layer)', columns: ['layer', 'type', 'output [C, H, W]', 'parameters'], rows: layerShapes(model, [3, INPUT, INPUT]) });

    const run = await trainClassifier(ctx, set, { key: 'alexnet', label: `AlexNet (widths × ${fraction(s.width)})`, model, epochs: s.epochs, batchSize: s.batchSize, lr: s.lr });
    const matrix = await confusion(model, set);
    await ctx.chart('curves', 'AlexNet: loss and accuracy per epoch', curvesChart([{ label: run.label, epochs: run.epochs }], `${run.label} on ${set.name}`));
    await ctx.chart('confusion', 'AlexNet: confusion matrix on the test set', confusionChart(matrix, classes, `AlexNet: test confusion matrix (${set.test.count} photos)`));
    ctx.table({ title: 'Per-class test accuracy', columns: PER_CLASS_COLUMNS, rows: perClassAccuracy(matrix, classes) });
    ctx.table({ title: 'Split per class (last 25 % of each class is the test set)', columns: ['class', 'files', 'train used', 'test used', 'first test file'], rows: set.perClass.map((c) => [c.name, c.files, c.train, c.test, c.firstTest]) });
    ctx.metric('confusion', { classes, matrix });
    headlineOf(ctx, run, set.name);

    const acc = testProportion(run) ?? { correct: 0, n: 0 };
    const recall = matrix.map((row, i) => ({ c: classes[i], p: { correct: row[i], n: row.reduce((a, b) => a + b, 0) } })).sort((a, b) => b.p.correct / Math.max(1, b.p.n) - a.p.correct / Math.max(1, a.p.n));
    ctx.analysis(
      `AlexNet reached ${accuracyText(acc)} test accuracy, ${chanceText(acc, classes.length)}, after ${run.epochs.length} epochs of ${int(set.train.count)} photos, in ${duration(run.wallSeconds)}. ` +
        `${classRangeText(recall.filter((r) => r.p.n > 0))}${overfitText(run)}.`,
    );
    const fc = model.modules().filter((m) => m instanceof nn.Linear).reduce((n, m) => n + m.numParameters(), 0);
    const shapes = layerShapes(model, [3, INPUT, INPUT]);
    const lastConv = shapes.filter((r) => r[1] === 'MaxPool2d').pop()?.[2] ?? '?';
    ctx.analysis(
      `The stride-4 first layer and three 3×3/2 pools shrink a ${INPUT}×${INPUT} photo to ${lastConv} before the classifier, and the fully connected layers hold ${pct(fc / model.numParameters())} of the ${int(model.numParameters())} parameters, ` +
        `as in the original (58.6 M of 62.4 M). With ${int(set.train.count)} training photos and dropout, ${run.epochs.length} epochs are far from what such a model needs.`,
    );
  },
};

if (isMain(import.meta.url)) await runAlone(alexnetExperiment);
