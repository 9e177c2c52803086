/**
 * The third rendering of the elementwise expression language (kernels-ir's expr.ts):
 * an expression tree becomes straight-line f32x4 code over four elements at once.
 *
 * Every node is computed into a local in evaluation order, so a subtree that occurs twice
 * (sigmoid's exp, erf's |x|) is computed once, and nodes that do not depend on the inputs
 * (constants, parameters and what is built from them) go to a prelude that runs once,
 * outside the kernel's loops. Booleans are lane masks (all ones where true); `select`
 * evaluates both sides and picks bits, which is safe because no node has side effects.
 *
 * exp and log are Cephes-style polynomials with range reduction (see expSimd / logSimd);
 * tanh, sin, cos and pow have no SIMD rendering, so a tree that calls them stays on the
 * JavaScript loop (`simdRenderable`).
 */
import { exprKey, type Expr, type MathFunction } from '@webgrad/kernels-ir';
import { f32x4, get, i32, i32x4, set, v128, type Code, type Local, type ValType } from './emitter';

/** Functions with a SIMD rendering here. */
const SIMD_FUNCTIONS: readonly MathFunction[] = ['exp', 'log', 'sqrt', 'abs', 'sign'];

/** Can `e` be rendered as SIMD code (every function it calls has a rendering)? */
export function simdRenderable(e: Expr): boolean {
  switch (e.kind) {
    case 'input': case 'arg': case 'param': case 'const': return true;
    case 'neg': case 'fround': return simdRenderable(e.arg);
    case 'arith': case 'compare': case 'logic': return simdRenderable(e.lhs) && simdRenderable(e.rhs);
    case 'select': return simdRenderable(e.cond) && simdRenderable(e.ifTrue) && simdRenderable(e.ifFalse);
    case 'call': return SIMD_FUNCTIONS.includes(e.fn) && e.args.every(simdRenderable);
  }
}

/**
 * Whether `e` (an op's tree) gives the same bits here as in the JavaScript rendering: one
 * rounding at most (the JavaScript loop computes a whole op in f64 and rounds once; SIMD
 * rounds each node to f32), only the exact functions, f32-exact constants, no parameters
 * (the JavaScript loop takes them as f64). add, mul, relu and the like are; sigmoid, exp,
 * log and anything scaled by a parameter are not.
 */
export function sameAsJs(e: Expr): boolean {
  let roundings = 0;
  const ok = (n: Expr): boolean => {
    switch (n.kind) {
      case 'input': case 'arg': return true;
      case 'param': return false;
      case 'const': return Object.is(Math.fround(n.value), n.value) || Number.isNaN(n.value);
      case 'neg': case 'fround': return ok(n.arg);
      case 'arith': roundings++; return ok(n.lhs) && ok(n.rhs);
      case 'compare': case 'logic': return ok(n.lhs) && ok(n.rhs);
      case 'select': return ok(n.cond) && ok(n.ifTrue) && ok(n.ifFalse);
      case 'call':
        if (n.fn === 'sqrt') roundings++;
        else if (n.fn !== 'abs' && n.fn !== 'sign') return false;
        return n.args.every(ok);
    }
  };
  return ok(e) && roundings <= 1;
}

/**
 * Whether ops with these trees, fused into one tree (kernels-ir's inlineOp), give on the
 * cpu backend the bits they give run one by one there. A fused op runs the SIMD kernel when
 * its whole tree has a SIMD rendering and the JavaScript loop otherwise, while each op of
 * the chain took its own path; so: every op SIMD-renderable, or every SIMD-renderable op
 * one that SIMD computes as JavaScript does (sameAsJs). Fusing exp or sigmoid with tanh,
 * sin, cos or pow is not bitwise (Cephes-style exp/log in SIMD against Math.exp/log, f32
 * nodes against f64).
 */
export function fusesBitwise(exprs: readonly Expr[]): boolean {
  return exprs.every(simdRenderable) || exprs.every((e) => !simdRenderable(e) || sameAsJs(e));
}

const isBoolean = (e: Expr) => e.kind === 'compare' || e.kind === 'logic';

/** Straight-line SIMD code: `prelude` once per call, `body` per four elements, the value in `result`. */
export interface SimdCode {
  prelude: Code[];
  body: Code[];
  result: Local;
}

/** Several trees rendered together: a subtree they share is computed once. */
export interface SimdCodes {
  prelude: Code[];
  body: Code[];
  results: Local[];
}

/**
 * Renders `e` over the v128 locals `inputs` (x, and y for binary ops; args for a fused op) and the f32 locals
 * `params` (a, b). A boolean root gives 1.0 / 0.0 lanes, as the other renderings give 1 / 0.
 */
export function renderSimd(e: Expr, inputs: { x?: Local; y?: Local; args?: readonly Local[] }, params: { a: Local; b: Local }, temp: (t: ValType) => Local): SimdCode {
  const { prelude, body, results: [result] } = renderSimdAll([e], inputs, params, temp);
  return { prelude, body, result };
}

