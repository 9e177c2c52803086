/**
 * The elementwise op table. Each op is declared once, here: name, dtype rule, parameters,
 * its expression (./elementwise-op renders nothing; each backend renders the tree: WGSL,
 * JavaScript, ...) and its gradient, written with ops so it runs on any device and can be
 * differentiated again. The backends' kernels, the Tensor methods and the shared test case
 * lists all come from these declarations: adding an op is one entry here.
 */
import { expr as E } from '@webgrad/kernels-ir';
import { record } from '../autograd';
import { broadcastShapes, padRank } from '../shape';
import type { Tensor } from '../tensor';
import { commonBackend, requireFloat, wrap } from './util';
import { full } from './creation';
import { sumTo } from './broadcast';
import { binary, promote, toTensor, unary, type Operand } from './elementwise-op';

export { cast, elementwiseOps, type Operand } from './elementwise-op';

const { x, y, a, b } = E;
const SQRT1_2 = Math.SQRT1_2;
const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);
const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);
const GELU_CUBIC = 0.044715;

// --- unary ---------------------------------------------------------------------------

export const neg = unary('neg', { dtypes: 'any', expr: E.neg(x), grad: (g): Tensor => neg(g) });
export const exp = unary('exp', { dtypes: 'float', expr: E.exp(x), grad: (g, _x, y): Tensor => mul(g, y) });
export const log = unary('log', { dtypes: 'float', expr: E.log(x), grad: (g, x): Tensor => div(g, x), check: { input: 'positive' } });
export const sqrt = unary('sqrt', { dtypes: 'float', expr: E.sqrt(x), grad: (g, _x, y): Tensor => div(g, mul(y, 2)), check: { input: 'positive' } });
export const abs = unary('abs', { dtypes: 'any', expr: E.abs(x), grad: (g, x): Tensor => mul(g, sign(x)), check: { input: 'distinct' } });
export const sign = unary('sign', { dtypes: 'any', expr: E.sign(x) });
/** 1 where x > 0, else 0: the derivative of relu. */
const step = unary('step', { dtypes: 'any', expr: E.gt(x, 0), internal: true });
/** max(x, 0) with NaN and −0 kept (PyTorch's relu: 0 replaces only what is below 0). */
// The gradient reads the output, as PyTorch's does (threshold_backward on the result): the
// same bits as from the input (relu(x) <= 0 exactly where x <= 0; NaN stays NaN), and the
// input need not be kept, so a jit can fuse relu into the op before it (jit/fuse-batch-norm.ts).
export const relu = unary('relu', { dtypes: 'float', expr: E.select(E.lt(x, 0), 0, x), grad: (g, _x, y): Tensor => reluGrad(g, y), check: { input: 'distinct' } });
const leakyReluGrad = unary('leakyReluGrad', { dtypes: 'float', expr: E.select(E.gt(x, 0), 1, a), params: [['negativeSlope', 0.01]], internal: true });
export const leakyRelu = unary('leakyRelu', {
  dtypes: 'float', expr: E.select(E.gt(x, 0), x, E.mul(a, x)), params: [['negativeSlope', 0.01]],
  grad: (g, x, _y, slope): Tensor => mul(g, leakyReluGrad(x, slope)), check: { input: 'distinct', args: [0.2] },
});
export const sigmoid = unary('sigmoid', { dtypes: 'float', expr: E.sigmoid(x), grad: (g, _x, y): Tensor => sigmoidGrad(g, y) });
export const tanh = unary('tanh', { dtypes: 'float', expr: E.tanh(x), grad: (g, _x, y): Tensor => mul(g, rsub(1, mul(y, y))) });
/** x ** a for a number a (pow dispatches here). */
const powScalar = unary('powScalar', {
  dtypes: 'float', expr: E.pow(x, a), params: [['exponent', 1]], internal: true,
  grad: (g, x, _y, e): Tensor => mul(g, mul(e, powScalar(x, e - 1))),
});
/** x * a + b with one kernel. */
export const affine = unary('affine', { dtypes: 'float', expr: E.add(E.mul(a, x), b), params: [['scale', 1], ['shift', 0]], grad: (g, _x, _y, s): Tensor => mul(g, s), check: { args: [1.5, -0.5] } });
const clampOp = unary('clamp', {
  dtypes: 'float', expr: E.clampTo(x, a, b), params: [['min', -Infinity], ['max', Infinity]], internal: true,
  grad: (g, x, _y, min, max): Tensor => mul(g, mul(ge(x, min), le(x, max))),
});

