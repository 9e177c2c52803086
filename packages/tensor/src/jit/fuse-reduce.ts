/**
 * The jit's reduction fusion: the elementwise work on either side of a float32 sum, max or
 * min goes into the reduction's call (Backend.reduce's `fusion`), so that on WebGPU a
 * mean squared error, (a − b)² summed then divided by its count, is one dispatch where it
 * was three, and the squared differences never go to memory.
 *
 * Prologue: the call that makes the reduced tensor (a unary, binary or fused op, after
 * ./fuse.ts has merged chains) when the reduction alone reads its result, every one of its
 * inputs has the reduced tensor's shape, and no call in between touches them. Epilogue: a
 * unary op, or a binary op whose other operand is a one-value constant the trace fills
 * (`mean`'s count), that alone reads the reduction's result, which nothing keeps.
 * Backends compute either as the separate calls would (the cpu runs them as such).
 */
import { type Expr, expr as E, fusedOp, inlineOp, sizeOf, type FusedElementwiseOp } from '@webgrad/kernels-ir';
import type { ArgTemplate, CallStep, Step } from './trace';
import { type Elementwise, constOf, passContext, rewrite, sameShape } from './fuse';
import { touchedBetween } from './fuse-batch-norm';



/** The float32 value a `fill` call of one element makes, or null for any other step. */
function filledScalar(step: Step | undefined): number | null {
  if (step?.kind !== 'call' || step.method !== 'fill') return null;
  const [size, value, dtype] = step.args.map(constOf);
  return size === 1 && typeof value === 'number' && dtype === 'float32' ? Math.fround(value) : null;
}

/**
 * The trace's steps with reductions' neighbouring elementwise ops fused into them. `kept`:
 * slots that must stay materialised (outputs, what outlives the trace).
 */
export function fuseReduce(steps: readonly Step[], kept: ReadonlySet<number>): Step[] {
  const { ops, producer: made, soleReader, rewrite: r } = passContext(steps, kept);
  const { replaced, removed, gone, holdUntil } = r;

  steps.forEach((s, i) => {
    if (s.kind !== 'call' || s.method !== 'reduce' || s.result.kind !== 'storage' || s.args.length !== 5) return;
    const [op, , shape, axes, dtype] = s.args.map(constOf);
    if ((op !== 'sum' && op !== 'max' && op !== 'min') || dtype !== 'float32' || !Array.isArray(shape) || !Array.isArray(axes)) return;
    const x = s.args[1].kind === 'slot' ? s.args[1].slot : null;
    if (x === null) return;
    let args: ArgTemplate[] = [...s.args];
    let prologue: { op: FusedElementwiseOp; inputs: number[] } | null = null;
    let epilogue: FusedElementwiseOp | null = null;
    let result = s.result.slot;

    const pi = made.get(x);
    if (pi !== undefined && soleReader(x) === i && !removed.has(pi)) {
      prologue = prologueOf(steps[pi] as CallStep, ops[pi], shape as number[]);
      if (prologue && touchedBetween(steps, ops, pi, i, prologue.inputs)) prologue = null;
      if (prologue) {
        removed.add(pi);
        gone.add(x);
        for (const input of prologue.inputs) holdUntil.set(input, Math.max(holdUntil.get(input) ?? -1, i));
        args[1] = { kind: 'slot', slot: prologue.inputs[0] };
      }
    }

    const ci = soleReader(result);
    const consumer = ci === null ? null : ops[ci];
    const outSize = sizeOf((shape as number[]).filter((_, d) => !(axes as number[]).includes(d)));
    if (ci !== null && consumer && !removed.has(ci) && consumer.size === outSize) {
      epilogue = epilogueOf(consumer, result, (slot) => filledScalar(steps[made.get(slot) ?? -1]));
      if (epilogue) {
        removed.add(ci);
        gone.add(result);
        result = consumer.result;
        // a constant only the epilogue read is now in its tree: its fill goes
        for (const o of consumer.operands) {
          const fi = made.get(o.slot);
          if (o.slot !== s.result.slot && fi !== undefined && soleReader(o.slot) === ci) {
            removed.add(fi);
            gone.add(o.slot);
          }
        }
      }
    }
    if (!prologue && !epilogue) return;
    const fusion: [string, ArgTemplate][] = [];
    if (prologue) {
      fusion.push(['prologue', { kind: 'object', entries: [['op', { kind: 'const', value: prologue.op }], ['others', { kind: 'array', items: prologue.inputs.slice(1).map((slot) => ({ kind: 'slot', slot }) as const) }]] }]);
    }
    if (epilogue) fusion.push(['epilogue', { kind: 'const', value: epilogue }]);
    args = [...args, { kind: 'object', entries: fusion }];
    replaced.set(i, { ...s, args, result: { kind: 'storage', slot: result } });
  });
  return rewrite(steps, r);
}

/** The producer as a prologue over inputs of the reduced shape, or null. */
function prologueOf(step: CallStep, e: Elementwise | null, shape: readonly number[]): { op: FusedElementwiseOp; inputs: number[] } | null {
  const size = sizeOf(shape);
  if (e) {
    if (e.size !== size) return null;
    if (e.operands.some((o) => o.shape !== null && !sameShape(o.shape, shape))) return null;
    const inputs = [...new Set(e.operands.map((o) => o.slot))];
    const tree = inlineOp(e.op, e.operands.map((o) => E.arg(inputs.indexOf(o.slot))), e.a, e.b);
    return { op: fusedOp(tree, inputs.length), inputs };
  }
  if (step.method !== 'fused') return null;
  const [op, , inputShapes, outShape] = step.args.map(constOf);
  const items = step.args[1].kind === 'array' ? step.args[1].items : null;
  if (!items || !Array.isArray(inputShapes) || !Array.isArray(outShape) || !sameShape(outShape as number[], shape)) return null;
  if (!(inputShapes as number[][]).every((s) => sameShape(s, shape))) return null;
  const inputs = items.map((t) => (t.kind === 'slot' ? t.slot : null));
  if (inputs.some((x) => x === null)) return null;
  return { op: op as FusedElementwiseOp, inputs: inputs as number[] };
}

/** The consumer as an epilogue of one input (the reduction's result `from`), or null. */
function epilogueOf(e: Elementwise, from: number, scalar: (slot: number) => number | null): FusedElementwiseOp | null {
  if (e.operands.length === 1) return fusedOp(inlineOp(e.op, [E.arg(0)], e.a, e.b), 1);
  const [x, y] = e.operands;
  const leaf = (o: { slot: number }): Expr | null => {
    if (o.slot === from) return E.arg(0);
    const v = scalar(o.slot);
    return v === null ? null : E.num(v);
  };
  if (x.slot === y.slot) return null;
  const a = leaf(x), b = leaf(y);
  if (!a || !b || (x.slot !== from && y.slot !== from)) return null;
  if (e.outShape && [x, y].some((o) => o.slot === from && o.shape && sizeOf(o.shape) !== e.size)) return null;
  return fusedOp(inlineOp(e.op, [a, b]), 1);
}
