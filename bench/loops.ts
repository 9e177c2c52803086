/**
 * `npm run bench -- loops`: loops against kernels, one table, one run, the same convolution.
 *
 * The lab (LAB.md §2) found a hand-written loop convolution took more than 5 hours per
 * CIFAR-10 epoch where the library's took 36 seconds. This group measures that gap on the
 * three 3×3 convolutions of the lab's simpleCnn (3→32 at 32×32, 32→64 at 16×16, 64→128 at
 * 8×8, padding 1, CIFAR batch 64), seven ways:
 *
 *  1. patch loop: a loop over output positions with one tensor op per patch (an autograd node per patch), cpu
 *     (the algorithm of the lab's hand-written MyConv2d, written here as `patchLoopConv2d`);
 *  2. plain scalar loops over Float32Array (forward, dX and dW each a 7-deep loop), cpu;
 *  3. the cpu backend's JavaScript reference convolution (im2col + blocked matrix multiply, one thread);
 *  4. a naive WGSL kernel: one invocation per output element, looping over Cin·k·k (bench/naive-conv.wgsl.ts);
 *  5. WGSL im2col + matrix multiply (the webgpu backend's im2col, matmul, reduce, col2im);
 *  6. WGSL implicit-GEMM convolution: the webgpu backend's conv / convBackwardInput /
 *     convBackwardWeight (no im2col matrix; the backend's GEMM variant is named in the row:
 *     'registers' on CPU-emulated adapters such as lavapipe, 'tiled' workgroup-memory tiles on
 *     GPUs; a layer with fewer channels than a GEMM tile wants goes to its direct kernel);
 *  7. the cpu backend's convolution: WebAssembly SIMD im2col + packed GEMM on every thread.
 *
 * Forward and forward+backward (dX and dW), median of repeated runs after warm-up, GFLOP/s,
 * the speed-up over row 1 per image, and the estimated seconds per CIFAR-10 epoch (50,000
 * images, forward+backward of the model's convolutions only) of the lab's N = 1 model (one
 * block, 3→32) and N = 3 model (all three). The library rows (3, 5, 6, 7) always run batch 64;
 * the slow rows (1, 2, 4) run on a reduced batch, chosen so one forward+backward takes about
 * `targetMs`, and the table says which batch each row used.
 * A row whose device is missing is listed with the reason, never dropped.
 */
import * as wg from '@webgrad/tensor';
import * as nn from '@webgrad/nn';
import type { Backend, ConvParams, Storage } from '@webgrad/tensor';
import { convShapes } from './cpu';
import { convFlops, gflops, printTable, time } from './util';
import { benchGpu, gpuFailure, readBuffer, releaseBenchGpu, uploadBuffer, type BenchGpu } from './gpu-device';
import {
  naiveConvBackwardInputWgsl,
  naiveConvBackwardWeightWgsl,
  naiveConvForwardWgsl,
  naiveConvParams,
  naiveDispatch,
  type NaiveConvShape,
} from './naive-conv.wgsl';

export const FULL_BATCH = 64;
const CIFAR_TRAIN_IMAGES = 50_000;
/** One forward+backward of a reduced-batch row should take about this long. */
const DEFAULT_TARGET_MS = 800;

export interface ConvCase {
  name: string;
  cin: number;
  cout: number;
  h: number;
  w: number;
  k: number;
  pad: number;
}

/** The lab's simpleCnn convolutions (the shapes of bench/cpu.ts), batch left free. */
export const convCases: ConvCase[] = convShapes.map((s) => ({
  name: `${s.x[1]}→${s.cout} @${s.x[2]}×${s.x[3]}`,
  cin: s.x[1],
  cout: s.cout,
  h: s.x[2],
  w: s.x[3],
  k: 3,
  pad: 1,
}));

/** Which convolutions make up the lab's models (indices into convCases). */
const MODELS = [
  { name: 'N = 1', layers: [0] },
  { name: 'N = 3', layers: [0, 1, 2] },
];

