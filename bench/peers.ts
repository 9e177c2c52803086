/**
 * `npm run bench -- peers`: webgrad against TensorFlow.js 4.22 and PyTorch in the same run, on
 * the same workloads: the lab's 3×3 convolutions and the dilated layers of its dilatedCnn
 * [1, 2, 5], square matrix products, and one training step (batch 64, Adam, cross-entropy) of
 * simpleCnn, dilatedCnn and resnet18. One table, with a webgrad/peer ratio per peer.
 *
 * Peers of webgrad's cpu device (whatever it runs on: JavaScript today): tfjs-backend-cpu
 * (JavaScript), tfjs-backend-wasm (XNNPACK; its .wasm loaded from node_modules; it has no
 * convolution gradient, which its cells show as "cannot") and, when a Python with torch is
 * found, PyTorch on the CPU with webgrad's thread count (bench/pytorch.ts runs
 * bench/peers_torch.py as a child process; without torch the column says why and stays empty).
 * Peer of webgrad's webgpu device: tfjs-backend-webgpu on the same Dawn adapter (tfjs gets the
 * shared `GPU` object as `navigator.gpu`, see bench/gpu-device.ts).
 *
 * Each side uses its own layout (NCHW for webgrad and PyTorch, NHWC for tfjs) through its
 * public API, and each timed call waits for the device. webgrad's undilated convolutions, its
 * GPU training step and all of PyTorch run batch 64; the slower sides run on a reduced batch
 * (chosen so one call takes about `targetMs`) and the table says so; throughput is per image,
 * so the ratio stays fair. Where a side cannot do a workload, the table says so.
 */
import * as wg from '@webgrad/tensor';
import * as nn from '@webgrad/nn';
import { convFlops, gflops, printTable, time } from './util';
import { benchGpu, gpuFailure, installNavigatorGpu, releaseBenchGpu } from './gpu-device';
import { loadTfjs, tfjsSync, tfjsVersion, type Tfjs } from './tfjs';
import { convCases, randomData } from './loops';
import { models as trainModels, trainingStep } from './train';
import { findTorchPython, runTorch, type TorchResult } from './pytorch';

const FULL_BATCH = 64;
const DEFAULT_TARGET_MS = 450;

interface PeerConv {
  name: string;
  cin: number;
  cout: number;
  size: number;
  k: number;
  pad: number;
  dilation: number;
}

/** The lab's dilatedCnn: unpadded 3×3 convolutions with 32, 64, 128 channels at these rates on 32×32 images. */
const LAB_DILATIONS = [1, 2, 5];
const labDilatedSizes = nn.dilatedCnnSizes(32, LAB_DILATIONS);
/** The loops group's convolutions, plus the dilated layers (rate > 1) of the lab's dilatedCnn. */
const convs: PeerConv[] = [
  ...convCases.map((c) => ({ name: c.name, cin: c.cin, cout: c.cout, size: c.h, k: c.k, pad: c.pad, dilation: 1 })),
  ...LAB_DILATIONS.flatMap((d, i) => {
    if (d === 1) return [];
    const [cin, cout, size] = [i === 0 ? 3 : 32 * 2 ** (i - 1), 32 * 2 ** i, labDilatedSizes[i]];
    return [{ name: `${cin}→${cout} @${size}×${size} dilation ${d}`, cin, cout, size, k: 3, pad: 0, dilation: d }];
  }),
];
const outSide = (c: PeerConv) => c.size + 2 * c.pad - c.dilation * (c.k - 1);
const matmulSizes = [256, 512, 1024];
/** tfjs-backend-cpu's matmul is slow enough that larger sizes would dominate the run. */
const TFJS_CPU_MATMUL_MAX = 512;

type Fns = Record<string, () => Promise<void>>;
export interface Prepared {
  fns: Fns;
  dispose(): void | Promise<void>;
}
interface Fitted {
  batch: number;
  ms: Record<string, number>;
  errors: Record<string, string>;
}

