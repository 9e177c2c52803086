/**
 * The trace of a jit: the function runs once, eagerly, while every registered backend's
 * methods are wrapped to record each call the op layer makes. What is recorded is the
 * backend-level program of the step (kernels, allocations and frees), with every storage
 * named by a slot:
 * - input slots: the storages of the function's tensor arguments, bound at each replay;
 * - external slots: storages of tensors made outside the trace (parameters, optimizer state,
 *   running statistics), bound through the tensor that handed them over, as it stands when
 *   a replay starts (so a set_() between steps is followed);
 * - internal slots: storages a recorded call made; a replay makes them again.
 * References to internal storages that outlive the trace (gradients, new running statistics)
 * are given each replay's storage in their place (program.ts). Host state the function turns
 * into kernel arguments is declared with replayed() (state.ts) and re-made at each replay.
 */
import type { Backend, Storage } from '../backend';
import { type DataRef, registeredBackends } from '../engine';
import { fmt } from '../shape';
import type { Tensor } from '../tensor';
import { setActiveTrace, type TraceHooks } from './state';

/** A recorded argument: a constant, or what a replay puts in its place. */
export type ArgTemplate =
  | { readonly kind: 'const'; readonly value: unknown }
  | { readonly kind: 'slot'; readonly slot: number }
  | { readonly kind: 'host'; readonly index: number }
  | { readonly kind: 'array'; readonly items: readonly ArgTemplate[] }
  | { readonly kind: 'object'; readonly entries: readonly (readonly [string, ArgTemplate])[] };

/** Where a call's result storages go: the result itself, or some of its fields. */
export type ResultTemplate = { readonly kind: 'none' } | { readonly kind: 'storage'; readonly slot: number } | { readonly kind: 'fields'; readonly fields: readonly (readonly [string, number])[] };

export interface CallStep {
  readonly kind: 'call';
  readonly backend: Backend;
  readonly method: string;
  readonly args: ArgTemplate[];
  readonly result: ResultTemplate;
}
export interface DisposeStep {
  readonly kind: 'dispose';
  readonly backend: Backend;
  readonly slot: number;
}
export type Step = CallStep | DisposeStep;

/** The recorded program of one traced call. */
export interface Trace {
  readonly steps: Step[];
  readonly slotCount: number;
  /** Input slot of each tensor argument (by position among the tensor arguments). */
  readonly inputs: readonly { readonly slot: number; readonly index: number }[];
  /** Storages of tensors made outside the trace, bound through the tensor (or its storage reference) when a replay starts. */
  readonly externals: readonly { readonly slot: number; readonly bind: () => Storage }[];
  /** Each replay's host values, in order; a derived one reads those before it. */
  readonly hostValues: readonly ((host: readonly object[]) => object)[];
  /** References made during the trace that outlive it, with the slot each holds. */
  readonly holders: readonly { readonly ref: DataRef; readonly slot: number }[];
}

/** What fn did that no replay can repeat. */
export class JitTraceError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'JitTraceError';
  }
}

/** Methods that do no work of the step: not recorded, called as they are. */
const UNRECORDED = new Set(['stats', 'sync', 'collectionTurn']);
const READS = new Set(['read', 'readSync']);

const isPlainObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype;
// A result is a storage (a typed array on cpu, a buffer record on webgpu), a plain object of
// them (batchNorm's y, mean, invstd), or nothing.
const isStorage = (v: unknown): v is Storage => v !== null && typeof v === 'object' && !isPlainObject(v) && !Array.isArray(v);

function methodNames(o: object): string[] {
  const names = new Set<string>();
  for (let p: object | null = o; p !== null && p !== Object.prototype; p = Object.getPrototypeOf(p) as object | null) {
    for (const k of Object.getOwnPropertyNames(p)) if (k !== 'constructor' && typeof (o as Record<string, unknown>)[k] === 'function') names.add(k);
  }
  return [...names];
}

/** The frame of the caller that asked for a read, for the error (the op or the user's line). */
/** Where fn read a value: the tensor method (dataSync, item...) and the first frame outside webgrad. */
function readSite(): string {
  const frames = (new Error().stack ?? '').split('\n').slice(1).map((l) => l.trim());
  const read = frames.map((f) => /Tensor\.(data|dataSync|item|array|arraySync|format|print)\b/.exec(f)?.[1]).filter(Boolean).pop();
  const outside = frames.find((f) => !/[/\\](jit[/\\]\w+|tensor)\.[jt]s|Tensor\.(data|dataSync|item|array|arraySync|format|print)|Object\.read/.test(f) && f.startsWith('at '));
  return `${read ? ` with ${read}()` : ''}${outside ? ` (${outside.slice(3)})` : ''}`;
}

