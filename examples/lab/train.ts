/**
 * One training run of an experiment: nn.fit with the lab's progress bar, a checkpoint after
 * every epoch, and resume (a finished run comes back from its summary with its weights; an
 * interrupted one continues from its last epoch).
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import * as nn from '@webgrad/nn';
import type { ExperimentContext } from './experiment';
import type { RunSummary } from './types';
import { num, pct } from './format';

export interface TrainSpec {
  /** Unique within the experiment, safe in a file name. */
  key: string;
  label: string;
  model: nn.Module;
  optimizer: nn.Optimizer;
  /** Stepped after every epoch; saved in the checkpoints with the optimizer. */
  scheduler?: nn.LRScheduler;
  train: nn.BatchSource;
  test?: nn.BatchSource;
  epochs: number;
  loss?: nn.LossFn;
  batchSize: number;
  trainCount: number;
  testCount: number;
  /** Classification: the number of classes. */
  classes?: number;
  /** Extra figures stored with the run. */
  extra?: RunSummary['extra'];
  /** Runs once on the trained model; what it returns is stored in the run's summary. */
  finish?: (model: nn.Module) => Promise<Partial<RunSummary>>;
}

export async function trainRun(ctx: ExperimentContext, spec: TrainSpec): Promise<RunSummary> {
  const store = ctx.store;
  const ckpt = store.checkpointPath(spec.key);
  const finished = store.finished(spec.key);
  const identity: nn.RunIdentity = { ...ctx.runIdentity, run: spec.key, model: modelSignature(spec.model) };
  const remedy = `Delete it and resume again: that training run (${spec.label}) then starts over`;
  if (finished && existsSync(ckpt)) {
    // The generator as this run left it, so the runs after it start as they did uninterrupted.
    await nn.loadCheckpoint(ckpt, { model: spec.model, identity, remedy });
    ctx.log(`${spec.label}: finished before the interruption, weights reloaded`);
    ctx.addRun(finished);
    return finished;
  }
  let startEpoch = 0;
  let history: nn.History | undefined;
  if (existsSync(ckpt)) {
    const loaded = await nn.loadCheckpoint(ckpt, { model: spec.model, optimizer: spec.optimizer, scheduler: spec.scheduler, identity, remedy });
    startEpoch = loaded.epoch;
    history = loaded.history;
    ctx.log(`${spec.label}: resuming after epoch ${startEpoch}`);
  }
  const batches = spec.train.length ?? Math.ceil(spec.trainCount / spec.batchSize);
  ctx.progress.startRun(spec.label, spec.epochs, batches, startEpoch);
  const t0 = performance.now();
  const result = await nn.fit(spec.model, spec.train, {
    optimizer: spec.optimizer,
    scheduler: spec.scheduler,
    epochs: spec.epochs,
    loss: spec.loss,
    testData: spec.test,
    progress: 'none',
    jit: ctx.jit,
    startEpoch,
    history,
    checkpoint: { path: ckpt, identity },
    callbacks: {
      onBatchEnd: (b) => ctx.progress.batch(b.epoch, b.batch, b.loss),
      onEpochEnd: (r) => {
        const acc = r.trainAccuracy === null ? '' : ` acc ${pct(r.trainAccuracy)}`;
        const test = r.testLoss === null ? '' : `  test loss ${num(r.testLoss)}${r.testAccuracy === null ? '' : ` acc ${pct(r.testAccuracy)}`}`;
        ctx.log(`  ${spec.label}  epoch ${r.epoch}/${spec.epochs}  train loss ${num(r.trainLoss)}${acc}${test}  ${r.seconds.toFixed(1)} s`);
        ctx.epochSaved();
      },
    },
  });
  ctx.progress.endRun();
  const summary: RunSummary = {
    key: spec.key,
    label: spec.label,
    parameters: spec.model.numParameters(),
    epochs: result.epochs,
    trainSeconds: result.seconds.reduce((a, b) => a + b, 0),
    wallSeconds: (performance.now() - t0) / 1000,
    trainCount: spec.trainCount,
    testCount: spec.testCount,
    batchSize: spec.batchSize,
    ...(spec.classes ? { classes: spec.classes } : {}),
    extra: spec.extra ?? {},
    ...(spec.finish ? await spec.finish(spec.model) : {}),
  };
  store.saveFinished(summary);
  ctx.addRun(summary);
  return summary;
}

/** The model's parameter names and shapes, hashed: a checkpoint of another architecture is refused by name. */
function modelSignature(model: nn.Module): string {
  const text = Object.entries(model.stateDict()).map(([k, t]) => `${k}[${t.shape}]`).join(';');
  return createHash('sha256').update(text).digest('hex').slice(0, 16);
}

export const last = <T>(a: readonly T[]): T => a[a.length - 1];

/** The final epoch's figures of a run, for headline rows and analyses. */
export function finalOf(run: RunSummary) {
  const e = last(run.epochs);
  return { trainLoss: e.trainLoss, testLoss: e.testLoss, trainAccuracy: e.trainAccuracy, testAccuracy: e.testAccuracy };
}

/** The epoch with the lowest test loss, and whether the test loss rose after it (over-fitting). */
export function overfitting(run: RunSummary): { bestEpoch: number; rising: boolean; gap: number | null } {
  let best = 0;
  run.epochs.forEach((e, i) => {
    if (e.testLoss !== null && (run.epochs[best].testLoss === null || e.testLoss < (run.epochs[best].testLoss as number))) best = i;
  });
  const f = last(run.epochs);
  const gap = f.trainAccuracy !== null && f.testAccuracy !== null ? f.trainAccuracy - f.testAccuracy : null;
  return { bestEpoch: best + 1, rising: best < run.epochs.length - 1, gap };
}

/** How far a run's test loss went back up: the sum of its epoch-to-epoch increases (0: never; null: no test loss). */
export function testLossRises(run: RunSummary): number | null {
  const t = run.epochs.map((e) => e.testLoss).filter((v): v is number => v !== null);
  if (t.length < 2) return null;
  let s = 0;
  for (let i = 1; i < t.length; i++) s += Math.max(0, t[i] - t[i - 1]);
  return s;
}
