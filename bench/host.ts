/**
 * `npm run bench -- host`: the host's cost of one WebGPU training step, on Dawn's null backend
 * (`create(['backend=null'])` of the `webgpu` package), an adapter that validates and records
 * every command and executes none. The time per step is then what JavaScript, N-API and
 * Dawn's validation cost: the highest step rate any GPU could give (values are meaningless).
 *
 * Per model: host ms per step, median (min) of up to 100 steps after a warm-up until the step
 * time settles (2 to 15 s); the CPU ms per step of the main thread and of V8's background
 * threads (JIT compiler, GC helpers); its steps/s and img/s ceiling; dispatches, bind groups,
 * buffer writes and submits per step as the webgpu backend counts them; host µs per dispatch.
 * Then TF.js's webgpu backend on the same null adapter for the 3-block CNN (its commands
 * counted by wrapping Dawn's prototypes while it runs), and the ratio.
 *
 * The warm-up is long because a step calls most of webgpu's op code once or a few times, so
 * V8 takes hundreds of steps to optimize it all. After 20 steps simpleCnn still spent about
 * 2 ms per step compiling on background threads (process CPU twice the wall time, medians
 * 1.5x apart between runs); it settles after about 1,000 steps (2-4 s here), resnet18 after
 * about 250. A training loop runs thousands of steps, so the settled figure is its cost.
 *
 * dawn.node frees its instance when the object returned by `create()` is collected while
 * devices still poll it (shared/notes/webgpu-on-lavapipe.md): `nullGpu` is module-level.
 */
import { readFileSync } from 'node:fs';
import * as wg from '@webgrad/tensor';
import { models, trainingStep } from './train';
import { printTable } from './util';

/** Timed steps, or fewer where they take more than TIMED_MS (at least MIN_STEPS). */
const STEPS = 100;
const TIMED_MS = 3_000;
const MIN_STEPS = 15;
/**
 * Warm-up, see the header for why: at least WARMUP_MS, then windows of WINDOW_MS until
 * STILL_WINDOWS windows in a row have a median step no longer SETTLED below the best before
 * them, at most MAX_WARMUP_MS. One such window was not enough on a shared machine: a window
 * slowed by another process ended the warm-up early (simpleCnn after 3 s, 1,600 steps).
 */
const WARMUP_MS = 2_000;
const WINDOW_MS = 1_000;
const SETTLED = 0.97;
const STILL_WINDOWS = 2;
const MAX_WARMUP_MS = 15_000;
/** Batch per model: the null device caps its memory near 1 GiB, which ResNet-18 at 64 exceeds. */
const BATCHES: Record<string, number> = { simpleCnn: 64, dilatedCnn: 64, resnet18: 16 };

type DawnModule = { create(flags: string[]): GPU; globals: Record<string, { prototype: Record<string, unknown> }> };
let dawn: DawnModule | null = null;
let nullGpu: GPU | null = null;

async function openNullGpu(): Promise<GPU> {
  dawn ??= (await import('webgpu')) as unknown as DawnModule;
  Object.assign(globalThis, dawn.globals);
  nullGpu ??= dawn.create(['backend=null']);
  return nullGpu;
}

