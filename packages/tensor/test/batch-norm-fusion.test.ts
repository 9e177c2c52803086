/**
 * Batch norm's fusion arguments (Backend.batchNorm's epilogue and p.running,
 * batchNormBackward's prologue) against the separate calls they stand for, on each backend:
 * the JavaScript reference, the cpu backend on WASM, and webgpu (lavapipe here). Fused must
 * equal unfused bit for bit (NaN as NaN): odd shapes, with and without weight and bias,
 * unary epilogues (relu, sigmoid, leaky relu with its parameter), the residual chain
 * relu(bn(x) + shortcut), the running statistics, the reluGrad prologue. Without a WebGPU
 * adapter its suite is skipped, except under CI=true, where that is a failure. On webgpu the
 * cases run on the single-pass kernels (these shapes are small) and again on the two-pass
 * ones; batch-norm-single-pass.test.ts compares the two.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Backend, BatchNormEpilogue, BatchNormParams, DType, ElementwiseOp, RunningStatsParams, Storage } from '../src/backend';
import { elementwiseOps } from '../src/ops/elementwise';
import { cpuBackend, cpuReferenceBackend } from '../src/backends/cpu/index';
import { installWasmNodeHost } from '../src/backends/cpu/wasm/node-host';
import { defaultThreads, wasmRuntime } from '../src/backends/cpu/wasm/runtime';
import { wasmBatchNormBackwardFused, wasmBatchNormFused } from '../src/backends/cpu/wasm/batch-norm-fused';
import { batchNormRunningStats } from '../src/backends/cpu/kernels/batch-norm';
import { setBatchNormSinglePassMaxCount } from '../src/backends/webgpu/ops-nn';
import { openBackend } from './helpers/webgpu-backend';
import { randoms } from './helpers/backend-pair';

installWasmNodeHost();
const gpu = await openBackend();
/** A device whose bindings cover 1024 values: larger batches take the split path, where fusion falls back. */
const small = gpu.gpu ? await openBackend({ limits: { maxStorageBufferBindingSize: 4096 } }) : { gpu: null, reason: '' };
/** WebGPU's default of 8 storage bindings per stage (lavapipe has 16): the backward's 8-binding variant, the forward's limit. */
const eight = gpu.gpu ? await openBackend({ limits: { maxStorageBuffersPerShaderStage: 8 } }) : { gpu: null, reason: '' };
afterAll(async () => {
  await gpu.gpu?.destroy();
  await small.gpu?.destroy();
  await eight.gpu?.destroy();
});

const op = (name: string): ElementwiseOp => elementwiseOps.get(name)!.op;
const { randF } = randoms(97);
const prod = (xs: readonly number[]) => xs.reduce((a, b) => a * b, 1);

/** The values as comparable bit patterns, every NaN as one. */
function bits(a: ArrayLike<number>, dtype: DType): string[] {
  return Array.from(a, (v) => {
    if (Number.isNaN(v)) return 'NaN';
    if (dtype === 'float64') return Object.is(v, -0) ? '-0' : String(v);
    const f = new Float32Array([v]);
    return new Uint32Array(f.buffer)[0].toString(16);
  });
}

const read = (be: Backend, s: Storage, n: number, dtype: DType) => be.read(s, n, dtype);
const up = (be: Backend, v: ArrayLike<number>, dtype: DType) => be.upload(dtype === 'float64' ? Float64Array.from(v) : Float32Array.from(v), dtype);

/** [n, c, s] of a shape, as the op layer views it. */
const bnShape = (shape: number[]) => ({ n: shape[0], c: shape[1], s: prod(shape.slice(2)) });