/** x · sigmoid(x) (swish). */
export const silu = unary('silu', {
  dtypes: 'float', expr: E.mul(x, E.sigmoid(x)),
  grad: (g, x): Tensor => {
    const s = sigmoid(x);
    return mul(g, mul(s, add(1, mul(x, rsub(1, s)))));
  },
});
/** The error function, float32-accurate (the same tree on every device). */
export const erf = unary('erf', { dtypes: 'float', expr: E.erf(x), grad: (g, x): Tensor => mul(g, mul(2 / Math.sqrt(Math.PI), exp(neg(mul(x, x))))) });
/** x · Φ(x), Φ the standard normal CDF (PyTorch's gelu with approximate='none'). */
export const gelu = unary('gelu', {
  dtypes: 'float', expr: E.mul(E.mul(0.5, x), E.add(1, E.erf(E.mul(x, SQRT1_2)))),
  grad: (g, x): Tensor => {
    const cdf = mul(add(erf(mul(x, SQRT1_2)), 1), 0.5);
    const pdf = mul(exp(mul(mul(x, x), -0.5)), INV_SQRT_2PI);
    return mul(g, add(cdf, mul(x, pdf)));
  },
});
/** gelu with the tanh approximation (PyTorch's approximate='tanh'). */
export const geluTanh = unary('geluTanh', {
  dtypes: 'float',
  expr: E.mul(E.mul(0.5, x), E.add(1, E.tanh(E.mul(SQRT_2_OVER_PI, E.add(x, E.mul(GELU_CUBIC, E.mul(x, E.mul(x, x)))))))),
  grad: (g, x): Tensor => {
    const t = tanh(mul(add(x, mul(mul(x, mul(x, x)), GELU_CUBIC)), SQRT_2_OVER_PI));
    const inner = mul(add(mul(mul(x, x), 3 * GELU_CUBIC), 1), SQRT_2_OVER_PI);
    return mul(g, add(mul(add(t, 1), 0.5), mul(mul(mul(x, 0.5), rsub(1, mul(t, t))), inner)));
  },
});
/**
 * log(1 + e^(βx)) / β, and x itself where βx > threshold (PyTorch's softplus: the linear
 * tail avoids overflow and is within float error of the curve there).
 */
