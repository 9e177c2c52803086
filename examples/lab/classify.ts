/**
 * The classification runs most experiments share: Adam (or SGD) on cross-entropy over an
 * ImageSet's mini-batches, with the settings, headline rows and comparisons the report needs.
 */
import { createHash } from 'node:crypto';
import * as wg from '@webgrad/tensor';
import * as nn from '@webgrad/nn';
import type { ExperimentContext } from './experiment';
import { type LabImageSet, batches, normaliseText } from './images';
import { type TrainSpec, finalOf, overfitting, trainRun } from './train';
import { int, pct } from './format';
import { type Named, type Proportion, accuracyCell, atChance, bestText, packResults, perImageOf, proportionOf } from './stats';
import type { RunSummary } from './types';

export interface ClassifierRun {
  key: string;
  label: string;
  model: nn.Module;
  epochs: number;
  batchSize: number;
  lr: number;
  optimizer?: 'adam' | 'sgd';
  /** 'cosine': the learning rate falls from lr to 0 over the epochs (a steadier last epoch); default constant. */
  schedule?: 'constant' | 'cosine';
  /** The shuffle's seed (default: the lab's --seed). */
  seed?: number;
  extra?: TrainSpec['extra'];
}

export function optimizerFor(model: nn.Module, kind: 'adam' | 'sgd', lr: number): nn.Optimizer {
  return kind === 'sgd' ? new nn.SGD(model.parameters(), { lr, momentum: 0.9 }) : new nn.Adam(model.parameters(), { lr });
}

export const optimizerText = (kind: 'adam' | 'sgd' = 'adam') => (kind === 'sgd' ? 'SGD, momentum 0.9' : 'Adam (β 0.9, 0.999)');

export async function trainClassifier(ctx: ExperimentContext, set: LabImageSet, r: ClassifierRun): Promise<RunSummary> {
  const testBatch = Math.max(r.batchSize, 64);
  const optimizer = optimizerFor(r.model, r.optimizer ?? 'adam', r.lr);
  return trainRun(ctx, {
    key: r.key,
    label: r.label,
    model: r.model,
    optimizer,
    ...(r.schedule === 'cosine' ? { scheduler: new nn.CosineAnnealingLR(optimizer, { tMax: r.epochs }) } : {}),
    train: batches(set, 'train', r.batchSize, { seed: r.seed ?? ctx.seed, normalise: true }),
    test: batches(set, 'test', testBatch, { normalise: true }),
    epochs: r.epochs,
    batchSize: r.batchSize,
    trainCount: set.train.count,
    testCount: set.test.count,
    classes: set.classes.length,
    extra: r.extra,
    // per-image results of the final model, so runs on the same test images compare paired
    finish: async (model) => ({ testImages: { set: testSetId(set), correct: packResults(await correctOnTest(model, set, testBatch)) } }),
  });
}

/** Names a test set by its name, size and labels: runs with the same id were scored on the same images. */
export function testSetId(set: LabImageSet): string {
  return createHash('sha256').update(set.name).update(Uint8Array.from(set.test.labels)).digest('hex').slice(0, 16);
}

/** 1 for each test image (in the set's order) whose most likely class is its label. */
export async function correctOnTest(model: nn.Module, set: LabImageSet, batchSize = 128): Promise<Uint8Array> {
  const correct = new Uint8Array(set.test.count);
  let at = 0;
  const wasTraining = model.training;
  model.eval();
  try {
    for await (const { x, y } of batches(set, 'test', batchSize, { shuffle: false, normalise: true })) {
      const hit = wg.tidy(() => wg.noGrad(() => model.forward(x).argmax(1).eq(y)));
      correct.set(await hit.data(), at);
      at += x.shape[0];
      for (const t of [hit, x, y]) t.dispose();
    }
  } finally {
    model.train(wasTraining);
  }
  return correct;
}

/** The settings every classification experiment states. */
export function classificationSettings(ctx: ExperimentContext, set: LabImageSet, s: { epochs: number | string; batchSize: number | string; lr: number | string; optimizer?: 'adam' | 'sgd' }): void {
  ctx.setting('data', set.description);
  ctx.setting('train / test images', `${int(set.train.count)} / ${int(set.test.count)}`);
  ctx.setting('input', normaliseText);
  ctx.setting('epochs', s.epochs);
  ctx.setting('batch size', s.batchSize);
  ctx.setting('learning rate', s.lr);
  ctx.setting('optimizer', optimizerText(s.optimizer));
  ctx.setting('loss', 'cross-entropy (mean over the batch)');
}

