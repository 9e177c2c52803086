/**
 * Fused elementwise ops (kernels-ir's fusedOp / inlineOp) against the chain of unary and
 * binary calls they replace: random chains of the op table's float ops over inputs of odd,
 * broadcasting shapes with NaN, ±Infinity and -0 among the values. Bit for bit on the JS
 * reference and on the cpu backend's WASM kernels (for groups that fusesBitwise accepts),
 * within 1e-6 relative on webgpu (lavapipe); the 7-input limit; the tensor-level function.
 */
import { afterAll, describe, expect, it } from 'vitest';
import * as wg from '@webgrad/tensor';
import { expr as E, fusedOp, inlineOp, MAX_FUSED_ARITY, type ElementwiseKernelOp, type Expr } from '@webgrad/kernels-ir';
import { fusesBitwise, fusedModule, sameAsJs, simdRenderable } from '@webgrad/kernels-wasm';
import type { Backend, Shape, Storage } from '../src/backend';
import { broadcastShapes, padRank, sizeOf } from '../src/shape';
import { wasmFused } from '../src/backends/cpu/wasm/elementwise';
import { defaultThreads, wasmRuntime } from '../src/backends/cpu/wasm/runtime';
import { installWasmNodeHost } from '../src/backends/cpu/wasm/node-host';
import { openBackend } from './helpers/webgpu-backend';
import { randomWithSpecials, rng } from './helpers/rng';

installWasmNodeHost();
const rt = wasmRuntime();
const main = await openBackend();
afterAll(async () => {
  rt?.setThreads(defaultThreads());
  await main.gpu?.destroy();
});

type TableOp = ElementwiseKernelOp & { params?: readonly (readonly [string, number | null])[]; check?: { args?: number[] } };
const table = [...wg.elementwiseOps.values()].map((f) => f.op as TableOp).filter((op) => op.name !== 'cast');
const opNamed = (name: string) => table.find((op) => op.name === name)!;
/** Parameter values: the test's, else the defaults (clamp has none: bounds that cut). */
function paramsOf(op: TableOp): [number, number] {
  if (op.name === 'clamp') return [-1, 2];
  const p = op.check?.args ?? (op.params ?? []).map(([, v]) => v ?? 0);
  return [p[0] ?? 0, p[1] ?? 0];
}

const SPECIAL = [NaN, Infinity, -Infinity, -0, 0, 1e-40, -3e38, 1, -1, 0.5, 20, -20];
const values = (n: number, seed: number): Float32Array => randomWithSpecials(n, seed, SPECIAL, 0.15, (r, i) => (r.next() * 2 - 1) * (i % 3 === 0 ? 30 : 3));

const OUT: Shape = [3, 5, 7];
/** Input shapes broadcasting to OUT, none with a multiple of 4 elements but the scalar's 1. */
const SHAPES: Shape[] = [[3, 5, 7], [3, 5, 7], [1, 5, 1], [3, 1, 7], [7], [], [5, 1]];

/** A chain of ops over some inputs, as one tree and as the steps that compute it. */
interface Chain {
  /** The leaves the chain reads, in arg order. */
  inputs: number[];
  expr: Expr;
  ops: TableOp[];
  run(be: Backend, leaves: Storage[]): { s: Storage; shape: Shape };
  describe: string;
  shapes: Shape[];
}

interface Node {
  expr: (arg: (leaf: number) => Expr) => Expr;
  run: (be: Backend, leaves: Storage[]) => { s: Storage; shape: Shape };
  leaves: Set<number>;
  text: string;
}

