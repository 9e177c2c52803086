/**
 * useDevice('webgpu', { adapter }) on Dawn's null backend (an adapter that validates and
 * records every command, executes none): the bench's host group measures on it, so it opens
 * as asked, the backend counts what it asks of the device, and 'auto' never settles on it.
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import * as wg from '../src/node';
import * as IR from '@webgrad/kernels-ir';
import * as K from '@webgrad/kernels-wgsl';
import { type Binding, Queue } from '../src/backends/webgpu/queue';

type Dawn = { create(flags: string[]): GPU; globals: object };
const dawn = (await import('webgpu')) as unknown as Dawn;
Object.assign(globalThis, dawn.globals);
// Module-level for the whole file: dawn.node frees its instance when this object is collected.
const nullGpu = dawn.create(['backend=null']);

type Counted = wg.Backend & { nullAdapter: boolean; commandCounts(): { dispatches: number; bindGroups: number; bufferWrites: number; submits: number } };

afterEach(async () => {
  await wg.releaseWebGPU();
  wg.setDefaultDevice('cpu');
});
afterAll(async () => {
  await wg.releaseWebGPU();
});

describe("useDevice('webgpu', { adapter }) with Dawn's null backend", () => {
  it('opens the GPU object it is given, and the backend says it is the null adapter', async () => {
    const info = await wg.useDevice('webgpu', { adapter: nullGpu });
    expect(info.device).toBe('webgpu');
    expect(info.description).toContain('null-backend');
    expect((wg.getBackend('webgpu') as Counted).nullAdapter).toBe(true);
  });

  it('opens a GPUAdapter it is given', async () => {
    const adapter = await nullGpu.requestAdapter();
    const info = await wg.useDevice('webgpu', { adapter: adapter! });
    expect(info.description).toContain('null-backend');
  });

  it("'auto' never picks the null adapter", async () => {
    const info = await wg.useDevice('auto', { adapter: nullGpu });
    expect(info.device).toBe('cpu');
    expect(info.fallbackReason).toContain("Dawn's null backend");
    expect(wg.getDefaultDevice()).toBe('cpu');
  });

  it('refuses another adapter while a device is open', async () => {
    await wg.useDevice('webgpu', { adapter: nullGpu });
    const other = dawn.create(['backend=null']);
    await expect(wg.useDevice('webgpu', { adapter: other })).rejects.toThrow('call releaseWebGPU() before opening one from options.adapter');
  });

  it('rejects an adapter option that is neither a GPU nor a GPUAdapter', async () => {
    await expect(wg.useDevice('webgpu', { adapter: {} as GPU })).rejects.toThrow('options.adapter must be a GPUAdapter or a GPU object');
  });

  it('counts dispatches, bind groups, buffer writes and submits', async () => {
    await wg.useDevice('webgpu', { adapter: nullGpu });
    const backend = wg.getBackend('webgpu') as Counted;
    const a = wg.tensor([1, 2, 3, 4]), b = wg.tensor([5, 6, 7, 8]);
    const before = backend.commandCounts();
    const c = wg.add(a, b).mul(b).exp();
    const mid = backend.commandCounts();
    expect(mid.dispatches - before.dispatches).toBe(3);
    expect(mid.bindGroups - before.bindGroups).toBeGreaterThan(0);
    expect(mid.bindGroups - before.bindGroups).toBeLessThanOrEqual(3);
    await c.data(); // values are meaningless on the null backend; the read submits
    const after = backend.commandCounts();
    expect(after.submits - mid.submits).toBeGreaterThanOrEqual(1);
    expect(after.bufferWrites).toBeGreaterThanOrEqual(before.bufferWrites);
    for (const t of [a, b, c]) t.dispose();
  });

  it("stages a submit's uniform blocks in one buffer write and reuses bind groups of recurring buffers", async () => {
    await wg.useDevice('webgpu', { adapter: nullGpu });
    const backend = wg.getBackend('webgpu') as Counted;
    const a = wg.full([4096], 1.5), b = wg.full([4096], 2);
    await a.data();
    const before = backend.commandCounts();
    const outs = Array.from({ length: 10 }, () => a.exp());
    await outs[9].data();
    const after = backend.commandCounts();
    expect(after.dispatches - before.dispatches).toBe(10);
    expect(after.submits - before.submits).toBe(1);
    expect(after.bufferWrites - before.bufferWrites).toBe(1);
    outs.forEach((t) => t.dispose());
    // The same op on the same buffers (the pool hands the freed output back) binds the same group.
    const c1 = a.add(b);
    await c1.data();
    c1.dispose();
    const mid = backend.commandCounts();
    const c2 = a.add(b);
    await c2.data();
    const end = backend.commandCounts();
    expect(end.dispatches - mid.dispatches).toBe(1);
    expect(end.bindGroups - mid.bindGroups).toBe(0);
    // The same buffers in the other order are another bind group.
    const c3 = b.add(a);
    await c3.data();
    expect(backend.commandCounts().bindGroups - end.bindGroups).toBe(1);
    for (const t of [a, b, c2, c3]) t.dispose();
  });

  it('drops the cached bind groups that name a buffer the pool destroys, and only those', async () => {
    const device = await (await nullGpu.requestAdapter())!.requestDevice();
    const bytes = 1 << 20;
    const queue = new Queue(device, 64, { maxBufferBytes: bytes, maxBindingBytes: bytes });
    const [x, y, z] = [0, 1, 2].map(() => queue.storageBuffer(4096, 'test'));
    const exp: IR.ElementwiseKernelOp = { name: 'exp', arity: 1, expr: IR.expr.exp(IR.expr.x), ints: 'float' };
    const kernel = K.unaryKernel(exp, 1024, 'f32', 'f32');
    const created = (buffers: Binding[]) => {
      const before = queue.counts.bindGroups;
      queue.run(kernel, buffers);
      return queue.counts.bindGroups - before;
    };
    expect([created([x, y]), created([x, y]), created([z, y]), created([x, { buffer: y, offset: 256, size: 1024 }])]).toEqual([1, 0, 1, 1]);
    (queue as unknown as { forgetBuffer(b: GPUBuffer): void }).forgetBuffer(x);
    expect([created([z, y]), created([x, y]), created([x, y])]).toEqual([0, 1, 0]);
    queue.destroy();
    device.destroy();
  });

  it('small reads reuse their staging buffers instead of creating one per read', async () => {
    await wg.useDevice('webgpu', { adapter: nullGpu });
    const proto = (dawn.globals as Record<string, { prototype: { createBuffer: (...args: unknown[]) => unknown } }>).GPUDevice.prototype;
    const original = proto.createBuffer;
    let created = 0;
    proto.createBuffer = function (this: unknown, ...args: unknown[]) {
      created++;
      return original.apply(this, args);
    };
    try {
      const t = wg.full([3], 2);
      await t.data();
      created = 0;
      for (let i = 0; i < 5; i++) await t.data();
      expect(created).toBe(0);
      t.dispose();
    } finally {
      proto.createBuffer = original;
    }
  });

  it('backward makes no gradient for an operand that needs none', async () => {
    await wg.useDevice('webgpu', { adapter: nullGpu });
    const backend = wg.getBackend('webgpu') as Counted;
    const backwardDispatches = (secondNeedsGrad: boolean) => {
      const a = wg.full([64], 1.5).requiresGrad_(), b = wg.full([64], 2).requiresGrad_(secondNeedsGrad);
      const ab = a.mul(b), q = ab.div(b), y = q.sum();
      const before = backend.commandCounts().dispatches;
      y.backward();
      const n = backend.commandCounts().dispatches - before;
      expect(a.grad).not.toBeNull();
      for (const t of [a, b, ab, q, y, a.grad, b.grad]) t?.dispose();
      return n;
    };
    // mul and div each owe b a gradient of its own (two ops and more) only when b requires one.
    const [withB, withoutB] = [backwardDispatches(true), backwardDispatches(false)];
    expect(withB - withoutB, `${withB} against ${withoutB}`).toBeGreaterThanOrEqual(3);
  });

  it("a convolution's bias gradient comes in its weight gradient's dispatch", async () => {
    await wg.useDevice('webgpu', { adapter: nullGpu });
    const backend = wg.getBackend('webgpu') as Counted;
    wg.manualSeed(0);
    // 16 and 3 output channels: the tiled GEMM's extra column, and the direct kernel's extra invocations.
    for (const cout of [16, 3]) {
      const x = wg.randn([2, 16, 9, 7]), w = wg.randn([cout, 16, 3, 3]).requiresGrad_();
      const backwardDispatches = (biasNeedsGrad: boolean) => {
        const b = wg.randn([cout]).requiresGrad_(biasNeedsGrad);
        const y = wg.conv2d(x, w, b, { padding: 1 }).sum();
        const before = backend.commandCounts().dispatches;
        y.backward();
        const n = backend.commandCounts().dispatches - before;
        expect(b.grad === null).toBe(!biasNeedsGrad);
        for (const t of [b, y, w.grad, b.grad]) t?.dispose();
        w.grad = null;
        return n;
      };
      expect(backwardDispatches(true), `${cout} output channels`).toBe(backwardDispatches(false));
      x.dispose();
      w.dispose();
    }
  });

  it('a training loop creates no bind groups once it has run twice (the pool hands out the same buffers each step)', async () => {
    await wg.useDevice('webgpu', { adapter: nullGpu });
    const backend = wg.getBackend('webgpu') as Counted;
    wg.manualSeed(0);
    // Weights, activations and their gradients all of one size class, freed in changing order.
    const ws = Array.from({ length: 4 }, () => wg.randn([64, 64]).requiresGrad_());
    const state = ws.map((w) => ({ m: wg.zerosLike(w), v: wg.zerosLike(w) }));
    const x = wg.randn([64, 64]), y = wg.randint(0, 64, [64]);
    const created: number[] = [];
    for (let step = 1; step <= 5; step++) {
      const before = backend.commandCounts().bindGroups;
      for (const w of ws) {
        w.grad?.dispose();
        w.grad = null;
      }
      const loss = wg.tidy(() => {
        const l = wg.crossEntropy(ws.reduce((h, w) => h.matmul(w).relu().add(h), x), y);
        l.backward();
        return l.detach();
      });
      wg.noGrad(() => ws.forEach((w, i) => wg.adamUpdate(w, w.grad!, state[i].m, state[i].v, { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, decoupled: false, step })));
      await loss.data();
      loss.dispose();
      created.push(backend.commandCounts().bindGroups - before);
    }
    expect(created[0]).toBeGreaterThan(0);
    expect(created.slice(2)).toEqual([0, 0, 0]);
    for (const t of [...ws, x, y, ...ws.map((w) => w.grad), ...state.flatMap((s) => [s.m, s.v])]) t?.dispose();
  });

  it('a multi-tensor Adam step updates every parameter of a group in one dispatch', async () => {
    await wg.useDevice('webgpu', { adapter: nullGpu });
    const backend = wg.getBackend('webgpu') as Counted;
    const params = Array.from({ length: 8 }, (_, i) => wg.full([100 + i], 1));
    const grads = params.map((t) => wg.onesLike(t)), ms = params.map((t) => wg.zerosLike(t)), vs = params.map((t) => wg.zerosLike(t));
    const steps: number[] = [];
    for (let step = 1; step <= 2; step++) {
      const before = backend.commandCounts().dispatches;
      wg.adamUpdates(params, grads, ms, vs, { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, decoupled: false, step });
      steps.push(backend.commandCounts().dispatches - before);
    }
    // The parameters and moments are packed into arenas on the first step (copies, not dispatches).
    expect(steps).toEqual([1, 1]);
    for (const t of [...params, ...grads, ...ms, ...vs]) t.dispose();
  });

  it('writes a small fill from the host and dispatches a large one', async () => {
    await wg.useDevice('webgpu', { adapter: nullGpu });
    const backend = wg.getBackend('webgpu') as Counted;
    const before = backend.commandCounts();
    const small = wg.full([3], 2.5);
    const mid = backend.commandCounts();
    expect(mid.dispatches - before.dispatches).toBe(0);
    expect(mid.bufferWrites - before.bufferWrites).toBe(1);
    const large = wg.full([5000], 2.5);
    expect(backend.commandCounts().dispatches - mid.dispatches).toBe(1);
    small.dispose();
    large.dispose();
  });
});
