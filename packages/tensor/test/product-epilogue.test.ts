/**
 * Matmuls and convolutions with an epilogue (Backend.matmul / conv's `epilogue`, made by the
 * jit's ./jit/fuse-product.ts) against the separate calls they stand for, the product then
 * the epilogue's `fused` call: bit for bit on the cpu backends (which run them as such) and
 * on webgpu (lavapipe), whose one kernel applies the epilogue where it stores. Every kernel
 * variant (register and tiled GEMMs, direct convolution for one channel per group), odd
 * sizes, per-column / per-channel / full-size further inputs, NaN and ±Infinity among the
 * values; and the fallback to the separate calls where one kernel cannot do it (a binding
 * past a lowered limit, more storage buffers than a stage allows). The dispatch counts show
 * which path ran.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { convAxes, expr as E, fusedOp, matmulAxes, type Axes3, type Expr } from '@webgrad/kernels-ir';
import type { Backend, ConvParams, MatmulParams, ProductFusion, Storage } from '../src/backend';
import { cpuBackend, cpuReferenceBackend } from '../src/backends/cpu';
import { installWasmNodeHost } from '../src/backends/cpu/wasm/node-host';
import type { WebGPUBackend } from '../src/backends/webgpu/index';
import { openBackend } from './helpers/webgpu-backend';
import { randomWithSpecials } from './helpers/rng';

installWasmNodeHost();
const registers = await openBackend({ variant: 'registers' });
const tiled = registers.gpu ? await openBackend({ variant: 'tiled' }) : { gpu: null, reason: '' };
// 64 KiB bindings (16,384 floats) and WebGPU's default 8 storage buffers a stage: products past either must take the separate calls.
const small = registers.gpu ? await openBackend({ limits: { maxStorageBufferBindingSize: 64 * 1024, maxStorageBuffersPerShaderStage: 8 } }) : { gpu: null, reason: '' };
afterAll(async () => {
  for (const b of [registers, tiled, small]) await b.gpu?.destroy();
});

const SPECIAL = [NaN, Infinity, -Infinity, -0];
let seed = 1;
const values = (n: number, special = 0.01) => randomWithSpecials(n, seed++, SPECIAL, special, (r) => r.next() * 4 - 2);
const size = (s: Axes3) => s[0] * s[1] * s[2];

/** relu(v · e1 + e2 ...): alternately scale and shift by the further inputs, then ReLU. */
function epilogueOp(others: number) {
  let t: Expr = E.arg(0);
  for (let k = 1; k <= others; k++) t = k % 2 ? E.mul(t, E.arg(k)) : E.add(t, E.arg(k));
  return fusedOp(E.select(E.lt(t, 0), 0, t), 1 + others);
}
/** clamp(v + e1, −1, 1): a bias then a clamp. */
const biasClamp = fusedOp(E.clampTo(E.add(E.arg(0), E.arg(1)), -1, 1), 2);

interface Product {
  what: string;
  out: Axes3;
  inputs: Float32Array[];
  run: (be: Backend, s: Storage[], e?: ProductFusion) => Storage;
}

function matmulCase(p: MatmulParams): Product {
  const a = values((p.aBatchStride ? p.batch : 1) * p.m * p.k), b = values((p.bBatchStride ? p.batch : 1) * p.k * p.n);
  return { what: `matmul ${JSON.stringify(p)}`, out: matmulAxes(p), inputs: [a, b], run: (be, [x, y], e) => be.matmul(x, y, p, 'float32', e) };
}
function convCase(p: ConvParams, bias: boolean): Product {
  const kk = p.kernel.reduce((n, d) => n * d, 1);
  const inputs = [values(p.batch * p.inChannels * p.inSize.reduce((n, d) => n * d, 1)), values(p.outChannels * (p.inChannels / p.groups) * kk)];
  if (bias) inputs.push(values(p.outChannels));
  return { what: `conv ${JSON.stringify(p)}${bias ? ' with bias' : ''}`, out: convAxes(p), inputs, run: (be, [x, w, b], e) => be.conv(x, w, bias ? b : null, p, 'float32', e) };
}

const mm = (batch: number, m: number, n: number, k: number, transA: boolean, transB: boolean, sharedB: boolean): MatmulParams =>
  ({ batch, m, n, k, transA, transB, aBatchStride: m * k, bBatchStride: sharedB ? 0 : k * n });
const conv2 = (batch: number, cin: number, cout: number, groups: number, inSize: number[], kernel: number[], stride: number[], padding: number[], dilation: number[]): ConvParams => ({
  batch, inChannels: cin, outChannels: cout, groups, inSize, kernel, stride, padding, dilation,
  outSize: inSize.map((s, j) => Math.floor((s + 2 * padding[j] - dilation[j] * (kernel[j] - 1) - 1) / stride[j]) + 1),
});

const PRODUCTS: Product[] = [
  matmulCase(mm(3, 37, 29, 13, false, false, false)), // n odd: the register GEMM packs B
  matmulCase(mm(3, 37, 32, 13, false, true, true)),
  matmulCase(mm(2, 19, 36, 7, true, false, false)), // n a multiple of 4: B read in place
  matmulCase(mm(1, 5, 1, 3, false, false, true)),
  convCase(conv2(2, 6, 8, 2, [9, 11], [3, 2], [2, 1], [1, 0], [1, 2]), true), // register or tiled GEMM
  convCase(conv2(2, 6, 8, 2, [9, 11], [3, 2], [2, 1], [1, 0], [1, 2]), false),
  convCase(conv2(3, 3, 20, 1, [7, 5], [3, 3], [1, 1], [1, 1], [1, 1]), true), // 20 channels: the tiled variant's GEMM
  convCase(conv2(2, 4, 4, 4, [6, 7], [3, 3], [1, 2], [1, 1], [2, 1]), true), // depthwise: the direct kernel
];