/** renderSimd for several roots (an update's writes), sharing their common subtrees. */
export function renderSimdAll(roots: readonly Expr[], inputs: { x?: Local; y?: Local; args?: readonly Local[] }, params: { a: Local; b: Local }, temp: (t: ValType) => Local): SimdCodes {
  const prelude: Code[] = [];
  const body: Code[] = [];
  const memo = new Map<string, { local: Local; invariant: boolean }>();
  const constants = new Map<string, Local>();
  /** A v128 constant in a local set once in the prelude (V8 rebuilds an inline v128.const at every use). */
  const constant = (c: Code): Local => {
    const key = JSON.stringify(c);
    let l = constants.get(key);
    if (!l) {
      l = temp('v128');
      prelude.push(set(l, c));
      constants.set(key, l);
    }
    return l;
  };
  const k: Lanes = { f32: (v) => get(constant(v128.f32Const(v))), i32: (v) => get(constant(v128.i32Const(v))) };

  /** A new local holding `code`; in the prelude when it depends on no input. */
  const bind = (code: Code, invariant: boolean) => {
    const local = temp('v128');
    (invariant ? prelude : body).push(set(local, code));
    return { local, invariant };
  };

  const visit = (n: Expr): { local: Local; invariant: boolean } => {
    const key = exprKey(n);
    const seen = memo.get(key);
    if (seen) return seen;
    const r = render(n);
    memo.set(key, r);
    return r;
  };

  const render = (n: Expr): { local: Local; invariant: boolean } => {
    switch (n.kind) {
      case 'input': {
        const l = n.name === 'x' ? inputs.x : inputs.y;
        if (!l) throw new Error(`renderSimd: the expression reads ${n.name}, which this kernel does not have`);
        return { local: l, invariant: false };
      }
      case 'arg': {
        const l = inputs.args?.[n.index];
        if (!l) throw new Error(`renderSimd: the expression reads arg(${n.index}), which this kernel does not have`);
        return { local: l, invariant: false };
      }
      // every value here is already f32
      case 'fround': return visit(n.arg);
      case 'param': return bind(f32x4.splat(get(params[n.name])), true);
      case 'const': return { local: constant(v128.f32Const(n.value)), invariant: true };
      case 'neg': {
        const a = visit(n.arg);
        return bind(f32x4.neg(get(a.local)), a.invariant);
      }
      case 'arith': case 'compare': case 'logic': {
        const l = visit(n.lhs), r = visit(n.rhs);
        const op = n.kind === 'logic' ? v128[n.op === 'and' ? 'and' : 'or'] : f32x4[n.op];
        return bind(op(get(l.local), get(r.local)), l.invariant && r.invariant);
      }
      case 'select': {
        const c = visit(n.cond), t = visit(n.ifTrue), f = visit(n.ifFalse);
        return bind(v128.bitselect(get(t.local), get(f.local), get(c.local)), c.invariant && t.invariant && f.invariant);
      }
      case 'call': {
        const a = visit(n.args[0]);
        const out = (code: Code) => bind(code, a.invariant);
        const x = get(a.local);
        switch (n.fn) {
          case 'sqrt': return out(f32x4.sqrt(x));
          case 'abs': return out(f32x4.abs(x));
          // 1, -1, or 0 (also for NaN, as the JavaScript rendering)
          case 'sign': return out(v128.or(v128.and(f32x4.gt(x, k.f32(0)), k.f32(1)), v128.and(f32x4.lt(x, k.f32(0)), k.f32(-1))));
          case 'exp': return { local: expSimd(a.local, (c) => bind(c, a.invariant).local, k), invariant: a.invariant };
          case 'log': return { local: logSimd(a.local, (c) => bind(c, a.invariant).local, k), invariant: a.invariant };
          default: throw new Error(`renderSimd: ${n.fn} has no SIMD rendering (check simdRenderable first)`);
        }
      }
    }
  };

  const results = roots.map((e) => {
    let root = visit(e);
    if (isBoolean(e)) root = bind(v128.and(get(root.local), k.f32(1)), root.invariant);
    return root.local;
  });
  return { prelude, body, results };
}

// --- exp and log ---------------------------------------------------------------------------

/** `let`: a new local holding the code (the caller decides where it runs). */
type Let = (code: Code) => Local;
/** Constants with the same value in every lane (the caller decides where they are made). */
export interface Lanes {
  f32(v: number): Code;
  i32(v: number): Code;
}
/** Inline v128.const: for use outside a loop. */
export const inlineLanes: Lanes = { f32: v128.f32Const, i32: v128.i32Const };

