/**
 * `npm run bench -- host`: the host's cost of one WebGPU training step, on Dawn's null backend
 * (`create(['backend=null'])` of the `webgpu` package), an adapter that validates and records
 * every command and executes none. The time per step is then what JavaScript, N-API and
 * Dawn's validation cost: the highest step rate any GPU could give (values are meaningless).
 *
 * Per model: host ms per step, median (min) of 15 steps after warm-up, and the process's CPU
 * ms per step (robust to other processes on a busy machine), its steps/s and img/s ceiling; dispatches, bind groups, buffer writes and submits per step as the webgpu backend
 * counts them; host µs per dispatch. Then TF.js's webgpu backend on the same null adapter for
 * the 3-block CNN (its commands counted by wrapping Dawn's prototypes while it runs), and the
 * ratio.
 *
 * dawn.node frees its instance when the object returned by `create()` is collected while
 * devices still poll it (shared/notes/webgpu-on-lavapipe.md): `nullGpu` is module-level.
 */
import * as wg from '@webgrad/tensor';
import { models, trainingStep } from './train';
import { printTable } from './util';

const STEPS = 15;
/** Steps before timing: with 3, simpleCnn's median still held V8's tier-up (6.3 ms against 2.0 ms in steady state); a training loop runs thousands. */
const WARMUP = 20;
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
  /** CPU time of this process per step (all its threads), median: unlike wall time, other processes on a busy machine do not inflate it. */
  cpuMs: number;
}

async function timeSteps(step: () => Promise<void>, steps = STEPS): Promise<HostTiming> {
  for (let i = 0; i < WARMUP; i++) await step();
  const times: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < steps; i++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    await step();
    times.push(performance.now() - t0);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1000);
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  return { medianMs: median(times), minMs: Math.min(...times), cpuMs: median(cpu) };
}

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
  for (const m of models) {
    const name = shortName(m.name);
    const batch = BATCHES[name];
    // A fresh device per model: the buffers pooled by the one before would count against the null device's 1 GiB.
    description = (await wg.useDevice('webgpu', { adapter: gpu })).description;
    wg.setDefaultDevice(prevDevice);
    const backend = wg.getBackend('webgpu') as wg.Backend & { commandCounts(): Counts; nullAdapter: boolean };
    if (!backend.nullAdapter) throw new Error(`bench host: the adapter is not Dawn's null backend (${description})`);
    const { step, dispose } = trainingStep(m.make, 'webgpu', batch);
    try {
      await step();
      const before = backend.commandCounts();
      const t = await timeSteps(step);
      const c = perStep(before, backend.commandCounts(), WARMUP + STEPS);
      const r = {
        model: name, batch, medianMs: t.medianMs, minMs: t.minMs, cpuMs: t.cpuMs, stepsPerS: 1000 / t.medianMs, imgPerS: (batch * 1000) / t.medianMs, ...c,
        usPerDispatch: (t.medianMs * 1000) / c.dispatches,
      };
      results.push(r);
      rows.push({
        model: `${name} b${batch}`, 'host ms/step (min)': `${t.medianMs.toFixed(2)} (${t.minMs.toFixed(2)})`, 'CPU ms/step': t.cpuMs, 'steps/s': r.stepsPerS, 'img/s ceiling': r.imgPerS,
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
    const ours = results.find((r) => r.model === 'simpleCnn') as { medianMs: number; cpuMs: number } | undefined;
    const t = tfjs as { medianMs: number; minMs: number; cpuMs: number; dispatches: number; bindGroups: number; bufferWrites: number; submits: number };
    tfjs.ratio = ours ? t.medianMs / ours.medianMs : null;
    tfjs.cpuRatio = ours ? t.cpuMs / ours.cpuMs : null;
    rows.push({
      model: 'TF.js simpleCnn b64', 'host ms/step (min)': `${t.medianMs.toFixed(2)} (${t.minMs.toFixed(2)})`, 'CPU ms/step': t.cpuMs, 'steps/s': 1000 / t.medianMs, 'img/s ceiling': 64_000 / t.medianMs,
      dispatches: t.dispatches, 'bind groups': t.bindGroups, 'buffer writes': t.bufferWrites, submits: t.submits, 'µs/dispatch': (t.medianMs * 1000) / t.dispatches,
    });
  }
  printTable(`host cost per training step on Dawn's null backend (${description}); zeroGrad, forward, cross-entropy, backward, Adam, loss read back; median (min) of ${STEPS} steps`, rows);
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
        return { ...t, ...perStep({ dispatches: 0, bindGroups: 0, bufferWrites: 0, submits: 0 }, counting.counts, WARMUP + STEPS) };
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
