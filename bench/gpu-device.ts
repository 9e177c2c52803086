/**
 * The one WebGPU device the bench groups share: webgrad's own webgpu backend when it opens
 * (and exposes its GPUDevice / GPU object), otherwise a device opened here through the
 * `webgpu` package (Dawn). Peers (tfjs-backend-webgpu) get the same `GPU` object through
 * `globalThis.navigator.gpu`, so everything runs on one Dawn instance and one adapter.
 *
 * dawn.node frees its instance when the object returned by `create()` is garbage-collected
 * while adapters and devices still poll it (shared/notes/webgpu-on-lavapipe.md), so the
 * object is held in a module-level variable that `benchGpu()` reads, for the whole process.
 */
import * as wg from '@webgrad/tensor';

export interface BenchGpu {
  device: GPUDevice;
  /** The navigator.gpu-like object the device came from (null when the backend hides it). */
  gpu: GPU | null;
  /** Adapter in words. */
  description: string;
  /** Where the device came from. */
  source: 'webgrad webgpu backend' | 'bench (own Dawn device)';
  /** The webgrad webgpu backend, when it opened. */
  backend: wg.Backend | null;
  /** Why the webgrad backend is not available, when it is not. */
  backendError?: string;
}

// Module-level and read by the functions below, so Dawn's instance stays reachable.
let dawnGpu: GPU | null = null;
let shared: Promise<BenchGpu | null> | null = null;
let failure = '';

/** Looks for the GPUDevice / GPU object on the backend under the usual names. */
function exposed(backend: unknown): { device: GPUDevice | null; gpu: GPU | null; description: string } {
  const b = backend as Record<string, unknown> & { description?: string };
  const ctx = (b.context ?? b.ctx ?? b) as Record<string, unknown>;
  const device = (b.device ?? ctx.device ?? null) as GPUDevice | null;
  const gpu = (b.gpu ?? ctx.gpu ?? b.navigatorGpu ?? null) as GPU | null;
  return { device: device && typeof (device as GPUDevice).createBuffer === 'function' ? device : null, gpu, description: b.description ?? 'webgpu' };
}

async function openOwn(): Promise<{ device: GPUDevice; gpu: GPU; description: string }> {
  const webgpu = (await import('webgpu')) as unknown as { create(flags: string[]): GPU; globals: object };
  Object.assign(globalThis, webgpu.globals);
  dawnGpu ??= webgpu.create([]);
  const adapter = await dawnGpu.requestAdapter();
  if (!adapter) throw new Error('no WebGPU adapter');
  const device = await adapter.requestDevice({
    requiredLimits: {
      maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize,
      maxBufferSize: adapter.limits.maxBufferSize,
      maxComputeWorkgroupStorageSize: adapter.limits.maxComputeWorkgroupStorageSize,
      maxComputeInvocationsPerWorkgroup: adapter.limits.maxComputeInvocationsPerWorkgroup,
    },
  });
  const info = adapter.info;
  const description = info.description || [info.vendor, info.architecture, info.device].filter(Boolean).join(' ') || 'WebGPU adapter';
  return { device, gpu: dawnGpu, description };
}

/** The shared device, or null (with `gpuFailure()` saying why) when no WebGPU adapter opens. */
export function benchGpu(): Promise<BenchGpu | null> {
  shared ??= (async (): Promise<BenchGpu | null> => {
    let backendError: string | undefined;
    let backend: wg.Backend | null = null;
    const prev = wg.getDefaultDevice();
    try {
      await wg.useDevice('webgpu');
      backend = wg.getBackend('webgpu');
    } catch (err) {
      backendError = (err as Error).message.split('\n')[0];
    } finally {
      wg.setDefaultDevice(prev);
    }
    if (backend) {
      const e = exposed(backend);
      if (e.device) {
        if (e.gpu) dawnGpu = e.gpu;
        return { device: e.device, gpu: e.gpu, description: e.description, source: 'webgrad webgpu backend', backend };
      }
      backendError = 'the webgrad webgpu backend does not expose its GPUDevice (as .device)';
    }
    try {
      const own = await openOwn();
      return { ...own, source: 'bench (own Dawn device)', backend, backendError };
    } catch (err) {
      failure = `${backendError ? `${backendError}; ` : ''}${(err as Error).message.split('\n')[0]}`;
      return null;
    }
  })();
  return shared;
}

export function gpuFailure(): string {
  return failure;
}

/** Makes `navigator.gpu` the shared Dawn GPU object (for tfjs-backend-webgpu). */
export function installNavigatorGpu(gpu: GPU): void {
  const g = globalThis as unknown as { navigator?: Record<string, unknown> };
  if (g.navigator && 'gpu' in g.navigator) return;
  // Node 20 has no navigator; tfjs reads navigator.userAgent for its device checks.
  Object.defineProperty(globalThis, 'navigator', { value: { ...(g.navigator ?? {}), gpu, userAgent: `Node.js ${process.version}` }, configurable: true, writable: true });
}

/** Destroys the device this module opened itself (the webgrad backend's is released by bench/index.ts). */
export async function releaseBenchGpu(): Promise<void> {
  const s = await shared;
  shared = null;
  if (s && s.source === 'bench (own Dawn device)') {
    const lost = s.device.lost;
    s.device.destroy();
    await lost;
  }
}

/** A storage buffer holding `data` (STORAGE | COPY_SRC | COPY_DST). */
export function uploadBuffer(device: GPUDevice, data: Float32Array | Uint32Array, usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST): GPUBuffer {
  const buffer = device.createBuffer({ size: Math.max(16, Math.ceil(data.byteLength / 16) * 16), usage });
  device.queue.writeBuffer(buffer, 0, data.buffer, data.byteOffset, data.byteLength);
  return buffer;
}

/** Reads `count` floats back from a buffer. */
export async function readBuffer(device: GPUDevice, buffer: GPUBuffer, count: number): Promise<Float32Array> {
  const staging = device.createBuffer({ size: Math.max(16, Math.ceil((count * 4) / 16) * 16), usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  const enc = device.createCommandEncoder();
  enc.copyBufferToBuffer(buffer, 0, staging, 0, count * 4);
  device.queue.submit([enc.finish()]);
  await staging.mapAsync(GPUMapMode.READ);
  const out = new Float32Array(staging.getMappedRange().slice(0, count * 4));
  staging.unmap();
  staging.destroy();
  return out;
}