/**
 * Prepares at startBatch, runs the first function of `order` that works twice (warm-up and
 * probe), picks the largest power-of-two batch ≤ maxBatch that fits targetMs, then times
 * every function in `order` (median of `repeats` after one warm-up).
 */
async function fitAndTime(setup: (batch: number) => Prepared | Promise<Prepared>, opts: { startBatch: number; maxBatch: number; targetMs: number; repeats: number; order: string[]; fixed?: boolean; warmup?: number }): Promise<Fitted> {
  let batch = opts.startBatch;
  let prepared = await setup(batch);
  const errors: Record<string, string> = {};
  let probeMs = NaN;
  for (const key of opts.order) {
    try {
      await prepared.fns[key]();
      const t0 = performance.now();
      await prepared.fns[key]();
      probeMs = performance.now() - t0;
      break;
    } catch (err) {
      errors[key] = (err as Error).message.split('\n')[0];
    }
  }
  if (Number.isFinite(probeMs) && !opts.fixed) {
    const perImage = probeMs / batch;
    let fitted = 1;
    while (fitted * 2 <= opts.maxBatch && fitted * 2 * perImage <= opts.targetMs) fitted *= 2;
    if (fitted !== batch) {
      await prepared.dispose();
      batch = fitted;
      prepared = await setup(batch);
    }
  }
  const ms: Record<string, number> = {};
  for (const key of opts.order) {
    if (errors[key]) continue;
    try {
      ms[key] = (await time(prepared.fns[key], { warmup: opts.warmup ?? 1, repeats: opts.repeats, budgetMs: opts.targetMs * opts.repeats })).medianMs;
    } catch (err) {
      errors[key] = (err as Error).message.split('\n')[0];
    }
  }
  await prepared.dispose();
  return { batch, ms, errors };
}

// --- webgrad -------------------------------------------------------------------------------
async function wgSync(device: string): Promise<void> {
  await wg.getBackend(device).sync();
}

function wgConv(device: string, c: PeerConv, batch: number): Prepared {
  const o = outSide(c);
  const x = wg.tensor(randomData(batch * c.cin * c.size * c.size, 1), [batch, c.cin, c.size, c.size], { device, requiresGrad: true });
  const w = wg.tensor(randomData(c.cout * c.cin * c.k * c.k, 2), [c.cout, c.cin, c.k, c.k], { device, requiresGrad: true });
  const gy = wg.tensor(randomData(batch * c.cout * o * o, 3), [batch, c.cout, o, o], { device });
  const opts = { padding: c.pad, dilation: c.dilation };
  return {
    fns: {
      forward: async () => {
        wg.tidy(() => void wg.noGrad(() => wg.conv2d(x, w, null, opts)));
        await wgSync(device);
      },
      both: async () => {
        wg.tidy(() => {
          wg.conv2d(x, w, null, opts).backward(gy);
          for (const t of [x, w]) {
            t.grad?.dispose();
            t.grad = null;
          }
        });
        await wgSync(device);
      },
    },
    dispose: () => {
      for (const t of [x, w, gy]) t.dispose();
    },
  };
}

function wgMatmul(device: string, n: number): Prepared {
  const a = wg.tensor(randomData(n * n, 4), [n, n], { device });
  const b = wg.tensor(randomData(n * n, 5), [n, n], { device });
  return {
    fns: {
      forward: async () => {
        wg.tidy(() => void wg.matmul(a, b));
        await wgSync(device);
      },
    },
    dispose: () => {
      a.dispose();
      b.dispose();
    },
  };
}

function wgTrain(device: string, make: () => nn.Module, batch: number): Prepared {
  const { step, dispose } = trainingStep(make, device, batch);
  return { fns: { step }, dispose };
}

