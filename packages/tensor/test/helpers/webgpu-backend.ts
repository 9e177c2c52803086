import { createWebGPUBackend, type WebGPUBackend, type WebGPUBackendOptions } from '../../src/backends/webgpu/index';
import { installDawn } from '../../src/backends/webgpu/dawn';

// The backend is built directly, not through the package's Node entry, so Dawn is installed here.
installDawn();

/**
 * A webgpu backend for a test file that drives the backend directly; without an adapter
 * null with the reason to skip, except under CI=true, where a missing adapter is a failure.
 */
export async function openBackend(opts: WebGPUBackendOptions = {}): Promise<{ gpu: WebGPUBackend | null; reason: string }> {
  try {
    const gpu = await createWebGPUBackend(opts);
    return { gpu, reason: gpu.adapterInfo };
  } catch (err) {
    if (process.env.CI === 'true') throw new Error(`CI=true but WebGPU is unavailable: ${(err as Error).message}`);
    return { gpu: null, reason: `skipped, no WebGPU adapter: ${(err as Error).message}` };
  }
}
