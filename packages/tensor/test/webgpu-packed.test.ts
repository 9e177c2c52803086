/**
 * Storages packed into arenas by the multi-tensor optimizer steps (backends/webgpu/pack.ts):
 * a group's update is one dispatch, bitwise equal to the per-parameter kernels, and every op
 * that takes a packed storage (a slice of an arena, usually at a non-zero offset) gives what
 * it gives on an ordinary one. On the adapter's own limits, and on a tiny binding limit where
 * groups span several arenas and ops split their work around packed operands. Without an
 * adapter the suite is skipped, except under CI=true, where that is a failure.
 */
import { adamSteps, sgdSteps } from './helpers/optim-steps';
import { afterAll, describe, expect, it } from 'vitest';
import type { AdamParams, Backend, SgdParams, Storage } from '../src/backend';
import { elementwiseOps } from '../src/ops/elementwise';
import type { WebGPUBackend } from '../src/backends/webgpu/index';
import { openBackend } from './helpers/webgpu-backend';
import type { GpuStorage } from '../src/backends/webgpu/buffers';
import { randoms } from './helpers/backend-pair';

/** Bytes a binding may cover on the small device: 1024 values. */
const SMALL_BINDING = 4096;

const open = (limits?: { maxStorageBufferBindingSize: number }) => openBackend({ limits });

const main = await open();
const small = main.gpu ? await open({ maxStorageBufferBindingSize: SMALL_BINDING }) : { gpu: null, reason: '' };

afterAll(async () => {
  await main.gpu?.destroy();
  await small.gpu?.destroy();
});

const { randF } = randoms(4321);
const op = (name: string) => elementwiseOps.get(name)!.op;
const read = async (be: Backend, s: Storage, n: number) => Array.from(await be.read(s, n, 'float32'));
const dispatches = (be: WebGPUBackend) => be.commandCounts().dispatches;

/** Packs `storages` (as parameters) without changing them: an SGD step with learning rate 0 and zero gradients. */
function pack(be: Backend, storages: Storage[], sizes: number[]): void {
  const zero = be.fill(Math.max(...sizes), 0, 'float32');
  sgdSteps(be, storages.map((param, i) => ({ param, grad: zero, momentumBuf: null, size: sizes[i] })), { lr: 0, momentum: 0, dampening: 0, weightDecay: 0, nesterov: false, firstStep: false });
  be.dispose(zero);
}

const SGD_CASES: SgdParams[] = [
  { lr: 0.1, momentum: 0, dampening: 0, weightDecay: 0, nesterov: false, firstStep: false },
  { lr: 0.05, momentum: 0.9, dampening: 0.1, weightDecay: 1e-2, nesterov: false, firstStep: false },
  { lr: 0.05, momentum: 0.9, dampening: 0, weightDecay: 1e-2, nesterov: true, firstStep: false },
];
const ADAM_CASES: Omit<AdamParams, 'step'>[] = [
  { lr: 1e-2, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, decoupled: false },
  { lr: 1e-2, beta1: 0.8, beta2: 0.99, eps: 1e-6, weightDecay: 0.05, decoupled: false },
  { lr: 1e-2, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.05, decoupled: true },
];

/**
 * Several steps of one optimizer over a group (packed) and over copies of it (per-parameter
 * kernels), with parameter `swapAt` replaced by a new storage (set_) before step 3, and
 * parameter `dropAt` disposed and left out from step 4. Returns the dispatches of each group step.
 */