// --- TensorFlow.js -------------------------------------------------------------------------
function tfConv(tf: Tfjs, c: PeerConv, batch: number): Prepared {
  const o = outSide(c);
  const x = tf.tensor4d(randomData(batch * c.cin * c.size * c.size, 1), [batch, c.size, c.size, c.cin]);
  const w = tf.tensor4d(randomData(c.cout * c.cin * c.k * c.k, 2), [c.k, c.k, c.cin, c.cout]);
  const gy = tf.tensor4d(randomData(batch * c.cout * o * o, 3), [batch, o, o, c.cout]);
  const conv = (a: unknown, b: unknown) => tf.conv2d(a, b, 1, c.pad === 0 ? 'valid' : c.pad, 'NHWC', c.dilation);
  const grads = tf.grads(conv);
  return {
    fns: {
      forward: async () => {
        const y = conv(x, w);
        await tfjsSync(tf, [y]);
        y.dispose();
      },
      both: async () => {
        const out = tf.tidy(() => grads([x, w], gy));
        await tfjsSync(tf, out);
        tf.dispose(out);
      },
    },
    dispose: () => tf.dispose([x, w, gy]),
  };
}

function tfMatmul(tf: Tfjs, n: number): Prepared {
  const a = tf.tensor2d(randomData(n * n, 4), [n, n]);
  const b = tf.tensor2d(randomData(n * n, 5), [n, n]);
  return {
    fns: {
      forward: async () => {
        const y = tf.matMul(a, b);
        await tfjsSync(tf, [y]);
        y.dispose();
      },
    },
    dispose: () => tf.dispose([a, b]),
  };
}

/** simpleCnn in tfjs: 3 × [conv 3×3 same + bias → batch norm (batch statistics) → ReLU → 2×2 max pool] → dense 10. */
export function tfTrain(tf: Tfjs, batch: number): Prepared {
  const chans = [3, 32, 64, 128];
  const vars: unknown[] = [];
  const variable = (t: unknown) => {
    const v = tf.variable(t);
    vars.push(v);
    return v;
  };
  const blocks = [1, 2, 3].map((i) => ({
    w: variable(tf.randomNormal([3, 3, chans[i - 1], chans[i]], 0, Math.sqrt(2 / (9 * chans[i - 1])))),
    b: variable(tf.zeros([chans[i]])),
    gamma: variable(tf.ones([chans[i]])),
    beta: variable(tf.zeros([chans[i]])),
  }));
  const fcW = variable(tf.randomNormal([128 * 4 * 4, 10], 0, Math.sqrt(1 / (128 * 16))));
  const fcB = variable(tf.zeros([10]));
  const x = tf.randomNormal([batch, 32, 32, 3]);
  const labels = tf.oneHot(tf.randomUniform([batch], 0, 10, 'int32'), 10);
  const optimizer = tf.train.adam(1e-3);
  const lossFn = () => {
    let h = x;
    for (const bl of blocks) {
      h = tf.add(tf.conv2d(h, bl.w, 1, 'same'), bl.b);
      const { mean, variance } = tf.moments(h, [0, 1, 2]);
      h = tf.relu(tf.batchNorm(h, mean, variance, bl.beta, bl.gamma, 1e-5));
      h = tf.maxPool(h, 2, 2, 'valid');
    }
    return tf.losses.softmaxCrossEntropy(labels, tf.add(tf.matMul(tf.reshape(h, [batch, -1]), fcW), fcB));
  };
  return {
    fns: {
      step: async () => {
        const loss = optimizer.minimize(lossFn, true);
        await loss.data();
        loss.dispose();
      },
    },
    dispose: () => {
      optimizer.dispose();
      tf.dispose([x, labels, ...vars]);
    },
  };
}

// --- the group -----------------------------------------------------------------------------
type Device = 'cpu' | 'webgpu';
type TfjsKey = 'tfjs' | 'tfjsWasm';
type PeerKey = TfjsKey | 'pytorch';

/** The peer columns in table order; each gets a webgrad/peer ratio beside it. */
const PEER_LABELS: Record<PeerKey, string> = { tfjs: 'tfjs', tfjsWasm: 'tfjs wasm', pytorch: 'PyTorch' };
/** The tfjs backend behind each tfjs column, per webgrad device (PyTorch faces the cpu device only). */
const TFJS_BACKENDS: Record<Device, Partial<Record<TfjsKey, string>>> = {
  cpu: { tfjs: 'cpu', tfjsWasm: 'wasm' },
  webgpu: { tfjs: 'webgpu' },
};