function external(owner: Tensor): Storage {
  if (owner.isDisposed) throw new JitTraceError(`jit: a tensor ${fmt(owner.shape)} (${owner.dtype}) that the traced fn reads was disposed since the trace; make a new jit (or reset() it) for the new state`);
  return owner._ref.storage;
}

class Recorder implements TraceHooks {
  readonly steps: Step[] = [];
  private slotCount = 0;
  /** The slot each storage holds now; a freed storage leaves it (a pool may hand the object out again). */
  private readonly slotOf = new Map<Storage, number>();
  private readonly kindOf: ('input' | 'external' | 'internal')[] = [];
  private readonly externals: { slot: number; owner: Tensor; ref: DataRef }[] = [];
  private readonly hostIndex = new Map<object, number>();
  private readonly hostValues: ((host: readonly object[]) => object)[] = [];
  private readonly refs: DataRef[] = [];
  private depth = 0;
  private readonly restore: (() => void)[] = [];
  readonly inputs: { slot: number; index: number }[] = [];

  constructor(inputs: readonly Tensor[]) {
    inputs.forEach((t, index) => {
      const storage = t._ref.storage;
      let slot = this.slotOf.get(storage);
      if (slot === undefined) this.slotOf.set(storage, (slot = this.newSlot('input')));
      this.inputs.push({ slot, index });
    });
  }

  private newSlot(kind: 'input' | 'external' | 'internal'): number {
    this.kindOf.push(kind);
    return this.slotCount++;
  }

  storageRead(owner: object, storage: Storage): void {
    if (this.slotOf.has(storage)) return;
    const slot = this.newSlot('external');
    this.slotOf.set(storage, slot);
    this.externals.push({ slot, owner: owner as Tensor, ref: (owner as Tensor)._ref });
  }

  refMade(ref: object): void {
    this.refs.push(ref as DataRef);
  }

  replayed(value: object, next: () => object): void {
    this.hostIndex.set(value, this.hostValues.length);
    this.hostValues.push(next);
  }

  replayedFrom(source: object, value: object, f: (source: object) => object): void {
    const from = this.hostIndex.get(source);
    if (from === undefined) return;
    this.hostIndex.set(value, this.hostValues.length);
    this.hostValues.push((host) => f(host[from]));
  }

  install(): void {
    for (const backend of registeredBackends()) {
      const target = backend as unknown as Record<string, unknown>;
      for (const name of methodNames(backend)) {
        if (UNRECORDED.has(name)) continue;
        const original = target[name] as (...args: unknown[]) => unknown;
        const own = Object.prototype.hasOwnProperty.call(target, name);
        target[name] = this.wrap(backend, name, original);
        this.restore.push(() => {
          if (own) target[name] = original;
          else delete target[name];
        });
      }
    }
    setActiveTrace(this);
  }

  uninstall(): void {
    setActiveTrace(null);
    for (const r of this.restore.splice(0)) r();
  }

  private wrap(backend: Backend, method: string, original: (...args: unknown[]) => unknown): (...args: unknown[]) => unknown {
    return (...args: unknown[]) => {
      // A backend method calling another (batchNorm's unfused fallback calls unary / binary) is one step.
      if (this.depth > 0) return original.apply(backend, args);
      if (READS.has(method)) {
        throw new JitTraceError(`jit: fn reads a tensor's values${readSite()} while it is traced; a replay runs no JavaScript of fn, so it cannot repeat a read or a decision made on one. Move the read out of fn: return the tensor and read it after the call`);
      }
      if (method === 'dispose') return this.dispose(backend, args[0] as Storage, original);
      const template = args.map((a) => this.template(a));
      this.depth++;
      let result: unknown;
      try {
        result = original.apply(backend, args);
      } finally {
        this.depth--;
      }
      this.steps.push({ kind: 'call', backend, method, args: template, result: this.resultTemplate(result) });
      return result;
    };
  }

  private dispose(backend: Backend, storage: Storage, original: (...args: unknown[]) => unknown): unknown {
    const slot = this.slotOf.get(storage);
    // Freeing what an outside tensor held (set_ replacing running statistics, zeroGrad) is
    // not repeated: at a replay that tensor holds the previous replay's storage, which the
    // replay frees when it hands over the new one.
    if (slot !== undefined && this.kindOf[slot] !== 'external') this.steps.push({ kind: 'dispose', backend, slot });
    this.slotOf.delete(storage);
    return original.call(backend, storage);
  }

