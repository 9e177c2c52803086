import { isGradEnabled, tidy } from '../engine';
import { Tensor } from '../tensor';
import { fuseElementwise } from './fuse';
import { fuseBatchNorm } from './fuse-batch-norm';
import { fuseReduce } from './fuse-reduce';
import { fuseProduct } from './fuse-product';
import { freeAtLastUse } from './plan-frees';
import { Program } from './program';
import { JitTraceError, record } from './trace';

export interface JitOptions {
  /** false: every call runs fn eagerly, as if there were no jit (the reference). Default true. */
  enabled?: boolean;
  /** Traces kept, one per argument signature (shapes, dtypes, devices, other values); the oldest goes. Default 8. */
  maxTraces?: number;
  /**
   * Fuse elementwise ops into batch norms' kernels (./fuse-batch-norm.ts), chains of them into
   * one kernel each (./fuse.ts), into reductions (./fuse-reduce.ts) and into the matmuls and
   * convolutions whose results they alone read (./fuse-product.ts). Default true.
   */
  fuse?: boolean;
  /** Free each intermediate right after its last use rather than where the eager run let go of it (./plan-frees.ts). Default true. */
  planBuffers?: boolean;
}

export interface JitStats {
  /** Calls that ran fn eagerly: the first of each signature (it makes lazily created state), or all when disabled. */
  eager: number;
  /** Calls that traced fn (the second of each signature). */
  traces: number;
  /** Calls that replayed a trace. */
  replays: number;
  /** Backend calls per replay of the last trace made. */
  callsPerReplay: number;
}

export interface Jitted<A extends unknown[], R> {
  (...args: A): R;
  readonly stats: Readonly<JitStats>;
  /** Forgets every trace (after a change fn's trace cannot see: a new model, train() ↔ eval()). */
  reset(): void;
}

/** A returned structure with its tensors replaced by their output index. */
type Shape = { tensor: number } | { array: Shape[] } | { object: [string, Shape][] } | { value: unknown };

interface Entry {
  calls: number;
  program?: Program;
  result?: Shape;
}

const objectIds = new WeakMap<object, number>();
let nextObjectId = 0;

function signature(args: readonly unknown[]): string {
  return `${isGradEnabled() ? 'grad' : 'nograd'}|${args
    .map((a) => {
      if (a instanceof Tensor) return `T${a.dtype}[${a.shape.join(',')}]@${a.device}${a.requiresGrad ? '+g' : ''}`;
      if (a === null || typeof a !== 'object') return typeof a === 'function' ? `f${idOf(a)}` : JSON.stringify(a) ?? String(a);
      return `o${idOf(a)}`;
    })
    .join('|')}`;
}

function idOf(o: object): number {
  let id = objectIds.get(o);
  if (id === undefined) objectIds.set(o, (id = nextObjectId++));
  return id;
}

function outline(v: unknown, tensors: [Tensor, string][], path: string): Shape {
  if (v instanceof Tensor) {
    tensors.push([v, path]);
    return { tensor: tensors.length - 1 };
  }
  if (Array.isArray(v)) return { array: v.map((x, i) => outline(x, tensors, `${path}[${i}]`)) };
  if (v !== null && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) {
    return { object: Object.entries(v).map(([k, x]) => [k, outline(x, tensors, `${path}.${k}`)]) };
  }
  return { value: v };
}

function rebuild(s: Shape, tensors: readonly Tensor[]): unknown {
  if ('tensor' in s) return tensors[s.tensor];
  if ('array' in s) return s.array.map((x) => rebuild(x, tensors));
  if ('object' in s) return Object.fromEntries(s.object.map(([k, x]) => [k, rebuild(x, tensors)]));
  return s.value;
}