/** A random chain of `steps` ops of `ops`, each reading earlier results or the leaves. */
function randomChain(seed: number, steps: number, ops: readonly TableOp[], shapes: Shape[] = SHAPES): Chain {
  const r = rng(seed);
  const leafCount = shapes.length;
  const pool: Node[] = Array.from({ length: leafCount }, (_, k) => ({
    expr: (arg) => arg(k), run: (_be, leaves) => ({ s: leaves[k], shape: shapes[k] }), leaves: new Set([k]), text: `in${k}`,
  }));
  const used: TableOp[] = [];
  let last!: Node;
  for (let s = 0; s < steps; s++) {
    const op = r.pick(ops);
    used.push(op);
    // prefer recent results, so the chain is deep rather than wide
    const pick = (): Node => (r.next() < 0.6 && pool.length > leafCount ? pool[r.int(leafCount, pool.length - 1)] : r.pick(pool));
    const args = Array.from({ length: op.arity }, pick);
    const [a, b] = paramsOf(op);
    const memo = new Map<unknown, Expr>();
    const node: Node = {
      expr: (arg) => {
        if (!memo.has(arg)) memo.set(arg, inlineOp(op, args.map((n) => n.expr(arg)), a, b));
        return memo.get(arg)!;
      },
      run: (be, leaves) => {
        const ins = args.map((n) => n.run(be, leaves));
        if (op.arity === 1) return { s: be.unary(op, ins[0].s, sizeOf(ins[0].shape), 'float32', 'float32', a, b), shape: ins[0].shape };
        const shape = broadcastShapes(op.name, ins[0].shape, ins[1].shape);
        const rk = shape.length;
        return { s: be.binary(op, ins[0].s, padRank(ins[0].shape, rk), ins[1].s, padRank(ins[1].shape, rk), shape, 'float32', 'float32'), shape };
      },
      leaves: new Set(args.flatMap((n) => [...n.leaves])),
      text: `${op.name}(${args.map((n) => n.text).join(', ')})`,
    };
    pool.push(node);
    last = node;
  }
  const inputs = [...last.leaves].sort((i, j) => i - j);
  const argOf = (leaf: number) => E.arg(inputs.indexOf(leaf));
  return { inputs, expr: last.expr(argOf), ops: used, run: last.run, describe: last.text, shapes };
}

/** Runs `chain` fused and one op at a time on `be`; both results, read back. */
async function both(be: Backend, chain: Chain, seed: number) {
  const leaves = chain.shapes.map((s, k) => be.upload(values(sizeOf(s), seed * 31 + k), 'float32'));
  const stepwise = chain.run(be, leaves);
  const shapes = chain.inputs.map((k) => chain.shapes[k]);
  const outShape = shapes.reduce<number[]>((o, s) => broadcastShapes('test', o, s), []);
  expect(outShape).toEqual([...stepwise.shape]);
  const op = fusedOp(chain.expr, chain.inputs.length);
  const fused = be.fused(op, chain.inputs.map((k) => leaves[k]), shapes.map((s) => padRank(s, outShape.length)), outShape);
  const n = sizeOf(outShape);
  return { want: (await be.read(stepwise.s, n, 'float32')) as Float32Array, got: (await be.read(fused, n, 'float32')) as Float32Array, op };
}

const bitsOf = (v: number) => new Int32Array(new Float32Array([v]).buffer)[0];
/** Bit for bit, any NaN matching any NaN (NaN payloads are no part of the contract). */
function expectSameBits(got: Float32Array, want: Float32Array, what: string): void {
  for (let i = 0; i < want.length; i++) {
    if (Number.isNaN(want[i]) && Number.isNaN(got[i])) continue;
    if (bitsOf(got[i]) !== bitsOf(want[i])) expect.fail(`${what}[${i}]: fused ${got[i]}, one by one ${want[i]}`);
  }
}
function expectClose(got: Float32Array, want: Float32Array, what: string, rel = 1e-6): void {
  for (let i = 0; i < want.length; i++) {
    const w = want[i], g = got[i];
    if (Number.isNaN(w) || Number.isNaN(g)) {
      if (Number.isNaN(w) && Number.isNaN(g)) continue;
    } else if (w === g || Math.abs(g - w) <= rel * Math.abs(w)) continue;
    expect.fail(`${what}[${i}]: fused ${g}, one by one ${w}`);
  }
}

const CHAINS = 60;