  private template(arg: unknown): ArgTemplate {
    if (arg !== null && typeof arg === 'object') {
      const slot = this.slotOf.get(arg as Storage);
      if (slot !== undefined) return { kind: 'slot', slot };
      const host = this.hostIndex.get(arg);
      if (host !== undefined) return { kind: 'host', index: host };
      if (Array.isArray(arg)) {
        const items = arg.map((a) => this.template(a));
        return items.every((t) => t.kind === 'const') ? { kind: 'const', value: arg } : { kind: 'array', items };
      }
      if (isPlainObject(arg)) {
        const entries = Object.entries(arg).map(([k, v]) => [k, this.template(v)] as const);
        return entries.every(([, t]) => t.kind === 'const') ? { kind: 'const', value: arg } : { kind: 'object', entries };
      }
    }
    return { kind: 'const', value: arg };
  }

  private resultTemplate(result: unknown): ResultTemplate {
    if (isStorage(result)) return { kind: 'storage', slot: this.internal(result) };
    if (isPlainObject(result)) {
      const fields = Object.entries(result).filter(([, v]) => isStorage(v)).map(([k, v]) => [k, this.internal(v as Storage)] as const);
      if (fields.length > 0) return { kind: 'fields', fields };
    }
    return { kind: 'none' };
  }

  private internal(storage: Storage): number {
    const slot = this.newSlot('internal');
    this.slotOf.set(storage, slot);
    return slot;
  }

  /** The slot of a tensor returned by fn: made inside it, owned by nothing else. */
  outputSlot(t: Tensor, position: string): number {
    const slot = this.slotOf.get(t._ref.storage);
    if (slot === undefined || this.kindOf[slot] !== 'internal') {
      const what = slot === undefined || this.kindOf[slot] === 'external' ? 'a tensor made outside fn (a parameter or a state)' : 'one of its arguments';
      throw new JitTraceError(`jit: fn returns ${what} at ${position} ${fmt(t.shape)}; return tensors that fn computes (t.clone() makes one)`);
    }
    return slot;
  }

  finish(outputRefs: ReadonlyMap<DataRef, number>): Trace {
    const externals = this.externals.map(({ slot, owner, ref }) => {
      // The tensor that handed the storage over, while it lives (set_ may give it another);
      // else the storage reference, when a view made inside fn handed over a parameter's.
      if (!owner.isDisposed) return { slot, bind: () => external(owner) };
      if (ref.refs > 0) return { slot, bind: () => ref.storage };
      throw new JitTraceError(`jit: fn reads a tensor ${fmt(owner.shape)} (${owner.dtype}) made outside it and then frees it; a replay would have nothing to read. Keep the state that fn updates alive, and update it in place or with set_()`);
    });
    const holders: Trace['holders'][number][] = [];
    for (const ref of this.refs) {
      if (ref.refs === 0) continue;
      const slot = this.slotOf.get(ref.storage);
      if (slot === undefined || this.kindOf[slot] !== 'internal') continue;
      const returned = outputRefs.get(ref);
      if (returned !== undefined) {
        if (ref.refs > returned) throw new JitTraceError('jit: fn returns a tensor that also lives on outside it (a gradient, a state); return a copy (t.clone())');
        continue;
      }
      holders.push({ ref, slot });
    }
    return { steps: this.steps, slotCount: this.slotCount, inputs: this.inputs, externals, hostValues: this.hostValues, holders };
  }
}

/**
 * Runs fn(inputs) once, eagerly, recording the backend program it issues. `collect` turns fn's
 * result into the tensors it returns (with a position for errors) once fn has returned.
 */
export function record<R>(inputs: readonly Tensor[], fn: () => R, collect: (result: R) => [Tensor, string][]): { result: R; trace: Trace; outputSlots: number[] } {
  const recorder = new Recorder(inputs);
  recorder.install();
  let result: R;
  try {
    result = fn();
  } finally {
    recorder.uninstall();
  }
  const outputs = collect(result);
  const outputSlots = outputs.map(([t, position]) => recorder.outputSlot(t, position));
  const outputRefs = new Map<DataRef, number>();
  for (const [t] of outputs) outputRefs.set(t._ref, (outputRefs.get(t._ref) ?? 0) + 1);
  return { result, trace: recorder.finish(outputRefs), outputSlots };
}