export interface HostTiming {
  medianMs: number;
  minMs: number;
  /** CPU time of the main thread per step, mean (Linux; null elsewhere): unlike wall time, other processes on a busy machine do not inflate it. */
  mainCpuMs: number | null;
  /** CPU time of the process's other threads per step, mean: V8's JIT compiler and GC helpers (Dawn's null backend runs none). */
  backgroundCpuMs: number;
  /** Steps run, warm-up included (the command counts are divided by it). */
  stepsRun: number;
  stepsTimed: number;
  warmupSteps: number;
  warmupMs: number;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** CPU ms of the calling thread, from /proc (Linux); null where there is none. */
function threadCpuMs(): number | null {
  try {
    const stat = readFileSync('/proc/thread-self/stat', 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
  } catch {
    return null;
  }
}
/** USER_HZ, 100 on every Linux Node runs on. */
const CLOCK_TICKS = 100;

async function timeSteps(step: () => Promise<void>): Promise<HostTiming> {
  let stepsRun = 0;
  const warmStart = performance.now();
  const window = async (ms: number): Promise<number> => {
    const times: number[] = [];
    const start = performance.now();
    while (times.length < MIN_STEPS || performance.now() - start < ms) {
      const t0 = performance.now();
      await step();
      times.push(performance.now() - t0);
    }
    stepsRun += times.length;
    return median(times);
  };
  let best = await window(WARMUP_MS);
  let still = 0;
  while (still < STILL_WINDOWS && performance.now() - warmStart < MAX_WARMUP_MS) {
    const m = await window(WINDOW_MS);
    still = m > best * SETTLED ? still + 1 : 0;
    best = Math.min(best, m);
  }
  const warmupMs = performance.now() - warmStart;
  const times: number[] = [];
  const main0 = threadCpuMs();
  const cpu0 = process.cpuUsage();
  const start = performance.now();
  while (times.length < STEPS && (times.length < MIN_STEPS || performance.now() - start < TIMED_MS)) {
    const t0 = performance.now();
    await step();
    times.push(performance.now() - t0);
  }
  const cpu = process.cpuUsage(cpu0);
  const main1 = threadCpuMs();
  const n = times.length;
  const processMs = (cpu.user + cpu.system) / 1000;
  // /proc counts in 10 ms ticks: the means over the timed steps are what it resolves.
  const mainCpuMs = main0 === null || main1 === null ? null : (main1 - main0) / n;
  return {
    medianMs: median(times),
    minMs: Math.min(...times),
    mainCpuMs,
    backgroundCpuMs: mainCpuMs === null ? processMs / n : Math.max(0, processMs / n - mainCpuMs),
    stepsRun: stepsRun + n,
    stepsTimed: n,
    warmupSteps: stepsRun - n,
    warmupMs,
  };
}

const processCpuMs = (t: HostTiming) => (t.mainCpuMs ?? 0) + t.backgroundCpuMs;
const cpuColumns = (t: HostTiming) => ({ 'main CPU ms/step': t.mainCpuMs ?? '–', 'background CPU ms/step': t.backgroundCpuMs, 'steps timed': t.stepsTimed, 'warm-up s (steps)': `${(t.warmupMs / 1000).toFixed(1)} (${t.warmupSteps})` });

type Counts = { dispatches: number; bindGroups: number; bufferWrites: number; submits: number };
const perStep = (a: Counts, b: Counts, steps: number): Counts => ({
  dispatches: (b.dispatches - a.dispatches) / steps,
  bindGroups: (b.bindGroups - a.bindGroups) / steps,
  bufferWrites: (b.bufferWrites - a.bufferWrites) / steps,
  submits: (b.submits - a.submits) / steps,
});

/** Counts Dawn calls by wrapping the prototypes (for TF.js, which keeps no counts); unwrap() restores them. */
function countDawnCalls(d: DawnModule): { counts: Counts; unwrap: () => void } {
  const counts: Counts = { dispatches: 0, bindGroups: 0, bufferWrites: 0, submits: 0 };
  const wraps: [string, string, keyof Counts][] = [
    ['GPUComputePassEncoder', 'dispatchWorkgroups', 'dispatches'],
    ['GPUDevice', 'createBindGroup', 'bindGroups'],
    ['GPUQueue', 'writeBuffer', 'bufferWrites'],
    ['GPUQueue', 'submit', 'submits'],
  ];
  const originals = wraps.map(([cls, method, key]) => {
    const proto = d.globals[cls].prototype;
    const original = proto[method] as (...args: unknown[]) => unknown;
    proto[method] = function (this: unknown, ...args: unknown[]) {
      counts[key]++;
      return original.apply(this, args);
    };
    return () => (proto[method] = original);
  });
  return { counts, unwrap: () => originals.forEach((restore) => restore()) };
}

/** A model's short name (simpleCnn, dilatedCnn, resnet18) from the train group's label. */
const shortName = (label: string) => label.split(' ')[0];

export async function benchHost(opts: { tfjs?: boolean } = {}): Promise<object> {
  const prevDevice = wg.getDefaultDevice();
  const gpu = await openNullGpu();
  // The host group needs its own device: whatever webgpu device is open goes first.
  await wg.releaseWebGPU();
  const rows: Record<string, string | number>[] = [];
  const results: Record<string, unknown>[] = [];
  let description = '';
  for (const m of models) for (const jit of [false, true]) {
    const name = shortName(m.name);
    const mode = jit ? 'jit' : 'eager';
    const batch = BATCHES[name];
    // A fresh device per model: the buffers pooled by the one before would count against the null device's 1 GiB.
    description = (await wg.useDevice('webgpu', { adapter: gpu })).description;
    wg.setDefaultDevice(prevDevice);
    const backend = wg.getBackend('webgpu') as wg.Backend & { commandCounts(): Counts; nullAdapter: boolean };
    if (!backend.nullAdapter) throw new Error(`bench host: the adapter is not Dawn's null backend (${description})`);
    const { step, dispose } = trainingStep(m.make, 'webgpu', batch, { jit });
    try {
      await step();
      const before = backend.commandCounts();
      const t = await timeSteps(step);
      const c = perStep(before, backend.commandCounts(), t.stepsRun);
      const r = {
        model: name, mode, batch, medianMs: t.medianMs, minMs: t.minMs, mainCpuMs: t.mainCpuMs, backgroundCpuMs: t.backgroundCpuMs, stepsTimed: t.stepsTimed, stepsPerS: 1000 / t.medianMs, imgPerS: (batch * 1000) / t.medianMs, ...c,
        usPerDispatch: (t.medianMs * 1000) / c.dispatches,
      };
      results.push(r);
      rows.push({
        model: `${name} b${batch} ${mode}`, 'host ms/step (min)': `${t.medianMs.toFixed(2)} (${t.minMs.toFixed(2)})`, ...cpuColumns(t), 'steps/s': r.stepsPerS, 'img/s ceiling': r.imgPerS,
        dispatches: c.dispatches, 'bind groups': c.bindGroups, 'buffer writes': c.bufferWrites, submits: c.submits, 'µs/dispatch': r.usPerDispatch,
      });
    } finally {
      dispose();
      await wg.releaseWebGPU();
    }
  }

  let tfjs: Record<string, unknown> | { error: string } | null = null;
  if (opts.tfjs !== false) tfjs = await tfjsRow(gpu);
  if (tfjs && !('error' in tfjs)) {
    const ours = results.find((r) => r.model === 'simpleCnn' && r.mode === 'jit') as HostTiming | undefined;
    const t = tfjs as unknown as HostTiming & Counts;
    tfjs.ratio = ours ? t.medianMs / ours.medianMs : null;
    tfjs.cpuRatio = ours ? processCpuMs(t) / processCpuMs(ours) : null;
    rows.push({
      model: 'TF.js simpleCnn b64', 'host ms/step (min)': `${t.medianMs.toFixed(2)} (${t.minMs.toFixed(2)})`, ...cpuColumns(t), 'steps/s': 1000 / t.medianMs, 'img/s ceiling': 64_000 / t.medianMs,
      dispatches: t.dispatches, 'bind groups': t.bindGroups, 'buffer writes': t.bufferWrites, submits: t.submits, 'µs/dispatch': (t.medianMs * 1000) / t.dispatches,
    });
  }
  printTable(`host cost per training step on Dawn's null backend (${description}); zeroGrad, forward, cross-entropy, backward, Adam, loss read back; median (min) of up to ${STEPS} steps after a warm-up until the step time settles; CPU: main thread, V8's background threads (JIT, GC)`, rows);
  if (tfjs && 'ratio' in tfjs && tfjs.ratio) {
    console.log(`webgrad's host throughput on simpleCnn b64: ${(tfjs.ratio as number).toFixed(1)}× TF.js webgpu's (by CPU time: ${(tfjs.cpuRatio as number).toFixed(1)}×)`);
  }
  if (tfjs && 'error' in tfjs) console.log(`TF.js webgpu: ${tfjs.error}`);
  return { adapter: description, steps: STEPS, models: results, tfjs };
}

/** TF.js webgpu's 3-block CNN step (bench/peers.ts) on the null adapter. */
async function tfjsRow(gpu: GPU): Promise<Record<string, unknown> | { error: string }> {
  try {
    const nav = (globalThis as { navigator?: { gpu?: GPU } }).navigator;
    if (nav?.gpu && nav.gpu !== gpu) return { error: 'navigator.gpu is another GPU object (run the host group alone)' };
    const { installNavigatorGpu } = await import('./gpu-device');
    installNavigatorGpu(gpu);
    const { loadTfjs } = await import('./tfjs');
    const { tfTrain } = await import('./peers');
    const tf = await loadTfjs();
    await tf.setBackend('webgpu');
    await tf.ready();
    const prepared = tfTrain(tf, 64);
    try {
      await prepared.fns.step();
      const counting = countDawnCalls(dawn!);
      try {
        const t = await timeSteps(prepared.fns.step);
        return { ...t, ...perStep({ dispatches: 0, bindGroups: 0, bufferWrites: 0, submits: 0 }, counting.counts, t.stepsRun) };
      } finally {
        counting.unwrap();
      }
    } finally {
      prepared.dispose();
    }
  } catch (err) {
    return { error: `did not run: ${(err as Error).message.split('\n')[0]}` };
  }
}
