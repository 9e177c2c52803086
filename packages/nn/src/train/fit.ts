import { JitTraceError, type Tensor, cat, crossEntropy, jit, tidy } from '@webgrad/tensor';
import type { Module } from '../module';
import type { Optimizer } from '../optim/optimizer';
import type { LRScheduler } from '../optim/schedulers';
import { nodeOnly } from '../platform';
import type { RunIdentity } from '../checkpoint/checkpoint';
import { type TrainingData, asBatchSource, batchesOf } from './data';
import { type EvaluateResult, evaluate } from './evaluate';
import { type EpochRecord, type History, addEpoch, emptyHistory } from './history';
import { NON_FINITE_POLICIES, type NonFinitePolicy, describeNonFinite, divergedError, gradientSum, nonFinite } from './divergence';
import { PROGRESS_MODES, type ProgressMode, createProgress } from './progress';
import { type LossFn, addBatch, lossAndCorrect, newTotals, trainStep } from './step';

export interface BatchInfo {
  epoch: number;
  batch: number;
  loss: number;
  size: number;
}

/** Hooks into the loop. Returning false from onEpochEnd stops training after that epoch. */
export interface Callbacks {
  onEpochBegin?(epoch: number): void | Promise<void>;
  onBatchEnd?(info: BatchInfo): void | Promise<void>;
  onEpochEnd?(record: EpochRecord, history: History): void | boolean | Promise<void | boolean>;
  onTrainEnd?(history: History): void | Promise<void>;
}

export interface FitOptions {
  optimizer: Optimizer;
  epochs: number;
  /** Default cross-entropy (logits and int32 class indices). */
  loss?: LossFn;
  /** Evaluated after every epoch. */
  testData?: TrainingData;
  /** Samples per batch when the data is a Dataset rather than batches (default 32). */
  batchSize?: number;
  /** Stepped once per epoch. */
  scheduler?: LRScheduler;
  callbacks?: Callbacks | Callbacks[];
  /** 'auto' (default): a bar on a terminal, one line per epoch otherwise. */
  progress?: ProgressMode;
  /** Where epoch lines go (default console.log). */
  log?: (line: string) => void;
  /** Clip the gradients' joint 2-norm to this before each step. */
  clipGradNorm?: number;
  /** Resume: the first epoch to run (0-based; the epochs already done) and their history. */
  startEpoch?: number;
  history?: History;
  /** Save a checkpoint here after every `every` epochs (default 1), atomically (Node only), recording `identity`. */
  checkpoint?: { path: string; every?: number; identity?: RunIdentity };
  /** Dispose each batch after its step (default: yes, unless the source is an array, which is reused). */
  disposeBatches?: boolean;
  /**
   * A step whose loss or gradient is NaN or infinite (default 'stop'): 'stop' throws a
   * TrainingDivergedError naming the epoch, the step and the first parameter whose gradient is
   * not finite; 'warn' logs it (once per epoch, then a count) and trains on; 'ignore' does not
   * look. The check rides on the read of the loss that each step makes anyway.
   */
  onNonFinite?: NonFinitePolicy;
  /**
   * Trace the training step once and replay it (the tensor package's `jit`): the same kernels
   * with the same arguments, bit for bit, without the op-by-op JavaScript. Default true;
   * false runs every step eagerly. A step that cannot be traced (a loss function that reads
   * a value) is reported once and the run goes on eagerly.
   */
  jit?: boolean;
}

const pct = (v: number | null) => (v === null ? '' : ` acc ${(100 * v).toFixed(1)}%`);

/**
 * The training loop: epochs of forward, loss, backward and optimizer step,
 * each step inside tidy() so memory stays flat; per epoch the training loss and accuracy, the
 * test loss and accuracy, seconds and images per second, gathered in a history.
 */