/** Inputs with a NaN and infinities in the residual, a channel whose values are all equal, and a spread. */
function inputs(shape: number[]) {
  const size = prod(shape);
  const x = randF(size, -3, 3);
  // channel 0 of item 0 constant: a zero variance (invstd = 1/sqrt(eps))
  const { s } = bnShape(shape);
  for (let k = 0; k < s; k++) x[k] = 0.75;
  const residual = randF(size, -2, 2);
  if (size > 4) {
    residual[1] = NaN;
    residual[2] = Infinity;
    residual[3] = -0;
  }
  return { size, x, residual, weight: randF(shape[1], 0.5, 1.5), bias: randF(shape[1], -0.5, 0.5) };
}

type EpilogueCase = { name: string; steps: { op: string; residual?: boolean; a?: number }[] };
const EPILOGUES: EpilogueCase[] = [
  { name: 'relu', steps: [{ op: 'relu' }] },
  { name: 'sigmoid', steps: [{ op: 'sigmoid' }] },
  { name: 'leakyRelu(0.2)', steps: [{ op: 'leakyRelu', a: 0.2 }] },
  { name: 'add residual', steps: [{ op: 'add', residual: true }] },
  { name: 'relu(bn + residual)', steps: [{ op: 'add', residual: true }, { op: 'relu' }] },
  // a parameter on a later step (its own fields), and a binary op that is not commutative
  { name: 'leakyRelu(0.1)(sigmoid(bn) − residual)', steps: [{ op: 'sigmoid' }, { op: 'sub', residual: true }, { op: 'leakyRelu', a: 0.1 }] },
];
const SHAPES = [[3, 5, 7, 9], [2, 3, 1, 1], [5, 7]];
const AFFINE: [boolean, boolean][] = [[true, true], [false, false], [true, false], [false, true]];

/**
 * The running statistics as the backend's separate step (no longer a Backend method) makes
 * them from the batch's x and the plain call's mean and invstd.
 */
type SeparateRunning = (x: ArrayLike<number>, p: BatchNormParams, rm: ArrayLike<number>, rv: ArrayLike<number>, stats: RunningStatsParams,
  plain: { mean: ArrayLike<number>; invstd: ArrayLike<number> }, dtype: DType) => Promise<{ mean: ArrayLike<number>; var: ArrayLike<number> }>;

/** Both cpu backends: the reference's JavaScript kernel over the stored mean and invstd. */
const cpuRunning: SeparateRunning = async (_x, _p, rm, rv, stats, plain, dtype) => {
  const A = dtype === 'float64' ? Float64Array : Float32Array;
  return batchNormRunningStats(A.from(rm), A.from(rv), A.from(plain.mean), A.from(plain.invstd), stats);
};

/**
 * webgpu: its separate running-statistics dispatch, reached through the fallback on the
 * 8-binding device: an epilogue of five residual adds (of zeros) needs 9 or more bindings
 * there, so the statistics come from the plain kernel and the update is its own dispatch.
 */
const gpuRunning: SeparateRunning = async (x, p, rm, rv, stats, plain, dtype) => {
  const be = eight.gpu!;
  const zero = be.fill(p.n * p.c * p.s, 0, dtype);
  const inputs = [up(be, x, dtype), up(be, rm, dtype), up(be, rv, dtype)];
  const r = be.batchNorm(inputs[0], null, null, { ...p, running: { mean: inputs[1], var: inputs[2], momentum: stats.momentum, count: stats.count } }, dtype,
    Array.from({ length: 5 }, () => ({ op: op('add'), residual: zero })));
  // The plain call's statistics, bit for bit: the update reads the same values as the fused one.
  expect(bits(await read(be, r.mean, p.c, dtype), dtype)).toEqual(bits(plain.mean, dtype));
  expect(bits(await read(be, r.invstd, p.c, dtype), dtype)).toEqual(bits(plain.invstd, dtype));
  const next = { mean: await read(be, r.runningMean!, p.c, dtype), var: await read(be, r.runningVar!, p.c, dtype) };
  for (const s of [zero, ...inputs, r.y, r.mean, r.invstd, r.runningMean!, r.runningVar!]) be.dispose(s);
  return next;
};

