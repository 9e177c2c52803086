/**
 * Every generator's WGSL compiles: a shader module is created on a real WebGPU device
 * and getCompilationInfo() must report no errors. Without an adapter the suite is
 * skipped, except under CI=true, where that is a failure.
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { Kernel } from '../src/index';
import { allKernels } from './all-kernels';

// Module-level and read below: dawn.node must keep its instance alive while the device is.
let dawnGpu: GPU | null = null;

async function openDevice(): Promise<{ device: GPUDevice | null; reason: string }> {
  try {
    const dawn = (await import('webgpu')) as unknown as { create(f: string[]): GPU; globals: object };
    Object.assign(globalThis, dawn.globals);
    dawnGpu ??= dawn.create([]);
    const adapter = await dawnGpu.requestAdapter();
    if (!adapter) throw new Error('no WebGPU adapter (on Linux without a GPU install Mesa lavapipe: mesa-vulkan-drivers)');
    // The adapter's storage bindings, as the tensor backend asks for them: fused batch norm kernels take up to 9.
    const device = await adapter.requestDevice({ requiredLimits: { maxStorageBuffersPerShaderStage: adapter.limits.maxStorageBuffersPerShaderStage } });
    return { device, reason: adapter.info.description || adapter.info.device };
  } catch (err) {
    if (process.env.CI === 'true') throw new Error(`CI=true but WebGPU is unavailable: ${(err as Error).message}`);
    return { device: null, reason: `skipped: ${(err as Error).message}` };
  }
}

const { device, reason } = await openDevice();

afterAll(async () => {
  if (!device) return;
  const lost = device.lost;
  device.destroy();
  await lost;
});

describe.skipIf(!device)(`every kernel's WGSL compiles (${reason})`, () => {
  it('has no compilation errors in any generator or variant', async () => {
    const seen = new Map<string, Kernel>();
    for (const k of allKernels()) seen.set(k.key, k);
    expect(seen.size).toBeGreaterThan(150);
    const failures: string[] = [];
    for (const k of seen.values()) {
      const info = await device!.createShaderModule({ code: k.code }).getCompilationInfo();
      for (const m of info.messages) if (m.type === 'error') failures.push(`${k.key} line ${m.lineNum}: ${m.message}`);
    }
    expect(failures).toEqual([]);
  });

  it('creates compute pipelines with the declared bindings for a sample of kernels', async () => {
    const sample = allKernels().filter((k) => /^(unary\/exp|binary\/add|reduce\/argmax\/f32\/group|matmul\/|conv\/registers\/positions|softmax\/group|batchNorm\/|pack)/.test(k.key));
    const seen = new Set<string>();
    device!.pushErrorScope('validation');
    for (const k of sample) {
      if (seen.has(k.key)) continue;
      seen.add(k.key);
      const entries: GPUBindGroupLayoutEntry[] = k.storage.map((a, binding) => ({ binding, visibility: GPUShaderStage.COMPUTE, buffer: { type: a === 'read' ? 'read-only-storage' : 'storage' } }));
      entries.push({ binding: k.storage.length, visibility: GPUShaderStage.COMPUTE, buffer: { type: 'uniform' } });
      const layout = device!.createPipelineLayout({ bindGroupLayouts: [device!.createBindGroupLayout({ entries })] });
      await device!.createComputePipelineAsync({ layout, compute: { module: device!.createShaderModule({ code: k.code }), entryPoint: 'main' } });
    }
    expect(await device!.popErrorScope()).toBeNull();
  });
});

describe.runIf(process.env.CI === 'true')('kernels-wgsl under CI', () => {
  it('has a WebGPU adapter (a missing one fails, never skips)', () => expect(device, reason).not.toBeNull());
});
