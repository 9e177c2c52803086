/**
 * webgpu's single-pass batch norm (one workgroup per channel: statistics, then the same
 * workgroup writes the channel's outputs) against its two-pass kernels and the JavaScript
 * reference. The single pass runs the two-pass statistics and reduce kernels' own reduction
 * text, so its outputs must equal theirs bit for bit; against the reference in float64,
 * within 1e-5 relative (the per-channel sums of the backward: see sumTol). Odd shapes, n·s at and just above the threshold, with and without weight and
 * bias, epilogues (relu, relu(bn + residual)), running statistics, the reluGrad prologue;
 * dispatch counts on both paths, and the binding limit (8: WebGPU's default) on the single
 * pass. Without a WebGPU adapter the suite is skipped, except under CI=true.
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { Backend, BatchNormEpilogue, BatchNormParams, BatchNormPrologue, ElementwiseOp, Storage } from '../src/backend';
import { elementwiseOps } from '../src/ops/elementwise';
import { cpuReferenceBackend } from '../src/backends/cpu/index';
import { SINGLE_PASS_MAX_COUNT, setBatchNormSinglePassMaxCount } from '../src/backends/webgpu/ops-nn';
import { openBackend } from './helpers/webgpu-backend';
import { expectClose, prod, randoms } from './helpers/backend-pair';

const gpu = await openBackend();
const eight = gpu.gpu ? await openBackend({ limits: { maxStorageBuffersPerShaderStage: 8 } }) : { gpu: null, reason: '' };
afterAll(async () => {
  await gpu.gpu?.destroy();
  await eight.gpu?.destroy();
});

const op = (name: string): ElementwiseOp => elementwiseOps.get(name)!.op;
const { randF } = randoms(131);

/** The values as bit patterns, every NaN as one. */
const bits = (a: ArrayLike<number>) => Array.from(a, (v) => (Number.isNaN(v) ? 'NaN' : new Uint32Array(new Float32Array([v]).buffer)[0].toString(16)));

/** [n, c, s] of a shape, as the op layer views it. */
const bnShape = (shape: number[]) => ({ n: shape[0], c: shape[1], s: prod(shape.slice(2)) });

/** n·s at the threshold (single pass) and one item of s more (two passes), on 2 channels. */
const AT = [2, 2, SINGLE_PASS_MAX_COUNT / 2];
const ABOVE = [2, 2, SINGLE_PASS_MAX_COUNT / 2 + 1];
const SHAPES = [[3, 5, 7, 9], [2, 3, 1, 1], [5, 7], AT, ABOVE];
const AFFINE: [boolean, boolean][] = [[true, true], [false, false], [true, false]];
const EPILOGUES: { name: string; steps: { op: string; residual?: boolean }[] }[] = [
  { name: 'no epilogue', steps: [] },
  { name: 'relu', steps: [{ op: 'relu' }] },
  { name: 'relu(bn + residual)', steps: [{ op: 'add', residual: true }, { op: 'relu' }] },
];

interface Case { shape: number[]; hasW: boolean; hasB: boolean; steps: { op: string; residual?: boolean }[]; running: boolean; prologue: boolean }

/** Forward and backward of one case on `be`: every output, read back. */
async function run(be: Backend, c: Case, data: ReturnType<typeof inputs>, dtype: 'float32' | 'float64' = 'float32'): Promise<{ dispatches: [number, number] | null; out: Record<string, ArrayLike<number>> }> {
  const f32 = dtype;
  const p: BatchNormParams = { ...bnShape(c.shape), eps: 1e-5 };
  const size = prod(c.shape);
  const up = (v: Float32Array) => be.upload(dtype === 'float64' ? Float64Array.from(v) : v, f32);
  const x = up(data.x), r = up(data.residual), gy = up(data.gy);
  const w = c.hasW ? up(data.weight) : null, b = c.hasB ? up(data.bias) : null;
  const rm = up(data.rm), rv = up(data.rv);
  const counts = () => (be as Backend & { commandCounts?: () => { dispatches: number } }).commandCounts?.().dispatches ?? 0;
  const epilogue: BatchNormEpilogue = c.steps.map((st) => ({ op: op(st.op), residual: st.residual ? r : undefined }));
  const running = c.running ? { mean: rm, var: rv, momentum: 0.1, count: p.n * p.s } : undefined;
  const d0 = counts();
  const fwd = be.batchNorm(x, w, b, { ...p, running }, f32, epilogue.length ? epilogue : undefined);
  const d1 = counts();
  const prologue: BatchNormPrologue | undefined = c.prologue ? { op: op('reluGrad'), y: fwd.y } : undefined;
  const back = be.batchNormBackward(gy, x, fwd.mean, fwd.invstd, w, p, f32, prologue);
  const d2 = counts();
  const read = (s: Storage, n: number) => be.read(s, n, f32);
  const out: Record<string, ArrayLike<number>> = {
    y: await read(fwd.y, size), mean: await read(fwd.mean, p.c), invstd: await read(fwd.invstd, p.c),
    gx: await read(back.gx, size), gweight: await read(back.gweight, p.c), gbias: await read(back.gbias, p.c),
  };
  if (c.running) {
    out.runningMean = await read(fwd.runningMean!, p.c);
    out.runningVar = await read(fwd.runningVar!, p.c);
  }
  for (const s of [x, r, gy, w, b, rm, rv, fwd.y, fwd.mean, fwd.invstd, fwd.runningMean, fwd.runningVar, back.gx, back.gweight, back.gbias]) if (s) be.dispose(s);
  return { dispatches: be === cpuReferenceBackend ? null : [d1 - d0, d2 - d1], out };
}

