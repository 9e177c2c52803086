/**
 * `npm run bench -- peers`: webgrad against TensorFlow.js 4.22 in the same run, on the same
 * workloads: the lab's 3×3 convolutions (and one dilated one), square matrix products, and
 * one training step of simpleCnn (3 blocks 32/64/128, batch 64, Adam, cross-entropy).
 *
 * Pairs: webgrad cpu against tfjs-backend-cpu (both JavaScript), and webgrad webgpu against
 * tfjs-backend-webgpu on the same Dawn adapter (tfjs gets the shared `GPU` object as
 * `navigator.gpu`, see bench/gpu-device.ts). Each side uses its own layout (NCHW for webgrad,
 * NHWC for tfjs) through its public API, and each timed call waits for the device.
 * webgrad's undilated convolutions and GPU training step run batch 64; the slower sides run on
 * a reduced batch (chosen so one call takes about `targetMs`) and the table says so;
 * throughput is per image, so the ratio stays fair. Where a side cannot do a workload
 * (tfjs has no gradient for dilated convolution), the table says so.
 */
import * as wg from '@webgrad/tensor';
import * as nn from '@webgrad/nn';
import { convFlops, gflops, printTable, time } from './util';
import { benchGpu, gpuFailure, installNavigatorGpu, releaseBenchGpu } from './gpu-device';
import { loadTfjs, tfjsSync, tfjsVersion, type Tfjs } from './tfjs';
import { convCases, randomData } from './loops';
import { trainingStep } from './train';

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

/** The loops group's convolutions, plus the dilated middle layer of the lab's dilatedCnn [1, 2, 5]. */
const convs: PeerConv[] = [
  ...convCases.map((c) => ({ name: c.name, cin: c.cin, cout: c.cout, size: c.h, k: c.k, pad: c.pad, dilation: 1 })),
  { name: '32→64 @30×30 dilation 2', cin: 32, cout: 64, size: 30, k: 3, pad: 0, dilation: 2 },
];
const outSide = (c: PeerConv) => c.size + 2 * c.pad - c.dilation * (c.k - 1);
const matmulSizes = [256, 512, 1024];
/** Matmul sizes skipped on cpu (too slow for the 10-minute budget), said in the table. */
const cpuMatmulMax = 512;