/** Runs every case on a backend; `exact` false compares within `tol` (with the reason in the suite). */
function suite(name: string, backend: () => Backend | null, dtype: DType = 'float32', separate: SeparateRunning = cpuRunning) {
  describe(name, () => {
    for (const shape of SHAPES) {
      for (const [hasW, hasB] of AFFINE) {
        const label = `[${shape}] ${hasW ? 'weight' : 'no weight'} ${hasB ? 'bias' : 'no bias'}`;
        for (const e of EPILOGUES) {
          it(`${label}: ${e.name} epilogue`, async () => {
            const be = backend()!;
            const { size, x, residual, weight, bias } = inputs(shape);
            const p = { ...bnShape(shape), eps: 1e-5 };
            const xs = up(be, x, dtype), rs = up(be, residual, dtype);
            const w = hasW ? up(be, weight, dtype) : null, b = hasB ? up(be, bias, dtype) : null;
            const plain = be.batchNorm(xs, w, b, p, dtype);
            let y = plain.y;
            for (const st of e.steps) {
              const o = op(st.op);
              y = o.arity === 2 ? be.binary(o, y, shape, rs, shape, shape, dtype, dtype) : be.unary(o, y, size, dtype, dtype, st.a ?? 0, 0);
            }
            const epilogue: BatchNormEpilogue = e.steps.map((st) => ({ op: op(st.op), residual: st.residual ? rs : undefined, a: st.a }));
            const fused = be.batchNorm(xs, w, b, p, dtype, epilogue.length === 1 ? epilogue[0] : epilogue);
            expect(bits(await read(be, fused.y, size, dtype), dtype)).toEqual(bits(await read(be, y, size, dtype), dtype));
            expect(bits(await read(be, fused.mean, p.c, dtype), dtype)).toEqual(bits(await read(be, plain.mean, p.c, dtype), dtype));
            expect(bits(await read(be, fused.invstd, p.c, dtype), dtype)).toEqual(bits(await read(be, plain.invstd, p.c, dtype), dtype));
            expect(fused.runningMean).toBeUndefined();
            expect(fused.runningVar).toBeUndefined();
          });
        }
        it(`${label}: running statistics folded in, with a relu epilogue`, async () => {
          const be = backend()!;
          const { x, weight, bias } = inputs(shape);
          const p = { ...bnShape(shape), eps: 1e-3 };
          const xs = up(be, x, dtype);
          const w = hasW ? up(be, weight, dtype) : null, b = hasB ? up(be, bias, dtype) : null;
          const rmv = randF(p.c, -1, 1), rvv = randF(p.c, 0.5, 2);
          const rm = up(be, rmv, dtype), rv = up(be, rvv, dtype);
          const count = p.n * p.s, momentum = 0.1;
          const plain = be.batchNorm(xs, w, b, p, dtype);
          const sep = await separate(x, p, rmv, rvv, { c: p.c, momentum, eps: p.eps, count },
            { mean: await read(be, plain.mean, p.c, dtype), invstd: await read(be, plain.invstd, p.c, dtype) }, dtype);
          const fused = be.batchNorm(xs, w, b, { ...p, running: { mean: rm, var: rv, momentum, count } }, dtype, { op: op('relu') });
          expect(fused.runningMean).toBeDefined();
          expect(bits(await read(be, fused.runningMean!, p.c, dtype), dtype)).toEqual(bits(sep.mean, dtype));
          expect(bits(await read(be, fused.runningVar!, p.c, dtype), dtype)).toEqual(bits(sep.var, dtype));
          expect(bits(await read(be, fused.mean, p.c, dtype), dtype)).toEqual(bits(await read(be, plain.mean, p.c, dtype), dtype));
          expect(bits(await read(be, fused.invstd, p.c, dtype), dtype)).toEqual(bits(await read(be, plain.invstd, p.c, dtype), dtype));
        });
        if (hasW !== hasB) continue; // the backward reads the weight only
        it(`${label}: reluGrad prologue in the backward`, async () => {
          const be = backend()!;
          const { size, x, residual, weight } = inputs(shape);
          const p = { ...bnShape(shape), eps: 1e-5 };
          const xs = up(be, x, dtype), w = hasW ? up(be, weight, dtype) : null;
          const fwd = be.batchNorm(xs, w, null, p, dtype, { op: op('relu') });
          const gy = up(be, residual, dtype); // with a NaN, an infinity and −0
          const reluGrad = op('reluGrad');
          const g = be.binary(reluGrad, gy, shape, fwd.y, shape, shape, dtype, dtype);
          const plain = be.batchNormBackward(g, xs, fwd.mean, fwd.invstd, w, p, dtype);
          const fused = be.batchNormBackward(gy, xs, fwd.mean, fwd.invstd, w, p, dtype, { op: reluGrad, y: fwd.y });
          expect(bits(await read(be, fused.gx, size, dtype), dtype)).toEqual(bits(await read(be, plain.gx, size, dtype), dtype));
          expect(bits(await read(be, fused.gweight, p.c, dtype), dtype)).toEqual(bits(await read(be, plain.gweight, p.c, dtype), dtype));
          expect(bits(await read(be, fused.gbias, p.c, dtype), dtype)).toEqual(bits(await read(be, plain.gbias, p.c, dtype), dtype));
        });
      }
    }
  });
}