describe('fused trees in kernels-ir', () => {
  it('exprKey keeps NaN, ±Infinity and -0 apart (JSON would not)', () => {
    const names = [NaN, Infinity, -Infinity, 0, -0].map((v) => fusedOp(E.add(E.arg(0), v), 1).name);
    expect(new Set(names).size).toBe(5);
    expect(fusedOp(E.add(E.arg(0), 1), 1).name).toBe(fusedOp(E.add(E.arg(0), 1), 1).name);
    expect(fusedOp(E.add(E.arg(0), 1), 1).name).not.toBe(fusedOp(E.add(E.arg(0), 1), 2).name);
  });

  it('fusedOp checks the tree', () => {
    expect(() => fusedOp(E.add(E.x, E.arg(0)), 1)).toThrow(/input x/);
    expect(() => fusedOp(E.mul(E.arg(0), E.a), 1)).toThrow(/parameter a/);
    expect(() => fusedOp(E.arg(2), 2)).toThrow(/arg\(2\)/);
    expect(() => fusedOp(E.arg(0), MAX_FUSED_ARITY + 1)).toThrow(/arity/);
    expect(fusedOp(E.gt(E.arg(0), 0), 1).expr.kind).toBe('select');
  });

  it('inlineOp substitutes inputs and parameters and rounds the result', () => {
    const t = inlineOp(opNamed('affine'), [E.arg(0)], 2, -0);
    expect(t).toEqual(E.fround(E.add(E.mul(2, E.arg(0)), -0)));
    expect(inlineOp(opNamed('gt'), [E.arg(0), E.arg(1)])).toEqual(E.fround(E.select(E.gt(E.arg(0), E.arg(1)), 1, 0)));
    expect(() => inlineOp(opNamed('add'), [E.arg(0)])).toThrow(/2 inputs/);
  });
});

describe('fused ops on the JS reference backend', () => {
  const be = wg.cpuReferenceBackend;
  it(`equal the chain of unary/binary calls bit for bit: ${CHAINS} random chains of every float op`, async () => {
    for (let c = 0; c < CHAINS; c++) {
      const chain = randomChain(1000 + c, 1 + (c % 7), table);
      const { got, want } = await both(be, chain, c);
      expectSameBits(got, want, `chain ${c}: ${chain.describe}`);
    }
  });
});