/** Deterministic data for every row: mulberry32, uniform in [-1, 1). */
export function randomData(size: number, seed: number): Float32Array {
  let a = seed >>> 0;
  const out = new Float32Array(size);
  for (let i = 0; i < size; i++) {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = ((t ^ (t >>> 14)) >>> 0) / 2 ** 31 - 1;
  }
  return out;
}

interface CaseData {
  c: ConvCase;
  x: Float32Array; // [64, cin, h, w]
  w: Float32Array; // [cout, cin, k, k]
  gy: Float32Array; // [64, cout, h, w] (same-size output)
}

const imageSize = (c: ConvCase) => c.cin * c.h * c.w;
const outSize = (c: ConvCase) => c.cout * c.h * c.w;

function convParams(c: ConvCase, batch: number): ConvParams {
  return {
    batch, inChannels: c.cin, outChannels: c.cout, groups: 1,
    inSize: [c.h, c.w], kernel: [c.k, c.k], outSize: [c.h, c.w], stride: [1, 1], padding: [c.pad, c.pad], dilation: [1, 1],
  };
}

/** One row prepared for one shape and batch. */
interface Runner {
  forward(): Promise<void>;
  /** Forward, then dX and dW. */
  both(): Promise<void>;
  /** The forward output, for the check against the cpu backend. */
  output(): Promise<Float32Array>;
  dispose(): void | Promise<void>;
}

interface Impl {
  row: number;
  name: string;
  device: string;
  /** First batch tried; the batch actually used is fitted to the time target. */
  startBatch: number;
  /** Library kernels always run the full batch (no fitting): the slow rows are the loops. */
  fixedBatch?: boolean;
  /** Null when the row can run; else why not. */
  unavailable: string | null;
  setup(d: CaseData, batch: number): Runner | Promise<Runner>;
}

// --- row 1: patch loop ------------------------------------------------------------------
/**
 * y = conv(x, w), stride 1, zero padding, as a loop over output positions with one tensor
 * product per patch, so autograd records a node per patch. This is the algorithm of the lab's
 * hand-written convolution (MyConv2d in examples/lab/models.ts), written here so that the
 * bench does not depend on the lab program. x [N, Cin, H, W], w [Cout, Cin, kh, kw].
 */
export function patchLoopConv2d(x: wg.Tensor, w: wg.Tensor, padding: number): wg.Tensor {
  const input = padding > 0 ? wg.pad(x, [padding, padding, padding, padding]) : x;
  const [n, cin, h, width] = input.shape;
  const [cout, , kh, kw] = w.shape;
  const oh = h - kh + 1;
  const ow = width - kw + 1;
  const kernels = w.reshape([1, cout, cin * kh * kw]);
  const columns: wg.Tensor[] = [];
  for (let i = 0; i < oh; i++)
    for (let j = 0; j < ow; j++) {
      const patch = input.slice([0, 0, i, j], [n, cin, kh, kw]).reshape([n, 1, cin * kh * kw]);
      columns.push(patch.mul(kernels).sum(2)); // [N, Cout]
    }
  return wg.stack(columns, 2).reshape([n, cout, oh, ow]);
}

/**
 * Throws unless patchLoopConv2d equals conv2d (output, dX and dW) on a tiny padded input,
 * so row 1 never times a wrong convolution. Milliseconds; runs before the group.
 */