/** c0 + x·(c1 + x·(c2 + ...)), Horner's scheme, coefficients from the constant term up. */
function horner(x: Local, coefficients: number[], let_: Let, k: Lanes): Local {
  let acc = let_(k.f32(coefficients[coefficients.length - 1]));
  for (let i = coefficients.length - 2; i >= 0; i--) acc = let_(f32x4.add(f32x4.mul(get(acc), get(x)), k.f32(coefficients[i])));
  return acc;
}

/**
 * e^x (Cephes expf): n = round(x·log2 e), r = x − n·ln 2 in two parts (the first exact), e^r
 * by a degree-5 polynomial, then the scaling by 2^n done as two factors 2^(n/2) so results
 * that overflow or become denormal round once, as they should. x is clamped to [-104, 89]
 * first, where e^x is already 0 or +Infinity in float32; NaN passes through the clamp.
 */
export function expSimd(x: Local, let_: Let, lanes: Lanes = inlineLanes): Local {
  const k = lanes.f32, ki = lanes.i32;
  const xc = let_(f32x4.min(f32x4.max(get(x), k(-104)), k(89)));
  const fx = let_(f32x4.floor(f32x4.add(f32x4.mul(get(xc), k(Math.LOG2E)), k(0.5))));
  const r1 = let_(f32x4.sub(get(xc), f32x4.mul(get(fx), k(0.693359375))));
  const r = let_(f32x4.sub(get(r1), f32x4.mul(get(fx), k(-2.12194440e-4))));
  const z = let_(f32x4.mul(get(r), get(r)));
  const p = horner(r, [5.0000001201e-1, 1.6666665459e-1, 4.1665795894e-2, 8.3334519073e-3, 1.3981999507e-3, 1.9875691500e-4], let_, lanes);
  const y = let_(f32x4.add(f32x4.add(f32x4.mul(get(p), get(z)), get(r)), k(1)));
  const n = let_(i32x4.truncSatF32x4(get(fx)));
  const n1 = let_(i32x4.shrS(get(n), i32.const(1)));
  const pow2 = (m: Code): Code => i32x4.shl(i32x4.add(m, ki(127)), i32.const(23));
  return let_(f32x4.mul(f32x4.mul(get(y), pow2(get(n1))), pow2(i32x4.sub(get(n), get(n1)))));
}

/**
 * log x (Cephes logf): x = m·2^e with m in [√½, √2) (denormals scaled by 2^23 first),
 * log(m) by a degree-9 polynomial in m − 1, plus e·ln 2 in two parts. Negative x and NaN
 * give NaN, ±0 gives −Infinity, +Infinity gives itself.
 */
export function logSimd(x: Local, let_: Let, lanes: Lanes = inlineLanes): Local {
  const k = lanes.f32, ki = lanes.i32;
  const tiny = let_(f32x4.lt(get(x), k(1.1754943508222875e-38)));
  const xs = let_(v128.bitselect(f32x4.mul(get(x), k(8388608)), get(x), get(tiny)));
  // exponent: (bits >> 23) − 126, 23 less for a scaled denormal; mantissa into [0.5, 1)
  const e0 = let_(i32x4.add(i32x4.sub(i32x4.shrS(get(xs), i32.const(23)), ki(126)), v128.and(get(tiny), ki(-23))));
  const m = let_(v128.or(v128.and(get(xs), ki(0x007fffff)), ki(0x3f000000)));
  const small = let_(f32x4.lt(get(m), k(Math.SQRT1_2)));
  const e = let_(i32x4.add(get(e0), get(small))); // small lanes are −1
  const xm = let_(f32x4.add(f32x4.sub(get(m), k(1)), v128.and(get(small), get(m))));
  const fe = let_(f32x4.convertI32x4(get(e)));
  const z = let_(f32x4.mul(get(xm), get(xm)));
  const p = horner(xm, [3.3333331174e-1, -2.4999993993e-1, 2.0000714765e-1, -1.6668057665e-1, 1.4249322787e-1, -1.2420140846e-1, 1.1676998740e-1, -1.1514610310e-1, 7.0376836292e-2], let_, lanes);
  const y0 = let_(f32x4.mul(f32x4.mul(get(p), get(xm)), get(z)));
  const y1 = let_(f32x4.add(get(y0), f32x4.mul(get(fe), k(-2.12194440e-4))));
  const y2 = let_(f32x4.sub(get(y1), f32x4.mul(get(z), k(0.5))));
  const r0 = let_(f32x4.add(f32x4.add(get(xm), get(y2)), f32x4.mul(get(fe), k(0.693359375))));
  const invalid = let_(v128.or(f32x4.lt(get(x), k(0)), f32x4.ne(get(x), get(x))));
  const r1 = let_(v128.bitselect(k(NaN), get(r0), get(invalid)));
  const r2 = let_(v128.bitselect(k(-Infinity), get(r1), f32x4.eq(get(x), k(0))));
  return let_(v128.bitselect(k(Infinity), get(r2), f32x4.eq(get(x), k(Infinity))));
}
