import * as wg from '@webgrad/tensor';

/**
 * Opens the WebGPU backend for a test file of this package and leaves cpu the default.
 * Without an adapter the suite is skipped with a reason, except under CI=true, where a
 * missing adapter is a failure.
 */
export async function openWebGPU(opts: wg.DeviceOptions = {}): Promise<{ ok: boolean; reason: string }> {
  try {
    const info = await wg.useDevice('webgpu', opts);
    wg.setDefaultDevice('cpu');
    return { ok: true, reason: info.description };
  } catch (err) {
    if (process.env.CI === 'true') throw new Error(`CI=true but WebGPU is unavailable: ${(err as Error).message}`);
    return { ok: false, reason: (err as Error).message.split('\n')[0] };
  }
}