/** Further inputs for a product: per column (matmul) or channel (conv), per row, full size; all broadcasts of the axes. */
const SHAPES = (o: Axes3): Axes3[][] => [[[1, 1, o[2]]], [[1, o[1], 1], [o[0], o[1], o[2]]], [[o[0], 1, o[2]], [1, 1, 1], [o[0], o[1], 1]]];

async function fusedAndSeparate(be: Backend, c: Product, op: ProductFusion['op'], shapes: Axes3[]) {
  const s = c.inputs.map((v) => be.upload(v, 'float32'));
  const others = shapes.map((sh) => be.upload(values(size(sh)), 'float32'));
  const counts = () => (be as WebGPUBackend).commandCounts?.().dispatches ?? 0;
  const d0 = counts();
  const fused = c.run(be, s, { op, others, shapes });
  const d1 = counts();
  const y = c.run(be, s);
  const separate = be.fused(op, [y, ...others], [c.out, ...shapes], c.out);
  const d2 = counts();
  const n = size(c.out);
  const got = (await be.read(fused, n, 'float32')) as Float32Array;
  const want = (await be.read(separate, n, 'float32')) as Float32Array;
  for (const x of [...s, ...others, fused, y, separate]) be.dispose(x);
  return { got, want, fusedDispatches: d1 - d0, separateDispatches: d2 - d1 };
}

function expectSameBits(got: Float32Array, want: Float32Array, what: string): void {
  expect(got.length, what).toBe(want.length);
  const i = want.findIndex((w, j) => !Object.is(w, got[j]) && !(Number.isNaN(w) && Number.isNaN(got[j])));
  expect(i, `${what}: [${i}] ${got[i]} vs ${want[i]}`).toBe(-1);
}

describe('a product with an epilogue gives the product then the fused call, bit for bit', () => {
  const backends: [string, Backend | null][] = [['cpu reference', cpuReferenceBackend], ['cpu', cpuBackend], ['webgpu registers', registers.gpu], ['webgpu tiled', tiled.gpu]];
  for (const [name, be] of backends) {
    it.skipIf(!be)(`${name}: every variant, broadcast inputs, NaN and ±Infinity; one dispatch fewer on webgpu`, async () => {
      for (const c of PRODUCTS) {
        for (const shapes of [[], ...SHAPES(c.out)]) {
          const op = shapes.length === 1 ? biasClamp : epilogueOp(shapes.length);
          const r = await fusedAndSeparate(be!, c, op, shapes);
          const what = `${name}: ${c.what}, epilogue inputs ${JSON.stringify(shapes)}`;
          expectSameBits(r.got, r.want, what);
          if (be !== cpuBackend && be !== cpuReferenceBackend) expect(r.fusedDispatches, what).toBe(r.separateDispatches - 1);
        }
      }
    }, 120_000);
  }

  it.skipIf(!small.gpu)('webgpu: the separate calls where a binding passes the limit or the stage runs out of storage buffers', async () => {
    const be = small.gpu!;
    // 3 · 97 · 61 outputs (17,751 floats) pass the 16,384-float binding limit; 23 · 61 stay under it
    for (const [c, fuses] of [[matmulCase(mm(3, 97, 61, 9, false, false, true)), false], [matmulCase(mm(1, 23, 61, 9, false, false, true)), true]] as const) {
      const shapes: Axes3[] = [[1, 1, c.out[2]], c.out];
      const r = await fusedAndSeparate(be, c, epilogueOp(2), shapes);
      expectSameBits(r.got, r.want, c.what);
      expect(r.fusedDispatches, `${c.what}: ${r.fusedDispatches} vs ${r.separateDispatches}`).toBe(r.separateDispatches - (fuses ? 1 : 0));
    }
    // A matmul binds A, B, the epilogue's inputs and C: five fit in 8 storage buffers, six do not; a
    // register conv with bias binds x, w, the offset table, bias, its inputs and y: three fit, four do not.
    for (const [c, others, fuses] of [[PRODUCTS[0], 5, true], [PRODUCTS[0], 6, false], [PRODUCTS[4], 3, true], [PRODUCTS[4], 4, false]] as const) {
      const shapes = Array.from({ length: others }, (_, k): Axes3 => (k % 2 ? c.out : [1, c.out[1], 1]));
      const r = await fusedAndSeparate(be, c, epilogueOp(others), shapes);
      const what = `${c.what} with ${others} epilogue inputs`;
      expectSameBits(r.got, r.want, what);
      expect(r.fusedDispatches, what).toBe(r.separateDispatches - (fuses ? 1 : 0));
    }
  }, 60_000);

  it('refuses an epilogue that does not fit the product, naming it', () => {
    const x = cpuBackend.upload(new Float32Array(6), 'float32');
    const p = mm(1, 2, 3, 1, false, false, true);
    expect(() => cpuBackend.matmul(x, x, p, 'float32', { op: biasClamp, others: [], shapes: [] })).toThrow(/matmul: the epilogue takes 2 inputs, given the product and 0 more/);
    expect(() => cpuBackend.matmul(x, x, p, 'float32', { op: biasClamp, others: [x], shapes: [[1, 2, 2]] })).toThrow(/matmul: an epilogue input of shape \[1,2,2\] does not broadcast to the product's \[1,2,3\]/);
    expect(() => cpuBackend.matmul(x, x, p, 'float32', { op: biasClamp, others: [x], shapes: [] })).toThrow(/1 further inputs but 0 shapes/);
    cpuBackend.dispose(x);
  });
});
