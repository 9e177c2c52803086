/**
 * Training losses as recorded by fixtures/make_training_losses.ts (first before the host-cost
 * work of issue 19; again when the optimizers became update ops in PyTorch's float32 order,
 * which moved Adam's webgpu losses by up to 5e-6 and the cpu's by 1.3e-7; again when batch
 * norm's apply and gx became kernels-ir's channel maps, one formula for every renderer, which
 * moved webgpu's losses by up to 2.4e-7 and the cpu's by 1.2e-7): 20 steps of simpleCnn, dilatedCnn and a small resnet18, on
 * cpu and on webgpu, agree with the fixture to 1e-6. Faster bookkeeping (bind-group caches,
 * uniform rings, multi-tensor optimizer kernels, fewer gradient copies) must not change a step.
 * The webgpu half is skipped without an adapter, except under CI=true.
 */
import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import * as wg from '@webgrad/tensor';
import { openWebGPU } from './helpers/webgpu';
import { STEPS, runs, trainingLosses } from './helpers/training-runs';

const fixture = JSON.parse(readFileSync(new URL('./fixtures/training-losses.json', import.meta.url), 'utf8')) as { commit: string; runs: Record<string, Record<string, number[]>> };
const gpu = await openWebGPU();
afterAll(() => wg.releaseWebGPU());

const TOLERANCE = 1e-6;

function expectSameLosses(got: number[], want: number[], what: string): void {
  expect(got.length, what).toBe(STEPS);
  const worst = got.reduce((w, g, i) => Math.max(w, Math.abs(g - want[i])), 0);
  expect(worst, `${what}: largest difference from the fixture (commit ${fixture.commit.slice(0, 10)}); got ${got.join(', ')}`).toBeLessThanOrEqual(TOLERANCE);
}

describe(`training losses over ${STEPS} steps match the recorded ones`, () => {
  for (const run of runs) {
    it(`${run.name} on cpu`, async () => {
      expectSameLosses(await trainingLosses(run, 'cpu'), fixture.runs[run.name].cpu, `${run.name} on cpu`);
    });
    it.skipIf(!gpu.ok)(`${run.name} on webgpu (${gpu.reason})`, async () => {
      expectSameLosses(await trainingLosses(run, 'webgpu'), fixture.runs[run.name].webgpu, `${run.name} on webgpu`);
    });
  }
});
