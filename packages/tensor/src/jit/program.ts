/**
 * A trace made runnable: each recorded step becomes a closure that binds its arguments from
 * the slot table and calls the backend, so a replay is one pass over a list, with none of
 * the op layer's JavaScript (shape rules, broadcasting, autograd records, tensor objects).
 */
import type { Backend, DType, Storage } from '../backend';
import { Tensor } from '../tensor';
import { type ArgTemplate, type ResultTemplate, type Step, type Trace } from './trace';

type Slots = (Storage | undefined)[];
type Binder = (slots: Slots, host: readonly object[]) => unknown;

function binder(t: ArgTemplate): Binder {
  switch (t.kind) {
    case 'const': {
      const value = t.value;
      return () => value;
    }
    case 'slot': {
      const slot = t.slot;
      return (slots) => slots[slot];
    }
    case 'host': {
      const index = t.index;
      return (_, host) => host[index];
    }
    case 'array': {
      const items = t.items.map(binder);
      return (slots, host) => items.map((b) => b(slots, host));
    }
    case 'object': {
      const entries = t.entries.map(([k, v]) => [k, binder(v)] as const);
      return (slots, host) => {
        const o: Record<string, unknown> = {};
        for (const [k, b] of entries) o[k] = b(slots, host);
        return o;
      };
    }
  }
}

function assigner(r: ResultTemplate): (result: unknown, slots: Slots) => void {
  switch (r.kind) {
    case 'none':
      return () => {};
    case 'storage': {
      const slot = r.slot;
      return (result, slots) => void (slots[slot] = result as Storage);
    }
    case 'fields': {
      const fields = r.fields;
      return (result, slots) => {
        for (const [k, slot] of fields) slots[slot] = (result as Record<string, Storage>)[k];
      };
    }
  }
}

type Runner = (slots: Slots, host: readonly object[]) => void;

function runner(step: Step): Runner {
  const backend = step.backend as unknown as Record<string, (...args: unknown[]) => unknown>;
  if (step.kind === 'dispose') {
    const slot = step.slot;
    return (slots) => {
      backend.dispose(slots[slot]);
      slots[slot] = undefined;
    };
  }
  const method = step.method;
  const args = step.args.map(binder);
  const assign = assigner(step.result);
  const fn = backend[method];
  // Bound once: the backend object's method, not the wrapper a trace put there for a while.
  return (slots, host) => {
    const values = new Array<unknown>(args.length);
    for (let i = 0; i < args.length; i++) values[i] = args[i](slots, host);
    assign(fn.apply(backend, values), slots);
  };
}

export interface OutputSpec {
  readonly slot: number;
  readonly shape: readonly number[];
  readonly dtype: DType;
  readonly backend: Backend;
}

export class Program {
  private readonly runners: Runner[];
  private readonly submitted: (run: () => void) => void;
  /** Calls to backend methods per replay (frees not counted). */
  readonly calls: number;

  constructor(
    private readonly trace: Trace,
    private readonly outputs: readonly OutputSpec[],
  ) {
    this.runners = trace.steps.map(runner);
    // The replay as one submission on every backend that batches its commands (webgpu).
    const batching = [...new Set(trace.steps.map((s) => s.backend))].filter((b) => b.oneSubmission);
    this.submitted = batching.reduce<(run: () => void) => void>((inner, b) => (run) => b.oneSubmission!(() => inner(run)), (run) => run());
    this.calls = trace.steps.filter((s) => s.kind === 'call').length;
  }

  /**
   * Whether the tensors that keep this trace's results between calls (gradients, running
   * statistics) still hold them: a zeroGrad() outside fn frees the gradients, and the trace,
   * which would have given them their new values, must be made again.
   */
  get holdersAlive(): boolean {
    for (const { ref } of this.trace.holders) if (ref.refs <= 0) return false;
    return true;
  }

  /** One replay with these tensor arguments; the output tensors, new, in the order of the trace. */
  run(inputs: readonly Tensor[]): Tensor[] {
    const { trace } = this;
    const slots: Slots = new Array(trace.slotCount);
    const read = new Set<Storage>();
    for (const { slot, index } of trace.inputs) read.add((slots[slot] = inputs[index].storage));
    for (const { slot, bind } of trace.externals) read.add((slots[slot] = bind()));
    const host: object[] = [];
    for (const next of trace.hostValues) host.push(next(host));
    // What the holders keep from the call before and this replay does not read (the gradients
    // that the eager step's zeroGrad frees first) goes now: kept until the end, ResNet-18's
    // 45 MB of gradients would sit beside the step's peak.
    const freed = new Set<Storage>();
    for (const { ref } of trace.holders) {
      if (read.has(ref.storage) || freed.has(ref.storage)) continue;
      freed.add(ref.storage);
      ref.backend.dispose(ref.storage);
    }
    this.submitted(() => {
      for (const run of this.runners) run(slots, host);
    });
    for (const { ref, slot } of trace.holders) {
      const previous = ref.storage;
      ref.storage = slots[slot]!;
      if (previous !== ref.storage && !freed.has(previous)) ref.backend.dispose(previous);
    }
    return this.outputs.map((o) => Tensor.fromStorage(o.backend, slots[o.slot]!, o.shape, o.dtype));
  }
}