export const softplus = unary('softplus', {
  dtypes: 'float', params: [['beta', 1], ['threshold', 20]],
  expr: E.select(E.gt(E.mul(x, a), b), x, E.div(E.log1p(E.exp(E.mul(x, a))), a)),
  grad: (g, x, _y, beta, threshold): Tensor => {
    const bx = mul(x, beta);
    return where(gt(bx, threshold), g, mul(g, sigmoid(bx)));
  },
  check: { args: [1.5, 2] },
});
/** x where x > 0, else α(e^x − 1). */
export const elu = unary('elu', {
  dtypes: 'float', params: [['alpha', 1]],
  expr: E.select(E.gt(x, 0), x, E.mul(a, E.expm1(x))),
  grad: (g, x, _y, alpha): Tensor => where(gt(x, 0), g, mul(g, mul(exp(x), alpha))),
  check: { input: 'distinct', args: [0.7] },
});
/** min(max(x, minVal), maxVal); the gradient flows strictly inside (as PyTorch). */
export const hardtanh = unary('hardtanh', {
  dtypes: 'float', params: [['minVal', -1], ['maxVal', 1]],
  expr: E.clampTo(x, a, b),
  grad: (g, x, _y, min, max): Tensor => mul(g, mul(gt(x, min), lt(x, max))),
  check: { input: 'distinct', args: [-0.5, 0.6] },
});
/** x · min(max(x + 3, 0), 6) / 6 (MobileNetV3's hard swish); the gradient as PyTorch's: 0 below −3, x/3 + ½ up to 3, then 1. */
export const hardswish = unary('hardswish', {
  dtypes: 'float',
  // Rounded to float32 after each step, as PyTorch computes it: x · 6 overflows to Infinity
  // above 5.7e37 there, and a JavaScript rendering in float64 would not.
  expr: E.div(E.fround(E.mul(x, E.clampTo(E.fround(E.add(x, 3)), 0, 6))), 6),
  grad: (g, x): Tensor => where(lt(x, -3), 0, where(le(x, 3), mul(g, add(div(x, 3), 0.5)), g)),
  check: { input: 'distinct' },
});
export const reciprocal = unary('reciprocal', { dtypes: 'float', expr: E.div(1, x), grad: (g, _x, y): Tensor => neg(mul(g, mul(y, y))), check: { input: 'positive' } });
export const rsqrt = unary('rsqrt', { dtypes: 'float', expr: E.div(1, E.sqrt(x)), grad: (g, _x, y): Tensor => mul(g, mul(mul(y, mul(y, y)), -0.5)), check: { input: 'positive' } });
export const log1p = unary('log1p', { dtypes: 'float', expr: E.log1p(x), grad: (g, x): Tensor => div(g, add(x, 1)), check: { input: 'positive' } });
export const expm1 = unary('expm1', { dtypes: 'float', expr: E.expm1(x), grad: (g, _x, y): Tensor => mul(g, add(y, 1)) });
export const sin = unary('sin', { dtypes: 'float', expr: E.sin(x), grad: (g, x): Tensor => mul(g, cos(x)) });
export const cos = unary('cos', { dtypes: 'float', expr: E.cos(x), grad: (g, x): Tensor => neg(mul(g, sin(x))) });

export const square = (x: Tensor): Tensor => mul(x, x);

/** Elementwise min(max(x, min), max); the gradient flows where min <= x <= max. */
export function clamp(x: Tensor, min = -Infinity, max = Infinity): Tensor {
  if (min > max) throw new Error(`clamp: min (${min}) is greater than max (${max})`);
  return clampOp(x, min, max);
}

// --- binary --------------------------------------------------------------------------

type Grads = [Tensor | null, Tensor | null];

export const add = binary('add', { dtypes: 'any', expr: E.add(x, y), grad: (g): Grads => [g, g] });
// Where one operand's gradient takes an op of its own, it is made only when that operand needs it.
export const sub = binary('sub', { dtypes: 'any', expr: E.sub(x, y), grad: (g, _x, y): Grads => [g, y.requiresGrad ? neg(g) : null] });
export const rsub = (a: number, b: Tensor): Tensor => sub(a, b);
export const mul = binary('mul', { dtypes: 'any', expr: E.mul(x, y), grad: (g, x, y): Grads => [x.requiresGrad ? mul(g, y) : null, y.requiresGrad ? mul(g, x) : null] });
export const div = binary('div', {
  dtypes: 'any', expr: E.div(x, y), grad: (g, x, y, out): Grads => [x.requiresGrad ? div(g, y) : null, y.requiresGrad ? neg(div(mul(g, out), y)) : null],
});

// Backward passes of hot activations as one kernel each (g is x, the forward's input or
// output is y): one pass over memory instead of two or three.
/**
 * 0 where y <= 0, else g (relu's backward from its input or its output, PyTorch's
 * threshold_backward: 0 also where g is not finite, and g where y is NaN).
 */
