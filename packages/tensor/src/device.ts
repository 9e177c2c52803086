import { getBackend, hasBackend, registerBackend, setDefaultDevice, unregisterBackend } from './engine';
import { cpuHasWasm, cpuThreadsStarted, setCpuThreads } from './backends/cpu/index';

export const DEVICE_REQUESTS = ['cpu', 'webgpu', 'auto'] as const;
export type DeviceRequest = (typeof DEVICE_REQUESTS)[number];

export interface DeviceInfo {
  device: 'cpu' | 'webgpu';
  /** What was chosen, in words (the adapter's name on webgpu). */
  description: string;
  /** Why 'auto' fell back to cpu, when it did. */
  fallbackReason?: string;
}

export interface DeviceOptions {
  /**
   * Threads for the cpu backend's kernels, this one included (default: every available
   * core, or WEBGRAD_THREADS). Applies whichever device is chosen.
   */
  threads?: number;
  /**
   * WebGPU limits lower than the adapter's (bytes): ops then split their work as they would
   * on such an adapter. For tests; applies when the WebGPU device is opened (after
   * releaseWebGPU(), or the first time).
   */
  limits?: { maxStorageBufferBindingSize?: number; maxBufferSize?: number };
  /**
   * A GPUAdapter, or a GPU object (navigator.gpu-like) to ask for one, that the caller made:
   * e.g. Dawn's null backend (`create(['backend=null'])` of the `webgpu` package) to measure
   * host cost. Applies when the WebGPU device is opened (after releaseWebGPU(), or the first
   * time). 'auto' never settles on a null adapter, which computes nothing.
   */
  adapter?: AdapterOption;
}

/**
 * A GPU object or a GPUAdapter, typed by the one method useDevice calls on each, so that the
 * package's declarations need no WebGPU types.
 */
export type AdapterOption = { requestAdapter(options?: object): Promise<unknown> } | { requestDevice(descriptor?: object): Promise<unknown> };

let webgpuInit: Promise<void> | null = null;
/** The adapter option the open device came from (undefined: the default one). */
let webgpuSource: DeviceOptions['adapter'];

async function initWebGPU(limits?: DeviceOptions['limits'], adapter?: DeviceOptions['adapter']): Promise<void> {
  if (webgpuInit && adapter !== undefined && adapter !== webgpuSource) {
    throw new Error('useDevice: a WebGPU device from another adapter is open; call releaseWebGPU() before opening one from options.adapter');
  }
  webgpuInit ??= (async () => {
    const { createWebGPUBackend } = await import('./backends/webgpu/index');
    registerBackend(await createWebGPUBackend({ limits, adapter: adapter as GPU | GPUAdapter | undefined }));
    webgpuSource = adapter;
  })().catch((err: unknown) => {
    webgpuInit = null;
    throw err;
  });
  return webgpuInit;
}

/**
 * Chooses the default device. 'auto' takes a hardware WebGPU adapter when one exists, else
 * cpu, and says which it chose (and why, when it fell back): on a software adapter
 * (llvmpipe, SwiftShader) the cpu backend's WASM kernels are faster.
 */
export async function useDevice(request: DeviceRequest = 'auto', opts: DeviceOptions = {}): Promise<DeviceInfo> {
  if (!DEVICE_REQUESTS.includes(request)) {
    throw new Error(`useDevice: unknown device ${JSON.stringify(request)}; expected one of ${DEVICE_REQUESTS.map((d) => `'${d}'`).join(', ')}`);
  }
  if (opts.threads !== undefined) setCpuThreads(opts.threads);
  await cpuThreadsStarted();
  if (request === 'cpu') {
    setDefaultDevice('cpu');
    return { device: 'cpu', description: getBackend('cpu').description };
  }
  try {
    await initWebGPU(opts.limits, opts.adapter);
  } catch (err) {
    if (request === 'webgpu') throw err;
    setDefaultDevice('cpu');
    return { device: 'cpu', description: getBackend('cpu').description, fallbackReason: (err as Error).message };
  }
  const gpu = getBackend('webgpu') as { software?: boolean; nullAdapter?: boolean; description: string };
  if (request === 'auto' && gpu.nullAdapter) {
    setDefaultDevice('cpu');
    return { device: 'cpu', description: getBackend('cpu').description, fallbackReason: `the WebGPU adapter is Dawn's null backend (${gpu.description}), which computes nothing` };
  }
  if (request === 'auto' && gpu.software && cpuHasWasm()) {
    setDefaultDevice('cpu');
    return {
      device: 'cpu',
      description: getBackend('cpu').description,
      fallbackReason: `the only WebGPU adapter is a software one (${gpu.description}); the cpu backend's WebAssembly SIMD kernels are faster`,
    };
  }
  setDefaultDevice('webgpu');
  return { device: 'webgpu', description: gpu.description };
}

/** Destroys the WebGPU device (if any); tensors on it become unusable. */
export async function releaseWebGPU(): Promise<void> {
  if (!hasBackend('webgpu')) return;
  const b = getBackend('webgpu') as { destroy?: () => Promise<void> };
  unregisterBackend('webgpu');
  webgpuInit = null;
  webgpuSource = undefined;
  await b.destroy?.();
}