describe.skipIf(!rt?.shared)('fused ops on the cpu backend (WASM SIMD)', () => {
  const be = wg.cpuBackend;
  const simdOps = table.filter((op) => simdRenderable(op.expr));
  const jsOps = table.filter((op) => !simdRenderable(op.expr) || sameAsJs(op.expr));

  it('a SIMD-renderable tree runs the generated module, one with tanh falls back to JS', () => {
    expect(fusedModule(fusedOp(inlineOp(opNamed('sigmoid'), [E.arg(0)]), 1))).not.toBeNull();
    expect(fusedModule(fusedOp(inlineOp(opNamed('tanh'), [E.arg(0)]), 1))).toBeNull();
    const x = be.upload(values(105, 1), 'float32') as unknown as Float32Array;
    expect(wasmFused(rt!, fusedOp(inlineOp(opNamed('exp'), [E.arg(0)]), 1), [x], [[105]], [105])).not.toBeNull();
  });

  for (const threads of [1, 3]) {
    it(`equal the chain bit for bit on ${threads} thread(s): chains of SIMD-renderable ops, and of JS-only ops with ones SIMD computes alike`, async () => {
      rt!.setThreads(threads);
      for (let c = 0; c < CHAINS; c++) {
        const ops = c % 2 === 0 ? simdOps : jsOps;
        const chain = randomChain(2000 + c, 1 + (c % 7), ops);
        expect(fusesBitwise(chain.ops.map((op) => op.expr))).toBe(true);
        const { got, want } = await both(be, chain, c);
        expectSameBits(got, want, `chain ${c}: ${chain.describe}`);
      }
    });
  }

  it('broadcasting chains big enough for 3 threads (odometers started mid-shape) equal the chain bit for bit', async () => {
    rt!.setThreads(3);
    // 3·257·131 = 101,001 elements: three threads' worth of rows, 131 not a multiple of 4
    const big: Shape[] = [[3, 257, 131], [3, 257, 131], [1, 257, 1], [3, 1, 131], [131], [], [257, 1]];
    for (let c = 0; c < 12; c++) {
      const chain = randomChain(4000 + c, 2 + (c % 5), c % 2 ? simdOps : jsOps, big);
      const { got, want } = await both(be, chain, c);
      expectSameBits(got, want, `chain ${c}: ${chain.describe}`);
    }
  });

  it('a big input (several threads, a partial last vector) and all 7 inputs contiguous take the SIMD path', async () => {
    rt!.setThreads(defaultThreads());
    const n = 200_003;
    const xs = Array.from({ length: MAX_FUSED_ARITY }, (_, k) => be.upload(values(n, 50 + k), 'float32'));
    let t: Expr = E.arg(0);
    for (let k = 1; k < MAX_FUSED_ARITY; k++) t = inlineOp(opNamed(k % 2 ? 'add' : 'mul'), [t, inlineOp(opNamed('relu'), [E.arg(k)])]);
    const op = fusedOp(t, MAX_FUSED_ARITY);
    const got = (await be.read(be.fused(op, xs, xs.map(() => [n]), [n]), n, 'float32')) as Float32Array;
    let want = xs[0];
    for (let k = 1; k < MAX_FUSED_ARITY; k++) want = be.binary(opNamed(k % 2 ? 'add' : 'mul'), want, [n], be.unary(opNamed('relu'), xs[k], n, 'float32', 'float32'), [n], [n], 'float32', 'float32');
    expectSameBits(got, (await be.read(want, n, 'float32')) as Float32Array, '7 inputs');
  });

  it('the non-bitwise mix: exp (Cephes SIMD one by one) fused with tanh (no SIMD rendering: the fused op runs Math.exp)', async () => {
    expect(fusesBitwise([opNamed('exp').expr, opNamed('tanh').expr, opNamed('mul').expr])).toBe(false);
    expect(fusesBitwise([opNamed('sigmoid').expr, opNamed('sin').expr])).toBe(false);
    expect(fusesBitwise([opNamed('add').expr, opNamed('relu').expr, opNamed('tanh').expr])).toBe(true);
    expect(fusesBitwise([opNamed('exp').expr, opNamed('sigmoid').expr, opNamed('mul').expr])).toBe(true);
    const n = 4096;
    const host = new Float32Array(n).map((_, i) => -10 + (20 * i) / n);
    const x = be.upload(host, 'float32');
    const tree = inlineOp(opNamed('mul'), [inlineOp(opNamed('exp'), [E.arg(0)]), inlineOp(opNamed('tanh'), [E.arg(0)])]);
    const got = (await be.read(be.fused(fusedOp(tree, 1), [x], [[n]], [n]), n, 'float32')) as Float32Array;
    const chain = be.binary(opNamed('mul'), be.unary(opNamed('exp'), x, n, 'float32', 'float32'), [n], be.unary(opNamed('tanh'), x, n, 'float32', 'float32'), [n], [n], 'float32', 'float32');
    const want = (await be.read(chain, n, 'float32')) as Float32Array;
    expect(got.some((v, i) => v !== want[i])).toBe(true);
    expectClose(got, want, 'exp · tanh', 1e-6);
  });
});

