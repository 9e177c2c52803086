import { type Tensor, getRngState, setRngState, tensor } from '@webgrad/tensor';
import type { Module } from '../module';
import type { Optimizer, OptimizerStateDict, ParamState } from '../optim/optimizer';
import type { LRScheduler, SchedulerState } from '../optim/schedulers';
import { type EpochRecord, type History, historyFrom } from '../train/history';
import { SafetensorsFileError, readSafetensorsAt, writeFileAtomic } from './file';
import { checksumText } from './checksum';
import { type CheckpointMeta, META_KEY, VERSION, checkTargets, parseMeta, shown } from './meta';
import { dataSection, encodeSafetensors, nameRecord, type RawTensor, shown as shownText } from './safetensors';


/**
 * Which run a checkpoint belongs to (e.g. experiment, model key, a hash of the options):
 * a checkpoint is only loaded where the caller expects the same identity.
 */
export type RunIdentity = Record<string, string | number>;

/** A checkpoint that cannot be used: names the file, what is wrong, and what to do. */
export class CheckpointError extends Error {
  constructor(
    readonly path: string,
    readonly problem: string,
    readonly remedy: string,
  ) {
    super(`checkpoint ${path}: ${problem}. ${remedy}`);
    this.name = 'CheckpointError';
  }
}

export interface CheckpointContent {
  model: Module;
  optimizer?: Optimizer;
  scheduler?: LRScheduler;
  /** Epochs completed. */
  epoch?: number;
  history?: History;
  /** Anything JSON-serialisable the caller wants back. */
  extra?: Record<string, unknown>;
  /** The run this checkpoint belongs to; loadCheckpoint refuses it where another is expected. */
  identity?: RunIdentity;
}