type Fns = Record<string, () => Promise<void>>;
interface Prepared {
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
async function fitAndTime(setup: (batch: number) => Prepared | Promise<Prepared>, opts: { startBatch: number; maxBatch: number; targetMs: number; repeats: number; order: string[]; fixed?: boolean }): Promise<Fitted> {
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
      ms[key] = (await time(prepared.fns[key], { warmup: 1, repeats: opts.repeats, budgetMs: opts.targetMs * opts.repeats })).medianMs;
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

function wgTrain(device: string, batch: number): Prepared {
  const { step, dispose } = trainingStep(() => nn.simpleCnn({ blocks: 3, channels: [32, 64, 128] }), device, batch);
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
function tfTrain(tf: Tfjs, batch: number): Prepared {
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
interface Result {
  workload: string;
  device: 'cpu' | 'webgpu';
  unit: 'GFLOP/s' | 'images/s';
  webgrad?: number;
  tfjs?: number;
  webgradBatch?: number;
  tfjsBatch?: number;
  webgradNote?: string;
  tfjsNote?: string;
}

export interface PeersOptions {
  targetMs?: number;
  repeats?: number;
  devices?: ('cpu' | 'webgpu')[];
}


export async function benchPeers(opts: PeersOptions = {}): Promise<object> {
  const targetMs = opts.targetMs ?? Number(process.env.BENCH_PEERS_TARGET_MS ?? DEFAULT_TARGET_MS);
  const repeats = opts.repeats ?? 3;
  const devices = opts.devices ?? ['cpu', 'webgpu'];
  const prevDevice = wg.getDefaultDevice();
  const notes: string[] = [];

  // WebGPU first: tfjs-backend-webgpu only registers itself if navigator.gpu exists when it loads.
  let webgradGpu: string | null = null; // why webgrad's webgpu side cannot run
  let tfjsGpu: string | null = null; // why tfjs's webgpu side cannot run
  let adapter = '';
  if (devices.includes('webgpu')) {
    const gpu = await benchGpu();
    if (!gpu) webgradGpu = tfjsGpu = `no WebGPU device: ${gpuFailure()}`;
    else {
      adapter = gpu.description;
      if (!gpu.backend) webgradGpu = `webgrad webgpu backend not available: ${gpu.backendError ?? 'unknown'}`;
      if (gpu.gpu) installNavigatorGpu(gpu.gpu);
      else tfjsGpu = 'the webgrad webgpu backend does not expose its GPU object, so tfjs cannot share its Dawn adapter';
    }
  }
  const tf = await loadTfjs();
  const version = tfjsVersion();
  if (devices.includes('webgpu') && !tfjsGpu) {
    try {
      if (!(await tf.setBackend('webgpu'))) throw new Error('tf.setBackend("webgpu") returned false');
      await tf.ready();
      notes.push(`webgpu: webgrad and tfjs share one Dawn instance and adapter (${adapter})`);
    } catch (err) {
      tfjsGpu = `tfjs webgpu backend failed to start: ${(err as Error).message.split('\n')[0]}`;
    }
  }

  const results: Result[] = [];
  const log = (r: Result) => {
    const f = (v?: number) => (v === undefined ? '-' : v.toPrecision(3));
    console.log(`  peers: ${r.workload} on ${r.device}: webgrad ${f(r.webgrad)} ${r.unit}, tfjs ${f(r.tfjs)} ${r.unit}`);
  };

  for (const device of devices) {
    const webgradWhy = device === 'webgpu' ? webgradGpu : null;
    const tfjsWhy = device === 'webgpu' ? tfjsGpu : null;
    const side = async (
      who: 'webgrad' | 'tfjs',
      why: string | null,
      run: () => Promise<Fitted>,
    ): Promise<Fitted | { error: string }> => {
      if (why) return { error: why };
      try {
        if (who === 'tfjs') await tf.setBackend(device);
        else wg.setDefaultDevice(device);
        return await run();
      } catch (err) {
        return { error: (err as Error).message.split('\n')[0] };
      } finally {
        wg.setDefaultDevice(prevDevice);
      }
    };

    // Convolutions: forward and forward+backward.
    for (const c of convs) {
      const o = outSide(c);
      const flopsPerImage = convFlops(1, c.cin, c.cout, [o, o], [c.k, c.k]);
      const fit = { maxBatch: FULL_BATCH, targetMs, repeats, order: ['both', 'forward'] };
      const ours = await side('webgrad', webgradWhy, () => fitAndTime((b) => wgConv(device, c, b), { ...fit, startBatch: FULL_BATCH, fixed: c.dilation === 1 }));
      // tfjs's cpu backward is very slow (about 0.04 GFLOP/s here): start it small.
      const theirs = await side('tfjs', tfjsWhy, () => fitAndTime((b) => tfConv(tf, c, b), { ...fit, startBatch: device === 'cpu' ? 2 : FULL_BATCH }));
      for (const [key, label, mult] of [['forward', 'forward', 1], ['both', 'forward+backward', 3]] as const) {
        const r: Result = { workload: `conv ${c.name} ${label}`, device, unit: 'GFLOP/s' };
        for (const [who, res] of [['webgrad', ours], ['tfjs', theirs]] as const) {
          if ('error' in res) r[`${who}Note`] = res.error;
          else if (res.errors[key]) r[`${who}Note`] = res.errors[key];
          else if (res.ms[key] !== undefined) {
            r[who] = gflops(mult * flopsPerImage * res.batch, res.ms[key]);
            r[`${who}Batch`] = res.batch;
          }
        }
        results.push(r);
        log(r);
      }
    }

    // Matrix products.
    for (const n of matmulSizes) {
      const r: Result = { workload: `matmul ${n}×${n}×${n}`, device, unit: 'GFLOP/s' };
      if (device === 'cpu' && n > cpuMatmulMax) {
        r.webgradNote = r.tfjsNote = `not run on cpu (sizes above ${cpuMatmulMax} keep the run short)`;
      } else {
        const fit = { startBatch: 1, maxBatch: 1, targetMs, repeats: 5, order: ['forward'] };
        const ours = await side('webgrad', webgradWhy, () => fitAndTime(() => wgMatmul(device, n), fit));
        const theirs = await side('tfjs', tfjsWhy, () => fitAndTime(() => tfMatmul(tf, n), fit));
        for (const [who, res] of [['webgrad', ours], ['tfjs', theirs]] as const) {
          if ('error' in res) r[`${who}Note`] = res.error;
          else if (res.errors.forward) r[`${who}Note`] = res.errors.forward;
          else r[who] = gflops(2 * n ** 3, res.ms.forward);
        }
      }
      results.push(r);
      log(r);
    }

    // One training step of simpleCnn.
    {
      const r: Result = { workload: 'simpleCnn training step (Adam)', device, unit: 'images/s' };
      const fit = { maxBatch: FULL_BATCH, targetMs: targetMs * 4, repeats, order: ['step'] };
      const ours = await side('webgrad', webgradWhy, () => fitAndTime((b) => wgTrain(device, b), { ...fit, startBatch: device === 'cpu' ? 32 : FULL_BATCH, fixed: device !== 'cpu' }));
      const theirs = await side('tfjs', tfjsWhy, () => fitAndTime((b) => tfTrain(tf, b), { ...fit, startBatch: device === 'cpu' ? 2 : 16 }));
      for (const [who, res] of [['webgrad', ours], ['tfjs', theirs]] as const) {
        if ('error' in res) r[`${who}Note`] = res.error;
        else if (res.errors.step) r[`${who}Note`] = res.errors.step;
        else {
          r[who] = (res.batch * 1000) / res.ms.step;
          r[`${who}Batch`] = res.batch;
        }
      }
      results.push(r);
      log(r);
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
  const fmtBatch = (b?: number) => (b === undefined ? '' : b < FULL_BATCH ? `${b} (reduced)` : String(b));
  const rows = results.map((r) => {
    const ratio = r.webgrad !== undefined && r.tfjs !== undefined ? r.webgrad / r.tfjs : undefined;
    const note =
      r.webgradNote && r.webgradNote === r.tfjsNote
        ? `both: ${cite(r.webgradNote)}`
        : [r.webgradNote && `webgrad: ${cite(r.webgradNote)}`, r.tfjsNote && `tfjs: ${cite(r.tfjsNote)}`].filter(Boolean).join(' ');
    return {
      workload: r.workload,
      device: r.device,
      unit: r.unit,
      webgrad: r.webgrad ?? (r.webgradNote ? 'n/a' : '-'),
      'webgrad batch': fmtBatch(r.webgradBatch),
      [`tfjs ${version}`]: r.tfjs ?? (r.tfjsNote ? 'n/a' : '-'),
      'tfjs batch': fmtBatch(r.tfjsBatch),
      'webgrad/tfjs': ratio === undefined ? '-' : `${ratio.toPrecision(3)}×`,
      note,
    };
  });
  printTable(`webgrad against TensorFlow.js ${version} (same run; GFLOP/s or images/s, higher is better; webgrad/tfjs > 1 means webgrad is faster; batch 64 unless reduced)`, rows);
  footnotes.forEach((f, i) => console.log(`  [${i + 1}] ${f}`));
  notes.push(
    'reference, PyTorch 1.13 cpu on the 2-core reference machine: conv forward+backward 43–212 GFLOP/s, simpleCnn training 1,080 images/s',
  );
  for (const n of notes) console.log(`  note: ${n}`);
  return { targetMs, repeats, tfjsVersion: version, adapter, results, notes, footnotes };
}
