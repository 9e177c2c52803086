import { type Tensor, getRngState, setRngState } from '@webgrad/tensor';
import type { Module } from '../module';
import type { Optimizer, OptimizerStateDict, ParamState } from '../optim/optimizer';
import type { LRScheduler, SchedulerState } from '../optim/schedulers';
import { type EpochRecord, type History, historyFrom } from '../train/history';
import { loadSafetensors, saveSafetensors } from './file';

const META_KEY = 'webgrad';

export interface CheckpointContent {
  model: Module;
  optimizer?: Optimizer;
  scheduler?: LRScheduler;
  /** Epochs completed. */
  epoch?: number;
  history?: History;
  /** Anything JSON-serialisable the caller wants back. */
  extra?: Record<string, unknown>;
}

interface CheckpointMeta {
  format: 'webgrad-checkpoint';
  version: 1;
  epoch: number;
  /** The generator's state; null stands for "no spare normal" (NaN in JSON). */
  rng: (number | null)[];
  optimizer: { paramGroups: OptimizerStateDict['paramGroups']; scalars: Record<number, Record<string, number>> } | null;
  scheduler: SchedulerState | null;
  history: EpochRecord[];
  extra: Record<string, unknown>;
}

/**
 * Everything needed to resume training bit-for-bit, in one safetensors file (written
 * atomically): the model's state under `model.`, the optimizer's tensors under
 * `optimizer.<param index>.`, and in the metadata the epoch, the RNG state, the optimizer's
 * settings and step counts, the scheduler and the history.
 */
export async function saveCheckpoint(path: string, c: CheckpointContent): Promise<void> {
  const tensors: Record<string, Tensor> = {};
  for (const [k, t] of Object.entries(c.model.stateDict())) tensors[`model.${k}`] = t;
  let optimizer: CheckpointMeta['optimizer'] = null;
  if (c.optimizer) {
    const sd = c.optimizer.stateDict();
    const scalars: Record<number, Record<string, number>> = {};
    for (const [i, s] of Object.entries(sd.state)) {
      for (const [name, v] of Object.entries(s)) {
        if (typeof v === 'number') (scalars[Number(i)] ??= {})[name] = v;
        else tensors[`optimizer.${i}.${name}`] = v;
      }
    }
    optimizer = { paramGroups: sd.paramGroups, scalars };
  }
  const meta: CheckpointMeta = {
    format: 'webgrad-checkpoint',
    version: 1,
    epoch: c.epoch ?? 0,
    rng: getRngState().map((v) => (Number.isNaN(v) ? null : v)),
    optimizer,
    scheduler: c.scheduler?.stateDict() ?? null,
    history: c.history?.epochs ?? [],
    extra: c.extra ?? {},
  };
  await saveSafetensors(path, tensors, { [META_KEY]: JSON.stringify(meta) });
}

export interface LoadCheckpointOptions {
  model: Module;
  optimizer?: Optimizer;
  scheduler?: LRScheduler;
  /** Restore the random generator (default true), so dropout and shuffling continue as before. */
  restoreRng?: boolean;
  /** Passed to model.loadStateDict (default true). */
  strict?: boolean;
}

export interface LoadedCheckpoint {
  epoch: number;
  history: History;
  extra: Record<string, unknown>;
}

/**
 * Restores a checkpoint into existing objects (model on any device; optimizer built on that
 * model's parameters). Names, shapes and dtypes are checked and every difference reported.
 * A plain safetensors state dict (no webgrad metadata) loads into the model alone.
 */
export async function loadCheckpoint(path: string, opts: LoadCheckpointOptions): Promise<LoadedCheckpoint> {
  const { tensors, metadata } = await loadSafetensors(path);
  try {
    const raw = metadata[META_KEY];
    if (!raw) {
      opts.model.loadStateDict(tensors, { strict: opts.strict });
      return { epoch: 0, history: historyFrom([]), extra: {} };
    }
    const meta = JSON.parse(raw) as CheckpointMeta;
    if (meta.format !== 'webgrad-checkpoint' || meta.version !== 1) throw new Error(`loadCheckpoint: ${path} is a ${meta.format} v${meta.version}, expected webgrad-checkpoint v1`);
    const model: Record<string, Tensor> = {};
    for (const [k, t] of Object.entries(tensors)) if (k.startsWith('model.')) model[k.slice(6)] = t;
    try {
      opts.model.loadStateDict(model, { strict: opts.strict });
    } catch (err) {
      throw new Error(`loadCheckpoint(${path}): ${(err as Error).message}`);
    }
    if (opts.optimizer) {
      if (!meta.optimizer) throw new Error(`loadCheckpoint: ${path} holds no optimizer state`);
      const state: Record<number, ParamState> = {};
      for (const [i, s] of Object.entries(meta.optimizer.scalars)) state[Number(i)] = { ...s };
      for (const [k, t] of Object.entries(tensors)) {
        const m = /^optimizer\.(\d+)\.(.+)$/.exec(k);
        if (m) (state[Number(m[1])] ??= {})[m[2]] = t;
      }
      opts.optimizer.loadStateDict({ state, paramGroups: meta.optimizer.paramGroups });
    }
    if (opts.scheduler) {
      if (!meta.scheduler) throw new Error(`loadCheckpoint: ${path} holds no scheduler state`);
      opts.scheduler.loadStateDict(meta.scheduler);
    }
    if (opts.restoreRng ?? true) setRngState(meta.rng.map((v) => (v === null ? Number.NaN : v)));
    return { epoch: meta.epoch, history: historyFrom(meta.history), extra: meta.extra };
  } finally {
    for (const t of Object.values(tensors)) t.dispose();
  }
}