/**
 * Traces fn and replays it: tinygrad's TinyJit, jax's jit, in the shape of a training step.
 *
 * For each signature of the arguments (tensor shapes, dtypes and devices; other values by
 * value or identity; grad mode), the first call runs fn eagerly, so that state made on first
 * use (optimizer moments, lazily built layers) exists; the second runs it once more while
 * recording the backend program it issues; later calls replay that program with the new
 * tensor arguments, running no JavaScript of fn: no op layer, no autograd records, no tensor
 * objects but the returned ones. Results equal eager ones bit for bit: the same kernels run
 * with the same arguments in the same order.
 *
 * What fn may do: compute with its tensor arguments and with tensors made outside it
 * (parameters, optimizer state, running statistics; read as they stand when each call
 * starts), update them in place or with set_(), and leave gradients on parameters (each
 * replay gives them its new values). It returns tensors it computed, in an array or plain
 * object if several; other values it returns are those of the trace.
 *
 * What it may not: read a tensor's values (data(), item(), dataSync()) or decide on them,
 * which throws a JitTraceError naming the place; depend on host values that change between
 * calls, unless declared with `replayed()` (the optimizers do: step counts, learning rates;
 * the random creation ops do: their draws). A change the trace cannot see (train() to
 * eval(), a new parameter group) needs `reset()`. Results it left on tensors made outside
 * fn and then freed there (zeroGrad between epochs) make the next call trace again.
 */
export function jit<A extends unknown[], R>(fn: (...args: A) => R, opts: JitOptions = {}): Jitted<A, R> {
  const enabled = opts.enabled ?? true;
  const maxTraces = opts.maxTraces ?? 8;
  const entries = new Map<string, Entry>();
  const stats: JitStats = { eager: 0, traces: 0, replays: 0, callsPerReplay: 0 };

  const call = (...args: A): R => {
    if (!enabled) {
      stats.eager++;
      return fn(...args);
    }
    const key = signature(args);
    let entry = entries.get(key);
    if (entry === undefined) {
      if (entries.size >= maxTraces) entries.delete(entries.keys().next().value as string);
      entries.set(key, (entry = { calls: 0 }));
    }
    entry.calls++;
    const inputs = args.filter((a): a is Tensor => a instanceof Tensor);
    if (entry.program && !entry.program.holdersAlive) {
      // Freed outside fn (zeroGrad between epochs): this call traces again.
      entry.program = undefined;
      entry.calls = 2;
    }
    if (entry.program) {
      stats.replays++;
      return rebuild(entry.result!, entry.program.run(inputs)) as R;
    }
    if (entry.calls === 1) {
      stats.eager++;
      return fn(...args);
    }
    let shape: Shape | undefined;
    const returned: Tensor[] = [];
    const { result, trace, outputSlots } = record(
      inputs,
      // Its own scope, so that the frees of every intermediate are part of the trace.
      () => tidy(() => fn(...args)),
      (r) => {
        if (r instanceof Promise) throw new JitTraceError('jit: fn returned a Promise; a traced function must be synchronous (await outside it)');
        const tensors: [Tensor, string][] = [];
        shape = outline(r, tensors, 'result');
        for (const [t] of tensors) returned.push(t);
        return tensors;
      },
    );
    const kept = new Set([...outputSlots, ...trace.holders.map((h) => h.slot)]);
    // Products last: a chain a reduction takes as its prologue never goes to memory at all, so it goes there first.
    const fused = opts.fuse === false ? trace.steps : fuseProduct(fuseReduce(fuseElementwise(fuseBatchNorm(trace.steps, kept), kept), kept), kept);
    entry.program = new Program(
      { ...trace, steps: opts.planBuffers === false ? fused : freeAtLastUse(fused) },
      returned.map((t, i) => ({ slot: outputSlots[i], shape: [...t.shape], dtype: t.dtype, backend: t.backend })),
    );
    entry.result = shape;
    stats.traces++;
    stats.callsPerReplay = entry.program.calls;
    return result;
  };
  return Object.assign(call, {
    stats,
    reset: () => entries.clear(),
  });
}
