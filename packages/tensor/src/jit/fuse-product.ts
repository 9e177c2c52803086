/**
 * The jit's product fusion: the elementwise call that alone reads a float32 matmul's or
 * convolution's result goes into the product's call as its epilogue (Backend.matmul /
 * conv's `epilogue`), so that on WebGPU a linear layer's bias add and ReLU, or a
 * convolution's ReLU, are stored by the GEMM itself: one dispatch where there were two, and
 * the product's result never goes to memory.
 *
 * The consumer is a `unary` or `binary` call, or a `fused` one that ./fuse.ts made of a
 * chain, with the product's element count, reading the product's result unbroadcast and
 * its other inputs with shapes that fold into the product's three axes (kernels-ir's
 * collapseTo3: matmul [batch, m, n], conv [N, Cout, S]). The product moves down to the
 * consumer's place, where those inputs exist; its own inputs are held there (their frees
 * wait) and nothing but elementwise calls may touch them in between. On the cpu backend a
 * lone unary or binary consumer fuses only where its fused kernel gives its own bits
 * (kernels-wasm's fusesBitwise), so jit and eager agree exactly there.
 */
import { type Axes3, type Expr, MAX_FUSED_ARITY, collapseTo3, convAxes, expr as E, fusedOp, inlineOp, matmulAxes, sizeOf, substituteArgs, type FusedElementwiseOp } from '@webgrad/kernels-ir';
import { fusesBitwise } from '@webgrad/kernels-wasm';
import type { ConvParams, MatmulParams, Shape } from '../backend';
import type { ArgTemplate, CallStep, Step } from './trace';
import { type Elementwise, constOf, passContext, rewrite, slotsOf } from './fuse';
import { touchedBetween } from './fuse-batch-norm';


/** The product's output axes, when the step is a float32 matmul or conv with constant parameters and no epilogue yet. */
function productAxes(s: CallStep): Axes3 | null {
  const c = s.args.map(constOf);
  if (s.method === 'matmul' && c.length === 4 && c[3] === 'float32' && typeof c[2] === 'object') return matmulAxes(c[2] as MatmulParams);
  if (s.method === 'conv' && c.length === 5 && c[4] === 'float32' && typeof c[3] === 'object') return convAxes(c[3] as ConvParams);
  return null;
}

/** The consumer's inputs (slot, shape at the output's rank; null: a unary op's flat operand) and its tree over them. */
interface Consumer {
  leaves: { slot: number; shape: Shape | null }[];
  outShape: Shape;
  tree: (args: Expr[]) => Expr;
}

function consumerOf(step: CallStep, e: Elementwise | null): Consumer | null {
  if (e) {
    const outShape = e.outShape ?? [e.size];
    return { leaves: e.operands.map((o) => ({ slot: o.slot, shape: o.shape })), outShape, tree: (args) => inlineOp(e.op, args, e.a, e.b) };
  }
  if (step.method !== 'fused' || step.result.kind !== 'storage' || step.args[1]?.kind !== 'array') return null;
  const [op, , inputShapes, outShape] = step.args.map(constOf);
  const items = step.args[1].items;
  if (!Array.isArray(inputShapes) || !Array.isArray(outShape) || items.some((t) => t.kind !== 'slot')) return null;
  return {
    leaves: items.map((t, k) => ({ slot: (t as { slot: number }).slot, shape: inputShapes[k] as Shape })),
    outShape: outShape as Shape,
    tree: (args) => substituteArgs((op as FusedElementwiseOp).expr, args),
  };
}

/**
 * The consumer as an epilogue of the product's result `y` over output axes `axes`: its op
 * with y as arg(0) and its other inputs (distinct slot and shape) after it, with their
 * three-axis shapes; null where it cannot be one.
 */
function epilogueOf(c: Consumer, y: number, axes: Axes3): { op: FusedElementwiseOp; others: number[]; shapes: Axes3[] } | null {
  const size = axes[0] * axes[1] * axes[2];
  if (sizeOf(c.outShape) !== size) return null;
  const others: { slot: number; shape: Shape }[] = [];
  const args: Expr[] = [];
  for (const l of c.leaves) {
    if (l.slot === y) {
      // the product's result read whole, not broadcast
      if (l.shape !== null && sizeOf(l.shape) !== size) return null;
      args.push(E.arg(0));
      continue;
    }
    if (l.shape === null) return null;
    const shape = [...Array<number>(Math.max(0, c.outShape.length - l.shape.length)).fill(1), ...l.shape];
    let k = others.findIndex((o) => o.slot === l.slot && o.shape.every((d, i) => d === shape[i]));
    if (k < 0) k = others.push({ slot: l.slot, shape }) - 1;
    args.push(E.arg(1 + k));
  }
  if (1 + others.length > MAX_FUSED_ARITY) return null;
  const shapes = collapseTo3(c.outShape, others.map((o) => o.shape), axes);
  if (!shapes) return null;
  return { op: fusedOp(c.tree(args), 1 + others.length), others: others.map((o) => o.slot), shapes };
}

/**
 * The trace's steps with each float32 matmul's or conv's sole elementwise reader fused into
 * it as its epilogue. `kept`: slots that must stay materialised (outputs, what outlives the trace).
 */
export function fuseProduct(steps: readonly Step[], kept: ReadonlySet<number>): Step[] {
  const { ops, soleReader, rewrite: r } = passContext(steps, kept);
  const { replaced, removed, gone, holdUntil } = r;

  steps.forEach((s, i) => {
    if (s.kind !== 'call' || s.result.kind !== 'storage') return;
    const axes = productAxes(s);
    if (!axes) return;
    const y = s.result.slot;
    const j = soleReader(y);
    if (j === null || replaced.has(j)) return;
    const next = steps[j] as CallStep;
    if (next.result.kind !== 'storage') return;
    const consumer = consumerOf(next, ops[j]);
    const epilogue = consumer && epilogueOf(consumer, y, axes);
    if (!epilogue) return;
    // a lone op the cpu would run as its own kernel: fused only where that kernel gives the same bits
    if (ops[j] && s.backend.name === 'cpu' && !fusesBitwise([ops[j]!.op.expr])) return;
    const inputs = s.args.flatMap((a) => slotsOf(a, []));
    if (touchedBetween(steps, ops, i, j, inputs)) return;
    removed.add(i);
    gone.add(y);
    for (const x of inputs) holdUntil.set(x, Math.max(holdUntil.get(x) ?? -1, j));
    const fusion: ArgTemplate = {
      kind: 'object',
      entries: [
        ['op', { kind: 'const', value: epilogue.op }],
        ['others', { kind: 'array', items: epilogue.others.map((slot) => ({ kind: 'slot', slot }) as const) }],
        ['shapes', { kind: 'const', value: epilogue.shapes }],
      ],
    };
    replaced.set(j, { ...s, args: [...s.args, fusion], result: next.result });
  });
  return rewrite(steps, r);
}
