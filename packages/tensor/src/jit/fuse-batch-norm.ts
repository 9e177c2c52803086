/**
 * The jit's batch-norm fusion: the elementwise ops next to a batch norm go into its kernels
 * (the backends' epilogue and prologue arguments, backend.ts), so that on WebGPU a
 * `bn → ReLU` or `bn + shortcut → ReLU` forward is the batch norm's dispatches (1, or 2 for
 * a large batch), and a `ReLU gradient → bn backward` is the backward's, and on the cpu the
 * activation is applied to each row while it is in cache.
 *
 * Forward: the recorded ops that read the batch norm's output and nothing else (each read
 * once, by the next), float32, of its shape, become its epilogue (at most MAX_EPILOGUE);
 * a binary op's other operand (the shortcut) must exist when the batch norm runs, and no
 * call in between may touch it. Backward: a binary op whose result only the batch-norm
 * backward reads, as its gy, becomes its prologue, when no call in between touches that op's
 * operands. Each backend computes these bit for bit as the separate calls (its tests say so).
 */
import type { ElementwiseKernelOp } from '@webgrad/kernels-ir';
import type { ArgTemplate, Step } from './trace';
import { type Elementwise, constOf, passContext, rewrite, sameShape, slotsOf } from './fuse';

/** The longest epilogue the backends fuse in one kernel (longer ones they would split anyway). */
const MAX_EPILOGUE = 4;
/** Binary ops whose operands may be swapped so that the batch norm's output is x. */
const COMMUTATIVE = new Set(['add', 'mul']);

const slotArg = (t: ArgTemplate | undefined): number | null => (t?.kind === 'slot' ? t.slot : null);
/** The constant numbers of a parameters argument (an object whose other fields may name slots: p.running). */
function numbersOf(t: ArgTemplate | undefined): Record<string, number> {
  const out: Record<string, number> = {};
  const entries = t?.kind === 'const' && t.value !== null && typeof t.value === 'object' ? Object.entries(t.value) : t?.kind === 'object' ? t.entries.map(([k, v]) => [k, constOf(v)] as const) : [];
  for (const [k, v] of entries) if (typeof v === 'number') out[k] = v;
  return out;
}
const slot = (s: number): ArgTemplate => ({ kind: 'slot', slot: s });
const constant = (value: unknown): ArgTemplate => ({ kind: 'const', value });

/** Whether a call strictly between steps `from` and `to` (other than elementwise ones, which write nothing in place) names any of `slots`. */
export function touchedBetween(steps: readonly Step[], ops: readonly (Elementwise | null)[], from: number, to: number, slots: readonly number[]): boolean {
  for (let k = from + 1; k < to; k++) {
    const s = steps[k];
    if (s.kind !== 'call' || ops[k]) continue;
    if (s.args.some((a) => slotsOf(a, []).some((x) => slots.includes(x)))) return true;
  }
  return false;
}

/**
 * The trace's steps with batch norms' neighbouring elementwise ops fused into them. `kept`:
 * slots that must stay materialised (outputs, what outlives the trace).
 */
export function fuseBatchNorm(steps: readonly Step[], kept: ReadonlySet<number>): Step[] {
  const { ops, producer, soleReader, rewrite: r } = passContext(steps, kept);
  const { replaced, removed, gone, holdUntil } = r;
  const availableAt = (x: number, i: number) => (producer.get(x) ?? -1) < i;

  steps.forEach((s, i) => {
    if (s.kind !== 'call') return;
    if (s.method === 'batchNorm' && s.result.kind === 'fields' && s.args.length === 5 && constOf(s.args[4]) === 'float32') {
      const fields = new Map(s.result.fields);
      const y = fields.get('y');
      if (y === undefined) return;
      const p = numbersOf(s.args[3]);
      const size = p.n * p.c * p.s;
      if (!Number.isInteger(size)) return;
      const epilogue: ArgTemplate[] = [];
      let current = y;
      for (;;) {
        if (epilogue.length === MAX_EPILOGUE) break;
        const j = soleReader(current);
        const e = j === null ? null : ops[j];
        if (j === null || !e || e.size !== size || removed.has(j)) break;
        const step = epilogueStep(e, current, size);
        if (!step) break;
        if (step.residual !== null && (!availableAt(step.residual, i) || touchedBetween(steps, ops, i, j, [step.residual]))) break;
        epilogue.push(step.template);
        removed.add(j);
        gone.add(current);
        current = e.result;
      }
      if (epilogue.length === 0) return;
      replaced.set(i, {
        ...s,
        args: [...s.args, epilogue.length === 1 ? epilogue[0] : { kind: 'array', items: epilogue }],
        result: { kind: 'fields', fields: s.result.fields.map(([k, x]) => [k, k === 'y' ? current : x] as const) },
      });
      return;
    }
    if (s.method === 'batchNormBackward' && s.args.length === 7 && constOf(s.args[6]) === 'float32') {
      const g = slotArg(s.args[0]);
      if (g === null || soleReader(g) !== i) return;
      const pi = producer.get(g);
      const e = pi === undefined ? null : ops[pi];
      if (pi === undefined || !e || removed.has(pi) || e.operands.length !== 2 || !e.outShape) return;
      const [gy, y] = e.operands;
      if (!gy.shape || !y.shape || !sameShape(gy.shape, e.outShape) || !sameShape(y.shape, e.outShape)) return;
      if (touchedBetween(steps, ops, pi, i, [gy.slot, y.slot])) return;
      removed.add(pi);
      gone.add(g);
      for (const x of [gy.slot, y.slot]) holdUntil.set(x, Math.max(holdUntil.get(x) ?? -1, i));
      replaced.set(i, { ...s, args: [slot(gy.slot), ...s.args.slice(1), { kind: 'object', entries: [['op', constant(e.op)], ['y', slot(y.slot)]] }] });
    }
  });

  return rewrite(steps, r);
}

/** An elementwise op reading the value so far (`from`) as one epilogue step, or null when it cannot be one. */
function epilogueStep(e: Elementwise, from: number, size: number): { template: ArgTemplate; residual: number | null } | null {
  const op: ElementwiseKernelOp = e.op;
  if (e.operands.length === 1) {
    return { template: { kind: 'object', entries: [['op', constant(op)], ['a', constant(e.a)], ['b', constant(e.b)]] }, residual: null };
  }
  const [x, y] = e.operands;
  const full = (shape: readonly number[] | null) => shape !== null && shape.reduce((n, d) => n * d, 1) === size && e.outShape !== null && sameShape(shape, e.outShape);
  if (!full(x.shape) || !full(y.shape) || x.slot === y.slot) return null;
  let residual: number;
  if (x.slot === from) residual = y.slot;
  else if (COMMUTATIVE.has(op.name)) residual = x.slot;
  else return null;
  return { template: { kind: 'object', entries: [['op', constant(op)], ['residual', slot(residual)]] }, residual };
}
