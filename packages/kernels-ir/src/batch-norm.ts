/**
 * Batch norm's elementwise parts, declared once as trees: the forward's apply
 * (y = (x − mean)·scale + bias) and the backward's gx. Every renderer (the cpu reference's
 * JavaScript, WASM f32x4, WGSL) computes these trees instead of its own formula; only the
 * reductions (the statistics, the backward's sums) and the fused epilogue or prologue
 * around them are the renderers' own.
 *
 * A channel map has two levels. Per channel, `coefficients` are computed once from the
 * channel's inputs (statistics, weight, sums); per element, `expr` combines the element's
 * values with them. The split is part of the formula, not of a renderer: each coefficient
 * is one rounding of its own (an f32 value in WASM and WGSL), so a renderer that inlined
 * it per element would compute other bits.
 *
 * Leaves are `arg(k)`: first the element inputs, then the channel inputs (by name, in
 * `channelInputs`' order), then the coefficients. A coefficient's tree reads channel inputs
 * only (shared subtrees are written as shared objects, which renderers compute once); the
 * element tree may read all three. A channel input that a call does not have (no weight,
 * no bias) takes its value from `absent`: PyTorch's kernels read an undefined weight as 1
 * and bias as 0 too.
 */
import { add, arg, div, mul, neg, sub, type Expr } from './expr';
import { children, exprKey } from './fused';

export interface ChannelMap {
  /** Cache key: the trees' canonical serialisation. */
  readonly name: string;
  /** The element inputs, arg(0) .. arg(elements.length − 1). */
  readonly elements: readonly string[];
  /** The channel's inputs, the next args. */
  readonly channelInputs: readonly string[];
  /** Values of channel inputs a call may lack. */
  readonly absent: Readonly<Record<string, number>>;
  /** Per channel, arg(elements + channelInputs + j): trees over the channel inputs. */
  readonly coefficients: readonly Expr[];
  /** One element's result. */
  readonly expr: Expr;
}

/**
 * Checks the trees' leaves (coefficients read channel inputs, the element tree any arg of
 * the map) and names the map.
 */
function channelMap(elements: readonly string[], channelInputs: readonly string[], absent: Record<string, number>,
  coefficients: readonly Expr[], expr: Expr): ChannelMap {
  const e = elements.length, c = channelInputs.length;
  const check = (t: Expr, lo: number, hi: number): void => {
    if (t.kind === 'input' || t.kind === 'param') throw new Error('channelMap: trees read arg(k) leaves only');
    if (t.kind === 'arg' && !(t.index >= lo && t.index < hi)) throw new RangeError(`channelMap: arg(${t.index}) is outside ${lo}..${hi - 1}`);
    children(t).forEach((u) => check(u, lo, hi));
  };
  coefficients.forEach((t) => check(t, e, e + c));
  check(expr, 0, e + c + coefficients.length);
  const name = `channelMap${e}/${c}:${coefficients.map(exprKey).join(';')}|${exprKey(expr)}`;
  return { name, elements, channelInputs, absent, coefficients, expr };
}

/**
 * The forward's apply: scale = invstd·weight per channel, then y = (x − mean)·scale + bias.
 * (x − mean) first, not x·scale + (bias − mean·scale): no cancellation for a large mean.
 */
export const batchNormApply: ChannelMap = (() => {
  const x = arg(0), mean = arg(1), invstd = arg(2), weight = arg(3), bias = arg(4), scale = arg(5);
  return channelMap(['x'], ['mean', 'invstd', 'weight', 'bias'], { weight: 1, bias: 0 },
    [mul(invstd, weight)],
    add(mul(sub(x, mean), scale), bias));
})();

/**
 * The backward's gx from g (gy, or the prologue's value), x and the channel's sums
 * gbias = Σg, gweight = Σg·x̂ over its m = n·s values:
 * gx = w·invstd·(g − gbias/m − x̂·gweight/m), x̂ = (x − mean)·invstd, as
 * a·g + b·(x − mean) + k with a = invstd·w (the forward's scale), b = −a·invstd·gweight/m,
 * k = −a·gbias/m: five operations per element.
 */
export const batchNormGrad: ChannelMap = (() => {
  const g = arg(0), x = arg(1), mean = arg(2), invstd = arg(3), weight = arg(4), gbias = arg(5), gweight = arg(6), m = arg(7);
  const [a, b, k] = [arg(8), arg(9), arg(10)];
  const scale = mul(invstd, weight);
  return channelMap(['g', 'x'], ['mean', 'invstd', 'weight', 'gbias', 'gweight', 'm'], { weight: 1 },
    [scale, neg(div(mul(scale, mul(invstd, gweight)), m)), neg(div(mul(scale, gbias), m))],
    add(add(mul(a, g), mul(b, sub(x, mean))), k));
})();
