/**
 * Experiment 8 — the lab's vehicle classification (LAB.md §5): car / minibus / truck, every
 * photo resized to one size, the LAST 25 % of each class (natural file-name order) as the
 * test set; a CNN's accuracy and its confusion matrix.
 *
 *   npx tsx examples/08-vehicles.ts [--quick | --full] [--help]
 */
import { join } from 'node:path';
import * as nn from '@webgrad/nn';
import type { Experiment, ExperimentContext } from './lab/experiment';
import { isMain, runAlone } from './lab/main';
import { bySize } from './lab/presets';
import { loadVehicles } from './lab/sets';
import { PER_CLASS_COLUMNS, classificationSettings, confusion, headlineOf, overfitText, perClassAccuracy, testProportion, trainClassifier } from './lab/classify';
import { accuracyText, chanceText } from './lab/stats';
import { confusionChart, curvesChart } from './lab/charts';
import { classCounts } from './lab/images';
import { duration, int } from './lab/format';

const SIZES = {
  quick: { trainPerClass: 12, testPerClass: 6, epochs: 2, size: 32, channels: [8, 16, 32], batchSize: 16 },
  default: { trainPerClass: Infinity, testPerClass: Infinity, epochs: 6, size: 48, channels: [16, 32, 64], batchSize: 32 },
  full: { trainPerClass: Infinity, testPerClass: Infinity, epochs: 60, size: 96, channels: [32, 64, 128], batchSize: 64 },
};
const LR = 1e-3;
const TEST_PERCENT = 25;

export const vehicles: Experiment = {
  id: '08-vehicles',
  number: 8,
  title: 'Vehicle classification: car / minibus / truck',
  short: 'vehicles',
  summary: 'a CNN on the lab’s three classes, last 25 % of each class as test, with a confusion matrix',
  async run(ctx) {
    const s = bySize(ctx.preset, SIZES);
    const set = await loadVehicles(ctx, { ...s, testPercent: TEST_PERCENT });
    classificationSettings(ctx, set, { epochs: s.epochs, batchSize: s.batchSize, lr: `${LR}, cosine to 0 over the epochs (a steady last epoch: at a constant rate its test accuracy swings by several points)` });
    ctx.setting('per class (train / test)', `${classCounts(set, 'train')} / ${classCounts(set, 'test')}`);
    const model = nn.simpleCnn({ inputSize: s.size, numClasses: set.classes.length, channels: s.channels });
    ctx.setting('model', `3 × [Conv 3×3 → BatchNorm → ReLU → MaxPool 2] → Linear, channels ${s.channels.join(' / ')}, input ${s.size}×${s.size} (${int(model.numParameters())} parameters)`);
    const run = await trainClassifier(ctx, set, { key: 'cnn', label: 'CNN, 3 conv blocks', model, epochs: s.epochs, batchSize: s.batchSize, lr: LR, schedule: 'cosine' });
    const matrix = await confusion(model, set);

    await ctx.chart('curves', 'Loss and accuracy per epoch', curvesChart([{ label: run.label, epochs: run.epochs }], `Vehicles (car / minibus / truck), ${set.name}`));
    await ctx.chart('confusion', 'Confusion matrix on the test set', confusionChart(matrix, set.classes, `Test confusion matrix (${set.test.count} photos, last 25 % of each class)`));
    ctx.table({ title: 'Per-class test accuracy', columns: PER_CLASS_COLUMNS, rows: perClassAccuracy(matrix, set.classes) });
    ctx.table({ title: 'Split per class', columns: ['class', 'files', 'train used', 'test used', 'first test file'], rows: set.perClass.map((c) => [c.name, c.files, c.train, c.test, c.firstTest]) });
    ctx.metric('confusion', { classes: set.classes, matrix });
    headlineOf(ctx, run, set.name);
    await offerModel(ctx, model, s.size);

    const acc = testProportion(run) ?? { correct: 0, n: 0 };
    const off = matrix.flatMap((row, t) => row.map((v, p) => ({ t, p, v }))).filter((c) => c.t !== c.p).sort((a, b) => b.v - a.v)[0];
    ctx.analysis(
      `The CNN classified ${accuracyText(acc)} of the ${set.test.count} test photos correctly, ${chanceText(acc, set.classes.length)}, after ${run.epochs.length} epochs (${duration(run.wallSeconds)}). ` +
        (off && off.v > 0 ? `The most frequent confusion: ${set.classes[off.t]} taken for ${set.classes[off.p]} (${off.v} photos). ` : 'No test photo was confused. ') +
        `${overfitText(run)}.`,
    );
  },
};

/**
 * The trained classifier in this experiment's folder, to take elsewhere: webgrad's weights
 * (the checkpoints folder goes when the run completes), ONNX and PyTorch's state dict.
 */
async function offerModel(ctx: ExperimentContext, model: nn.Module, size: number): Promise<void> {
  const files = { weights: 'vehicles-cnn.safetensors', onnx: 'vehicles-cnn.onnx', pytorch: 'vehicles-cnn.pytorch.safetensors' };
  const input = `[N, 3, ${size}, ${size}], pixels / 255 normalised as (x − 0.5) / 0.25`;
  await nn.saveSafetensors(join(ctx.dir, files.weights), model.stateDict());
  await nn.exportOnnx(model, { inputShape: [1, 3, size, size], path: join(ctx.dir, files.onnx) });
  await nn.saveSafetensors(join(ctx.dir, files.pytorch), model.stateDict({ names: 'pytorch' }));
  const at = (f: string) => `${ctx.result.id}/${f}`;
  ctx.table({
    title: 'The trained model, to take elsewhere',
    columns: ['file', 'format', 'use'],
    rows: [
      [at(files.weights), "safetensors, webgrad's names", 'model.loadStateDict(tensors) of the same nn.simpleCnn'],
      [at(files.onnx), 'ONNX, opset 17, dynamic batch', `onnxruntime (Node, web, mobile, server) or nn.importOnnx; input ${input}, output the 3 class scores`],
      [at(files.pytorch), "safetensors, PyTorch's names", "load_state_dict(strict=True) of simpleCnn's PyTorch twin (its doc comment)"],
    ],
  });
}

if (isMain(import.meta.url)) await runAlone(vehicles);