async function compareSteps(be: WebGPUBackend, sizes: number[], stateCount: number,
  group: (items: { param: Storage; grad: Storage; state: Storage[]; size: number }[], step: number) => void,
  single: (param: Storage, grad: Storage, state: Storage[], size: number, step: number) => void): Promise<number[]> {
  const upload = (n: number, lo = -1, hi = 1) => {
    const data = randF(n, lo, hi);
    return [be.upload(data, 'float32'), be.upload(data, 'float32')];
  };
  type Param = { size: number; w: Storage[]; state: Storage[][] };
  let params: Param[] = sizes.map((size) => ({ size, w: upload(size), state: Array.from({ length: stateCount }, (_, k) => upload(size, k === 1 ? 0 : -1, 1)) }));
  const swapAt = 1, dropAt = 3;
  let replaced: { old: Storage; values: number[]; size: number } | null = null;
  const counts: number[] = [];
  for (let step = 1; step <= 5; step++) {
    if (step === 3) {
      // set_: the parameter now names a new storage; the old one stays alive (a view may hold it) and keeps its values.
      const p = params[swapAt];
      replaced = { old: p.w[0], values: await read(be, p.w[0], p.size), size: p.size };
      be.dispose(p.w[1]);
      p.w = upload(p.size);
    }
    if (step === 4) {
      const p = params[dropAt];
      for (const s of [...p.w, ...p.state.flat()]) be.dispose(s);
      params = params.filter((_, i) => i !== dropAt);
    }
    const grads = params.map((p) => upload(p.size));
    const before = dispatches(be);
    group(params.map((p, i) => ({ param: p.w[0], grad: grads[i][0], state: p.state.map((s) => s[0]), size: p.size })), step);
    counts.push(dispatches(be) - before);
    params.forEach((p, i) => single(p.w[1], grads[i][1], p.state.map((s) => s[1]), p.size, step));
    for (const g of grads.flat()) be.dispose(g);
    for (const [i, p] of params.entries()) {
      expect(await read(be, p.w[0], p.size), `step ${step} param ${i}`).toEqual(await read(be, p.w[1], p.size));
      for (const [k, s] of p.state.entries()) expect(await read(be, s[0], p.size), `step ${step} param ${i} state ${k}`).toEqual(await read(be, s[1], p.size));
    }
    if (replaced) expect(await read(be, replaced.old, replaced.size), `step ${step}: the storage replaced by set_`).toEqual(replaced.values);
  }
  for (const s of [...params.flatMap((p) => [...p.w, ...p.state.flat()]), ...(replaced ? [replaced.old] : [])]) be.dispose(s);
  return counts;
}

async function optimizerSuite(be: WebGPUBackend, sizes: number[], expectDispatches: (counts: number[]) => void): Promise<void> {
  const live = be.stats();
  for (const h of SGD_CASES) {
    const momentum = h.momentum > 0;
    const counts = await compareSteps(be, sizes, momentum ? 1 : 0,
      (items, step) => sgdSteps(be, items.map((it) => ({ param: it.param, grad: it.grad, momentumBuf: momentum ? it.state[0] : null, size: it.size })), { ...h, firstStep: step === 1 }),
      (w, g, state, size, step) => sgdSteps(be, [{ param: w, grad: g, momentumBuf: momentum ? state[0] : null, size }], { ...h, firstStep: step === 1 }));
    expectDispatches(counts);
  }
  for (const h of ADAM_CASES) {
    const counts = await compareSteps(be, sizes, 2,
      (items, step) => adamSteps(be, items.map((it) => ({ param: it.param, grad: it.grad, m: it.state[0], v: it.state[1], size: it.size })), { ...h, step }),
      (w, g, [m, v], size, step) => adamSteps(be, [{ param: w, grad: g, m, v, size }], { ...h, step }));
    expectDispatches(counts);
  }
  // Every storage, packed or not, was disposed: nothing is counted live.
  expect(be.stats()).toEqual(live);
}

/** The same op on packed and on ordinary copies of the inputs gives the same values. */
async function samePacked(be: Backend, inputs: { data: Float32Array }[], f: (s: Storage[]) => Storage, outSize: number, what: string): Promise<void> {
  const plain = inputs.map((x) => be.upload(x.data, 'float32'));
  const packed = inputs.map((x) => be.upload(x.data, 'float32'));
  pack(be, packed, inputs.map((x) => x.data.length));
  const a = f(packed), b = f(plain);
  expect(await read(be, a, outSize), what).toEqual(await read(be, b, outSize));
  for (const s of [a, b, ...plain, ...packed]) be.dispose(s);
}