/** One side's figure for a row, or why there is none: `cannot` when the side ran the workload and failed (an op it lacks). */
interface Cell {
  value?: number;
  batch?: number;
  note?: string;
  cannot?: boolean;
}
interface Row {
  workload: string;
  device: Device;
  unit: 'GFLOP/s' | 'images/s';
  webgrad: Cell;
  peers: Partial<Record<PeerKey, Cell>>;
  /** webgrad / peer, where both measured. */
  ratios: Partial<Record<PeerKey, number>>;
}

/** A side's timings, or why it did not run (`tried`: it started and threw). */
type SideResult = Fitted | { error: string; tried: boolean };

/** The cell of timing `key`; `amount` turns (batch, ms) into the row's unit. */
function cellOf(res: SideResult, key: string, amount: (batch: number, ms: number) => number): Cell {
  if ('error' in res) return { note: res.error, cannot: res.tried };
  if (res.errors[key]) return { note: res.errors[key], cannot: true };
  if (res.ms[key] === undefined) return {};
  return { value: amount(res.batch, res.ms[key]), batch: res.batch };
}

/**
 * Threads of webgrad's cpu backend: what the package reports (a `cpuThreads()` export, or
 * "N threads" in the backend's description), else 1, as plain JavaScript runs on one.
 */
function webgradCpuThreads(): { threads: number; source: string } {
  const reported = (wg as Record<string, unknown>).cpuThreads;
  if (typeof reported === 'function') {
    const n = Number(reported());
    if (Number.isInteger(n) && n >= 1) return { threads: n, source: 'cpuThreads()' };
  }
  const description = wg.getBackend('cpu').description;
  const m = /(\d+) threads?/.exec(description);
  if (m) return { threads: Number(m[1]), source: `"${description}"` };
  return { threads: 1, source: `"${description}" reports no thread count: one JavaScript thread` };
}

/** Why PyTorch's model is not webgrad's (their parameter shapes, as multisets, differ), or null when they match. */
function architectureDifference(make: () => nn.Module, torchShapes: number[][]): string | null {
  const model = make();
  const ours = model.parameters().map((p) => `[${p.shape.join(',')}]`);
  model.dispose();
  const theirs = torchShapes.map((s) => `[${s.join(',')}]`);
  const count = (list: string[]) => list.reduce((m, k) => m.set(k, (m.get(k) ?? 0) + 1), new Map<string, number>());
  const [a, b] = [count(ours), count(theirs)];
  const diff = [...new Set([...a.keys(), ...b.keys()])].filter((k) => a.get(k) !== b.get(k)).map((k) => `${k} webgrad ×${a.get(k) ?? 0}, PyTorch ×${b.get(k) ?? 0}`);
  return diff.length ? `parameter shapes differ: ${diff.slice(0, 3).join('; ')}${diff.length > 3 ? ' ...' : ''}` : null;
}

const trainNames = trainModels.map((m) => m.name);
/** The only lab model built in tfjs here; tfjs cannot differentiate dilated convolutions (see the dilated conv rows). */
const TFJS_TRAIN_MODEL = trainNames.find((n) => n.startsWith('simpleCnn'))!;

export interface PeersOptions {
  targetMs?: number;
  repeats?: number;
  devices?: Device[];
  /** Write the PNG chart of the ratios (default true). */
  chart?: boolean;
}