const reluGrad = binary('reluGrad', {
  dtypes: 'float', expr: E.select(E.le(y, 0), 0, x), internal: true,
  grad: (gg, _g, x): Grads => [reluGrad(gg, x), null],
});
/** g · s · (1 − s) for s = sigmoid(x) (sigmoid's backward). */
const sigmoidGrad = binary('sigmoidGrad', {
  dtypes: 'float', expr: E.mul(x, E.mul(y, E.sub(1, y))), internal: true,
  grad: (gg, g, s): Grads => [sigmoidGrad(gg, s), mul(mul(gg, g), rsub(1, mul(s, 2)))],
});
const powTensor = binary('pow', {
  dtypes: 'any', expr: E.pow(x, y), internal: true,
  grad: (g, x, y, out): Grads => [mul(g, mul(y, pow(x, sub(y, 1)))), where(eq(x, 0), 0, mul(g, mul(out, log(x))))],
});

/** a ** b. The exponent's gradient is g * out * log(a), taken as 0 where a == 0. */
export function pow(a: Operand, b: Operand): Tensor {
  if (typeof b !== 'number' || typeof a === 'number') return powTensor(a, b);
  requireFloat('pow', a);
  return powScalar(a, b);
}

/**
 * The gradient share of an operand of maximum / minimum that loses where `loses`: 0 there,
 * 0.5 at ties, else 1, so at a NaN (no comparison holds) both operands take the whole
 * gradient, as PyTorch's formula does.
 */
const share = (loses: Tensor, x: Tensor, y: Tensor) => rsub(1, add(loses, mul(eq(x, y), 0.5)));
/** Elementwise maximum (NaN wins); at ties the gradient is split evenly. */
export const maximum = binary('maximum', {
  dtypes: 'any', expr: E.select(E.or(E.gt(x, y), E.isNaN(x)), x, y),
  grad: (g, x, y): Grads => [mul(g, share(lt(x, y), x, y)), mul(g, share(gt(x, y), x, y))],
  check: { input: 'distinct' },
});
/** Elementwise minimum (NaN wins); at ties the gradient is split evenly. */
export const minimum = binary('minimum', {
  dtypes: 'any', expr: E.select(E.or(E.lt(x, y), E.isNaN(x)), x, y),
  grad: (g, x, y): Grads => [mul(g, share(gt(x, y), x, y)), mul(g, share(lt(x, y), x, y))],
  check: { input: 'distinct' },
});

// Comparisons give 1 / 0 in the inputs' dtype; no gradient flows through them.
export const eq = binary('eq', { dtypes: 'any', expr: E.eq(x, y) });
export const ne = binary('ne', { dtypes: 'any', expr: E.ne(x, y) });
export const lt = binary('lt', { dtypes: 'any', expr: E.lt(x, y) });
export const le = binary('le', { dtypes: 'any', expr: E.le(x, y) });
export const gt = binary('gt', { dtypes: 'any', expr: E.gt(x, y) });
export const ge = binary('ge', { dtypes: 'any', expr: E.ge(x, y) });

// --- where ---------------------------------------------------------------------------

/** cond != 0 ? a : b, broadcasting all three. The gradient flows to a or b; none to cond. */
export function where(cond: Tensor, a: Operand, b: Operand): Tensor {
  const anchor = typeof a !== 'number' ? a : typeof b !== 'number' ? b : full([], 0, { device: cond.device });
  const [ta, tb] = promote('where', toTensor(a, anchor), toTensor(b, anchor));
  const backend = commonBackend('where', cond, ta, tb);
  const outShape = broadcastShapes('where', broadcastShapes('where', cond.shape, ta.shape), tb.shape);
  const r = outShape.length;
  const s = backend.where(cond.storage, padRank(cond.shape, r), cond.dtype, ta.storage, padRank(ta.shape, r), tb.storage, padRank(tb.shape, r), outShape, ta.dtype);
  const out = wrap(backend, s, outShape, ta.dtype);
  return record('where', out, [ta, tb], (g) => {
    const zero = zerosScalar(g);
    return [ta.requiresGrad ? sumTo(where(cond, g, zero), ta.shape) : null, tb.requiresGrad ? sumTo(where(cond, zero, g), tb.shape) : null];
  });
}

const zerosScalar = (like: Tensor) => full([], 0, { dtype: like.dtype, device: like.device });