export async function fit(model: Module, data: TrainingData, opts: FitOptions): Promise<History> {
  checkOptions(opts);
  const trainData = asBatchSource(data, opts.batchSize, 'fit');
  const lossFn = opts.loss ?? ((o, t) => crossEntropy(o, t));
  const callbacks = opts.callbacks ? (Array.isArray(opts.callbacks) ? opts.callbacks : [opts.callbacks]) : [];
  const dispose = opts.disposeBatches ?? !Array.isArray(trainData);
  const history = opts.history ?? emptyHistory();
  const log = opts.log ?? ((line: string) => console.log(line));
  const warn = opts.log ?? ((line: string) => console.warn(line));
  const saveCheckpoint = opts.checkpoint && nodeOnly.saveCheckpoint;
  if (opts.checkpoint && !saveCheckpoint) throw new Error(`fit: checkpoint files (${opts.checkpoint.path}) need @webgrad/nn's Node entry; in a browser, save with downloadSafetensors`);
  const progress = await createProgress(opts.progress ?? 'auto', log);
  const { optimizer, epochs } = opts;
  const onNonFinite = opts.onNonFinite ?? 'stop';
  const named = onNonFinite === 'ignore' ? [] : model.namedParameters();
  const trainingStep = (x: Tensor, y: Tensor): Tensor => {
    const { loss, output } = trainStep(model, optimizer, x, y, { loss: lossFn, clipGradNorm: opts.clipGradNorm });
    const pair = lossAndCorrect(loss, output, y);
    const gradients = gradientSum(named);
    return gradients ? cat([pair, gradients]) : pair;
  };
  const jitStep = (enabled: boolean) => Object.assign(jit(trainingStep, { enabled }), { enabled });
  let step = jitStep(opts.jit ?? true);
  let lastSaved: number | null = null;
  let knownBatches = trainData.length;
  try {
    for (let epoch = opts.startEpoch ?? 0; epoch < epochs; epoch++) {
      for (const c of callbacks) await c.onEpochBegin?.(epoch);
      model.train();
      const lr = optimizer.paramGroups[0].lr;
      const totals = newTotals();
      let batch = 0;
      progress.startEpoch(epoch + 1, epochs, knownBatches);
      const t0 = performance.now();
      let nonFiniteSteps = 0;
      for await (const { x, y } of batchesOf(trainData, epoch)) {
        let stats: Tensor;
        try {
          stats = tidy(() => step(x, y));
        } catch (err) {
          if (!(err instanceof JitTraceError) || !step.enabled) throw err;
          warn(`fit: warning: the training step cannot be traced, so this run trains without jit (give jit: false to say so): ${err.message}`);
          step = jitStep(false);
          stats = tidy(() => step(x, y));
        }
        // Reading the loss waits for the device, so the timings count the real work.
        const values = await stats.data();
        stats.dispose();
        const n = x.shape[0];
        if (dispose) {
          x.dispose();
          y.dispose();
        }
        addBatch(totals, values, n);
        batch++;
        const finite = Number.isFinite(values[0]) && Number.isFinite(values[2] ?? 0);
        if (onNonFinite !== 'ignore' && !finite && nonFiniteSteps++ === 0) {
          // The gradients are still there (the next step zeroes them), for nonFinite to name them.
          const problem = await nonFinite(values[0], values[2] ?? 0, named);
          const where = { epoch: epoch + 1, epochs, step: batch, lr, checkpoint: lastSaved === null ? undefined : `${opts.checkpoint?.path} (epoch ${lastSaved})` };
          if (problem && onNonFinite === 'stop') throw divergedError(problem, where);
          if (problem) warn(`fit: warning: ${describeNonFinite(problem, where)}; onNonFinite 'warn' trains on (further such steps of this epoch are counted)`);
        }
        progress.update(batch, values[0], totals.count / ((performance.now() - t0) / 1000));
        for (const c of callbacks) await c.onBatchEnd?.({ epoch, batch, loss: values[0], size: n });
      }
      if (nonFiniteSteps > 1) warn(`fit: warning: ${nonFiniteSteps} of the ${batch} steps of epoch ${epoch + 1} had a NaN or infinite loss or gradient`);
      // Gradients are not needed between epochs; freeing them keeps evaluation's memory low.
      optimizer.zeroGrad();
      knownBatches = batch;
      const seconds = (performance.now() - t0) / 1000;
      opts.scheduler?.step();
      let test: EvaluateResult | null = null;
      if (opts.testData) test = await evaluate(model, opts.testData, { loss: lossFn, disposeBatches: opts.disposeBatches, batchSize: opts.batchSize });
      const n = Math.max(totals.count, 1);
      const record: EpochRecord = {
        epoch: epoch + 1,
        trainLoss: totals.loss / n,
        trainAccuracy: totals.classification ? totals.correct / n : null,
        testLoss: test?.loss ?? null,
        testAccuracy: test?.accuracy ?? null,
        seconds,
        imagesPerSecond: totals.count / Math.max(seconds, 1e-9),
        lr,
      };
      addEpoch(history, record);
      progress.endEpoch(
        `epoch ${record.epoch}/${epochs}  train loss ${record.trainLoss.toFixed(4)}${pct(record.trainAccuracy)}` +
          (test ? `  test loss ${test.loss.toFixed(4)}${pct(test.accuracy)}` : '') +
          `  ${seconds.toFixed(1)} s  ${record.imagesPerSecond.toFixed(0)} img/s  lr ${lr}`,
      );
      const every = opts.checkpoint?.every ?? 1;
      if (opts.checkpoint && saveCheckpoint && (epoch + 1) % every === 0) {
        await saveCheckpoint(opts.checkpoint.path, { model, optimizer, scheduler: opts.scheduler, epoch: epoch + 1, history, identity: opts.checkpoint.identity });
        lastSaved = epoch + 1;
      }
      let stop = false;
      for (const c of callbacks) if ((await c.onEpochEnd?.(record, history)) === false) stop = true;
      if (stop) break;
    }
  } finally {
    progress.stop();
  }
  for (const c of callbacks) await c.onTrainEnd?.(history);
  return history;
}