async function opsSuite(be: Backend): Promise<void> {
  const x = { data: randF(6 * 40) }, y = { data: randF(6 * 40) }, bias = { data: randF(40) };
  // Three packed storages: all but the first at a non-zero offset in the arena.
  const probe = [x, y, bias].map((t) => be.upload(t.data, 'float32'));
  pack(be, probe, [x.data.length, y.data.length, bias.data.length]);
  const offsets = probe.map((s) => (s as GpuStorage).offset);
  expect(offsets[0]).toBe(0);
  expect(offsets[1]).toBeGreaterThan(0);
  expect(offsets[2]).toBeGreaterThan(offsets[1]);
  for (const [i, t] of [x, y, bias].entries()) expect(await read(be, probe[i], t.data.length), `read of packed storage ${i}`).toEqual(Array.from(t.data));
  for (const s of probe) be.dispose(s);

  // Inputs second and third in their arena: a non-zero offset.
  const late = (xs: { data: Float32Array }[]) => [{ data: randF(8) }, ...xs];
  await samePacked(be, late([x]), ([, a]) => be.unary(op('exp'), a, 240, 'float32', 'float32'), 240, 'unary');
  await samePacked(be, late([x, bias]), ([, a, b]) => be.binary(op('add'), a, [6, 40], b, [1, 40], [6, 40], 'float32', 'float32'), 240, 'binary, broadcast bias');
  // A broadcast too large to bind whole on the small device: parts bind windows of the packed storage.
  await samePacked(be, late([bias]), ([, a]) => be.strided(a, [64, 40], [0, 1], 0, 'float32'), 64 * 40, 'strided broadcast');
  await samePacked(be, late([x]), ([, a]) => be.strided(a, [40, 6], [1, 40], 0, 'float32'), 240, 'strided transpose');
  await samePacked(be, late([x]), ([, a]) => be.strided(a, [3, 10], [40, 2], 5, 'float32'), 30, 'strided slice');
  await samePacked(be, late([x]), ([, a]) => be.reduce('sum', a, [6, 40], [1], 'float32'), 6, 'reduce sum');
  await samePacked(be, late([x]), ([, a]) => be.reduce('max', a, [6, 40], [0], 'float32'), 40, 'reduce max');
  await samePacked(be, late([x]), ([, a]) => be.softmax(a, 6, 40, true, 'float32'), 240, 'logSoftmax');
  await samePacked(be, late([x, y]), ([, a, b]) => be.matmul(a, b, { batch: 1, m: 6, n: 6, k: 40, transA: false, transB: true, aBatchStride: 0, bBatchStride: 0 }, 'float32'), 36, 'matmul');
  const big = { data: randF(64 * 40) };
  await samePacked(be, late([big, x]), ([, a, b]) => be.matmul(a, b, { batch: 1, m: 64, n: 6, k: 40, transA: false, transB: true, aBatchStride: 0, bBatchStride: 0 }, 'float32'), 64 * 6, 'matmul, a larger operand');
  const conv = { batch: 2, inChannels: 3, outChannels: 4, groups: 1, inSize: [6, 5], kernel: [3, 3], outSize: [6, 5], stride: [1, 1], padding: [1, 1], dilation: [1, 1] };
  const img = { data: randF(2 * 3 * 30) }, w = { data: randF(4 * 3 * 9) }, cb = { data: randF(4) };
  await samePacked(be, late([img, w, cb]), ([, a, b, c]) => be.conv(a, b, c, conv, 'float32'), 2 * 4 * 30, 'conv');
  await samePacked(be, late([w, img]), ([, wt, a]) => be.convBackwardWeight(a, be.conv(a, wt, null, conv, 'float32'), conv, 'float32').weight, 4 * 3 * 9, 'conv weight gradient');
  const bn = { n: 6, c: 4, s: 10, eps: 1e-5 }, gamma = { data: randF(4, 0.5, 2) }, beta = { data: randF(4) };
  await samePacked(be, late([x, gamma, beta]), ([, a, g, b]) => be.batchNorm(a, g, b, bn, 'float32').y, 240, 'batchNorm');
  await samePacked(be, late([y, x, gamma]), ([, gy, a, g]) => {
    const f = be.batchNorm(a, g, null, bn, 'float32');
    return be.batchNormBackward(gy, a, f.mean, f.invstd, g, bn, 'float32').gx;
  }, 240, 'batchNormBackward');
  const pool = { planes: 6, inSize: [8, 5], kernel: [2, 2], outSize: [4, 2], stride: [2, 2], padding: [0, 0], dilation: [1, 1], countIncludePad: true };
  await samePacked(be, late([x]), ([, a]) => be.maxPool(a, pool, 'float32').out, 48, 'maxPool');
  await samePacked(be, late([x]), ([, a]) => be.avgPool(a, pool, 'float32'), 48, 'avgPool');
  await samePacked(be, late([x]), ([, a]) => be.pad(a, [6, 40], [[1, 0], [2, 3]], 'reflect', 0, 'float32'), 7 * 45, 'pad');
  await samePacked(be, late([x, y]), ([, a, b]) => be.where(a, [6, 40], 'float32', a, [6, 40], b, [6, 40], [6, 40], 'float32'), 240, 'where');
  await samePacked(be, late([gamma, beta, x]), ([, rm, rv, a]) => {
    return be.batchNorm(a, null, null, { ...bn, running: { mean: rm, var: rv, momentum: 0.1, count: 60 } }, 'float32').runningVar!;
  }, 4, 'batchNorm running statistics');
  // Writes into packed storages.
  await samePacked(be, late([x, bias]), ([, dst, src]) => {
    be.copyInto(dst, src, 40, 'float32');
    return be.strided(dst, [240], [1], 0, 'float32');
  }, 240, 'copyInto a packed storage');
  await samePacked(be, late([x, bias]), ([, dst, src]) => {
    be.writeStrided(dst, src, [40], [6], 1, 'float32');
    return be.strided(dst, [240], [1], 0, 'float32');
  }, 240, 'writeStrided into a packed storage');
}

