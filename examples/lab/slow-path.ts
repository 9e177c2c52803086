/**
 * A guard for one known slow path: on WebGPU the backward of reflect/replicate/circular
 * padding is a scatter-add whose cost grows with the square of the tensor size (one
 * training step of the dehazing network took 321 s on llvmpipe against 0.6 s on cpu).
 * Under --device auto an experiment that depends on it measures the path on a small tensor
 * and, when WebGPU is more than RATIO times slower than the cpu, runs on the cpu and says
 * why. Once the backward is fixed the probe passes and the experiment stays on WebGPU.
 */
import * as wg from '@webgrad/tensor';

const RATIO = 20;

async function timePadBackward(device: string): Promise<number> {
  let ms = Infinity;
  // The first round compiles the pipelines; the best of the next two is the cost.
  for (let round = 0; round < 3; round++) {
    const x = wg.rand([1, 16, 32, 32], { device, requiresGrad: true });
    const t0 = performance.now();
    const y = wg.tidy(() => {
      const s = wg.pad(x, [2, 2, 2, 2], 'reflect').sum();
      s.backward();
      return s.detach();
    });
    await (x.grad as wg.Tensor).data();
    if (round > 0) ms = Math.min(ms, performance.now() - t0);
    y.dispose();
    x.dispose();
  }
  return ms;
}

/** null when WebGPU is fine for reflect padding; otherwise why the cpu should run it. */
export async function reflectPadTooSlow(): Promise<string | null> {
  const [gpu, cpu] = [await timePadBackward('webgpu'), await timePadBackward('cpu')];
  if (gpu <= RATIO * Math.max(cpu, 1)) return null;
  return `on this WebGPU adapter the backward of reflect padding took ${gpu.toFixed(0)} ms against ${cpu.toFixed(1)} ms on cpu for a [1, 16, 32, 32] tensor (it scales with the square of the size), so this experiment ran on cpu`;
}