export async function checkPatchLoopConv2d(): Promise<void> {
  const prev = wg.getDefaultDevice();
  wg.setDefaultDevice('cpu');
  try {
    const shape = { x: [2, 3, 5, 4], w: [4, 3, 3, 3] };
    const run = async (conv: (x: wg.Tensor, w: wg.Tensor) => wg.Tensor) => {
      const x = wg.tensor(randomData(2 * 3 * 5 * 4, 5), shape.x, { requiresGrad: true });
      const w = wg.tensor(randomData(4 * 3 * 3 * 3, 6), shape.w, { requiresGrad: true });
      const out = wg.tidy(() => {
        const y = conv(x, w);
        y.backward(wg.tensor(randomData(y.size, 7), y.shape));
        return [y, x.grad!, w.grad!];
      });
      const data = await Promise.all(out.map(async (t) => (await t.data()) as Float32Array));
      for (const t of [x, w, ...out]) t.dispose();
      return data;
    };
    const mine = await run((x, w) => patchLoopConv2d(x, w, 1));
    const ref = await run((x, w) => wg.conv2d(x, w, null, { padding: 1 }));
    ['output', 'dX', 'dW'].forEach((what, k) => {
      const err = maxAbsDiff(mine[k], ref[k]);
      if (!(err <= 1e-4)) throw new Error(`patchLoopConv2d: ${what} differs from conv2d by ${err} on x [${shape.x}], w [${shape.w}], padding 1`);
    });
  } finally {
    wg.setDefaultDevice(prev);
  }
}

const patchLoop: Impl = {
  row: 1,
  name: 'patch loop (tensor op per patch)',
  device: 'cpu',
  startBatch: 2,
  unavailable: null,
  setup({ c, x, w, gy }, batch) {
    wg.setDefaultDevice('cpu');
    const wt = wg.tensor(w, [c.cout, c.cin, c.k, c.k], { requiresGrad: true });
    const xt = wg.tensor(x.subarray(0, batch * imageSize(c)), [batch, c.cin, c.h, c.w], { requiresGrad: true });
    const g = wg.tensor(gy.subarray(0, batch * outSize(c)), [batch, c.cout, c.h, c.w]);
    const clearGrads = () => {
      for (const t of [xt, wt]) {
        t.grad?.dispose();
        t.grad = null;
      }
    };
    return {
      forward: async () => wg.tidy(() => void wg.noGrad(() => patchLoopConv2d(xt, wt, c.pad))),
      both: async () =>
        wg.tidy(() => {
          patchLoopConv2d(xt, wt, c.pad).backward(g);
          clearGrads();
        }),
      output: async () => {
        const y = wg.tidy(() => wg.noGrad(() => patchLoopConv2d(xt, wt, c.pad)));
        const out = (await y.data()) as Float32Array;
        y.dispose();
        return out;
      },
      dispose: () => {
        clearGrads();
        for (const t of [xt, wt, g]) t.dispose();
      },
    };
  },
};

// --- row 2: plain scalar loops -----------------------------------------------------------
/** y = conv(x, w), stride 1, zero padding: the loops a student writes first. */
export function scalarConvForward(x: Float32Array, w: Float32Array, n: number, c: ConvCase): Float32Array {
  const { cin, cout, h, w: width, k, pad } = c;
  const y = new Float32Array(n * cout * h * width);
  for (let b = 0; b < n; b++)
    for (let co = 0; co < cout; co++)
      for (let oy = 0; oy < h; oy++)
        for (let ox = 0; ox < width; ox++) {
          let acc = 0;
          for (let ci = 0; ci < cin; ci++)
            for (let ky = 0; ky < k; ky++) {
              const iy = oy + ky - pad;
              if (iy < 0 || iy >= h) continue;
              for (let kx = 0; kx < k; kx++) {
                const ix = ox + kx - pad;
                if (ix < 0 || ix >= width) continue;
                acc += x[((b * cin + ci) * h + iy) * width + ix] * w[((co * cin + ci) * k + ky) * k + kx];
              }
            }
          y[((b * cout + co) * h + oy) * width + ox] = acc;
        }
  return y;
}

