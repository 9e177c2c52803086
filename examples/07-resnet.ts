/**
 * Experiment 7 — residual networks (LAB.md §4): ResNet-18 against its plain 18-layer twin
 * (the same convolutions without shortcuts), and residual + dilated (a ResNet whose last
 * stage uses HDC's sawtooth [1, 2, 5, 1, 2, 5] instead of further down-sampling). Widths are
 * reduced on a CPU; --full uses the paper's 64.
 *
 *   npx tsx examples/07-resnet.ts [--quick | --full] [--help]
 */
import * as nn from '@webgrad/nn';
import type { Experiment } from './lab/experiment';
import { isMain, runAlone } from './lab/main';
import { type PresetName, bySize } from './lab/presets';
import { loadImages } from './lab/sets';
import { classificationSettings, headlineOf, named, overfitText, testCell, trainClassifier, winner } from './lab/classify';
import { compareText } from './lab/stats';
import { curvesChart } from './lab/charts';
import { int, num, pct } from './lab/format';
import { finalOf, testLossRises } from './lab/train';
import type { RunSummary } from './lab/types';

const SIZES: Record<PresetName, { trainPerClass: number; testPerClass: number; epochs: number; width: number; batchSize: number; lr: number; schedule: 'constant' | 'cosine' }> = {
  quick: { trainPerClass: 6, testPerClass: 4, epochs: 2, width: 2, batchSize: 16, lr: 1e-3, schedule: 'constant' },
  // Models shrunk (width 4) rather than data: 5,000 images give 150+ steps per epoch, enough
  // for BatchNorm's running statistics to follow the weights, and 2,000 test images.
  // The rate falls to 0 by cosine over the run: at a constant rate both networks' test loss
  // rose at the last epoch (measured), which hid how steadily each one learns.
  default: { trainPerClass: 500, testPerClass: 200, epochs: 4, width: 4, batchSize: 32, lr: 1e-3, schedule: 'cosine' },
  // LAB.md §4's reference: batch 512, lr 0.001 (200 epochs for ResNet-18; 100 for plain against residual).
  full: { trainPerClass: Infinity, testPerClass: Infinity, epochs: 100, width: 64, batchSize: 512, lr: 1e-3, schedule: 'constant' },
};

export const resnet: Experiment = {
  id: '07-resnet',
  number: 7,
  title: 'ResNet-18 against its plain 18-layer twin, and residual + dilated',
  short: 'ResNet vs plain',
  summary: 'shortcuts against none at equal depth; a dilated residual network',
  async run(ctx) {
    const s = bySize(ctx.preset, SIZES);
    const set = await loadImages(ctx, s);
    classificationSettings(ctx, set, { epochs: s.epochs, batchSize: s.batchSize, lr: s.schedule === 'cosine' ? `${s.lr}, cosine to 0 over the epochs` : s.lr });
    const common = { width: s.width, inChannels: set.channels, numClasses: set.classes.length };
    const models = [
      { key: 'resnet18', label: `ResNet-18 (width ${s.width})`, model: nn.resnet18(common) },
      { key: 'plain18', label: `plain 18-layer (width ${s.width})`, model: nn.plainNet18(common) },
      { key: 'dilated-resnet', label: `residual + dilated [1, 2, 5, 1, 2, 5] (width ${s.width})`, model: nn.dilatedResNet(common) },
    ];
    ctx.setting('models', `ResNet-18 for 32×32: 3×3 conv w, stages of 2 BasicBlocks at w, 2w /2, 4w /2, 8w /2, average pool, fc; w = ${s.width} (the paper: 64). ` +
      `The plain twin drops every shortcut. Residual + dilated: stem, a w stage, a 2w stage /2, then three residual blocks at 2w with dilations [1, 2, 5, 1, 2, 5] and padding = dilation.`);
    const runs: RunSummary[] = [];
    for (const m of models) runs.push(await trainClassifier(ctx, set, { ...m, epochs: s.epochs, batchSize: s.batchSize, lr: s.lr, schedule: s.schedule }));

    await ctx.chart('curves-residual-vs-plain', 'ResNet-18 against plain-18', curvesChart(runs.slice(0, 2).map((r) => ({ label: r.label, epochs: r.epochs })), `Residual vs plain, 18 layers, ${set.name}`));
    await ctx.chart('curves-all', 'All three networks', curvesChart(runs.map((r) => ({ label: r.label, epochs: r.epochs })), `ResNet-18, plain-18 and residual + dilated, ${set.name}`));
    ctx.table({
      title: 'Final figures',
      columns: ['model', 'parameters', 's / epoch', 'train loss', 'test loss', 'train acc.', 'test acc. [95 % CI]', 'test-loss rises'],
      rows: runs.map((r) => {
        const f = finalOf(r);
        return [r.label, int(r.parameters), (r.trainSeconds / r.epochs.length).toFixed(2), f.trainLoss.toFixed(4), num(f.testLoss), pct(f.trainAccuracy), testCell(r), num(testLossRises(r), 3)];
      }),
      note: 'Test-loss rises: the sum of the epoch-to-epoch increases of the test loss (0: it never went back up; lower is steadier).',
    });
    for (const r of runs) headlineOf(ctx, r, set.name);

    const [res, plain, dil] = runs;
    const fr = finalOf(res);
    const fp = finalOf(plain);
    ctx.analysis(
      `Residual against plain at equal depth: ResNet-18 ended at train loss ${fr.trainLoss.toFixed(3)}, the plain twin at ${fp.trainLoss.toFixed(3)}; on the test set ${compareText(named(res), named(plain))} ` +
        `${fr.trainLoss < fp.trainLoss ? 'The residual network fits the training set better, the effect He et al. describe (plain deep networks train worse, on the training set too, so it is not over-fitting).' : 'Here the plain network fits the training set as well or better: at this width and with so few epochs the degradation problem of deep plain networks does not show yet.'} ` +
        `Test-loss rises (steadiness): ${num(testLossRises(res), 3)} residual against ${num(testLossRises(plain), 3)} plain.`,
    );
    ctx.analysis(`${winner(runs).text} Residual + dilated has ${int(dil.parameters)} parameters against ${int(res.parameters)} for ResNet-18, keeping 16×16 feature maps in its last stage where ResNet-18 goes down to 4×4. ${overfitText(res)}.`);
  },
};

if (isMain(import.meta.url)) await runAlone(resnet);
