import { getBackend, hasBackend, registerBackend, setDefaultDevice, unregisterBackend } from './engine';

export const DEVICE_REQUESTS = ['cpu', 'webgpu', 'auto'] as const;
export type DeviceRequest = (typeof DEVICE_REQUESTS)[number];

export interface DeviceInfo {
  device: 'cpu' | 'webgpu';
  /** What was chosen, in words (the adapter's name on webgpu). */
  description: string;
  /** Why 'auto' fell back to cpu, when it did. */
  fallbackReason?: string;
}

let webgpuInit: Promise<void> | null = null;

async function initWebGPU(): Promise<void> {
  webgpuInit ??= (async () => {
    const { createWebGPUBackend } = await import('./backends/webgpu/index');
    registerBackend(await createWebGPUBackend());
  })().catch((err: unknown) => {
    webgpuInit = null;
    throw err;
  });
  return webgpuInit;
}

/**
 * Chooses the default device. 'auto' takes WebGPU when an adapter exists, else cpu, and
 * says which it chose (and why, when it fell back).
 */
export async function useDevice(request: DeviceRequest = 'auto'): Promise<DeviceInfo> {
  if (!DEVICE_REQUESTS.includes(request)) {
    throw new Error(`useDevice: unknown device ${JSON.stringify(request)}; expected one of ${DEVICE_REQUESTS.map((d) => `'${d}'`).join(', ')}`);
  }
  if (request === 'cpu') {
    setDefaultDevice('cpu');
    return { device: 'cpu', description: getBackend('cpu').description };
  }
  try {
    await initWebGPU();
  } catch (err) {
    if (request === 'webgpu') throw err;
    setDefaultDevice('cpu');
    return { device: 'cpu', description: getBackend('cpu').description, fallbackReason: (err as Error).message };
  }
  setDefaultDevice('webgpu');
  return { device: 'webgpu', description: getBackend('webgpu').description };
}

/** Destroys the WebGPU device (if any); tensors on it become unusable. */
export async function releaseWebGPU(): Promise<void> {
  if (!hasBackend('webgpu')) return;
  const b = getBackend('webgpu') as { destroy?: () => Promise<void> };
  unregisterBackend('webgpu');
  webgpuInit = null;
  await b.destroy?.();
}