/** dX and dW of the convolution above, by the same loops (scatter into dX, accumulate dW). */
export function scalarConvBackward(x: Float32Array, w: Float32Array, gy: Float32Array, n: number, c: ConvCase): { dx: Float32Array; dw: Float32Array } {
  const { cin, cout, h, w: width, k, pad } = c;
  const dx = new Float32Array(n * cin * h * width);
  const dw = new Float32Array(cout * cin * k * k);
  for (let b = 0; b < n; b++)
    for (let co = 0; co < cout; co++)
      for (let oy = 0; oy < h; oy++)
        for (let ox = 0; ox < width; ox++) {
          const g = gy[((b * cout + co) * h + oy) * width + ox];
          for (let ci = 0; ci < cin; ci++)
            for (let ky = 0; ky < k; ky++) {
              const iy = oy + ky - pad;
              if (iy < 0 || iy >= h) continue;
              for (let kx = 0; kx < k; kx++) {
                const ix = ox + kx - pad;
                if (ix < 0 || ix >= width) continue;
                const xi = ((b * cin + ci) * h + iy) * width + ix;
                const wi = ((co * cin + ci) * k + ky) * k + kx;
                dx[xi] += g * w[wi];
                dw[wi] += g * x[xi];
              }
            }
        }
  return { dx, dw };
}

const scalarLoops: Impl = {
  row: 2,
  name: 'scalar loops over Float32Array',
  device: 'cpu',
  startBatch: 4,
  unavailable: null,
  setup({ c, x, w, gy }, batch) {
    const xs = x.subarray(0, batch * imageSize(c));
    const gs = gy.subarray(0, batch * outSize(c));
    let sink = 0;
    return {
      forward: async () => void (sink += scalarConvForward(xs, w, batch, c)[0]),
      both: async () => {
        sink += scalarConvForward(xs, w, batch, c)[0];
        sink += scalarConvBackward(xs, w, gs, batch, c).dw[0];
      },
      output: async () => scalarConvForward(xs, w, batch, c),
      dispose: () => void sink,
    };
  },
};

// --- rows 3, 5, 6: a backend's kernels, called directly on its storages ------------------
function backendRunner(b: Backend, d: CaseData, batch: number, path: 'conv' | 'im2col+matmul'): Runner {
  const { c } = d;
  const p = convParams(c, batch);
  const K = c.cin * c.k * c.k;
  const L = c.h * c.w;
  const x = b.upload(d.x.slice(0, batch * imageSize(c)), 'float32');
  const w = b.upload(d.w, 'float32');
  const gy = b.upload(d.gy.slice(0, batch * outSize(c)), 'float32');
  const forward = (): Storage => {
    if (path === 'conv') return b.conv(x, w, null, p, 'float32');
    const cols = b.im2col(x, p, 'float32'); // [N, K, L]
    const y = b.matmul(w, cols, { batch, m: c.cout, n: L, k: K, transA: false, transB: false, aBatchStride: 0, bBatchStride: K * L }, 'float32');
    b.dispose(cols);
    return y;
  };
  const backward = (): Storage[] => {
    if (path === 'conv') return [b.convBackwardInput(gy, w, p, 'float32'), b.convBackwardWeight(x, gy, p, 'float32').weight];
    // dW = Σ_n gy[n] · cols[n]ᵀ ; dcols[n] = wᵀ · gy[n] ; dX = col2im(dcols)
    const cols = b.im2col(x, p, 'float32');
    const perImage = b.matmul(gy, cols, { batch, m: c.cout, n: K, k: L, transA: false, transB: true, aBatchStride: c.cout * L, bBatchStride: K * L }, 'float32');
    const dw = b.reduce('sum', perImage, [batch, c.cout, K], [0], 'float32');
    const dcols = b.matmul(w, gy, { batch, m: K, n: L, k: c.cout, transA: true, transB: false, aBatchStride: 0, bBatchStride: c.cout * L }, 'float32');
    const dx = b.col2im(dcols, p, 'float32');
    for (const s of [cols, perImage, dcols]) b.dispose(s);
    return [dx, dw];
  };
  return {
    forward: async () => {
      b.dispose(forward());
      await b.sync();
    },
    both: async () => {
      const y = forward();
      for (const s of [y, ...backward()]) b.dispose(s);
      await b.sync();
    },
    output: async () => {
      const y = forward();
      const out = (await b.read(y, batch * outSize(c), 'float32')) as Float32Array;
      b.dispose(y);
      return out;
    },
    dispose: () => {
      for (const s of [x, w, gy]) b.dispose(s);
    },
  };
}

