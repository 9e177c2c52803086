import { type Tensor, getRngState, setRngState, tensor } from '@webgrad/tensor';
import type { Module } from '../module';
import type { Optimizer, OptimizerStateDict, ParamState } from '../optim/optimizer';
import type { LRScheduler, SchedulerState } from '../optim/schedulers';
import { type EpochRecord, type History, historyFrom } from '../train/history';
import { SafetensorsFileError, readSafetensorsAt, writeFileAtomic } from './file';
import { checksumText } from './checksum';
import { dataSection, encodeSafetensors, type RawTensor } from './safetensors';

const META_KEY = 'webgrad';
const VERSION = 2;

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

interface CheckpointMeta {
  format: 'webgrad-checkpoint';
  /** 1: no identity or checksum; 2: both. */
  version: 1 | 2;
  identity?: RunIdentity;
  /** Of the data section (every tensor's bytes), e.g. 'crc32:1a2b3c4d'. */
  checksum?: string;
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
 * model's parameters). Names, shapes and dtypes are checked and every difference reported;
 * the checksum and the run identity are checked before anything is restored. Every error is
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
  const tensors: Record<string, Tensor> = {};
  for (const [name, t] of content.tensors) tensors[name] = tensor(t.data, t.shape, { dtype: t.dtype, device: 'cpu' });
  try {
    if (!meta) {
      opts.model.loadStateDict(tensors, { strict: opts.strict });
      return { epoch: 0, history: historyFrom([]), extra: {}, identity: {} };
    }
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
      try {
        opts.optimizer.loadStateDict({ state, paramGroups: meta.optimizer.paramGroups });
      } catch (err) {
        throw new Error(`loadCheckpoint(${path}): optimizer state: ${(err as Error).message}`);
      }
    }
    if (opts.scheduler) {
      if (!meta.scheduler) throw new Error(`loadCheckpoint: ${path} holds no scheduler state`);
      opts.scheduler.loadStateDict(meta.scheduler);
    }
    if (opts.restoreRng ?? true) setRngState(meta.rng.map((v) => (v === null ? Number.NaN : v)));
    return { epoch: meta.epoch, history: historyFrom(meta.history), extra: meta.extra, identity: meta.identity ?? {} };
  } finally {
    for (const t of Object.values(tensors)) t.dispose();
  }
}

/** The metadata, checked field by field: a damaged one says which field. */
function parseMeta(raw: string, fail: (problem: string) => never): CheckpointMeta {
  let meta: unknown;
  try {
    meta = JSON.parse(raw);
  } catch (err) {
    return fail(`its ${META_KEY} metadata is not valid JSON (${(err as Error).message})`);
  }
  if (typeof meta !== 'object' || meta === null || Array.isArray(meta)) return fail(`its ${META_KEY} metadata is ${JSON.stringify(meta)}, not an object`);
  const m = meta as Partial<CheckpointMeta>;
  if (m.format !== 'webgrad-checkpoint' || (m.version !== 1 && m.version !== 2)) {
    return fail(`it is a ${String(m.format)} v${String(m.version)}, expected webgrad-checkpoint v1 or v${VERSION}`);
  }
  const bad = (field: string, expected: string) => fail(`its metadata field '${field}' is ${JSON.stringify(m[field as keyof CheckpointMeta]) ?? 'missing'}, expected ${expected}`);
  if (!Number.isSafeInteger(m.epoch) || (m.epoch as number) < 0) bad('epoch', 'a non-negative integer');
  if (!Array.isArray(m.rng) || !m.rng.every((v) => v === null || typeof v === 'number')) bad('rng', 'an array of numbers');
  if (!Array.isArray(m.history)) bad('history', 'an array of epoch records');
  if (m.optimizer !== null && (typeof m.optimizer !== 'object' || !Array.isArray(m.optimizer.paramGroups) || typeof m.optimizer.scalars !== 'object')) bad('optimizer', 'null or { paramGroups, scalars }');
  if (typeof m.extra !== 'object' || m.extra === null) bad('extra', 'an object');
  if (m.version === 2 && (typeof m.identity !== 'object' || m.identity === null)) bad('identity', 'an object');
  return m as CheckpointMeta;
}

/** '' when the identities agree, else each differing field as "key: file has A, expected B". */
function identityDifference(expected: RunIdentity, found: RunIdentity): string {
  const keys = [...new Set([...Object.keys(expected), ...Object.keys(found)])];
  return keys
    .filter((k) => String(expected[k]) !== String(found[k]))
    .map((k) => `${k}: the file has ${found[k] === undefined ? 'none' : JSON.stringify(found[k])}, expected ${expected[k] === undefined ? 'none' : JSON.stringify(expected[k])}`)
    .join('; ');
}
