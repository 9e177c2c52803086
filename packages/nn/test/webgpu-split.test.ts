/**
 * Training on a WebGPU device whose binding limit (64 KiB, asked for lower than the
 * adapter's) is smaller than the batch's activations: every op inside the training step
 * splits its work (nn cannot split a step), and the losses and parameters match cpu.
 * Skipped without an adapter, except under CI=true.
 */
import { afterAll, describe, expect, it } from 'vitest';
import * as wg from '@webgrad/tensor';
import * as nn from '@webgrad/nn';
import { expectClose } from './helpers/close';
import { openWebGPU } from './helpers/webgpu';
import { smallNet as net } from './helpers/small-net';

const LIMIT = 64 * 1024;
const gpu = await openWebGPU({ limits: { maxStorageBufferBindingSize: LIMIT } });
afterAll(() => wg.releaseWebGPU());

/** 40 × 3 × 16 × 16 inputs (120 KiB), 40 × 4 × 16 × 16 activations (160 KiB). */
const SHAPE = [40, 3, 16, 16];

async function train(device: string, kind: 'sgd' | 'adam') {
  wg.manualSeed(21);
  const model = net();
  if (device !== 'cpu') model.to(device);
  const opt = kind === 'sgd' ? new nn.SGD(model.parameters(), { lr: 0.05, momentum: 0.9, weightDecay: 1e-3 }) : new nn.AdamW(model.parameters(), { lr: 0.01 });
  const x = wg.randn(SHAPE, { device });
  const y = wg.tensor(Array.from({ length: SHAPE[0] }, (_, i) => i % 3), [SHAPE[0]], { dtype: 'int32', device });
  const losses: number[] = [];
  for (let i = 0; i < 3; i++) {
    const l = wg.tidy(() => nn.trainStep(model, opt, x, y, { clipGradNorm: 5 }).loss.detach());
    losses.push(await l.item());
    l.dispose();
  }
  const state: Record<string, number[]> = {};
  for (const [k, t] of Object.entries(model.stateDict())) state[k] = Array.from(await t.data());
  const evaluated = await nn.evaluate(model, [{ x, y }]);
  return { losses, state, evaluated };
}

describe.skipIf(!gpu.ok)(`training past a ${LIMIT}-byte binding limit (${gpu.reason})`, () => {
  it('the device enforces the lowered limit, and the batch exceeds it', () => {
    expect(wg.getBackend('webgpu').limits!.maxBindingBytes).toBe(LIMIT);
    expect(SHAPE.reduce((a, b) => a * b) * 4).toBeGreaterThan(LIMIT);
  });

  for (const kind of ['sgd', 'adam'] as const) {
    it(`training steps (${kind}) with every op split match cpu, and so does evaluation`, async () => {
      const cpu = await train('cpu', kind);
      const dev = await train('webgpu', kind);
      expectClose(dev.losses, cpu.losses, 'losses', 1e-3, 1e-4);
      for (const k of Object.keys(cpu.state)) expectClose(dev.state[k], cpu.state[k], k, 2e-3, 1e-4);
      expect(dev.evaluated.accuracy).toBe(cpu.evaluated.accuracy);
      expect(Math.abs(dev.evaluated.loss - cpu.evaluated.loss)).toBeLessThan(1e-3 * Math.max(1, cpu.evaluated.loss));
    });
  }
});
