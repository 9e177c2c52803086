/**
 * In-place update ops: several float32 arrays of one length, updated element by element,
 * each written array taking the value of its tree. The optimizer steps (SGD, Adam, AdamW:
 * tensor's ops/optim.ts) are such ops, so every renderer generates them from their trees
 * instead of keeping a hand-written kernel per optimizer.
 *
 * A tree reads `arg(k)`: for k below `arrays`, element i of array k as it was before the
 * update (every write is computed first, then stored); from `arrays` on, the call's scalars
 * (learning rate, bias corrections...), which change from step to step and so are not
 * constants in the tree. All arithmetic is float32, rounded at every node, as PyTorch's
 * float32 optimizers and WebGPU compute: `updateOp` wraps each node in `fround`, so the
 * JavaScript rendering (f64) gives float32's bits and the f32 renderings need nothing more.
 */
import type { Expr } from './expr';
import { children, exprKey } from './fused';

/** Arrays an update binds at most: with the call's parameters, WebGPU's 8 storage buffers per stage. */
export const MAX_UPDATE_ARRAYS = 7;

export interface UpdateOp {
  /** Cache key: the trees' canonical serialisation and the counts. */
  readonly name: string;
  readonly arrays: number;
  readonly scalars: number;
  /** Per array, its new value, or null for an array only read (a gradient). */
  readonly writes: readonly (Expr | null)[];
}

/** `e` with each arithmetic node and function call rounded to float32. */
function roundEachNode(e: Expr): Expr {
  const memo = new Map<string, Expr>();
  const visit = (n: Expr): Expr => {
    const key = exprKey(n);
    const seen = memo.get(key);
    if (seen) return seen;
    let out: Expr;
    switch (n.kind) {
      case 'input': case 'param': case 'arg': case 'const': out = n; break;
      case 'fround': out = visit(n.arg); break;
      case 'neg': out = { kind: 'neg', arg: visit(n.arg) }; break;
      case 'arith': out = { kind: 'fround', arg: { kind: 'arith', op: n.op, lhs: visit(n.lhs), rhs: visit(n.rhs) } }; break;
      case 'compare': case 'logic': out = { ...n, lhs: visit(n.lhs), rhs: visit(n.rhs) } as Expr; break;
      case 'select': out = { kind: 'select', cond: visit(n.cond), ifTrue: visit(n.ifTrue), ifFalse: visit(n.ifFalse) }; break;
      case 'call': out = { kind: 'fround', arg: { kind: 'call', fn: n.fn, args: n.args.map(visit) } }; break;
    }
    memo.set(key, out);
    return out;
  };
  return visit(e);
}

/**
 * An update of `arrays` arrays with `scalars` scalars: `writes[k]` is array k's new value
 * (null: not written). Checks the trees: only args, constants and the language's nodes;
 * no boolean root (a stored value is a number).
 */
export function updateOp(arrays: number, scalars: number, writes: readonly (Expr | null)[]): UpdateOp {
  if (!Number.isInteger(arrays) || arrays < 1 || arrays > MAX_UPDATE_ARRAYS) throw new RangeError(`updateOp: ${arrays} arrays is not an integer in 1..${MAX_UPDATE_ARRAYS}`);
  if (!Number.isInteger(scalars) || scalars < 0) throw new RangeError(`updateOp: ${scalars} scalars is not a count`);
  if (writes.length !== arrays) throw new Error(`updateOp: ${writes.length} writes given for ${arrays} arrays (null for an array only read)`);
  if (writes.every((w) => w === null)) throw new Error('updateOp: no array is written');
  const check = (e: Expr): void => {
    if (e.kind === 'input') throw new Error(`updateOp: a tree reads the input ${e.name}; an update reads arg(0) .. arg(${arrays + scalars - 1})`);
    if (e.kind === 'param') throw new Error(`updateOp: a tree reads the parameter ${e.name}; pass it as a scalar`);
    if (e.kind === 'arg' && !(Number.isInteger(e.index) && e.index >= 0 && e.index < arrays + scalars)) throw new RangeError(`updateOp: arg(${e.index}) is neither one of the ${arrays} arrays nor one of the ${scalars} scalars`);
    children(e).forEach(check);
  };
  const rounded = writes.map((w, k) => {
    if (w === null) return null;
    if (w.kind === 'compare' || w.kind === 'logic') throw new Error(`updateOp: the write of array ${k} is a boolean`);
    check(w);
    return roundEachNode(w);
  });
  const name = `update${arrays}/${scalars}:${rounded.map((w) => (w ? exprKey(w) : '-')).join(';')}`;
  return { name, arrays, scalars, writes: rounded };
}

/** The arrays an update writes, in order. */
export const writtenArrays = (op: UpdateOp): number[] => op.writes.flatMap((w, k) => (w ? [k] : []));

