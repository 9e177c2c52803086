/**
 * The softmax kernels' exp (two f64 lanes) against Math.exp over every argument softmax
 * gives it (x − max ≤ 0): within 2 ulp, and exact at the special values.
 */
import { describe, expect, it } from 'vitest';
import { assemble, expF64x2, forRange, func, get, i32, v128 } from '@webgrad/kernels-wasm';

function wasmExp(): (xs: Float64Array) => Float64Array {
  const bytes = assemble({ module: 'env', field: 'memory', initialPages: 64, maximumPages: 64, shared: false }, [
    func('expPairs', { at: 'i32', n: 'i32' }, { i: 'i32', k: 'v128', r: 'v128', p: 'v128', h: 'v128' }, (v) => {
      const addr = i32.add(get(v.at), i32.mul(get(v.i), i32.const(8)));
      return [forRange(v.i, i32.const(0), get(v.n), i32.const(2), v128.store(addr, expF64x2(v128.load(addr), v)))];
    }),
  ]);
  const memory = new WebAssembly.Memory({ initial: 64, maximum: 64 });
  const { expPairs } = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } }).exports as { expPairs: (at: number, n: number) => void };
  return (xs) => {
    const view = new Float64Array(memory.buffer, 0, xs.length + 1);
    view.set(xs);
    expPairs(0, xs.length);
    return view.slice(0, xs.length);
  };
}

/** |a − e| in units of e's last place (the subnormal spacing below the normal range). */
function ulps(a: number, e: number): number {
  if (a === e) return 0;
  const exponent = e === 0 ? -1074 : Math.max(Math.floor(Math.log2(Math.abs(e))), -1022) - 52;
  return Math.abs(a - e) / 2 ** exponent;
}

describe('the softmax kernels\' exp', () => {
  const exp = wasmExp();
  it('is within 2 ulp of Math.exp on [-746, 0] (uniform, near 0, and the subnormal range)', () => {
    const xs: number[] = [];
    let s = 12345;
    const next = () => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let i = 0; i < 100_000; i++) xs.push(-746 * next());
    for (let i = 0; i < 20_000; i++) xs.push(-(10 ** (-12 * next())));
    for (let i = 0; i < 20_000; i++) xs.push(-708 - 38 * next());
    for (let k = -1075; k <= 0; k++) xs.push(k * Math.LN2, k * Math.LN2 + 1e-9, k * Math.LN2 / 2);
    const got = exp(new Float64Array(xs));
    let worst = 0, at = 0;
    xs.forEach((x, i) => {
      const u = ulps(got[i], Math.exp(x));
      if (u > worst) [worst, at] = [u, x];
    });
    expect(worst, `worst ${worst.toFixed(2)} ulp at x = ${at}`).toBeLessThanOrEqual(2);
  });
  it('gives 1 at 0 and -0, 0 at -Infinity and below -745.2, NaN at NaN', () => {
    expect(Array.from(exp(new Float64Array([0, -0, -Infinity, -746, -1e300, NaN])))).toEqual([1, 1, 0, 0, 0, NaN]);
  });
});
