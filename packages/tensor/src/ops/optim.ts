/**
 * The optimizer steps as update ops (kernels-ir's update.ts): PyTorch's formulas
 * (torch.optim.SGD, Adam, AdamW) written once as trees, which every backend renders into
 * its own kernel, in float32 arithmetic as PyTorch's float32 optimizers compute. The
 * settings that change from step to step (learning rate, bias corrections) are the
 * update's scalars; the structural ones (momentum or not, Nesterov, AdamW) pick the tree.
 */
import { expr, updateOp, type Expr, type UpdateOp } from '@webgrad/kernels-ir';
import type { AdamParams, SgdParams, UpdateItem } from '../backend';
import { replayedFrom } from '../jit/state';
import { fmt } from '../shape';
import { Tensor } from '../tensor';
import { commonBackend } from './util';

const { add, arg, div, mul, sqrt, sub } = expr;

/** Scalars of a tree: named arguments after its `arrays` arrays, in the order of `names`. */
function scalarsOf<const K extends string>(arrays: number, names: readonly K[]): Record<K, Expr> {
  return Object.fromEntries(names.map((n, j) => [n, arg(arrays + j)])) as Record<K, Expr>;
}

const SGD_SCALARS = ['lr', 'momentum', 'oneMinusDampening', 'weightDecay'] as const;

/**
 * SGD over param (0), grad (1) and, with momentum, its buffer (2):
 * d = g + λ·w; buf = first ? d : μ·buf + (1 − τ)·d; d = nesterov ? d + μ·buf : buf; w −= lr·d.
 */
function sgdTree(momentum: boolean, nesterov: boolean, firstStep: boolean): UpdateOp {
  const arrays = momentum ? 3 : 2;
  const [w, g, buf] = [arg(0), arg(1), arg(2)];
  const k = scalarsOf(arrays, SGD_SCALARS);
  let d = add(g, mul(k.weightDecay, w));
  let newBuf: Expr | null = null;
  if (momentum) {
    newBuf = firstStep ? d : add(mul(k.momentum, buf), mul(k.oneMinusDampening, d));
    d = nesterov ? add(d, mul(k.momentum, newBuf)) : newBuf;
  }
  return updateOp(arrays, SGD_SCALARS.length, [sub(w, mul(k.lr, d)), null, ...(momentum ? [newBuf] : [])]);
}

/** SGD's scalars for settings `p`, in sgdOp's order. */
export const sgdScalars = (p: SgdParams): number[] => [p.lr, p.momentum, 1 - p.dampening, p.weightDecay];

const ADAM_SCALARS = ['beta1', 'oneMinusBeta1', 'beta2', 'oneMinusBeta2', 'stepSize', 'sqrtBc2', 'eps', 'weightDecay', 'decay'] as const;

/**
 * Adam over param (0), grad (1), m (2), v (3), in PyTorch's order: AdamW first shrinks w by
 * decay = 1 − lr·λ (Adam adds λ·w to g instead); m = β1·m + (1 − β1)·g;
 * v = β2·v + (1 − β2)·g·g; w += −stepSize · m / (√v / √bc2 + ε), stepSize = lr / bc1.
 */
function adamTree(decoupled: boolean): UpdateOp {
  const [w, g, m, v] = [arg(0), arg(1), arg(2), arg(3)];
  const k = scalarsOf(4, ADAM_SCALARS);
  const grad = decoupled ? g : add(g, mul(k.weightDecay, w));
  const shrunk = decoupled ? mul(w, k.decay) : w;
  const newM = add(mul(k.beta1, m), mul(k.oneMinusBeta1, grad));
  const newV = add(mul(k.beta2, v), mul(mul(k.oneMinusBeta2, grad), grad));
  const denom = add(div(sqrt(newV), k.sqrtBc2), k.eps);
  return updateOp(4, ADAM_SCALARS.length, [sub(shrunk, mul(k.stepSize, div(newM, denom))), null, newM, newV]);
}