/**
 * Everything needed to resume training bit-for-bit, in one safetensors file (written
 * atomically): the model's state under `model.`, the optimizer's tensors under
 * `optimizer.<param index>.`, and in the metadata the epoch, the RNG state, the optimizer's
 * settings and step counts, the scheduler, the history, the run identity and a checksum of
 * the tensor bytes.
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
  const raw: Record<string, RawTensor> = {};
  for (const [name, t] of Object.entries(tensors)) raw[name] = { dtype: t.dtype, shape: [...t.shape], data: await t.data() };
  const meta: CheckpointMeta = {
    format: 'webgrad-checkpoint',
    version: VERSION,
    identity: c.identity ?? {},
    checksum: checksumText(concatBytes(Object.values(raw))),
    epoch: c.epoch ?? 0,
    rng: getRngState().map((v) => (Number.isNaN(v) ? null : v)),
    optimizer,
    scheduler: c.scheduler?.stateDict() ?? null,
    history: c.history?.epochs ?? [],
    extra: c.extra ?? {},
  };
  await writeFileAtomic(path, encodeSafetensors(raw, { [META_KEY]: JSON.stringify(meta) }));
}

/** The tensors' bytes in file order: what the data section holds, and what the checksum covers. */
function concatBytes(tensors: RawTensor[]): Uint8Array {
  const parts = tensors.map((t) => new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

export interface LoadCheckpointOptions {
  model: Module;
  optimizer?: Optimizer;
  scheduler?: LRScheduler;
  /** Restore the random generator (default true), so dropout and shuffling continue as before. */
  restoreRng?: boolean;
  /** Passed to model.loadStateDict (default true). */
  strict?: boolean;
  /** The run expected: a checkpoint that records another (or none) is refused. */
  identity?: RunIdentity;
  /** What an error tells the user to do about a damaged or foreign file (default: delete it). */
  remedy?: string;
}

export interface LoadedCheckpoint {
  epoch: number;
  history: History;
  extra: Record<string, unknown>;
  identity: RunIdentity;
}

/**
 * Restores a checkpoint into existing objects (model on any device; optimizer built on that
 * model's parameters). All or nothing: the checksum, the run identity, every metadata field
 * (./meta.ts), the optimizer's and scheduler's fit, and the model's names, shapes and dtypes
 * are checked before anything is restored, and every difference is reported. Every error is
 * a CheckpointError naming the file. A plain safetensors state dict (no webgrad metadata)
 * loads into the model alone.
 */
export async function loadCheckpoint(path: string, opts: LoadCheckpointOptions): Promise<LoadedCheckpoint> {
  const remedy = opts.remedy ?? 'Delete it to start that training run again from scratch';
  const fail = (problem: string): never => {
    throw new CheckpointError(path, problem, remedy);
  };
  let file: Awaited<ReturnType<typeof readSafetensorsAt>>;
  try {
    file = await readSafetensorsAt(path);
  } catch (err) {
    if (err instanceof SafetensorsFileError && err.damaged) fail(`the file is damaged (${err.detail})`);
    throw err;
  }
  const { content, bytes } = file;
  const raw = content.metadata[META_KEY];
  const meta = raw === undefined ? null : parseMeta(raw, fail);
  if (meta) {
    if (meta.version >= 2) {
      const actual = checksumText(dataSection(bytes));
      if (meta.checksum !== actual) fail(`the tensor bytes are damaged (checksum ${actual}, the file records ${meta.checksum ?? 'none'})`);
    }
    if (opts.identity) {
      const differs = identityDifference(opts.identity, meta.identity ?? {});
      if (differs) fail(`it belongs to another run (${differs})`);
    }
  } else if (opts.identity) {
    fail('it records no run identity (a plain state dict or an older checkpoint), so it cannot be resumed as this run');
  }
  const tensors = nameRecord<Tensor>();
  for (const [name, t] of content.tensors) tensors[name] = tensor(t.data, t.shape, { dtype: t.dtype, device: 'cpu' });
  try {
    // Everything is checked before anything is applied: a load is all or nothing.
    if (meta) checkTargets(meta, tensors, opts, fail);
    const model = meta ? modelState(tensors) : tensors;
    try {
      // loadStateDict checks every name, shape and dtype before it copies anything.
      opts.model.loadStateDict(model, { strict: opts.strict });
    } catch (err) {
      fail(`its model state does not fit this ${opts.model.constructor.name}: ${(err as Error).message}`);
    }
    if (!meta) return { epoch: 0, history: historyFrom([]), extra: {}, identity: {} };
    if (opts.optimizer) opts.optimizer.loadStateDict(optimizerState(meta, tensors));
    if (opts.scheduler) opts.scheduler.loadStateDict(meta.scheduler as SchedulerState);
    if (opts.restoreRng ?? true) setRngState(meta.rng.map((v) => (v === null ? Number.NaN : v)));
    return { epoch: meta.epoch, history: historyFrom(meta.history), extra: meta.extra, identity: meta.identity ?? {} };
  } finally {
    for (const t of Object.values(tensors)) t.dispose();
  }
}

/** The model's entries (`model.<name>`) of a checkpoint, by the model's names. */
function modelState(tensors: Record<string, Tensor>): Record<string, Tensor> {
  const model = nameRecord<Tensor>();
  for (const [k, t] of Object.entries(tensors)) if (k.startsWith('model.')) model[k.slice(6)] = t;
  return model;
}

/** The optimizer's state dict from the metadata's settings and step counts and the `optimizer.<i>.<name>` tensors. */
function optimizerState(meta: CheckpointMeta, tensors: Record<string, Tensor>): OptimizerStateDict {
  const { paramGroups, scalars } = meta.optimizer as NonNullable<CheckpointMeta['optimizer']>;
  const state: Record<number, ParamState> = {};
  for (const [i, s] of Object.entries(scalars)) state[Number(i)] = { ...s };
  for (const [k, t] of Object.entries(tensors)) {
    const m = /^optimizer\.(\d+)\.(.+)$/.exec(k);
    if (m) (state[Number(m[1])] ??= {})[m[2]] = t;
  }
  return { state, paramGroups };
}

/** '' when the identities agree, else each differing field as "key: file has A, expected B". */
function identityDifference(expected: RunIdentity, found: RunIdentity): string {
  const keys = [...new Set([...Object.keys(expected), ...Object.keys(found)])];
  return keys
    .filter((k) => String(expected[k]) !== String(found[k]))
    .map((k) => `${shownText(k)}: the file has ${found[k] === undefined ? 'none' : shown(found[k])}, expected ${expected[k] === undefined ? 'none' : shown(expected[k])}`)
    .join('; ');
}
