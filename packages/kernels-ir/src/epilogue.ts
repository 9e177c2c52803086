/**
 * The epilogue of a GEMM or convolution: elementwise work (bias, batch-norm apply,
 * activation, residual add, clamp) applied to each value of the product where it is stored,
 * so the product's result never goes to memory before the work that reads it.
 *
 * The product's output is viewed as three axes, `productAxes`: a matmul's [batch, m, n], a
 * convolution's [N, Cout, prod(outSize)]. The op's arg(0) is the product's value (after the
 * convolution's own bias); arg(k ≥ 1) reads the k-th further input, a contiguous float32
 * array whose three-axis shape `shapes[k − 1]` broadcasts to the output's (each axis equal
 * or 1): a per-column bias [1, 1, n], a per-channel scale [1, C, 1], a residual [N, C, S].
 */
import type { FusedElementwiseOp } from './fused';
import { MAX_FUSED_ARITY } from './fused';
import type { ConvParams, MatmulParams } from './params';
import { sizeOf } from './shape';

/** A product's output, or a further input, as three axes. */
export type Axes3 = readonly [number, number, number];

export interface ProductEpilogue {
  /** arg(0): the product's value; arg(k): the further input of shape shapes[k − 1]. */
  readonly op: FusedElementwiseOp;
  readonly shapes: readonly Axes3[];
}

export const matmulAxes = (p: MatmulParams): Axes3 => [p.batch, p.m, p.n];
export const convAxes = (p: ConvParams): Axes3 => [p.batch, p.outChannels, sizeOf(p.outSize)];

/**
 * Which axes of each further input are its own (`f`) or broadcast (`b`): what a renderer's
 * index code depends on, so part of a kernel's key (sizes travel as uniforms).
 */
export const broadcastPattern = (shapes: readonly Axes3[]): string => shapes.map((s) => s.map((d) => (d === 1 ? 'b' : 'f')).join('')).join('.');

/** Checks `e` against a product of output axes `out`: its arity, each shape broadcasting. `what` names the op. */
export function checkProductEpilogue(e: ProductEpilogue, out: Axes3, what: string): void {
  if (e.op.arity !== 1 + e.shapes.length) throw new Error(`${what}: the epilogue takes ${e.op.arity} inputs, given the product and ${e.shapes.length} more`);
  if (e.op.arity > MAX_FUSED_ARITY) throw new RangeError(`${what}: an epilogue takes at most ${MAX_FUSED_ARITY} inputs, got ${e.op.arity}`);
  for (const s of e.shapes) {
    if (s.length !== 3 || s.some((d, a) => !Number.isInteger(d) || (d !== 1 && d !== out[a]))) {
      throw new Error(`${what}: an epilogue input of shape [${s}] does not broadcast to the product's [${out}]`);
    }
  }
}

/**
 * The three-axis shapes of `shapes` (each of `outShape`'s rank, broadcasting to it) when
 * `outShape` is a product of output axes `axes` reshaped: its dims grouped into three runs
 * whose sizes are the axes'. Null when some shape is its own in some dims of a run and
 * broadcast in others (no three-axis view reads it), or no grouping matches; with no
 * shapes, none to view, whatever outShape is.
 */
export function collapseTo3(outShape: readonly number[], shapes: readonly (readonly number[])[], axes: Axes3): Axes3[] | null {
  if (shapes.length === 0) return [];
  if (shapes.some((s) => s.length !== outShape.length)) return null;
  // Run boundaries: the first run ends where its size reaches axes[0], and so on; dims of size 1 are neutral.
  const ends: number[] = [];
  let d = 0;
  for (let a = 0; a < 3; a++) {
    let size = 1;
    while (d < outShape.length && size < axes[a]) size *= outShape[d++];
    if (size !== axes[a]) return null;
    ends.push(a === 2 ? outShape.length : d);
  }
  if (sizeOf(outShape) !== axes[0] * axes[1] * axes[2]) return null;
  const out: Axes3[] = [];
  for (const s of shapes) {
    const runs: number[] = [];
    let lo = 0;
    for (const hi of ends) {
      let own = false, broadcast = false;
      for (let k = lo; k < hi; k++) {
        if (outShape[k] === 1) continue;
        if (s[k] === outShape[k]) own = true;
        else if (s[k] === 1) broadcast = true;
        else return null;
      }
      if (own && broadcast) return null;
      runs.push(own ? sizeOf(outShape.slice(lo, hi)) : 1);
      lo = hi;
    }
    out.push(runs as unknown as Axes3);
  }
  return out;
}
