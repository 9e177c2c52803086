/**
 * What the rest of the library sees of a jit trace in progress (./trace.ts): whether one is
 * running, and the three facts it needs from outside the backends. Kept apart from the
 * recorder so that the engine, the tensor class and the op layer can import it without
 * importing the jit.
 */
import type { Storage } from '../backend';

/** The recorder's side of the hooks below; null outside a trace. */
export interface TraceHooks {
  /** A tensor made outside the trace handed its storage to an op. */
  storageRead(owner: object, storage: Storage): void;
  /** A storage reference was made during the trace (a tensor that may outlive it). */
  refMade(ref: object): void;
  /** Host state read by the traced function: `value` now, `next()` at every replay. */
  replayed(value: object, next: () => object): void;
  /** Host state made from replayed state: `value` = f(source) now, f of source's replay value at every replay. */
  replayedFrom(source: object, value: object, f: (source: object) => object): void;
}

let active: TraceHooks | null = null;

export function isTracing(): boolean {
  return active !== null;
}

/** @internal the recorder in progress, for the engine's and the tensor's hooks */
export function activeTrace(): TraceHooks | null {
  return active;
}

/** @internal */
export function setActiveTrace(hooks: TraceHooks | null): void {
  active = hooks;
}

/**
 * Host state that a traced function turns into kernel arguments and that changes from one
 * step to the next: an optimizer's step count and learning rate, random numbers drawn on the
 * host. Outside a jit trace it returns `value`. Inside one it returns `value` too, and every
 * replay calls `next()` (in the order the trace met them, before any kernel runs) and passes
 * its result wherever the trace passed `value` (compared by identity: give a fresh object or
 * array, made for this purpose). `next` runs the host side of the step: it must update the
 * host state as the eager code would (count the step, draw the numbers).
 */
export function replayed<T extends object>(value: T, next: () => T): T {
  active?.replayed(value, next);
  return value;
}

/**
 * Host state that the op layer derives from host state its caller passed through replayed()
 * (an update's scalars from an optimizer's settings): `f(source)`, and at every replay f of
 * that replay's value of `source`. Where `source` was not given to replayed() it is constant
 * for the trace, and so is the result.
 */
export function replayedFrom<T extends object, S extends object>(source: T, f: (source: T) => S): S {
  const value = f(source);
  active?.replayedFrom(source, value, f as unknown as (source: object) => object);
  return value;
}