const cpuBackendRow: Impl = {
  row: 3,
  name: 'cpu JS reference (im2col + blocked matmul)',
  device: 'cpu',
  startBatch: FULL_BATCH,
  fixedBatch: true,
  unavailable: null,
  setup: (d, batch) => backendRunner(wg.cpuReferenceBackend, d, batch, 'conv'),
};

const cpuWasmRow: Impl = {
  row: 7,
  name: 'cpu WASM SIMD (im2col + packed GEMM, threads)',
  device: 'cpu',
  startBatch: FULL_BATCH,
  fixedBatch: true,
  unavailable: wg.cpuBackend.description.includes('WebAssembly') ? null : wg.cpuBackend.description,
  setup: (d, batch) => backendRunner(wg.cpuBackend, d, batch, 'conv'),
};

// --- row 4: naive WGSL ---------------------------------------------------------------------
class NaiveWgsl {
  private pipelines: GPUComputePipeline[];
  constructor(readonly device: GPUDevice) {
    this.pipelines = [naiveConvForwardWgsl(), naiveConvBackwardInputWgsl(), naiveConvBackwardWeightWgsl()].map((code) =>
      device.createComputePipeline({ layout: 'auto', compute: { module: device.createShaderModule({ code }), entryPoint: 'main' } }),
    );
  }

  runner(d: CaseData, batch: number): Runner {
    const { device } = this;
    const { c } = d;
    const shape: NaiveConvShape = { n: batch, cin: c.cin, h: c.h, w: c.w, cout: c.cout, kh: c.k, kw: c.k, oh: c.h, ow: c.w, sh: 1, sw: 1, ph: c.pad, pw: c.pad, dh: 1, dw: 1 };
    const totals = [batch * outSize(c), batch * imageSize(c), c.cout * c.cin * c.k * c.k];
    const uniform = GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST;
    const params = totals.map((t) => uploadBuffer(device, naiveConvParams(shape, t), uniform));
    const x = uploadBuffer(device, d.x.slice(0, batch * imageSize(c)));
    const w = uploadBuffer(device, d.w);
    const gy = uploadBuffer(device, d.gy.slice(0, batch * outSize(c)));
    const [y, dx, dw] = totals.map((t) => device.createBuffer({ size: t * 4, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC }));
    const io: [GPUBuffer, GPUBuffer, GPUBuffer][] = [[x, w, y], [gy, w, dx], [x, gy, dw]];
    const groups = io.map((bufs, k) =>
      device.createBindGroup({
        layout: this.pipelines[k].getBindGroupLayout(0),
        entries: [params[k], ...bufs].map((buffer, binding) => ({ binding, resource: { buffer } })),
      }),
    );
    const run = async (kernels: number[]) => {
      const enc = device.createCommandEncoder();
      for (const k of kernels) {
        const pass = enc.beginComputePass();
        pass.setPipeline(this.pipelines[k]);
        pass.setBindGroup(0, groups[k]);
        pass.dispatchWorkgroups(...naiveDispatch(totals[k]));
        pass.end();
      }
      device.queue.submit([enc.finish()]);
      await device.queue.onSubmittedWorkDone();
    };
    return {
      forward: () => run([0]),
      both: () => run([0, 1, 2]),
      output: async () => {
        await run([0]);
        return readBuffer(device, y, totals[0]);
      },
      dispose: () => {
        for (const b of [...params, x, w, gy, y, dx, dw]) b.destroy();
      },
    };
  }
}