suite('JavaScript reference, float32', () => cpuReferenceBackend);
suite('JavaScript reference, float64', () => cpuReferenceBackend, 'float64');
describe.skipIf(!wasmRuntime())('cpu on WASM', () => {
  it('has shared memory (the fused kernels need it)', () => {
    expect(wasmRuntime()!.shared).toBe(true);
  });
  suite('cases', () => cpuBackend);

  it('fuses on WASM (not the fallback) for relu, sigmoid, leaky relu, the residual chain and reluGrad; tanh has no SIMD rendering', () => {
    const rt = wasmRuntime()!;
    const p = { n: 2, c: 3, s: 5, eps: 1e-5 };
    const x = randF(30), r = randF(30);
    for (const names of [['relu'], ['sigmoid'], ['leakyRelu'], ['add', 'relu']]) {
      const ops = names.map((n) => ({ op: op(n), other: op(n).arity === 2 ? r : null, a: 0.1, b: 0 }));
      expect(wasmBatchNormFused(rt, x, null, null, p, ops), names.join(',')).not.toBeNull();
    }
    expect(wasmBatchNormFused(rt, x, null, null, p, [{ op: op('tanh'), other: null, a: 0, b: 0 }])).toBeNull();
    const fwd = wasmBatchNormFused(rt, x, null, null, p, [{ op: op('relu'), other: null, a: 0, b: 0 }])!;
    expect(wasmBatchNormBackwardFused(rt, r, x, fwd.mean, fwd.invstd, null, p, { op: op('reluGrad'), other: fwd.y, a: 0, b: 0 })).not.toBeNull();
  });

  it('a tanh epilogue falls back to the separate calls, with the same bits', async () => {
    const be = cpuBackend;
    const shape = [3, 5, 7, 9];
    const { size, x } = inputs(shape);
    const p = { ...bnShape(shape), eps: 1e-5 };
    const xs = up(be, x, 'float32');
    const plain = be.batchNorm(xs, null, null, p, 'float32');
    const y = be.unary(op('tanh'), plain.y, size, 'float32', 'float32');
    const fused = be.batchNorm(xs, null, null, p, 'float32', { op: op('tanh') });
    expect(bits(await read(be, fused.y, size, 'float32'), 'float32')).toEqual(bits(await read(be, y, size, 'float32'), 'float32'));
  });

  it('gives the same bits on 1 and 3 threads', async () => {
    const rt = wasmRuntime()!;
    const shape = [8, 12, 33, 33];
    const { size, x, residual, weight, bias } = inputs(shape);
    const p = { ...bnShape(shape), eps: 1e-5 };
    const results: string[][] = [];
    for (const threads of [1, 3]) {
      rt.setThreads(threads);
      await rt.started(2000);
      const fwd = wasmBatchNormFused(rt, x, weight, bias, p, [{ op: op('add'), other: residual, a: 0, b: 0 }, { op: op('relu'), other: null, a: 0, b: 0 }])!;
      const back = wasmBatchNormBackwardFused(rt, residual, x, fwd.mean, fwd.invstd, weight, p, { op: op('reluGrad'), other: fwd.y, a: 0, b: 0 })!;
      results.push([...bits(fwd.y, 'float32'), ...bits(back.gx, 'float32'), ...bits(back.gweight, 'float32')]);
      expect(fwd.y.length).toBe(size);
    }
    rt.setThreads(defaultThreads());
    expect(results[1]).toEqual(results[0]);
  });
});
describe.skipIf(!gpu.gpu)(`webgpu (${gpu.reason})`, () => {
  // Bitwise on lavapipe, whose compiler does not contract a multiply and an add into an FMA.
  // A driver that contracts across the fused boundary (bn's (x − mean)·scale + bias, a
  // missing bias's + 0.0 folded away, then + residual) could differ by an ulp there: the
  // unfused kernel stores bn's value.
  suite('cases', () => gpu.gpu, 'float32', gpuRunning);

  /** Runs `body` with the single pass off: every batch norm on the two-pass kernels. */
  const twoPass = async (body: () => Promise<void>) => {
    const before = setBatchNormSinglePassMaxCount(0);
    try {
      await body();
    } finally {
      setBatchNormSinglePassMaxCount(before);
    }
  };

  describe('the two-pass kernels (single pass off)', () => {
    let before = 0;
    beforeAll(() => {
      before = setBatchNormSinglePassMaxCount(0);
    });
    afterAll(() => {
      setBatchNormSinglePassMaxCount(before);
    });
    suite('cases', () => gpu.gpu, 'float32', gpuRunning);
  });

  it('runs the forward in 1 dispatch and the backward in 1 on the single pass, 2 and 2 on the two-pass kernels, running statistics and a residual chain included', async () => {
    for (const [single, expected] of [[true, 1], [false, 2]] as const) {
      const run = async () => {
        const be = gpu.gpu!;
        const shape = [4, 6, 5, 5];
        const { x, residual, weight, bias } = inputs(shape);
        const p = { ...bnShape(shape), eps: 1e-5 };
        const [xs, rs, w, b] = [x, residual, weight, bias].map((v) => up(be, v, 'float32'));
        const rm = be.fill(p.c, 0, 'float32'), rv = be.fill(p.c, 1, 'float32');
        const before = be.commandCounts().dispatches;
        const fwd = be.batchNorm(xs, w, b, { ...p, running: { mean: rm, var: rv, momentum: 0.1, count: p.n * p.s } }, 'float32',
          [{ op: op('add'), residual: rs }, { op: op('relu') }]);
        expect(be.commandCounts().dispatches - before).toBe(expected);
        const mid = be.commandCounts().dispatches;
        be.batchNormBackward(rs, xs, fwd.mean, fwd.invstd, w, p, 'float32', { op: op('reluGrad'), y: fwd.y });
        expect(be.commandCounts().dispatches - mid).toBe(expected);
      };
      await (single ? run() : twoPass(run));
    }
  });

  describe.skipIf(!eight.gpu)('8 storage bindings per stage', () => {
    it('has 8', () => expect(eight.gpu!.limits?.maxStorageBuffers).toBe(8));
    suite('cases', () => eight.gpu, 'float32', gpuRunning);
    it('three residuals with weight and bias need 9 bindings on the two-pass kernels: the separate calls there, one fused kernel on 16', () => twoPass(async () => {
      for (const [be, fusedApply] of [[eight.gpu!, false], [gpu.gpu!, true]] as const) {
        const shape = [3, 5, 7, 9];
        const { size, x, residual, weight, bias } = inputs(shape);
        const p = { ...bnShape(shape), eps: 1e-5 };
        const [xs, rs, w, b] = [x, residual, weight, bias].map((v) => up(be, v, 'float32'));
        const r2 = up(be, randF(size), 'float32'), r3 = up(be, randF(size), 'float32');
        let y = be.batchNorm(xs, w, b, p, 'float32').y;
        for (const r of [rs, r2, r3]) y = be.binary(op('add'), y, shape, r, shape, shape, 'float32', 'float32');
        const before = be.commandCounts().dispatches;
        const fused = be.batchNorm(xs, w, b, p, 'float32', [rs, r2, r3].map((r) => ({ op: op('add'), residual: r })));
        expect(be.commandCounts().dispatches - before).toBe(fusedApply ? 2 : 5);
        expect(bits(await read(be, fused.y, size, 'float32'), 'float32')).toEqual(bits(await read(be, y, size, 'float32'), 'float32'));
      }
    }));
  });

  describe.skipIf(!small.gpu)('a batch split across bindings: the separate calls', () => {
    suite('cases', () => small.gpu, 'float32', gpuRunning);
    it('[6,5,8,9] (2160 values) with a residual chain, running statistics and the prologue, equal to unfused', async () => {
      const be = small.gpu!;
      const shape = [6, 5, 8, 9];
      const { size, x, residual, weight, bias } = inputs(shape);
      const p = { ...bnShape(shape), eps: 1e-5 };
      const [xs, rs, w, b] = [x, residual, weight, bias].map((v) => up(be, v, 'float32'));
      const rm = be.fill(p.c, 0, 'float32'), rv = be.fill(p.c, 1, 'float32');
      const running = { mean: rm, var: rv, momentum: 0.1, count: p.n * p.s };
      const plain = be.batchNorm(xs, w, b, p, 'float32');
      const added = be.binary(op('add'), plain.y, shape, rs, shape, shape, 'float32', 'float32');
      const y = be.unary(op('relu'), added, size, 'float32', 'float32');
      const fused = be.batchNorm(xs, w, b, { ...p, running }, 'float32', [{ op: op('add'), residual: rs }, { op: op('relu') }]);
      // The split path's statistics are combined from parts (other bits than the whole batch's): its update is checked against the formula.
      const sep = batchNormRunningStats(new Float32Array(p.c), new Float32Array(p.c).fill(1), await read(be, fused.mean, p.c, 'float32') as Float32Array,
        await read(be, fused.invstd, p.c, 'float32') as Float32Array, { c: p.c, momentum: 0.1, eps: p.eps, count: p.n * p.s });
      expect(bits(await read(be, fused.y, size, 'float32'), 'float32')).toEqual(bits(await read(be, y, size, 'float32'), 'float32'));
      const runningVar = await read(be, fused.runningVar!, p.c, 'float32');
      for (let i = 0; i < p.c; i++) expect(runningVar[i]).toBeCloseTo(sep.var[i], 5);
      const g = be.binary(op('reluGrad'), rs, shape, y, shape, shape, 'float32', 'float32');
      const back = be.batchNormBackward(g, xs, plain.mean, plain.invstd, w, p, 'float32');
      const fusedBack = be.batchNormBackward(rs, xs, plain.mean, plain.invstd, w, p, 'float32', { op: op('reluGrad'), y });
      expect(bits(await read(be, fusedBack.gx, size, 'float32'), 'float32')).toEqual(bits(await read(be, back.gx, size, 'float32'), 'float32'));
    });
  });
});