export function headlineOf(ctx: ExperimentContext, run: RunSummary, data: string): void {
  ctx.headline({ model: run.label, data, epochs: run.epochs.length, seconds: run.wallSeconds, ...finalOf(run), ...(testProportion(run) ? { testCount: run.testCount } : {}) });
}

/** The final epoch's test accuracy as correct-of-n, or null when the run has none. */
export function testProportion(run: RunSummary): Proportion | null {
  const a = finalOf(run).testAccuracy;
  return a === null || !run.testCount ? null : proportionOf(a, run.testCount);
}

/** A classification run as the statistics module names it. */
export function named(run: RunSummary): Named {
  const accuracy = testProportion(run);
  if (!accuracy || !run.classes) throw new Error(`${run.label}: no test accuracy or class count to compare`);
  return { label: run.label, accuracy, classes: run.classes, perImage: perImageOf(run) };
}

/** A table cell: "61.2 % [58.1, 64.2]" (95 % interval), or '–'. */
export function testCell(run: RunSummary): string {
  const p = testProportion(run);
  return p ? accuracyCell(p) : '–';
}

/** The most accurate run, named only when the report's rule (stats.ts) lets it beat the runner-up; else null, and the text says why. */
export function winner(runs: RunSummary[]): { best: RunSummary | null; text: string } {
  const b = bestText(runs.map(named), 'run');
  return { best: runs.find((r) => r.label === b.best?.label) ?? null, text: b.text };
}

/** Where over-fitting shows in a run's curves, in one sentence. */
export function overfitText(run: RunSummary): string {
  const p = testProportion(run);
  if (p && run.classes && atChance(p, run.classes))
    return `${run.label} is at chance level on the test set (${pct(1 / run.classes)} for ${run.classes} classes): it has not learned enough yet to judge over-fitting`;
  const o = overfitting(run);
  const gap =
    o.gap === null
      ? ''
      : o.gap >= 0
        ? `; the final train/test accuracy gap is ${(o.gap * 100).toFixed(1)} points`
        : `; the final test accuracy is ${(-o.gap * 100).toFixed(1)} points above the training accuracy, measured in training mode (dropout on, BatchNorm on batch statistics) while the weights still changed`;
  if (run.epochs.length < 2) return `${run.label} trained for a single epoch, too short to see over-fitting${gap}`;
  return o.rising
    ? `${run.label}'s test loss was lowest after epoch ${o.bestEpoch} and rose afterwards: over-fitting starts there${gap}`
    : `${run.label}'s test loss was still falling at the last epoch (${run.epochs.length}): no over-fitting yet${gap}`;
}

/** counts[true][predicted] of a trained model over a split (eval mode, no gradients). */
export async function confusion(model: nn.Module, set: LabImageSet, split: 'train' | 'test' = 'test'): Promise<number[][]> {
  const k = set.classes.length;
  const total = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  const wasTraining = model.training;
  model.eval();
  try {
    for await (const { x, y } of batches(set, split, 128, { shuffle: false, normalise: true })) {
      const out = wg.noGrad(() => model.forward(x));
      const m = await nn.confusionMatrix(out, y, k);
      m.forEach((row, t) => row.forEach((v, p) => (total[t][p] += v)));
      for (const t of [out, x, y]) t.dispose();
    }
  } finally {
    model.train(wasTraining);
  }
  return total;
}

/** Per-class recall (share of each class's test images classified correctly), with its 95 % interval. */
export function perClassAccuracy(matrix: number[][], classes: string[]): (string | number)[][] {
  return matrix.map((row, i) => {
    const n = row.reduce((a, b) => a + b, 0);
    return [classes[i], n, row[i], n ? accuracyCell({ correct: row[i], n }) : '–'];
  });
}

export const PER_CLASS_COLUMNS = ['class', 'test photos', 'correct', 'accuracy [95 % CI]'];

/** The output shape after each top-level layer of a Sequential, for the report's architecture table. */
export function layerShapes(model: nn.Module, input: number[]): (string | number)[][] {
  const rows: (string | number)[][] = [['input', '', `[${input.join(', ')}]`, '']];
  wg.tidy(() =>
    wg.noGrad(() => {
      let x = wg.zeros([1, ...input]);
      model.eval();
      for (const [name, layer] of model.namedChildren()) {
        x = layer.forward(x);
        rows.push([name, layer.constructor.name, `[${x.shape.slice(1).join(', ')}]`, layer.numParameters()]);
      }
      model.train();
    }),
  );
  return rows;
}
