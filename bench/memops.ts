/**
 * `npm run bench -- memops`: the cpu backend's memory-bound kernels (and softmax) at the sizes one
 * training step (batch 64) hits: the JS reference against the WASM kernels on one thread
 * and on every thread, in ms per call (median).
 */
import * as wg from '@webgrad/tensor';
import type { Backend, PoolParams, Storage } from '@webgrad/tensor';
import { printTable, time } from './util';

function pool(planes: number, side: number, k: number): PoolParams {
  const out = Math.floor(side / k);
  return { planes, inSize: [side, side], kernel: [k, k], outSize: [out, out], stride: [k, k], padding: [0, 0], dilation: [1, 1], countIncludePad: false };
}

/** Each workload: a name and, given a backend, a call that does the op once (its results disposed). */
function workloads(b: Backend): { name: string; run: () => void; done: () => void }[] {
  const made: Storage[] = [];
  const rand = (n: number) => {
    const a = new Float32Array(n);
    for (let i = 0; i < n; i++) a[i] = Math.random() * 2 - 1;
    const s = b.upload(a, 'float32');
    made.push(s);
    return s;
  };
  const once = (s: Storage) => b.dispose(s);
  const done = () => made.splice(0).forEach((s) => b.dispose(s));
  const list: { name: string; run: () => void }[] = [];
  for (const [planes, side] of [[64 * 32, 32], [64 * 64, 16]]) {
    const p = pool(planes, side, 2);
    const x = rand(planes * side * side), gy = rand(planes * wg.sizeOf(p.outSize));
    const { out, argmax } = b.maxPool(x, p, 'float32');
    made.push(out, argmax);
    list.push({ name: `maxPoolBackward [64,${planes / 64},${side},${side}] k2`, run: () => once(b.maxPoolBackward(gy, argmax, p, 'float32')) });
    list.push({ name: `avgPool [64,${planes / 64},${side},${side}] k2`, run: () => once(b.avgPool(x, p, 'float32')) });
    list.push({ name: `avgPoolBackward [64,${planes / 64},${side},${side}] k2`, run: () => once(b.avgPoolBackward(gy, p, 'float32')) });
  }
  {
    const p = pool(64 * 512, 4, 4), x = rand(64 * 512 * 16), gy = rand(64 * 512);
    list.push({ name: 'avgPool [64,512,4,4] global (resnet18 head)', run: () => once(b.avgPool(x, p, 'float32')) });
    list.push({ name: 'avgPoolBackward [64,512,4,4] global', run: () => once(b.avgPoolBackward(gy, p, 'float32')) });
  }
  for (const [shape, axes, what] of [
    [[64, 32, 32, 32], [0, 2, 3], 'conv bias grad'],
    [[64, 128, 8, 8], [0, 2, 3], 'conv bias grad'],
    [[64, 512], [0], 'linear bias grad'],
    [[64, 10], [1], 'loss rows'],
    [[64, 32, 32, 32], [0, 1, 2, 3], 'whole tensor'],
  ] as [number[], number[], string][]) {
    const x = rand(wg.sizeOf(shape));
    list.push({ name: `sum [${shape}] over [${axes}] (${what})`, run: () => once(b.reduce('sum', x, shape, axes, 'float32')) });
  }
  {
    const x = rand(64 * 1000);
    list.push({ name: 'max [64,1000] over [1]', run: () => once(b.reduce('max', x, [64, 1000], [1], 'float32')) });
  }
  for (const [rows, cols] of [[64, 10], [64, 1000]]) {
    const x = rand(rows * cols);
    list.push({ name: `logSoftmax [${rows},${cols}] (cross-entropy)`, run: () => once(b.softmax(x, rows, cols, true, 'float32')) });
    list.push({ name: `softmax [${rows},${cols}]`, run: () => once(b.softmax(x, rows, cols, false, 'float32')) });
  }
  const adam = { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, decoupled: false, step: 3 };
  const sgd = { lr: 1e-3, momentum: 0.9, dampening: 0, weightDecay: 1e-4, nesterov: false, firstStep: false };
  for (const n of [1e6, 11e6]) {
    const w = rand(n), g = rand(n), m = rand(n), v = b.fill(n, 0.01, 'float32');
    made.push(v);
    list.push({ name: `Adam step, ${n / 1e6}M parameters`, run: () => b.update(wg.adamOp(adam), [{ arrays: [w, g, m, v], size: n }], wg.adamScalars(adam), 'float32') });
    list.push({ name: `SGD momentum step, ${n / 1e6}M parameters`, run: () => b.update(wg.sgdOp(sgd, true), [{ arrays: [w, g, m], size: n }], wg.sgdScalars(sgd), 'float32') });
  }
  return list.map((l) => ({ ...l, done }));
}

export async function benchMemops(): Promise<object> {
  const threads = wg.cpuThreads();
  const cpu = wg.getBackend('cpu');
  const ref = workloads(wg.cpuReferenceBackend), fast = workloads(cpu);
  const rows: Record<string, string | number>[] = [];
  for (let i = 0; i < ref.length; i++) {
    const js = await time(ref[i].run);
    await wg.useDevice('cpu', { threads: 1 });
    const one = await time(fast[i].run);
    await wg.useDevice('cpu', { threads });
    const all = await time(fast[i].run);
    rows.push({
      workload: ref[i].name, 'JS ms': +js.medianMs.toFixed(3), 'WASM 1 thread ms': +one.medianMs.toFixed(3),
      [`WASM ${threads} threads ms`]: +all.medianMs.toFixed(3), speedup: +(js.medianMs / all.medianMs).toFixed(1),
    });
  }
  ref[0].done();
  fast[0].done();
  printTable(`memory-bound cpu kernels (batch 64 training sizes), ${threads} threads`, rows);
  return { threads, rows };
}
