/**
 * SGD and Adam/AdamW steps in place, element by element in f64 with the JS reference's
 * operations in its order (each stored state rounded to f32 and read back as it is there),
 * so the results equal the reference's bit for bit. Two elements at a time in f64x2 lanes,
 * a last odd one alone. A thread takes elements [i0, i1).
 */
import {
  block, br, brIf, f32, f64, f64x2, forRange, func, get, i32, if_, loop, set, v128, type Code, type FuncDef, type Local, type ValType,
} from './emitter';
import { layout } from './layout';

/** Pointers in bytes (buf 0 without momentum); `consts` points at f64s in SGD_CONSTS order; flags are 0 / 1. */
export const sgdParams = layout(['w', 'g', 'buf', 'i0', 'i1', 'consts', 'firstStep', 'nesterov'] as const);
export const SGD_CONSTS = ['lr', 'momentum', 'oneMinusDampening', 'weightDecay'] as const;

export const adamParams = layout(['w', 'g', 'm', 'v', 'i0', 'i1', 'consts', 'decoupled'] as const);
/** decay = 1 − lr·weightDecay (AdamW's shrink), stepSize = lr / (1 − β1^t), sqrtBc2 = √(1 − β2^t). */
export const ADAM_CONSTS = ['beta1', 'oneMinusBeta1', 'beta2', 'oneMinusBeta2', 'stepSize', 'sqrtBc2', 'eps', 'weightDecay', 'decay'] as const;

const c = i32.const;

/** f64 arithmetic on one element (f64) or two (f64x2), loading and storing f32. */
interface Lanes {
  width: number;
  load(addr: Code): Code;
  store(addr: Code, x: Code): Code;
  add(a: Code, b: Code): Code;
  sub(a: Code, b: Code): Code;
  mul(a: Code, b: Code): Code;
  div(a: Code, b: Code): Code;
  sqrt(a: Code): Code;
}
const one: Lanes = {
  width: 1,
  load: (addr) => f64.fromF32(f32.load(addr)),
  store: (addr, x) => f32.store(addr, f64.toF32(x)),
  add: f64.add, sub: f64.sub, mul: f64.mul, div: f64.div, sqrt: f64.sqrt,
};
const two: Lanes = {
  width: 2,
  load: (addr) => f64x2.promoteLow(v128.load64Zero(addr)),
  store: (addr, x) => v128.store64Lane(addr, f64x2.demoteZero(x), 0),
  add: f64x2.add, sub: f64x2.sub, mul: f64x2.mul, div: f64x2.div, sqrt: f64x2.sqrt,
};

/**
 * An in-place step: pointers and constants are read once into locals (each constant as f64
 * and splat); `step` updates the element(s) at index local `i`: addr(a) is their byte
 * address in array a, base(a) the array's pointer, tmp a scratch local of the lanes' type.
 */
function stepKernel<A extends string, K extends string, F extends string>(
  name: string, arrays: readonly A[], consts: readonly K[], flags: readonly F[],
  P: { load(base: Local, field: A | K | F | 'i0' | 'i1' | 'consts'): Code },
  step: (n: Lanes, k: (name: K) => Code, addr: (a: A) => Code, flag: (f: F) => Code, tmp: Local, base: (a: A) => Code) => Code[],
): FuncDef {
  const locals: Record<string, ValType> = { i: 'i32', end: 'i32', kp: 'i32', t1: 'f64', v1: 'v128' };
  for (const a of arrays) locals[`p_${a}`] = 'i32';
  for (const f of flags) locals[`f_${f}`] = 'i32';
  for (const k of consts) { locals[`s_${k}`] = 'f64'; locals[`v_${k}`] = 'v128'; }
  return func(name, { pp: 'i32' }, locals, (v) => {
    const L = v as Record<string, Local>;
    const body = (n: Lanes) => step(
      n,
      (k) => get(L[`${n.width === 1 ? 's' : 'v'}_${k}`]),
      (a) => i32.add(get(L[`p_${a}`]), i32.mul(get(L.i), c(4))),
      (f) => get(L[`f_${f}`]),
      n.width === 1 ? L.t1 : L.v1,
      (a) => get(L[`p_${a}`]),
    );
    return [
      ...arrays.map((a) => set(L[`p_${a}`], P.load(L.pp, a as A))),
      ...flags.map((f) => set(L[`f_${f}`], P.load(L.pp, f as F))),
      set(L.kp, P.load(L.pp, 'consts')),
      ...consts.flatMap((k, j) => [set(L[`s_${k}`], f64.load(get(L.kp), 8 * j)), set(L[`v_${k}`], f64x2.splat(get(L[`s_${k}`])))]),
      set(L.i, P.load(L.pp, 'i0')), set(L.end, P.load(L.pp, 'i1')),
      block(loop(
        brIf(1, i32.gt(i32.add(get(L.i), c(2)), get(L.end))),
        ...body(two),
        set(L.i, i32.add(get(L.i), c(2))),
        br(0))),
      forRange(L.i, get(L.i), get(L.end), c(1), ...body(one)),
    ];
  });
}

function sgd(): FuncDef {
  return stepKernel('sgdStep', ['w', 'g', 'buf'] as const, SGD_CONSTS, ['firstStep', 'nesterov'] as const, sgdParams, (n, k, addr, flag, d, base) => [
    // d = g + wd·w
    set(d, n.add(n.load(addr('g')), n.mul(k('weightDecay'), n.load(addr('w'))))),
    if_(base('buf'), [ // momentum
      // buf = first ? d : momentum·buf + (1 − dampening)·d
      if_(flag('firstStep'),
        [n.store(addr('buf'), get(d))],
        [n.store(addr('buf'), n.add(n.mul(k('momentum'), n.load(addr('buf'))), n.mul(k('oneMinusDampening'), get(d))))]),
      // d = nesterov ? d + momentum·buf : buf
      if_(flag('nesterov'),
        [set(d, n.add(get(d), n.mul(k('momentum'), n.load(addr('buf')))))],
        [set(d, n.load(addr('buf')))]),
    ]),
    n.store(addr('w'), n.sub(n.load(addr('w')), n.mul(k('lr'), get(d)))),
  ]);
}

function adam(): FuncDef {
  return stepKernel('adamStep', ['w', 'g', 'm', 'v'] as const, ADAM_CONSTS, ['decoupled'] as const, adamParams, (n, k, addr, flag, gi) => [
    set(gi, n.load(addr('g'))),
    if_(flag('decoupled'),
      [n.store(addr('w'), n.mul(n.load(addr('w')), k('decay')))],
      [set(gi, n.add(get(gi), n.mul(k('weightDecay'), n.load(addr('w')))))]),
    n.store(addr('m'), n.add(n.mul(k('beta1'), n.load(addr('m'))), n.mul(k('oneMinusBeta1'), get(gi)))),
    n.store(addr('v'), n.add(n.mul(k('beta2'), n.load(addr('v'))), n.mul(n.mul(k('oneMinusBeta2'), get(gi)), get(gi)))),
    // w −= stepSize·m / (√v / √bc2 + eps)
    n.store(addr('w'), n.sub(n.load(addr('w')), n.div(
      n.mul(k('stepSize'), n.load(addr('m'))),
      n.add(n.div(n.sqrt(n.load(addr('v'))), k('sqrtBc2')), k('eps'))))),
  ]);
}

export function optimizerFunctions(): FuncDef[] {
  return [sgd(), adam()];
}