// --- the group -----------------------------------------------------------------------------
interface Cell {
  row: number;
  method: string;
  device: string;
  conv: string;
  batch: number;
  forwardMs?: number;
  bothMs?: number;
  forwardGflops?: number;
  bothGflops?: number;
  /** ms per image, forward+backward */
  bothMsPerImage?: number;
  forwardMsPerImage?: number;
  maxAbsError?: number;
  runs?: number;
  note?: string;
}

/** Picks the batch (a power of two up to 64) whose forward+backward takes about targetMs, from one warm run. */
async function fitBatch(impl: Impl, d: CaseData, targetMs: number): Promise<{ runner: Runner; batch: number }> {
  let batch = impl.startBatch;
  let runner = await impl.setup(d, batch);
  await runner.both(); // warm-up: JIT, pipeline compilation
  if (impl.fixedBatch) return { runner, batch };
  const t0 = performance.now();
  await runner.both();
  const msPerImage = (performance.now() - t0) / batch;
  let fitted = 1;
  while (fitted * 2 <= FULL_BATCH && fitted * 2 * msPerImage <= targetMs) fitted *= 2;
  if (fitted !== batch) {
    await runner.dispose();
    batch = fitted;
    runner = await impl.setup(d, batch);
    await runner.both();
  }
  return { runner, batch };
}

async function referenceForward(d: CaseData, batch: number): Promise<Float32Array> {
  const r = backendRunner(wg.cpuBackend, d, batch, 'conv');
  const out = await r.output();
  r.dispose();
  return out;
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) return Infinity;
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

const fmtSeconds = (s: number) => (s >= 3600 ? `${(s / 3600).toFixed(1)} h` : s >= 60 ? `${(s / 60).toFixed(1)} min` : `${s.toPrecision(3)} s`);

export interface LoopsOptions {
  /** Target ms for one forward+backward of a reduced-batch row (default 800; env BENCH_LOOPS_TARGET_MS). */
  targetMs?: number;
  /** Timed repeats per measurement (default 3; the median is reported). */
  repeats?: number;
  /** Rows to run (default all six). */
  rows?: number[];
  /** Write the PNG chart (default true). */
  chart?: boolean;
}