/** Inputs with a channel whose values are all equal (zero variance), a NaN and an infinity in the residual (the epilogue's). */
function inputs(shape: number[]) {
  const size = prod(shape);
  const { c, s } = bnShape(shape);
  const x = randF(size, -3, 3);
  for (let k = 0; k < s; k++) x[k] = 0.75;
  const residual = randF(size, -2, 2);
  residual[1] = NaN;
  residual[2] = Infinity;
  return { x, residual, gy: randF(size, -1, 1), weight: randF(c, 0.5, 1.5), bias: randF(c, -0.5, 0.5), rm: randF(c, -1, 1), rv: randF(c, 0.5, 2) };
}

/**
 * gweight and gbias sum n·s terms of size about 1 that cancel to about 1: the float32
 * rounding of any summation order grows about as √(n·s) (the two-pass kernels' own error is
 * 1.1e-5 at 16386 values). 1e-5 up to 1024 values, then that growth.
 */
const sumTol = (shape: number[]) => 1e-5 * Math.max(1, Math.sqrt(bnShape(shape).n * bnShape(shape).s) / 32);

/** Runs with the single pass off (n·s limit 0). */
async function twoPass<T>(body: () => Promise<T>): Promise<T> {
  const before = setBatchNormSinglePassMaxCount(0);
  try {
    return await body();
  } finally {
    setBatchNormSinglePassMaxCount(before);
  }
}

describe.skipIf(!gpu.gpu)(`webgpu single-pass batch norm (${gpu.reason})`, () => {
  it(`takes n·s up to ${SINGLE_PASS_MAX_COUNT}`, () => {
    expect(bnShape(AT).n * bnShape(AT).s).toBe(SINGLE_PASS_MAX_COUNT);
  });

  for (const shape of SHAPES) {
    const single = bnShape(shape).n * bnShape(shape).s <= SINGLE_PASS_MAX_COUNT;
    for (const [hasW, hasB] of AFFINE) {
      for (const e of EPILOGUES) {
        for (const running of [false, true]) {
          // reluGrad reads y: the prologue is the backward of a relu epilogue (or of none, as a plain op of two tensors)
          const prologue = e.steps.length > 0;
          const label = `[${shape}] ${hasW ? 'weight' : 'no weight'}, ${hasB ? 'bias' : 'no bias'}, ${e.name}${running ? ', running statistics' : ''}${prologue ? ', reluGrad prologue' : ''}`;
          it(`${label}: ${single ? 'single pass' : 'two passes'} = two-pass bits, ≈ reference`, async () => {
            const c: Case = { shape, hasW, hasB, steps: e.steps, running, prologue };
            const data = inputs(shape);
            const got = await run(gpu.gpu!, c, data);
            const two = await twoPass(() => run(gpu.gpu!, c, data));
            // float64: the reference's own float32 sums (sequential) drift by more than 1e-5 at 16k values
            const ref = await run(cpuReferenceBackend, c, data, 'float64');
            expect(got.dispatches).toEqual(single ? [1, 1] : [2, 2]);
            expect(two.dispatches).toEqual([2, 2]);
            for (const k of Object.keys(ref.out)) {
              expect(bits(got.out[k]), k).toEqual(bits(two.out[k]));
              expectClose(got.out[k], ref.out[k], k, k === 'gweight' || k === 'gbias' ? sumTol(shape) : 1e-5);
            }
          });
        }
      }
    }
  }

  describe.skipIf(!eight.gpu)('8 storage bindings per stage (WebGPU\'s default)', () => {
    it('ResNet\'s bn (weight, bias, running statistics, relu(bn + shortcut)) and its backward with reluGrad and the weight fit: 1 dispatch each', async () => {
      const c: Case = { shape: [4, 6, 5, 5], hasW: true, hasB: true, steps: EPILOGUES[2].steps, running: true, prologue: true };
      const data = inputs(c.shape);
      const got = await run(eight.gpu!, c, data);
      const wide = await run(gpu.gpu!, c, data);
      expect(got.dispatches).toEqual([1, 1]);
      for (const k of Object.keys(wide.out)) expect(bits(got.out[k]), k).toEqual(bits(wide.out[k]));
    });

    it('a second residual makes 9 bindings: the two-pass kernels\' fallback, the same bits', async () => {
      const c: Case = { shape: [4, 6, 5, 5], hasW: true, hasB: true, steps: [{ op: 'add', residual: true }, { op: 'sub', residual: true }], running: true, prologue: false };
      const data = inputs(c.shape);
      const got = await run(eight.gpu!, c, data);
      const wide = await run(gpu.gpu!, c, data);
      expect(got.dispatches![0]).toBeGreaterThan(1);
      expect(wide.dispatches).toEqual([1, 1]);
      for (const k of Object.keys(wide.out)) expect(bits(got.out[k]), k).toEqual(bits(wide.out[k]));
    });
  });
});