/** Adam's scalars for settings `p`, in adamOp's order: bias corrections folded on the host, in float64 as PyTorch does in Python. */
export function adamScalars(p: AdamParams): number[] {
  const bc1 = 1 - p.beta1 ** p.step, bc2 = 1 - p.beta2 ** p.step;
  return [p.beta1, 1 - p.beta1, p.beta2, 1 - p.beta2, p.lr / bc1, Math.sqrt(bc2), p.eps, p.weightDecay, 1 - p.lr * p.weightDecay];
}

/** The trees, made once per variant (their name keys every backend's compiled kernel). */
const trees = new Map<string, UpdateOp>();
function tree(key: string, make: () => UpdateOp): UpdateOp {
  let op = trees.get(key);
  if (!op) trees.set(key, (op = make()));
  return op;
}

/** The SGD update for settings `p`, over param, grad and (with `momentum`) the momentum buffer. */
export const sgdOp = (p: SgdParams, momentum: boolean): UpdateOp =>
  tree(`sgd/${momentum}/${momentum && p.nesterov}/${momentum && p.firstStep}`, () => sgdTree(momentum, p.nesterov, p.firstStep));

/** The Adam (AdamW where p.decoupled) update over param, grad, m and v. */
export const adamOp = (p: AdamParams): UpdateOp => tree(`adam/${p.decoupled}`, () => adamTree(p.decoupled));

function check(op: string, param: Tensor, ...others: Tensor[]): void {
  for (const t of others) {
    if (t.size !== param.size) throw new Error(`${op}: ${fmt(t.shape)} does not match the parameter ${fmt(param.shape)}`);
  }
  commonBackend(op, param, ...others);
}

/**
 * Runs `op` over each parameter's arrays, on their common backend. The scalars follow the
 * settings `p` at every jit replay (an optimizer passes them through replayed()).
 */
function run<P extends object>(what: string, op: UpdateOp, arrays: Tensor[][], p: P, scalars: (p: P) => number[]): void {
  arrays.forEach((a) => check(what, a[0], ...a.slice(1)));
  const items: UpdateItem[] = arrays.map((a) => ({ arrays: a.map((t) => t.storage), size: a[0].size }));
  commonBackend(what, ...arrays.map((a) => a[0])).update(op, items, replayedFrom(p, scalars), arrays[0][0].dtype);
}

/** In-place SGD step of one parameter: a multi-tensor step of one. */
export function sgdUpdate(param: Tensor, grad: Tensor, momentumBuffer: Tensor | null, p: SgdParams): void {
  sgdUpdates([param], [grad], [momentumBuffer], p);
}

/** In-place Adam / AdamW step of one parameter: a multi-tensor step of one. */
export function adamUpdate(param: Tensor, grad: Tensor, m: Tensor, v: Tensor, p: AdamParams): void {
  adamUpdates([param], [grad], [m], [v], p);
}

/**
 * In-place SGD steps of several parameters with the same settings (a multi-tensor step: on
 * webgpu, one dispatch per group). Momentum buffers: all or none.
 */
export function sgdUpdates(params: Tensor[], grads: Tensor[], momentumBuffers: (Tensor | null)[], p: SgdParams): void {
  if (params.length === 0) return;
  if (grads.length !== params.length || momentumBuffers.length !== params.length) throw new Error(`sgdUpdates: ${params.length} parameters, ${grads.length} gradients, ${momentumBuffers.length} momentum buffers`);
  const momentum = momentumBuffers[0] !== null;
  if (momentumBuffers.some((b) => (b !== null) !== momentum)) throw new Error('sgdUpdates: momentum buffers must be given for every parameter or for none');
  run('sgdUpdates', sgdOp(p, momentum), params.map((param, i) => [param, grads[i], ...(momentum ? [momentumBuffers[i]!] : [])]), p, sgdScalars);
}

/** In-place Adam / AdamW steps of several parameters with the same settings (a multi-tensor step). */
export function adamUpdates(params: Tensor[], grads: Tensor[], ms: Tensor[], vs: Tensor[], p: AdamParams): void {
  if (params.length === 0) return;
  if (grads.length !== params.length || ms.length !== params.length || vs.length !== params.length) throw new Error(`adamUpdates: ${params.length} parameters, ${grads.length} gradients, ${ms.length} and ${vs.length} moments`);
  run('adamUpdates', adamOp(p), params.map((param, i) => [param, grads[i], ms[i], vs[i]]), p, adamScalars);
}
