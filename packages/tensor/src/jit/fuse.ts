/**
 * The jit's elementwise fusion: chains of recorded `unary` and `binary` calls whose
 * intermediate results nothing else reads become one `fused` call (kernels-ir's fused ops),
 * one pass over memory and one kernel instead of one per op. A residual block's add then
 * ReLU, or the backward's gradient sum then ReLU gradient, are such chains.
 *
 * A chain fuses when each intermediate is float32, has the chain's output shape, is read
 * by the next op of the chain alone (once, or twice as in d · d), and is not kept (returned, held by a gradient, made
 * outside); when the chain has at most MAX_FUSED_ARITY distinct inputs; when no call between
 * a producer and its consumer touches the producer's inputs (it might write them in place);
 * and, on the cpu backend, when the fused kernel gives the bits of the ops run one by one
 * (kernels-wasm's fusesBitwise), so jit and eager agree exactly there. WebGPU's fused
 * kernels agree within float32 rounding of its math functions.
 */
import { type ElementwiseKernelOp, type Expr, MAX_FUSED_ARITY, expr as E, fusedOp, inlineOp, sizeOf } from '@webgrad/kernels-ir';
import { fusesBitwise } from '@webgrad/kernels-wasm';
import type { Shape } from '../backend';
import type { ArgTemplate, CallStep, Step } from './trace';

/** A recorded unary/binary call, read back from its arguments. */
export interface Elementwise {
  readonly index: number;
  readonly op: ElementwiseKernelOp;
  /** Operand slots and their shapes (a unary op's operand has the output's size, flat). */
  readonly operands: readonly { readonly slot: number; readonly shape: Shape | null }[];
  readonly outShape: Shape | null;
  readonly size: number;
  readonly a: number;
  readonly b: number;
  readonly result: number;
}

/** A template's constant value; NOT_CONST where a replay supplies it. */
export const constOf = (t: ArgTemplate | undefined): unknown => (t === undefined ? undefined : t.kind === 'const' ? t.value : NOT_CONST);
const NOT_CONST = Symbol('not constant');

/** The call as an elementwise op fusion can take: float32 in and out, operands in slots, constant settings. */
export function elementwise(step: Step, index: number): Elementwise | null {
  if (step.kind !== 'call' || step.result.kind !== 'storage') return null;
  const c = step.args.map(constOf);
  const slot = (t: ArgTemplate) => (t.kind === 'slot' ? t.slot : null);
  if (step.method === 'unary') {
    const [op, , size, inDtype, outDtype, a, b] = c;
    const x = slot(step.args[1]);
    if (x === null || inDtype !== 'float32' || outDtype !== 'float32' || typeof size !== 'number') return null;
    if ((a !== undefined && typeof a !== 'number') || (b !== undefined && typeof b !== 'number')) return null;
    return { index, op: op as ElementwiseKernelOp, operands: [{ slot: x, shape: null }], outShape: null, size, a: (a as number) ?? 0, b: (b as number) ?? 0, result: step.result.slot };
  }
  if (step.method === 'binary') {
    const [op, , aShape, , bShape, outShape, inDtype, outDtype] = c;
    const x = slot(step.args[1]);
    const y = slot(step.args[3]);
    if (x === null || y === null || inDtype !== 'float32' || outDtype !== 'float32') return null;
    if (!Array.isArray(aShape) || !Array.isArray(bShape) || !Array.isArray(outShape)) return null;
    return {
      index, op: op as ElementwiseKernelOp, operands: [{ slot: x, shape: aShape }, { slot: y, shape: bShape }],
      outShape: outShape as Shape, size: sizeOf(outShape as Shape), a: 0, b: 0, result: step.result.slot,
    };
  }
  return null;
}

/** Every slot an argument template names. */
export function slotsOf(t: ArgTemplate, out: number[]): number[] {
  if (t.kind === 'slot') out.push(t.slot);
  else if (t.kind === 'array') for (const i of t.items) slotsOf(i, out);
  else if (t.kind === 'object') for (const [, v] of t.entries) slotsOf(v, out);
  return out;
}

export const sameShape = (a: Shape, b: Shape) => a.length === b.length && a.every((d, i) => d === b[i]);

