/**
 * SGD and Adam/AdamW steps in place, element by element in f64 with the JS reference's
 * operations in its order (each stored state rounded to f32 and read back as it is there),
 * so the results equal the reference's bit for bit. A thread takes elements [i0, i1).
 */
import { f32, f64, forRange, func, get, i32, if_, set, type Code, type FuncDef, type Local } from './emitter';
import { layout } from './layout';

/** Pointers in bytes (buf 0 without momentum); `consts` points at f64s in SGD_CONSTS order; flags are 0 / 1. */
export const sgdParams = layout(['w', 'g', 'buf', 'i0', 'i1', 'consts', 'firstStep', 'nesterov'] as const);
export const SGD_CONSTS = ['lr', 'momentum', 'oneMinusDampening', 'weightDecay'] as const;

export const adamParams = layout(['w', 'g', 'm', 'v', 'i0', 'i1', 'consts', 'decoupled'] as const);
/** decay = 1 − lr·weightDecay (AdamW's shrink), stepSize = lr / (1 − β1^t), sqrtBc2 = √(1 − β2^t). */
export const ADAM_CONSTS = ['beta1', 'oneMinusBeta1', 'beta2', 'oneMinusBeta2', 'stepSize', 'sqrtBc2', 'eps', 'weightDecay', 'decay'] as const;

const c = i32.const;
const at4 = (base: Code, i: Local): Code => i32.add(base, i32.mul(get(i), c(4)));
/** The f64 constant `k` of a consts block at the address in local `at`. */
const constant = <K extends string>(names: readonly K[], at: Local) => (k: K): Code => f64.load(get(at), 8 * names.indexOf(k));

/** The f32 at a byte address, widened. */
const ld64 = (addr: Code): Code => f64.fromF32(f32.load(addr));
const st32 = (addr: Code, x: Code): Code => f32.store(addr, f64.toF32(x));

function sgd(): FuncDef {
  const P = sgdParams;
  return func('sgdStep', { pp: 'i32' }, { i: 'i32', d: 'f64', w: 'i32', b: 'i32', k0: 'i32' }, (v) => {
    const k = constant(SGD_CONSTS, v.k0);
    return [
      set(v.k0, P.load(v.pp, 'consts')),
      forRange(v.i, P.load(v.pp, 'i0'), P.load(v.pp, 'i1'), c(1),
        set(v.w, at4(P.load(v.pp, 'w'), v.i)),
        // d = g + wd·w
        set(v.d, f64.add(ld64(at4(P.load(v.pp, 'g'), v.i)), f64.mul(k('weightDecay'), ld64(get(v.w))))),
        if_(P.load(v.pp, 'buf'), [
          set(v.b, at4(P.load(v.pp, 'buf'), v.i)),
          // buf = first ? d : momentum·buf + (1 − dampening)·d
          if_(P.load(v.pp, 'firstStep'),
            [st32(get(v.b), get(v.d))],
            [st32(get(v.b), f64.add(f64.mul(k('momentum'), ld64(get(v.b))), f64.mul(k('oneMinusDampening'), get(v.d))))]),
          // d = nesterov ? d + momentum·buf : buf
          if_(P.load(v.pp, 'nesterov'),
            [set(v.d, f64.add(get(v.d), f64.mul(k('momentum'), ld64(get(v.b)))))],
            [set(v.d, ld64(get(v.b)))]),
        ]),
        st32(get(v.w), f64.sub(ld64(get(v.w)), f64.mul(k('lr'), get(v.d))))),
    ];
  });
}

function adam(): FuncDef {
  const P = adamParams;
  return func('adamStep', { pp: 'i32' }, { i: 'i32', gi: 'f64', w: 'i32', m: 'i32', v: 'i32', k0: 'i32' }, (l) => {
    const k = constant(ADAM_CONSTS, l.k0);
    return [
      set(l.k0, P.load(l.pp, 'consts')),
      forRange(l.i, P.load(l.pp, 'i0'), P.load(l.pp, 'i1'), c(1),
        set(l.w, at4(P.load(l.pp, 'w'), l.i)), set(l.m, at4(P.load(l.pp, 'm'), l.i)), set(l.v, at4(P.load(l.pp, 'v'), l.i)),
        set(l.gi, ld64(at4(P.load(l.pp, 'g'), l.i))),
        if_(P.load(l.pp, 'decoupled'),
          [st32(get(l.w), f64.mul(ld64(get(l.w)), k('decay')))],
          [set(l.gi, f64.add(get(l.gi), f64.mul(k('weightDecay'), ld64(get(l.w)))))]),
        st32(get(l.m), f64.add(f64.mul(k('beta1'), ld64(get(l.m))), f64.mul(k('oneMinusBeta1'), get(l.gi)))),
        st32(get(l.v), f64.add(f64.mul(k('beta2'), ld64(get(l.v))), f64.mul(f64.mul(k('oneMinusBeta2'), get(l.gi)), get(l.gi)))),
        // w −= stepSize·m / (√v / √bc2 + eps)
        st32(get(l.w), f64.sub(ld64(get(l.w)), f64.div(
          f64.mul(k('stepSize'), ld64(get(l.m))),
          f64.add(f64.div(f64.sqrt(ld64(get(l.v))), k('sqrtBc2')), k('eps')))))),
    ];
  });
}

export function optimizerFunctions(): FuncDef[] {
  return [sgd(), adam()];
}