export async function benchLoops(opts: LoopsOptions = {}): Promise<object> {
  const targetMs = opts.targetMs ?? Number(process.env.BENCH_LOOPS_TARGET_MS ?? DEFAULT_TARGET_MS);
  const repeats = opts.repeats ?? 3;
  const wanted = new Set(opts.rows ?? [1, 2, 3, 4, 5, 6, 7]);
  const prevDevice = wg.getDefaultDevice();
  if (wanted.has(1)) await checkPatchLoopConv2d();

  const gpu: BenchGpu | null = wanted.has(4) || wanted.has(5) || wanted.has(6) ? await benchGpu() : null;
  const gpuWhy = gpu ? '' : gpuFailure() || 'no WebGPU adapter';
  let naive: NaiveWgsl | null = null;
  let naiveWhy = gpuWhy;
  if (gpu) {
    try {
      naive = new NaiveWgsl(gpu.device);
    } catch (err) {
      naiveWhy = `pipeline failed: ${(err as Error).message.split('\n')[0]}`;
    }
  }
  const gpuName = 'webgpu';
  const backend = gpu?.backend ?? null;
  // The webgpu backend picks its GEMM by adapter: 'registers' on CPU-emulated ones, 'tiled' on GPUs.
  const variant = String((backend as { variant?: string } | null)?.variant ?? 'tiled');
  const backendWhy = backend ? null : gpu?.backendError ?? gpuWhy;
  const impls: Impl[] = ([
    patchLoop,
    scalarLoops,
    cpuBackendRow,
    cpuWasmRow,
    { row: 4, name: 'naive WGSL (1 invocation per output)', device: gpuName, startBatch: FULL_BATCH, unavailable: naive ? null : naiveWhy, setup: (d, b) => naive!.runner(d, b) },
    { row: 5, name: `WGSL im2col + matmul (${variant} GEMM)`, device: gpuName, startBatch: FULL_BATCH, fixedBatch: true, unavailable: backendWhy, setup: (d, b) => backendRunner(backend!, d, b, 'im2col+matmul') },
    { row: 6, name: `WGSL implicit-GEMM conv (${variant})`, device: gpuName, startBatch: FULL_BATCH, fixedBatch: true, unavailable: backendWhy, setup: (d, b) => backendRunner(backend!, d, b, 'conv') },
  ] satisfies Impl[]).filter((i) => wanted.has(i.row));

  const cells: Cell[] = [];
  const notes: string[] = [];
  if (gpu) notes.push(`webgpu rows ran on ${gpu.description}, a device from the ${gpu.source}`);
  for (const [ci, c] of convCases.entries()) {
    const d: CaseData = {
      c,
      x: randomData(FULL_BATCH * imageSize(c), 11 + ci),
      w: randomData(c.cout * c.cin * c.k * c.k, 23 + ci).map((v) => v / Math.sqrt(c.cin * c.k * c.k)),
      gy: randomData(FULL_BATCH * outSize(c), 37 + ci),
    };
    const flopsPerImage = convFlops(1, c.cin, c.cout, [c.h, c.w], [c.k, c.k]);
    for (const impl of impls) {
      const cell: Cell = { row: impl.row, method: impl.name, device: impl.device, conv: c.name, batch: 0 };
      cells.push(cell);
      if (impl.unavailable) {
        cell.note = 'not run (see notes)';
        const why = `row ${impl.row} not run: ${impl.unavailable}`;
        if (!notes.includes(why)) notes.push(why);
        continue;
      }
      try {
        const { runner, batch } = await fitBatch(impl, d, targetMs);
        cell.batch = batch;
        const ref = await referenceForward(d, batch);
        cell.maxAbsError = maxAbsDiff(await runner.output(), ref);
        const budgetMs = targetMs * repeats;
        const fwd = await time(runner.forward, { warmup: 1, repeats, budgetMs });
        const both = await time(runner.both, { warmup: 0, repeats, budgetMs });
        await runner.dispose();
        Object.assign(cell, {
          forwardMs: fwd.medianMs,
          bothMs: both.medianMs,
          forwardMsPerImage: fwd.medianMs / batch,
          bothMsPerImage: both.medianMs / batch,
          forwardGflops: gflops(flopsPerImage * batch, fwd.medianMs),
          bothGflops: gflops(3 * flopsPerImage * batch, both.medianMs),
          runs: Math.min(fwd.runs, both.runs),
        });
        console.log(`  loops: row ${impl.row} ${c.name} batch ${batch}: forward ${fwd.medianMs.toFixed(1)} ms, fwd+bwd ${both.medianMs.toFixed(1)} ms`);
      } catch (err) {
        cell.note = 'failed (see notes)';
        notes.push(`row ${impl.row} ${c.name} failed: ${(err as Error).message.split('\n')[0]}`);
        console.log(`  loops: row ${impl.row} ${c.name} failed: ${(err as Error).message.split('\n')[0]}`);
      }
    }
  }
  wg.setDefaultDevice(prevDevice);
  await releaseBenchGpu(); // only a device this group opened itself; webgrad's stays for the next group

  // Speed-ups are per image, so reduced-batch rows compare fairly with full-batch ones.
  const row1 = (conv: string) => cells.find((x) => x.row === 1 && x.conv === conv);
  const speedup = (cell: Cell, key: 'forwardMsPerImage' | 'bothMsPerImage') => {
    const base = row1(cell.conv)?.[key];
    const mine = cell[key];
    return base && mine ? base / mine : undefined;
  };
  const rows = cells.map((cell) => ({
    row: String(cell.row),
    method: cell.method,
    device: cell.device,
    conv: cell.conv,
    batch: cell.batch ? (cell.batch < FULL_BATCH ? `${cell.batch} (reduced)` : String(cell.batch)) : '-',
    'fwd ms': cell.forwardMs ?? '-',
    'fwd GFLOP/s': cell.forwardGflops ?? '-',
    'fwd ×row1': fmtSpeedup(speedup(cell, 'forwardMsPerImage')),
    'f+b ms': cell.bothMs ?? '-',
    'f+b GFLOP/s': cell.bothGflops ?? '-',
    'f+b ×row1': fmtSpeedup(speedup(cell, 'bothMsPerImage')),
    'max |err|': cell.maxAbsError !== undefined ? cell.maxAbsError.toExponential(1) : '-',
    note: cell.note ?? '',
  }));
  printTable(`loops against kernels: 3×3 convolutions of the lab's simpleCnn, padding 1, batch ${FULL_BATCH} unless reduced (ms are per batch; ×row1 is per image; max |err| is the forward against the cpu backend)`, rows);

  const epochRows: Record<string, string | number>[] = [];
  const epochs = impls.map((impl) => {
    const out: Record<string, string | number> = { row: impl.row, method: impl.name, device: impl.device };
    const shown: Record<string, string | number> = { row: String(impl.row), method: impl.name, device: impl.device };
    for (const m of MODELS) {
      const per = m.layers.map((l) => cells.find((x) => x.row === impl.row && x.conv === convCases[l].name)?.bothMsPerImage);
      out[`${m.name} s/epoch`] = per.every((v) => v !== undefined) ? (per as number[]).reduce((a, b) => a + b, 0) * CIFAR_TRAIN_IMAGES / 1000 : '-';
      out[m.name] = typeof out[`${m.name} s/epoch`] === 'number' ? fmtSeconds(out[`${m.name} s/epoch`] as number) : 'not run';
      shown[`${m.name} s/epoch`] = out[`${m.name} s/epoch`];
      shown[m.name] = out[m.name];
    }
    epochRows.push(shown);
    return out;
  });
  printTable(`estimated seconds per CIFAR-10 epoch (50,000 images, forward+backward of the convolutions only; N = 1: 3→32; N = 3: all three)`, epochRows);
  for (const n of notes) console.log(`  note: ${n}`);
  const reduced = cells.filter((c) => c.batch && c.batch < FULL_BATCH).map((c) => `row ${c.row} ${c.conv}: batch ${c.batch}`);
  if (reduced.length) console.log(`  reduced batches (to keep the run short; times per image extrapolate): ${reduced.join('; ')}`);

  let chart: string | undefined;
  if (opts.chart ?? true) {
    try {
      const { writeLoopsChart } = await import('./chart');
      const notRun = impls.filter((i) => !cells.some((c) => c.row === i.row && c.bothGflops !== undefined)).map((i) => i.row);
      const subtitle = [
        `cpu rows 1-3: JavaScript, one thread; row 7: ${wg.cpuBackend.description}${gpu ? `; webgpu rows: ${gpu.description.length > 70 ? `${gpu.description.slice(0, 67)}...` : gpu.description}` : ''}`,
        notRun.length ? `row${notRun.length > 1 ? 's' : ''} ${notRun.join(', ')} not run (see the table)` : '',
      ].filter(Boolean).join(' · ');
      chart = await writeLoopsChart(cells, epochs, { subtitle });
      console.log(`  chart: ${chart}`);
    } catch (err) {
      notes.push(`chart not written: ${(err as Error).message.split('\n')[0]}`);
      console.log(`  chart not written: ${(err as Error).message.split('\n')[0]}`);
    }
  }
  return { targetMs, repeats, fullBatch: FULL_BATCH, cases: convCases, cells, epochs, notes, chart };
}

function fmtSpeedup(v: number | undefined): string {
  if (v === undefined) return '-';
  return v >= 100 ? `${Math.round(v).toLocaleString('en-US')}×` : `${v.toPrecision(3)}×`;
}

export type LoopCell = Cell;
