import { mix, mulberry32 } from './rng';
import type { TransformPlan } from './transforms';

/**
 * Build one batch: the images at `indices`, transformed by `plan`, as float32 [B, C, H, W].
 * With `targets`, each input's target image gets the same crop and flip (not the normalisation)
 * and comes back as `y`.
 */
export interface BatchTask {
  kind: 'batch';
  images: Uint8Array;
  indices: Int32Array;
  plan: TransformPlan;
  seed: number;
  epoch: number;
  targets?: { images: Uint8Array; targetOf: Int32Array };
}

export interface BatchResult {
  x: Float32Array;
  y?: Float32Array;
}

interface Draw {
  top: number;
  left: number;
  flip: boolean;
}

// Each image's draw depends only on (seed, epoch, index), so batches are the same whatever
// thread builds them and whatever else is in the batch.
function draw(plan: TransformPlan, seed: number, epoch: number, index: number): Draw {
  const rand = mulberry32(mix(seed, epoch, index));
  const top = plan.randomCrop ? Math.floor(rand() * (plan.inHeight + 2 * plan.padding - plan.outHeight + 1)) : 0;
  const left = plan.randomCrop ? Math.floor(rand() * (plan.inWidth + 2 * plan.padding - plan.outWidth + 1)) : 0;
  return { top, left, flip: plan.flipP > 0 && rand() < plan.flipP };
}

function writeImage(plan: TransformPlan, src: Uint8Array, d: Draw, scale: readonly number[], shift: readonly number[], out: Float32Array, at: number): void {
  const { inHeight: H, inWidth: W, outHeight: oh, outWidth: ow, padding: pad } = plan;
  for (let c = 0; c < plan.channels; c++) {
    const plane = c * H * W;
    const s = scale[c];
    const b = shift[c];
    for (let y = 0; y < oh; y++) {
      const sy = d.top + y - pad;
      const row = at + (c * oh + y) * ow;
      if (sy < 0 || sy >= H) {
        out.fill(b, row, row + ow);
        continue;
      }
      for (let x = 0; x < ow; x++) {
        const sx = d.left + (d.flip ? ow - 1 - x : x) - pad;
        out[row + x] = sx < 0 || sx >= W ? b : src[plane + sy * W + sx] * s + b;
      }
    }
  }
}

export function runBatchTask(task: BatchTask): BatchResult {
  const { plan, indices } = task;
  const inSize = plan.channels * plan.inHeight * plan.inWidth;
  const outSize = plan.channels * plan.outHeight * plan.outWidth;
  const x = new Float32Array(indices.length * outSize);
  const y = task.targets ? new Float32Array(indices.length * outSize) : undefined;
  const unit = new Array<number>(plan.channels).fill(1 / 255);
  const zero = new Array<number>(plan.channels).fill(0);
  for (let i = 0; i < indices.length; i++) {
    const j = indices[i];
    const d = draw(plan, task.seed, task.epoch, j);
    writeImage(plan, task.images.subarray(j * inSize, (j + 1) * inSize), d, plan.scale, plan.shift, x, i * outSize);
    if (task.targets && y) {
      const t = task.targets.targetOf[j];
      writeImage(plan, task.targets.images.subarray(t * inSize, (t + 1) * inSize), d, unit, zero, y, i * outSize);
    }
  }
  return { x, y };
}
