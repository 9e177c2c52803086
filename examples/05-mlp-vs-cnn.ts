/**
 * Experiment 5 — the feed-forward network of the previous lab against the CNN, on the same
 * CIFAR-10 subset with the same optimizer, epochs and batch size (LAB.md §6.5).
 *
 *   npx tsx examples/05-mlp-vs-cnn.ts [--quick | --full] [--help]
 */
import * as nn from '@webgrad/nn';
import type { Experiment } from './lab/experiment';
import { isMain, runAlone } from './lab/main';
import { bySize } from './lab/presets';
import { loadImages } from './lab/sets';
import { classificationSettings, headlineOf, named, overfitText, testCell, trainClassifier } from './lab/classify';
import { compareText } from './lab/stats';
import { barChart, curvesChart } from './lab/charts';
import { int, pct } from './lab/format';
import { finalOf } from './lab/train';

const SIZES = {
  quick: { trainPerClass: 10, testPerClass: 5, epochs: 2, channels: [8, 16, 32], hidden: [64] },
  default: { trainPerClass: 500, testPerClass: 100, epochs: 4, channels: [16, 32, 64], hidden: [256, 128] },
  full: { trainPerClass: Infinity, testPerClass: Infinity, epochs: 50, channels: [32, 64, 128], hidden: [1024, 512] },
};
const BATCH = 32;
const LR = 1e-3;

export const mlpVsCnn: Experiment = {
  id: '05-mlp-vs-cnn',
  number: 5,
  title: 'Feed-forward network against the CNN',
  short: 'MLP vs CNN',
  summary: 'an MLP on flattened pixels against a 3-block CNN, same data and training settings',
  async run(ctx) {
    const s = bySize(ctx.preset, SIZES);
    const set = await loadImages(ctx, s);
    classificationSettings(ctx, set, { epochs: s.epochs, batchSize: BATCH, lr: LR });
    const inputs = set.channels * set.height * set.width;
    const sizes = [inputs, ...s.hidden, set.classes.length];
    ctx.setting('models', `MLP ${sizes.join(' → ')} with ReLU; CNN 3 × [Conv 3×3 → BatchNorm → ReLU → MaxPool 2] → Linear, channels ${s.channels.join(' / ')}`);

    const mlp = await trainClassifier(ctx, set, { key: 'mlp', label: `MLP ${sizes.join('-')}`, model: nn.mlp({ sizes }), epochs: s.epochs, batchSize: BATCH, lr: LR });
    const cnn = await trainClassifier(ctx, set, {
      key: 'cnn',
      label: 'CNN, 3 conv blocks',
      model: nn.simpleCnn({ inChannels: set.channels, inputSize: set.height, numClasses: set.classes.length, channels: s.channels }),
      epochs: s.epochs,
      batchSize: BATCH,
      lr: LR,
    });
    const runs = [mlp, cnn];
    await ctx.chart('curves', 'MLP against CNN: loss and accuracy per epoch', curvesChart(runs.map((r) => ({ label: r.label, epochs: r.epochs })), `MLP vs CNN on ${set.name}`));
    await ctx.chart('parameters', 'Parameters and seconds per epoch', barChart(runs.flatMap((r) => [
      { label: `${r.label}: parameters (thousands)`, value: r.parameters / 1000, group: 'parameters' },
      { label: `${r.label}: seconds per epoch`, value: r.trainSeconds / r.epochs.length, group: 'seconds' },
    ]), { title: 'Model size and training time', axis: 'thousands of parameters / seconds' }));
    ctx.table({
      title: 'Final figures',
      columns: ['model', 'parameters', 's / epoch', 'train loss', 'test loss', 'train acc.', 'test acc. [95 % CI]'],
      rows: runs.map((r) => {
        const f = finalOf(r);
        return [r.label, int(r.parameters), (r.trainSeconds / r.epochs.length).toFixed(2), f.trainLoss.toFixed(4), (f.testLoss ?? Number.NaN).toFixed(4), pct(f.trainAccuracy), testCell(r)];
      }),
    });
    for (const r of runs) headlineOf(ctx, r, set.name);
    ctx.analysis(`${compareText(named(cnn), named(mlp))} The CNN has ${(Math.max(mlp.parameters, cnn.parameters) / Math.min(mlp.parameters, cnn.parameters)).toFixed(1)}× ${mlp.parameters > cnn.parameters ? 'fewer' : 'more'} parameters than the MLP (${int(cnn.parameters)} against ${int(mlp.parameters)}). The CNN shares each 3×3 kernel over every position and keeps the image's neighbourhoods, where the MLP must learn every pixel position separately.`);
    ctx.analysis(`${overfitText(mlp)}. ${overfitText(cnn)}.`);
  },
};

if (isMain(import.meta.url)) await runAlone(mlpVsCnn);