/** The calls that read each slot, by step index (a slot read twice by one call counts twice). */
export function readersOf(steps: readonly Step[]): Map<number, number[]> {
  const readers = new Map<number, number[]>();
  steps.forEach((s, i) => {
    if (s.kind !== 'call') return;
    for (const a of s.args) for (const slot of slotsOf(a, [])) {
      let r = readers.get(slot);
      if (!r) readers.set(slot, (r = []));
      r.push(i);
    }
  });
  return readers;
}

/**
 * A chain being grown: its ops (producers first), its leaf inputs and its output shape (null
 * while it has only unary ops, which see flat sizes). A leaf's shape is null where a unary op
 * reads it: then it has the output's shape, whatever that turns out to be.
 */
interface Group {
  members: Elementwise[];
  leaves: Leaf[];
  shape: Shape | null;
}
interface Leaf {
  slot: number;
  shape: Shape | null;
}

/**
 * The trace's steps with fusable chains replaced by `fused` calls. `kept` are the slots that
 * must stay materialised: the function's outputs and what outlives the trace.
 */
export function fuseElementwise(steps: readonly Step[], kept: ReadonlySet<number>): Step[] {
  const ops = steps.map(elementwise);
  const readers = readersOf(steps);

  // The group each fused-away producer joined, by the index of the chain's last op.
  const groupOf = new Map<number, Group>();
  const groupAt = (i: number): Group => {
    let g = groupOf.get(i);
    if (!g) {
      const e = ops[i]!;
      g = { members: [e], leaves: mergeLeaves(e.operands, []), shape: e.outShape };
      groupOf.set(i, g);
    }
    return g;
  };

  for (let i = 0; i < steps.length; i++) {
    const producer = ops[i];
    if (!producer || kept.has(producer.result)) continue;
    const r = readers.get(producer.result) ?? [];
    // one consumer, which may read it more than once (d · d)
    if (r.length === 0 || r.some((k) => k !== r[0])) continue;
    const j = r[0];
    const consumer = ops[j];
    if (!consumer || consumer.size !== producer.size) continue;
    const into = consumer.operands.filter((o) => o.slot === producer.result);
    if (into.some((o) => o.shape && consumer.outShape && !sameShape(o.shape, consumer.outShape))) continue;
    const mine = groupAt(i);
    const theirs = groupAt(j);
    if (mine.shape && theirs.shape && !sameShape(mine.shape, theirs.shape)) continue;
    // Moving the producer's reads down to its consumer: nothing in between may touch its inputs.
    const inputs = new Set(mine.leaves.map((l) => l.slot));
    let touched = false;
    for (let k = i + 1; k < j && !touched; k++) {
      const s = steps[k];
      if (s.kind === 'call' && !ops[k]) touched = s.args.some((a) => slotsOf(a, []).some((slot) => inputs.has(slot)));
    }
    if (touched) continue;
    const leaves = mergeLeaves(theirs.leaves.filter((l) => l.slot !== producer.result), mine.leaves);
    if (leaves.length > MAX_FUSED_ARITY) continue;
    const members = [...mine.members, ...theirs.members].sort((a, b) => a.index - b.index);
    const backend = (steps[j] as CallStep).backend;
    if (backend.name === 'cpu' && !fusesBitwise(members.map((m) => m.op.expr))) continue;
    const merged: Group = { members, leaves, shape: theirs.shape ?? mine.shape };
    for (const m of members) groupOf.set(m.index, merged);
  }

  const replaced = new Map<number, Step>();
  const removed = new Set<number>();
  const gone = new Set<number>();
  const holdUntil = new Map<number, number>();
  for (const g of new Set(groupOf.values())) {
    if (g.members.length === 1) continue;
    const root = g.members[g.members.length - 1];
    replaced.set(root.index, fusedCall(steps[root.index] as CallStep, g, root));
    for (const m of g.members) {
      if (m === root) continue;
      removed.add(m.index);
      gone.add(m.result);
    }
    // The leaves are read where the root runs: their frees before it wait for it.
    for (const l of g.leaves) holdUntil.set(l.slot, Math.max(holdUntil.get(l.slot) ?? -1, root.index));
  }
  return rewrite(steps, { replaced, removed, gone, holdUntil });
}

