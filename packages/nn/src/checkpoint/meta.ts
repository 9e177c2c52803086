/**
 * A checkpoint's metadata (the JSON under `webgrad` in its safetensors header), checked in
 * full before loadCheckpoint applies anything: its own shape field by field, then against
 * the optimizer, scheduler and generator it is about to restore. The tensor bytes carry a
 * checksum; the metadata does not, so a hand-edited or damaged value (`lr: "abc"`) must be
 * caught here, or the weights are NaN one step later.
 */
import type { Tensor } from '@webgrad/tensor';
import type { Optimizer, OptimizerStateDict } from '../optim/optimizer';
import type { LRScheduler, SchedulerState } from '../optim/schedulers';
import type { EpochRecord } from '../train/history';
import type { RunIdentity } from './checkpoint';
import { MAX_DEPTH, nestingDepth, shown as shownText } from './safetensors';

export const META_KEY = 'webgrad';
export const VERSION = 2;

export interface CheckpointMeta {
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

/** Reports a problem with the file (the caller's CheckpointError names it). */
export type Fail = (problem: string) => never;

type Check = (v: unknown) => boolean;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isFinite_ = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const atLeast = (min: number): Check => (v) => isFinite_(v) && v >= min;
const integerFrom = (min: number): Check => (v) => Number.isSafeInteger(v) && (v as number) >= min;
const orNull = (c: Check): Check => (v) => v === null || c(v);
const isUint32 = integerFrom(0);
/** A value from the file as a message shows it: JSON (control characters escaped), cut short; parseMeta has bounded its depth. */
export function shown(v: unknown): string {
  const s = JSON.stringify(v);
  if (s === undefined) return 'missing';
  return s.length > 80 ? `${s.slice(0, 80)}… (${s.length} characters)` : s;
}

/**
 * The ranges of the optimizers' settings, as their constructors check them (SGD, Adam,
 * AdamW); a setting not listed must be a finite number, a boolean, or a list of numbers.
 */
const HYPER_RANGES: Record<string, [Check, string]> = {
  lr: [atLeast(0), 'a number ≥ 0'],
  momentum: [atLeast(0), 'a number ≥ 0'],
  dampening: [isFinite_, 'a finite number'],
  weightDecay: [atLeast(0), 'a number ≥ 0'],
  eps: [atLeast(0), 'a number ≥ 0'],
  nesterov: [(v) => typeof v === 'boolean', 'true or false'],
  betas: [(v) => Array.isArray(v) && v.length === 2 && v.every((b) => isFinite_(b) && b >= 0 && b < 1), 'two numbers in [0, 1)'],
};
/** Per-parameter numbers the optimizers keep (Adam's step count). */
const SCALAR_RANGES: Record<string, [Check, string]> = { step: [integerFrom(0), 'an integer ≥ 0'] };

/** The fields of an epoch record and what each holds (null for NaN, which JSON cannot write). */
const RECORD_FIELDS: [keyof EpochRecord, Check][] = [
  ['epoch', integerFrom(1)],
  ['trainLoss', orNull((v) => typeof v === 'number')],
  ['trainAccuracy', orNull(isFinite_)],
  ['testLoss', orNull((v) => typeof v === 'number')],
  ['testAccuracy', orNull(isFinite_)],
  ['seconds', atLeast(0)],
  ['imagesPerSecond', atLeast(0)],
  ['lr', atLeast(0)],
];

/** The metadata, checked field by field: a damaged one says which field. */
export function parseMeta(raw: string, fail: Fail): CheckpointMeta {
  // Nesting is bounded before parsing, as for the header: messages stringify what they quote.
  if (nestingDepth(raw, MAX_DEPTH) > MAX_DEPTH) return fail(`its ${META_KEY} metadata nests deeper than ${MAX_DEPTH} levels`);
  let meta: unknown;
  try {
    meta = JSON.parse(raw);
  } catch (err) {
    return fail(`its ${META_KEY} metadata is not valid JSON (${shownText((err as Error).message)})`);
  }
  if (!isObject(meta)) return fail(`its ${META_KEY} metadata is ${shown(meta)}, not an object`);
  const m = meta as Partial<CheckpointMeta> & Record<string, unknown>;
  if (m.format !== 'webgrad-checkpoint' || (m.version !== 1 && m.version !== 2)) {
    return fail(`it is a ${shown(m.format)} v${shown(m.version)}, expected webgrad-checkpoint v1 or v${VERSION}`);
  }
  const bad = (field: string, value: unknown, expected: string): never => fail(`its metadata field '${field}' is ${shown(value)}, expected ${expected}`);
  if (!integerFrom(0)(m.epoch)) bad('epoch', m.epoch, 'a non-negative integer');
  checkRng(m.rng, bad);
  if (!Array.isArray(m.history)) bad('history', m.history, 'an array of epoch records');
  const history = (m.history as unknown[]).map((r, i) => checkRecord(r, `history[${i}]`, bad));
  if (m.optimizer !== null) checkOptimizer(m.optimizer, bad);
  if (m.scheduler !== null) checkScheduler(m.scheduler, bad);
  if (!isObject(m.extra)) bad('extra', m.extra, 'an object');
  if (m.version === 2 || m.identity !== undefined) {
    if (!isObject(m.identity)) bad('identity', m.identity, 'an object');
    for (const [k, v] of Object.entries(m.identity as object)) if (typeof v !== 'string' && !isFinite_(v)) bad(`identity.${k}`, v, 'a string or a number');
  }
  if (m.checksum !== undefined && typeof m.checksum !== 'string') bad('checksum', m.checksum, 'a string');
  return { ...(m as CheckpointMeta), history };
}

/** xoshiro128**'s four 32-bit words (not all zero: that state only ever yields zeros) and the spare normal. */
function checkRng(rng: unknown, bad: (field: string, value: unknown, expected: string) => never): void {
  const expected = 'four 32-bit unsigned integers, not all zero, then a number or null';
  if (!Array.isArray(rng) || rng.length !== 5) bad('rng', rng, expected);
  const words = (rng as unknown[]).slice(0, 4);
  if (!words.every((w) => isUint32(w) && (w as number) < 2 ** 32) || words.every((w) => w === 0)) bad('rng', rng, expected);
  if (!orNull(isFinite_)((rng as unknown[])[4])) bad('rng', rng, expected);
}

function checkRecord(r: unknown, field: string, bad: (field: string, value: unknown, expected: string) => never): EpochRecord {
  if (!isObject(r)) return bad(field, r, 'an epoch record { epoch, trainLoss, … }');
  for (const [name, ok] of RECORD_FIELDS) if (!ok(r[name])) bad(`${field}.${name}`, r[name], name === 'epoch' ? 'an integer ≥ 1' : 'a number');
  // JSON writes a NaN loss (a diverged epoch kept with onNonFinite 'ignore') as null.
  return { ...(r as unknown as EpochRecord), trainLoss: (r.trainLoss as number | null) ?? Number.NaN };
}

function checkOptimizer(o: unknown, bad: (field: string, value: unknown, expected: string) => never): void {
  if (!isObject(o) || !Array.isArray(o.paramGroups) || !isObject(o.scalars)) return bad('optimizer', o, 'null or { paramGroups, scalars }');
  const seen = new Set<number>();
  o.paramGroups.forEach((g: unknown, gi: number) => {
    const field = `optimizer.paramGroups[${gi}]`;
    if (!isObject(g)) return bad(field, g, 'an object of settings and params');
    if (!Array.isArray(g.params) || !g.params.every((i) => integerFrom(0)(i) && !seen.has(i) && seen.add(i))) bad(`${field}.params`, g.params, 'distinct parameter indices');
    if (!('lr' in g)) bad(`${field}.lr`, undefined, 'a number ≥ 0');
    for (const [name, v] of Object.entries(g)) {
      if (name === 'params') continue;
      const range = HYPER_RANGES[name];
      if (range ? !range[0](v) : !(isFinite_(v) || typeof v === 'boolean' || (Array.isArray(v) && v.every(isFinite_)))) {
        bad(`${field}.${name}`, v, range ? range[1] : 'a finite number, a boolean or a list of numbers');
      }
    }
  });
  for (const [i, s] of Object.entries(o.scalars)) {
    if (!seen.has(Number(i))) bad(`optimizer.scalars.${i}`, s, `the state of one of the ${seen.size} parameters`);
    if (!isObject(s)) bad(`optimizer.scalars.${i}`, s, 'an object of numbers');
    for (const [name, v] of Object.entries(s as object)) {
      const [ok, expected] = SCALAR_RANGES[name] ?? [isFinite_, 'a finite number'];
      if (!ok(v)) bad(`optimizer.scalars.${i}.${name}`, v, expected);
    }
  }
}

function checkScheduler(s: unknown, bad: (field: string, value: unknown, expected: string) => never): void {
  if (!isObject(s)) return bad('scheduler', s, 'null or { lastEpoch, baseLrs, lastLr }');
  if (!integerFrom(-1)(s.lastEpoch)) bad('scheduler.lastEpoch', s.lastEpoch, 'an integer ≥ -1');
  for (const k of ['baseLrs', 'lastLr'] as const) if (!Array.isArray(s[k]) || !(s[k] as unknown[]).every(atLeast(0))) bad(`scheduler.${k}`, s[k], 'a list of learning rates ≥ 0');
}

/**
 * The metadata against what it will be restored into, so that nothing is applied unless
 * everything fits: the optimizer's groups, settings and state tensors, and the scheduler's
 * groups. (The model's state is checked by loadStateDict before it copies anything.)
 */
export function checkTargets(meta: CheckpointMeta, tensors: Record<string, Tensor>, targets: { optimizer?: Optimizer; scheduler?: LRScheduler }, fail: Fail): void {
  const { optimizer, scheduler } = targets;
  if (optimizer) {
    if (!meta.optimizer) fail('it holds no optimizer state');
    const name = optimizer.constructor.name;
    const saved = meta.optimizer!.paramGroups;
    if (saved.length !== optimizer.paramGroups.length) fail(`its optimizer has ${saved.length} parameter groups, this ${name} has ${optimizer.paramGroups.length}`);
    const params = optimizer.paramGroups.flatMap((g) => g.params);
    saved.forEach((g, gi) => {
      const { params: here, ...settings } = optimizer.paramGroups[gi];
      if (g.params.length !== here.length) fail(`its optimizer's group ${gi} has ${g.params.length} parameters, this ${name}'s has ${here.length}`);
      const keys = Object.keys(settings);
      const missing = keys.filter((k) => !(k in g));
      const foreign = Object.keys(g).filter((k) => k !== 'params' && !(k in settings));
      if (missing.length || foreign.length) {
        const parts = [missing.length ? `lacks ${missing.join(', ')}` : '', foreign.length ? `has ${foreign.join(', ')}, which a ${name} does not` : ''].filter(Boolean);
        fail(`its optimizer settings of group ${gi} ${parts.join(' and ')} (a checkpoint of another optimizer?)`);
      }
      for (const k of keys) {
        const here_ = (settings as Record<string, unknown>)[k];
        const there = (g as Record<string, unknown>)[k];
        if (typeof here_ !== typeof there || Array.isArray(here_) !== Array.isArray(there) || (Array.isArray(here_) && here_.length !== (there as unknown[]).length)) {
          fail(`its optimizer setting ${k} of group ${gi} is ${shown(there)}, where this ${name} has ${shown(here_)}`);
        }
      }
    });
    for (const [k, t] of Object.entries(tensors)) {
      const m = /^optimizer\.(\d+)\.(.+)$/.exec(k);
      if (!m) continue;
      const p = params[Number(m[1])];
      if (!p) fail(`it holds optimizer state ${k} for parameter ${m[1]}, but this ${name} has ${params.length} parameters`);
      if (t.size !== p.size || t.dtype !== p.dtype) fail(`its optimizer state ${k} is [${t.shape}] ${t.dtype}, the parameter is [${p.shape}] ${p.dtype}`);
    }
  }
  if (scheduler) {
    if (!meta.scheduler) fail('it holds no scheduler state');
    const groups = scheduler.baseLrs.length;
    for (const k of ['baseLrs', 'lastLr'] as const) {
      if (meta.scheduler![k].length !== groups) fail(`its scheduler has ${meta.scheduler![k].length} ${k} for this ${scheduler.constructor.name}'s ${groups} parameter groups`);
    }
  }
}