const isCount = (v: unknown, min: number) => Number.isInteger(v) && (v as number) >= min;

/** The options, checked before anything runs: `epochs: NaN` would otherwise train 0 epochs and return. */
function checkOptions(opts: FitOptions): void {
  const bad = (what: string, expected: string, got: unknown) => {
    throw new Error(`fit: ${what} must be ${expected}, got ${typeof got === 'string' ? `'${got}'` : String(got)}`);
  };
  if (typeof opts.optimizer?.step !== 'function' || !Array.isArray(opts.optimizer.paramGroups)) bad('optimizer', 'an Optimizer (e.g. new nn.SGD(model.parameters(), { lr: 0.01 }))', opts.optimizer);
  if (!isCount(opts.epochs, 0)) bad('epochs', 'a non-negative integer', opts.epochs);
  if (opts.startEpoch !== undefined && !isCount(opts.startEpoch, 0)) bad('startEpoch', 'a non-negative integer', opts.startEpoch);
  if (opts.clipGradNorm !== undefined && !(opts.clipGradNorm >= 0)) bad('clipGradNorm', 'a non-negative number', opts.clipGradNorm);
  if (opts.checkpoint?.every !== undefined && !isCount(opts.checkpoint.every, 1)) bad('checkpoint.every', 'a positive integer', opts.checkpoint.every);
  if (opts.onNonFinite !== undefined && !NON_FINITE_POLICIES.includes(opts.onNonFinite)) bad('onNonFinite', `one of ${NON_FINITE_POLICIES.map((p) => `'${p}'`).join(', ')}`, opts.onNonFinite);
  if (opts.progress !== undefined && !PROGRESS_MODES.includes(opts.progress)) bad('progress', `one of ${PROGRESS_MODES.map((p) => `'${p}'`).join(', ')}`, opts.progress);
}