export async function benchPeers(opts: PeersOptions = {}): Promise<object> {
  const targetMs = opts.targetMs ?? Number(process.env.BENCH_PEERS_TARGET_MS ?? DEFAULT_TARGET_MS);
  const repeats = opts.repeats ?? 3;
  const devices = opts.devices ?? ['cpu', 'webgpu'];
  const prevDevice = wg.getDefaultDevice();
  const notes: string[] = [];

  // WebGPU first: tfjs-backend-webgpu only registers itself if navigator.gpu exists when it loads.
  let webgradGpu: string | null = null; // why webgrad's webgpu side cannot run
  const tfjsWhy: Record<string, string | null> = {}; // per tfjs backend: why it cannot run
  let adapter = '';
  if (devices.includes('webgpu')) {
    const gpu = await benchGpu();
    if (!gpu) webgradGpu = tfjsWhy.webgpu = `no WebGPU device: ${gpuFailure()}`;
    else {
      adapter = gpu.description;
      if (!gpu.backend) webgradGpu = `webgrad webgpu backend not available: ${gpu.backendError ?? 'unknown'}`;
      if (gpu.gpu) installNavigatorGpu(gpu.gpu);
      else tfjsWhy.webgpu = 'the webgrad webgpu backend does not expose its GPU object, so tfjs cannot share its Dawn adapter';
    }
  }
  const tf = await loadTfjs();
  const version = tfjsVersion();
  const startTfjs = async (backend: string, started: () => string) => {
    if (tfjsWhy[backend] !== undefined) return;
    try {
      if (!(await tf.setBackend(backend))) throw new Error(`tf.setBackend("${backend}") returned false`);
      await tf.ready();
      notes.push(started());
      tfjsWhy[backend] = null;
    } catch (err) {
      tfjsWhy[backend] = `tfjs ${backend} backend failed to start: ${(err as Error).message.split('\n')[0]}`;
    }
  };
  if (devices.includes('webgpu')) await startTfjs('webgpu', () => `webgpu: webgrad and tfjs share one Dawn instance and adapter (${adapter})`);

  // The cpu peers: tfjs's wasm backend (its .wasm from node_modules) and PyTorch in a child process.
  let torch: TorchResult | null = null;
  let torchWhy: string | null = null;
  // One small product first: a backend that starts its runtime (and threads) lazily has then started.
  wg.tidy(() => void wg.matmul(wg.ones([2, 2], { device: 'cpu' }), wg.ones([2, 2], { device: 'cpu' })));
  const cpuThreads = webgradCpuThreads();
  if (devices.includes('cpu')) {
    notes.push(`cpu threads: webgrad ${cpuThreads.threads} (${cpuThreads.source})`);
    await startTfjs('wasm', () => `tfjs wasm: XNNPACK, ${tf.wasm.getThreadsCount()} thread(s) (tfjs-backend-wasm runs single-threaded in Node)`);
    const found = findTorchPython();
    if ('unavailable' in found) torchWhy = found.unavailable;
    else {
      console.log(`  peers: PyTorch (${found.python}, ${cpuThreads.threads} thread(s)) on the cpu workloads ...`);
      try {
        torch = await runTorch(found.python, {
          threads: cpuThreads.threads,
          budgetS: (targetMs * repeats) / 1000,
          convs: convs.map((c) => ({ name: c.name, cin: c.cin, cout: c.cout, size: c.size, k: c.k, pad: c.pad, dilation: c.dilation, batch: FULL_BATCH })),
          matmuls: matmulSizes,
          models: trainNames.map((name) => ({ name, batch: FULL_BATCH })),
        });
        notes.push(`cpu threads: PyTorch ${torch.threads} (torch.set_num_threads, ${found.python})`);
        if (torch.blas === 'generic') notes.push(`PyTorch ${torch.torch} here does its matmul on the reference BLAS (BLAS_INFO=generic: Debian's libblas3, no OpenBLAS or MKL), so its matmul rows are far below PyTorch with an optimised BLAS`);
      } catch (err) {
        torchWhy = (err as Error).message.split('\n')[0];
      }
    }
    if (torchWhy) console.log(`  peers: PyTorch skipped: ${torchWhy}`);
  }

  const rows: Row[] = [];
  const f = (c?: Cell) => (c?.value === undefined ? (c?.cannot ? 'cannot' : '-') : c.value.toPrecision(3));
  const log = (r: Row) => {
    const peers = (Object.keys(r.peers) as PeerKey[]).map((k) => `${PEER_LABELS[k]} ${f(r.peers[k])}`).join(', ');
    console.log(`  peers: ${r.workload} on ${r.device}: webgrad ${f(r.webgrad)} ${r.unit}, ${peers}`);
  };
  const finish = (r: Row) => {
    for (const [k, c] of Object.entries(r.peers) as [PeerKey, Cell][]) {
      if (r.webgrad.value !== undefined && c.value !== undefined) r.ratios[k] = r.webgrad.value / c.value;
    }
    rows.push(r);
    log(r);
  };
  /** PyTorch's cell from its run: `pick` finds the entry and turns it into the row's unit. */
  const torchCell = (pick: (t: TorchResult) => Cell | undefined): Cell => (torch ? pick(torch) ?? { note: 'PyTorch did not report this workload' } : { note: torchWhy ?? 'not run' });

  for (const device of devices) {
    const webgradWhy = device === 'webgpu' ? webgradGpu : null;
    const tfjsSides = Object.entries(TFJS_BACKENDS[device]) as [TfjsKey, string][];
    const side = async (who: string, why: string | null | undefined, run: () => Promise<Fitted>): Promise<SideResult> => {
      if (why) return { error: why, tried: false };
      try {
        if (who === 'webgrad') wg.setDefaultDevice(device);
        else await tf.setBackend(who);
        return await run();
      } catch (err) {
        return { error: (err as Error).message.split('\n')[0], tried: true };
      } finally {
        wg.setDefaultDevice(prevDevice);
      }
    };
    /** Runs each tfjs column's backend, except where it cannot start or `skip` gives a reason not to. */
    const tfjsRuns = async (run: (backend: string) => Promise<Fitted>, skip: (backend: string) => string | null = () => null) => {
      const out: Partial<Record<TfjsKey, SideResult>> = {};
      for (const [key, backend] of tfjsSides) out[key] = await side(backend, tfjsWhy[backend] ?? skip(backend), () => run(backend));
      return out;
    };

    // Convolutions: forward and forward+backward.
    for (const c of convs) {
      const o = outSide(c);
      const flopsPerImage = convFlops(1, c.cin, c.cout, [o, o], [c.k, c.k]);
      const fit = { maxBatch: FULL_BATCH, targetMs, repeats, order: ['both', 'forward'] };
      const ours = await side('webgrad', webgradWhy, () => fitAndTime((b) => wgConv(device, c, b), { ...fit, startBatch: FULL_BATCH, fixed: c.dilation === 1 }));
      // tfjs's cpu backward is very slow (about 0.04 GFLOP/s here): start it small.
      const theirs = await tfjsRuns((backend) => fitAndTime((b) => tfConv(tf, c, b), { ...fit, startBatch: backend === 'cpu' ? 2 : FULL_BATCH }));
      for (const [key, label, mult] of [['forward', 'forward', 1], ['both', 'forward+backward', 3]] as const) {
        const rate = (batch: number, ms: number) => gflops(mult * flopsPerImage * batch, ms);
        const r: Row = { workload: `conv ${c.name} ${label}`, device, unit: 'GFLOP/s', webgrad: cellOf(ours, key, rate), peers: {}, ratios: {} };
        for (const [k, res] of Object.entries(theirs) as [TfjsKey, SideResult][]) r.peers[k] = cellOf(res, key, rate);
        if (device === 'cpu') {
          r.peers.pytorch = torchCell((t) => {
            const e = t.conv.find((x) => x.name === c.name);
            return e && { value: rate(e.batch, key === 'forward' ? e.forwardMs : e.bothMs), batch: e.batch };
          });
        }
        finish(r);
      }
    }

    // Matrix products.
    for (const n of matmulSizes) {
      const rate = (_: number, ms: number) => gflops(2 * n ** 3, ms);
      const fit = { startBatch: 1, maxBatch: 1, targetMs, repeats: 5, order: ['forward'] };
      const ours = await side('webgrad', webgradWhy, () => fitAndTime(() => wgMatmul(device, n), fit));
      const theirs = await tfjsRuns(
        () => fitAndTime(() => tfMatmul(tf, n), fit),
        (backend) => (backend === 'cpu' && n > TFJS_CPU_MATMUL_MAX ? `not run on tfjs cpu above ${TFJS_CPU_MATMUL_MAX}³ (about 0.1 GFLOP/s: minutes per size)` : null),
      );
      // A matrix product has no batch: the cells carry none, so no "reduced" mark.
      const unbatched = (res: SideResult): Cell => ({ ...cellOf(res, 'forward', rate), batch: undefined });
      const r: Row = { workload: `matmul ${n}×${n}×${n}`, device, unit: 'GFLOP/s', webgrad: unbatched(ours), peers: {}, ratios: {} };
      for (const [k, res] of Object.entries(theirs) as [TfjsKey, SideResult][]) r.peers[k] = unbatched(res);
      if (device === 'cpu') r.peers.pytorch = torchCell((t) => t.matmul.filter((x) => x.n === n).map((x) => ({ value: rate(1, x.ms) }))[0]);
      finish(r);
    }

    // One training step of the lab's models (Adam, cross-entropy). On webgpu only simpleCnn has a peer.
    for (const m of trainModels) {
      if (device !== 'cpu' && m.name !== TFJS_TRAIN_MODEL) continue;
      const rate = (batch: number, ms: number) => (batch * 1000) / ms;
      // Two warm-up steps on every side, as peers_torch.py's train_ms takes: a jit's first call
      // traces and its second is the first replay, neither of them the step a loop repeats.
      const fit = { maxBatch: FULL_BATCH, targetMs: targetMs * 4, repeats, order: ['step'], warmup: 2 };
      const ours = await side('webgrad', webgradWhy, () => fitAndTime((b) => wgTrain(device, m.make, b), { ...fit, startBatch: device === 'cpu' ? 2 : FULL_BATCH, fixed: device !== 'cpu' }));
      const r: Row = { workload: `${m.name} training step (Adam)`, device, unit: 'images/s', webgrad: cellOf(ours, 'step', rate), peers: {}, ratios: {} };
      if (m.name === TFJS_TRAIN_MODEL) {
        const theirs = await tfjsRuns((backend) => fitAndTime((b) => tfTrain(tf, b), { ...fit, startBatch: backend === 'webgpu' ? 16 : 2 }));
        for (const [k, res] of Object.entries(theirs) as [TfjsKey, SideResult][]) r.peers[k] = cellOf(res, 'step', rate);
      } else {
        const why = `only ${TFJS_TRAIN_MODEL} is built in tfjs here (tfjs cannot differentiate dilatedCnn's dilated convolutions either, see the dilated conv rows)`;
        for (const [k] of tfjsSides) r.peers[k] = { note: why };
      }
      if (device === 'cpu') {
        r.peers.pytorch = torchCell((t) => {
          const e = t.train.find((x) => x.name === m.name);
          if (!e) return undefined;
          if (e.error || e.msPerStep === undefined || e.batch === undefined) return { note: e.error ?? 'no time reported' };
          const differs = architectureDifference(m.make, e.paramShapes ?? []);
          if (differs) return { note: `PyTorch's ${m.name} is not webgrad's: ${differs}` };
          return { value: rate(e.batch, e.msPerStep), batch: e.batch };
        });
      }
      finish(r);
    }
  }

  // Release tfjs's WebGPU device (tfjs's dispose() leaves it alive, which would keep Node running).
  if (tf.findBackend('webgpu')) {
    const device = tf.findBackend('webgpu').device as GPUDevice | undefined;
    tf.removeBackend('webgpu');
    device?.destroy();
  }
  await tf.setBackend('cpu');
  wg.setDefaultDevice(prevDevice);
  await releaseBenchGpu();

  // Long reasons go below the table as numbered notes; the table cites them.
  const footnotes: string[] = [];
  const cite = (text: string) => {
    let i = footnotes.indexOf(text);
    if (i < 0) i = footnotes.push(text) - 1;
    return `[${i + 1}]`;
  };
  const peerKeys = Object.keys(PEER_LABELS) as PeerKey[];
  const shown = (c?: Cell) => (c === undefined ? '' : c.value ?? (c.cannot ? 'cannot' : c.note ? 'n/a' : '-'));
  const table = rows.map((r) => {
    const sides: [string, Cell | undefined][] = [['webgrad', r.webgrad], ...peerKeys.map((k) => [PEER_LABELS[k], r.peers[k]] as [string, Cell | undefined])];
    // Sides with the same note share one citation: "tfjs, tfjs wasm: [2]".
    const byNote = new Map<string, string[]>();
    for (const [name, c] of sides) if (c?.note) byNote.set(c.note, [...(byNote.get(c.note) ?? []), name]);
    const row: Record<string, string | number> = { workload: r.workload, device: r.device, unit: r.unit, webgrad: shown(r.webgrad) };
    for (const k of peerKeys) {
      row[PEER_LABELS[k]] = shown(r.peers[k]);
      row[`webgrad/${PEER_LABELS[k]}`] = r.ratios[k] === undefined ? '' : `${r.ratios[k]!.toPrecision(3)}×`;
    }
    row['reduced batch'] = sides.filter(([, c]) => c?.batch !== undefined && c.batch < FULL_BATCH).map(([name, c]) => `${name} ${c!.batch}`).join(', ');
    row.note = [...byNote].map(([text, names]) => `${names.join(', ')}: ${cite(text)}`).join(' ');
    return row;
  });
  const torchTitle = torch ? `PyTorch ${torch.torch} (cpu, ${torch.threads} thread(s))` : 'no PyTorch';
  printTable(
    `webgrad against TensorFlow.js ${version} (tfjs: its backend for the same device; tfjs wasm: XNNPACK) and ${torchTitle}, same run; GFLOP/s or images/s, higher is better; webgrad/peer > 1 means webgrad is faster; batch ${FULL_BATCH} unless reduced`,
    table,
  );
  footnotes.forEach((text, i) => console.log(`  [${i + 1}] ${text}`));
  if (!torch) {
    notes.push('reference, PyTorch 1.13 cpu on the 2-core reference machine: conv forward+backward 43–212 GFLOP/s, simpleCnn training 1,080 images/s');
  }
  for (const n of notes) console.log(`  note: ${n}`);
  let chart: string | undefined;
  if (opts.chart ?? true) {
    const ratios = rows.flatMap((r) =>
      (Object.entries(r.ratios) as [PeerKey, number][]).map(([k, ratio]) => ({ workload: `${r.workload}${r.device === 'cpu' ? '' : ` (${r.device})`}`, peer: k === 'pytorch' ? PEER_LABELS[k] : `tfjs ${TFJS_BACKENDS[r.device][k]}`, ratio })),
    );
    try {
      const { writePeersChart } = await import('./chart');
      chart = await writePeersChart(ratios, { subtitle: `tfjs ${version}${torch ? `, PyTorch ${torch.torch} (${torch.threads} thread(s))` : ''}, webgrad cpu ${cpuThreads.threads} thread(s); same run` });
      console.log(`  chart: ${chart}`);
    } catch (err) {
      notes.push(`chart not written: ${(err as Error).message.split('\n')[0]}`);
      console.log(`  chart not written: ${(err as Error).message.split('\n')[0]}`);
    }
  }
  return {
    chart,
    targetMs,
    repeats,
    tfjsVersion: version,
    pytorch: torch ? { version: torch.torch, threads: torch.threads, blas: torch.blas } : { skipped: torchWhy },
    webgradCpuThreads: cpuThreads.threads,
    adapter,
    results: rows,
    notes,
    footnotes,
  };
}
