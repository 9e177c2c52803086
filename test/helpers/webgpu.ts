import * as wg from '@webgrad/tensor';

/**
 * Opens the WebGPU backend for a top-level test file and leaves cpu the default (each package's tests
 * have their own copy in their test/helpers, so no package test reaches outside its package).
 * Without an adapter the suite is skipped with a reason, except under CI=true, where a
 * missing adapter is a failure.
 */
export async function openWebGPU(): Promise<{ ok: boolean; reason: string }> {
  try {
    const info = await wg.useDevice('webgpu');
    wg.setDefaultDevice('cpu');
    return { ok: true, reason: info.description };
  } catch (err) {
    if (process.env.CI === 'true') throw new Error(`CI=true but WebGPU is unavailable: ${(err as Error).message}`);
    return { ok: false, reason: (err as Error).message.split('\n')[0] };
  }
}
