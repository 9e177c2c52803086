import { describe, expect, it } from 'vitest';
import {
  assemble, f32, forRange, func, get, i32, if_, kernelFunctions, kernelModule, layout, set, simdSupport, sleb, uleb, gemmParams, convParams,
} from '@webgrad/kernels-wasm';

const mem = { module: 'env', field: 'memory', initialPages: 1, maximumPages: 16, shared: false };

function instantiate(bytes: Uint8Array<ArrayBuffer>) {
  const memory = new WebAssembly.Memory({ initial: 1, maximum: 16 });
  const exports = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } }).exports;
  return { memory, exports: exports as Record<string, (...a: number[]) => number> };
}

describe('LEB128', () => {
  it('encodes the spec examples and the edges of each byte', () => {
    expect(uleb(0)).toEqual([0]);
    expect(uleb(127)).toEqual([0x7f]);
    expect(uleb(128)).toEqual([0x80, 0x01]);
    expect(uleb(624485)).toEqual([0xe5, 0x8e, 0x26]);
    expect(uleb(2 ** 32 - 1)).toEqual([0xff, 0xff, 0xff, 0xff, 0x0f]);
    expect(sleb(0)).toEqual([0]);
    expect(sleb(63)).toEqual([0x3f]);
    expect(sleb(64)).toEqual([0xc0, 0x00]);
    expect(sleb(-1)).toEqual([0x7f]);
    expect(sleb(-64)).toEqual([0x40]);
    expect(sleb(-65)).toEqual([0xbf, 0x7f]);
    expect(sleb(-123456)).toEqual([0xc0, 0xbb, 0x78]);
    expect(sleb(-(2 ** 31))).toEqual([0x80, 0x80, 0x80, 0x80, 0x78]);
  });
  it('rejects what it cannot encode', () => {
    expect(() => uleb(-1)).toThrow(/not a non-negative integer/);
    expect(() => sleb(0.5)).toThrow(/not an integer/);
  });
});

describe('emitter', () => {
  it('assembles functions with loops, branches, calls and memory that compute what they say', () => {
    const bytes = assemble(mem, [
      func('sumTo', { n: 'i32' }, { i: 'i32', s: 'i32' }, (v) => [
        set(v.s, i32.const(0)),
        forRange(v.i, i32.const(0), get(v.n), i32.const(1), set(v.s, i32.add(get(v.s), get(v.i)))),
        get(v.s),
      ], { results: ['i32'], exported: false }),
      func('twiceSumTo', { n: 'i32' }, {}, (v) => [i32.mul(i32.const(2), [get(v.n), { call: 'sumTo' }])], { results: ['i32'] }),
      func('scale', { p: 'i32', n: 'i32', by: 'f32' }, { i: 'i32' }, (v) => [
        forRange(v.i, i32.const(0), get(v.n), i32.const(1),
          if_(i32.lt(get(v.i), i32.const(1000)), [
            f32.store(i32.add(get(v.p), i32.mul(get(v.i), i32.const(4))),
              f32.mul(f32.load(i32.add(get(v.p), i32.mul(get(v.i), i32.const(4)))), get(v.by))),
          ])),
      ]),
    ]);
    const { memory, exports } = instantiate(bytes);
    expect(Object.keys(exports).sort()).toEqual(['scale', 'twiceSumTo']);
    expect(exports.twiceSumTo(10)).toBe(90);
    expect(exports.twiceSumTo(0)).toBe(0);
    const view = new Float32Array(memory.buffer, 64, 5);
    view.set([1, 2, 3, 4, 5]);
    exports.scale(64, 4, -0.5);
    expect(Array.from(view)).toEqual([-0.5, -1, -1.5, -2, 5]);
  });
  it('names an unknown callee', () => {
    expect(() => assemble(mem, [func('f', {}, {}, () => [{ call: 'nope' }])])).toThrow(/unknown function nope/);
  });
});

describe('kernel module', () => {
  it('validates with and without relaxed SIMD, and the same options give the same bytes', () => {
    const support = simdSupport();
    expect(support.simd).toBe(true); // Node >= 16 has 128-bit SIMD
    for (const relaxed of support.relaxed ? [false, true] : [false]) {
      const a = kernelModule({ relaxed }), b = kernelModule({ relaxed });
      expect(WebAssembly.validate(a)).toBe(true);
      expect(Buffer.from(a).equals(Buffer.from(b))).toBe(true);
      const exports = WebAssembly.Module.exports(new WebAssembly.Module(a)).map((e) => e.name).sort();
      expect(exports).toEqual(kernelFunctions({ relaxed }).filter((f) => f.exported).map((f) => f.name).sort());
      expect(exports).toEqual(expect.arrayContaining(['batchNorm', 'batchNormBackward', 'convBackwardInput', 'convBackwardWeight', 'convForward', 'gemm', 'maxPool']));
      expect(exports).toEqual(expect.arrayContaining(['maxPoolBackward', 'avgPool', 'avgPoolBackward', 'reduceSum', 'reduceMax', 'reduceMin', 'softmaxRows', 'logSoftmaxRows']));
    }
  });
});

describe('parameter layouts', () => {
  it('place each field at its own word and reject values that are not i32', () => {
    const view = new Int32Array(64);
    const values = Object.fromEntries(gemmParams.fields.map((f, i) => [f, i * 3 - 7])) as Record<(typeof gemmParams.fields)[number], number>;
    gemmParams.write(view, 16, values);
    for (const f of gemmParams.fields) expect(view[4 + gemmParams.offset[f] / 4]).toBe(values[f]);
    expect(() => gemmParams.write(view, 2, values)).toThrow(/not 4-byte aligned/);
    expect(() => gemmParams.write(view, 0, { ...values, k: 2 ** 31 })).toThrow(/parameter k = 2147483648 is not an i32/);
    expect(new Set(Object.values(convParams.offset)).size).toBe(convParams.fields.length);
    expect(layout(['a', 'b'] as const).bytes).toBe(8);
  });
});