describe.skipIf(!main.gpu)(`fused ops on webgpu (${main.reason})`, () => {
  const be = main.gpu! as unknown as Backend;

  it(`equal the chain of unary/binary calls within 1e-6 relative, NaN where NaN: ${CHAINS} random chains`, async () => {
    for (let c = 0; c < CHAINS; c++) {
      const chain = randomChain(3000 + c, 1 + (c % 7), table);
      const { got, want } = await both(be, chain, c);
      expectClose(got, want, `chain ${c}: ${chain.describe}`);
    }
  });

  it('a last dim of whole vec4s with broadcast inputs (4 outputs per invocation) equals the chain', async () => {
    const out = [2, 3, 8];
    const shapes: Shape[] = [[2, 3, 8], [1, 3, 1], [1, 1, 8], [2, 1, 8], [1, 1, 1]];
    const xs = shapes.map((s, k) => be.upload(values(sizeOf(s), 90 + k), 'float32'));
    const names = ['add', 'mul', 'sub', 'maximum'];
    let t: Expr = E.arg(0);
    let chain = { s: xs[0], shape: shapes[0] };
    for (let k = 1; k < shapes.length; k++) {
      t = inlineOp(opNamed(names[k - 1]), [t, inlineOp(opNamed('sigmoid'), [E.arg(k)])]);
      const sig = be.unary(opNamed('sigmoid'), xs[k], sizeOf(shapes[k]), 'float32', 'float32');
      const shape = broadcastShapes('test', chain.shape, shapes[k]);
      chain = { s: be.binary(opNamed(names[k - 1]), chain.s, chain.shape, sig, shapes[k], shape, 'float32', 'float32'), shape };
    }
    expect(chain.shape).toEqual(out);
    const got = (await be.read(be.fused(fusedOp(t, shapes.length), xs, shapes, out), 48, 'float32')) as Float32Array;
    expectClose(got, (await be.read(chain.s, 48, 'float32')) as Float32Array, 'vec4 walk');
  });

  it('7 inputs and the output fit the storage buffers the device allows', async () => {
    expect(main.gpu!.device.limits.maxStorageBuffersPerShaderStage).toBeGreaterThanOrEqual(MAX_FUSED_ARITY + 1);
    const shapes: Shape[] = [[3, 5, 7], [1, 5, 1], [3, 1, 7], [1, 1, 7], [1, 1, 1], [3, 5, 7], [1, 5, 7]];
    const hostIns = shapes.map((s, k) => values(sizeOf(s), 70 + k));
    const xs = hostIns.map((h) => be.upload(h, 'float32'));
    let t: Expr = E.arg(0);
    for (let k = 1; k < MAX_FUSED_ARITY; k++) t = inlineOp(opNamed('add'), [t, E.arg(k)]);
    const op = fusedOp(t, MAX_FUSED_ARITY);
    const got = (await be.read(be.fused(op, xs, shapes, OUT), 105, 'float32')) as Float32Array;
    const ref = wg.cpuReferenceBackend;
    const want = ref.fused(op, hostIns.map((h) => ref.upload(h, 'float32')), shapes, OUT);
    expectClose(got, (await ref.read(want, 105, 'float32')) as Float32Array, '7 inputs');
  });
});

describe('fusedElementwise (tensors)', () => {
  const op = fusedOp(inlineOp(opNamed('mul'), [inlineOp(opNamed('relu'), [E.arg(0)]), E.arg(1)]), 2);
  it('broadcasts its inputs and equals the ops one by one', async () => {
    const x = wg.tensor([[-1, 2, -3], [4, -5, 6]]), y = wg.tensor([10, 20, 30]);
    const out = wg.fusedElementwise(op, [x, y]);
    expect(out.shape).toEqual([2, 3]);
    expect([...(await out.data())]).toEqual([...(await wg.mul(wg.relu(x), y).data())]);
  });
  it('refuses inputs that require grad, int32 inputs and a wrong count', () => {
    const x = wg.tensor([1, 2, 3]).requiresGrad_();
    expect(() => wg.fusedElementwise(op, [x, wg.tensor([1, 2, 3])])).toThrow(/requires grad/);
    expect(() => wg.fusedElementwise(op, [wg.tensor([1, 2], { dtype: 'int32' }), wg.tensor([1, 2])])).toThrow(/float32 only/);
    expect(() => wg.fusedElementwise(op, [wg.tensor([1, 2])])).toThrow(/2 inputs/);
  });
});