/** What every fusion pass looks up in a trace, and the rewrite it fills in. */
export function passContext(steps: readonly Step[], kept: ReadonlySet<number>) {
  const readers = readersOf(steps);
  /** The call that makes each slot (a result or a field of one). */
  const producer = new Map<number, number>();
  steps.forEach((s, i) => {
    if (s.kind !== 'call') return;
    if (s.result.kind === 'storage') producer.set(s.result.slot, i);
    else if (s.result.kind === 'fields') for (const [, x] of s.result.fields) producer.set(x, i);
  });
  return {
    ops: steps.map(elementwise),
    producer,
    /** The one call that reads `x` (once), when nothing keeps it; else null. */
    soleReader: (x: number): number | null => {
      const r = readers.get(x);
      return !kept.has(x) && r?.length === 1 ? r[0] : null;
    },
    rewrite: { replaced: new Map<number, Step>(), removed: new Set<number>(), gone: new Set<number>(), holdUntil: new Map<number, number>() },
  };
}

/** What a fusion pass changes in a trace's steps. */
export interface Rewrite {
  /** Steps replaced in place, by index. */
  replaced: ReadonlyMap<number, Step>;
  /** Steps that go (their work moved into a replaced one). */
  removed: ReadonlySet<number>;
  /** Slots no longer made: their frees go. */
  gone: ReadonlySet<number>;
  /** Slots read later than before, by the index of the step that now reads them last: a free before it waits for it. */
  holdUntil: ReadonlyMap<number, number>;
}

/** The steps with a rewrite applied. */
export function rewrite(steps: readonly Step[], r: Rewrite): Step[] {
  const out: Step[] = [];
  const held = new Map<number, Step[]>();
  steps.forEach((s, i) => {
    if (s.kind === 'dispose') {
      if (r.gone.has(s.slot)) return;
      const until = r.holdUntil.get(s.slot);
      if (until !== undefined && until > i) {
        let list = held.get(until);
        if (!list) held.set(until, (list = []));
        list.push(s);
        return;
      }
      out.push(s);
      return;
    }
    if (r.removed.has(i)) return;
    out.push(r.replaced.get(i) ?? s);
    for (const d of held.get(i) ?? []) out.push(d);
  });
  return out;
}

const sameLeaf = (a: Leaf, b: Leaf) => a.slot === b.slot && (a.shape === null ? b.shape === null : b.shape !== null && sameShape(a.shape, b.shape));

/** The distinct leaves of both lists: a storage read twice with the same shape is one input. */
function mergeLeaves(a: readonly Leaf[], b: readonly Leaf[]): Leaf[] {
  const out: Leaf[] = [];
  for (const l of [...a, ...b]) if (!out.some((o) => sameLeaf(o, l))) out.push({ slot: l.slot, shape: l.shape });
  return out;
}

/** The group as one `fused` call in place of its last op. */
function fusedCall(last: CallStep, g: Group, root: Elementwise): CallStep {
  const outShape = g.shape ?? [root.size];
  const leafIndex = (leaf: Leaf) => g.leaves.findIndex((l) => sameLeaf(l, leaf));
  const byResult = new Map(g.members.map((m) => [m.result, m]));
  const exprOf = (m: Elementwise): Expr =>
    inlineOp(
      m.op,
      m.operands.map((o) => {
        const inner = byResult.get(o.slot);
        return inner && inner !== m ? exprOf(inner) : E.arg(leafIndex(o));
      }),
      m.a,
      m.b,
    );
  const op = fusedOp(exprOf(root), g.leaves.length);
  return {
    kind: 'call',
    backend: last.backend,
    method: 'fused',
    args: [
      { kind: 'const', value: op },
      { kind: 'array', items: g.leaves.map((l) => ({ kind: 'slot', slot: l.slot }) as const) },
      { kind: 'const', value: g.leaves.map((l) => l.shape ?? outShape) },
      { kind: 'const', value: outShape },
    ],
    result: last.result,
  };
}
