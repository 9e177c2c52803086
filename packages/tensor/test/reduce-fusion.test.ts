/**
 * Reductions with elementwise work fused in (Backend.reduce's `fusion`, made by the jit's
 * ./jit/fuse-reduce.ts) against the separate calls they stand for: bit for bit on the cpu
 * backends (which run them as such), within 1e-6 on webgpu (lavapipe), whose one kernel
 * computes the prologue where it loads and the epilogue where it stores; both reduction modes
 * (a thread per output, a workgroup per output), sum / max / min, NaN and ±Infinity among
 * the values; and the checks on what may be fused.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { expr as E, fusedOp } from '@webgrad/kernels-ir';
import type { Backend, ReduceFusion, Shape } from '../src/backend';
import { cpuBackend, cpuReferenceBackend } from '../src/backends/cpu';
import { installWasmNodeHost } from '../src/backends/cpu/wasm/node-host';
import { sizeOf } from '../src/shape';
import { openBackend } from './helpers/webgpu-backend';
import { randomWithSpecials } from './helpers/rng';

installWasmNodeHost();
const main = await openBackend();
afterAll(async () => {
  await main.gpu?.destroy();
});

const SPECIAL = [NaN, Infinity, -Infinity, -0];
const values = (n: number, seed: number, special: boolean): Float32Array => randomWithSpecials(n, seed, SPECIAL, special ? 0.01 : 0, (r) => r.next() * 4 - 2);

// (a − b)², and |a|·b + c: prologues of one to three inputs; an epilogue scaling and shifting
const square = fusedOp(E.mul(E.sub(E.arg(0), E.arg(1)), E.sub(E.arg(0), E.arg(1))), 2);
const three = fusedOp(E.add(E.mul(E.abs(E.arg(0)), E.arg(1)), E.arg(2)), 3);
const exp = fusedOp(E.exp(E.arg(0)), 1);
const scale = fusedOp(E.add(E.mul(E.arg(0), 0.25), 1), 1);

/** [shape, axes]: a column sum (thread mode), few long reductions (workgroup mode), middle axes, everything. */
const CASES: [Shape, number[]][] = [[[300, 7], [0]], [[3, 5000], [1]], [[4, 3, 5, 7], [0, 2, 3]], [[37, 11], [0, 1]]];

async function run(be: Backend, op: 'sum' | 'max' | 'min', shape: Shape, axes: number[], inputs: Float32Array[], fusion: (s: ReturnType<Backend['upload']>[]) => ReduceFusion | undefined): Promise<Float32Array> {
  const s = inputs.map((v) => be.upload(v, 'float32'));
  const out = be.reduce(op, s[0], shape, axes, 'float32', fusion(s));
  const got = (await be.read(out, sizeOf(shape.filter((_, d) => !axes.includes(d))), 'float32')) as Float32Array;
  [...s, out].forEach((x) => be.dispose(x));
  return got;
}

/** The separate calls: the prologue's fused op, the reduction, the epilogue's fused op. */
async function separately(be: Backend, op: 'sum' | 'max' | 'min', shape: Shape, axes: number[], inputs: Float32Array[], f: { prologue?: typeof square; epilogue?: typeof scale }): Promise<Float32Array> {
  const s = inputs.map((v) => be.upload(v, 'float32'));
  const x = f.prologue ? be.fused(f.prologue, s, s.map(() => shape), shape) : s[0];
  const kept = shape.filter((_, d) => !axes.includes(d));
  let out = be.reduce(op, x, shape, axes, 'float32');
  if (f.epilogue) out = be.fused(f.epilogue, [out], [kept], kept);
  const got = (await be.read(out, sizeOf(kept), 'float32')) as Float32Array;
  return got;
}

const COMBOS = [
  { name: 'prologue of 2', prologue: square, inputs: 2 },
  { name: 'prologue of 3 and an epilogue', prologue: three, epilogue: scale, inputs: 3 },
  { name: 'epilogue only', epilogue: exp, inputs: 1 },
];

describe('a fused reduction gives the separate calls\' results', () => {
  const backends: [string, Backend | null, number][] = [['cpu reference', cpuReferenceBackend, 0], ['cpu', cpuBackend, 0], ['webgpu', main.gpu, 1e-6]];
  for (const [name, be, tolerance] of backends) {
    it.skipIf(!be)(`${name}: ${tolerance === 0 ? 'bit for bit' : `within ${tolerance} relative`}, NaN where NaN`, async () => {
      let seed = 1;
      for (const [shape, axes] of CASES) {
        for (const op of ['sum', 'max', 'min'] as const) {
          for (const c of COMBOS) {
            const inputs = Array.from({ length: c.inputs }, () => values(sizeOf(shape), seed++, op !== 'sum'));
            const got = await run(be!, op, shape, axes, inputs, (s) => ({ prologue: c.prologue && { op: c.prologue, others: s.slice(1) }, epilogue: c.epilogue }));
            const want = await separately(be!, op, shape, axes, inputs, c);
            const what = `${op} of [${shape}] over [${axes}], ${c.name}`;
            expect(got.length, what).toBe(want.length);
            want.forEach((w, i) => {
              if (Number.isNaN(w)) expect(got[i], `${what} [${i}]`).toBeNaN();
              else if (tolerance === 0 || !Number.isFinite(w)) expect(got[i], `${what} [${i}]`).toBe(w);
              else expect(Math.abs(got[i] - w), `${what} [${i}]: ${got[i]} vs ${w}`).toBeLessThanOrEqual(tolerance * Math.max(1, Math.abs(w)));
            });
          }
        }
      }
    }, 60_000);
  }

  it('refuses what it cannot fuse, naming it', () => {
    const x = cpuBackend.upload(new Float32Array(6), 'float32');
    expect(() => cpuBackend.reduce('argmax', x, [2, 3], [1], 'float32', { epilogue: exp })).toThrow(/float32 sum, max or min, not a float32 argmax/);
    expect(() => cpuBackend.reduce('sum', x, [2, 3], [1], 'float32', { prologue: { op: square, others: [] } })).toThrow(/prologue takes 2 inputs, given x and 0 more/);
    expect(() => cpuBackend.reduce('sum', x, [2, 3], [1], 'float32', { epilogue: square })).toThrow(/epilogue takes 2 inputs/);
    cpuBackend.dispose(x);
  });
});