describe.skipIf(!main.gpu)(`packed storages (${main.reason})`, () => {
  it('a multi-tensor SGD or Adam step is one dispatch per group once packed, bitwise equal to the per-parameter steps, through set_ and dispose', async () => {
    await optimizerSuite(main.gpu!, [1001, 5, 64, 300, 1, 17, 2000, 33, 7], (counts) => expect(counts).toEqual([1, 1, 1, 1, 1]));
  });

  it('ops on packed storages equal ops on ordinary ones', async () => {
    await opsSuite(main.gpu!);
  });

  it('on a small binding limit: groups span several arenas (one dispatch each), a parameter above the limit steps alone', async () => {
    // 1024 values bind; 1001 and 300 fill an arena each, 2000 is not packed (two split dispatches).
    // Slots of 4096 bytes (1001 values) and 2816 bytes (the rest) make two arenas; 2000 values (8000 bytes) step in two parts.
    await optimizerSuite(small.gpu!, [1001, 5, 64, 300, 1, 17, 2000, 33, 7], (counts) => expect(counts).toEqual([4, 4, 4, 4, 4]));
  });

  it('on a small binding limit: ops on packed storages equal ops on ordinary ones, split around them', async () => {
    await opsSuite(small.gpu!);
  });

  it('a storage given as two parameters is updated twice, as per parameter', async () => {
    const be = main.gpu!;
    const data = randF(50), g1 = randF(50), g2 = randF(50);
    const shared = be.upload(data, 'float32'), other = be.upload(randF(30), 'float32'), ref = be.upload(data, 'float32');
    const grads = [g1, g2].map((g) => be.upload(g, 'float32'));
    const h = { lr: 0.1, momentum: 0, dampening: 0, weightDecay: 0.01, nesterov: false, firstStep: false };
    sgdSteps(be, [{ param: shared, grad: grads[0], momentumBuf: null, size: 50 }, { param: other, grad: grads[0], momentumBuf: null, size: 30 }, { param: shared, grad: grads[1], momentumBuf: null, size: 50 }], h);
    sgdSteps(be, [{ param: ref, grad: grads[0], momentumBuf: null, size: 50 }], h);
    sgdSteps(be, [{ param: ref, grad: grads[1], momentumBuf: null, size: 50 }], h);
    expect(await read(be, shared, 50)).toEqual(await read(be, ref, 50));
    for (const s of [shared, other, ref, ...grads]) be.dispose(s);
  });

  it('a packed storage is released with its arena only when the last storage in it is', async () => {
    const be = main.gpu!;
    const live = be.stats();
    const data = [randF(10), randF(20), randF(30)];
    const s = data.map((d) => be.upload(d, 'float32'));
    pack(be, s, [10, 20, 30]);
    const arena = (s[0] as GpuStorage).buffer;
    expect(s.every((x) => (x as GpuStorage).buffer === arena)).toBe(true);
    be.dispose(s[0]);
    be.dispose(s[2]);
    await be.sync();
    // The arena (three 256-byte slots) is still held by s[1]: new storages of its size must not get it from the pool.
    const others = Array.from({ length: 8 }, () => be.fill(192, 5, 'float32'));
    await be.sync();
    expect(await read(be, s[1], 20)).toEqual(Array.from(data[1]));
    expect(be.stats().buffers).toBe(live.buffers + 9);
    for (const o of [...others, s[1]]) be.dispose(o);
    expect(be.stats()).toEqual(live);
  });
});
