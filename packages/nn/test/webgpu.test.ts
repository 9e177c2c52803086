/**
 * The nn layer on webgpu: the same model and steps as on cpu give the same numbers
 * (float tolerance), and moving, saving and loading work across devices. Skipped without
 * an adapter, except under CI=true.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import * as wg from '@webgrad/tensor';
import * as nn from '@webgrad/nn';
import { expectClose } from './helpers/close';
import { openWebGPU } from './helpers/webgpu';
import { smallNet as net } from './helpers/small-net';

const gpu = await openWebGPU();
afterAll(() => wg.releaseWebGPU());


async function train(device: string, kind: 'sgd' | 'adam') {
  wg.manualSeed(21);
  const model = net();
  if (device !== 'cpu') model.to(device);
  const opt = kind === 'sgd' ? new nn.SGD(model.parameters(), { lr: 0.05, momentum: 0.9, weightDecay: 1e-3 }) : new nn.AdamW(model.parameters(), { lr: 0.01 });
  const x = wg.randn([6, 3, 8, 8], { device });
  const y = wg.tensor([0, 1, 2, 0, 1, 2], [6], { dtype: 'int32', device });
  const losses: number[] = [];
  for (let i = 0; i < 4; i++) {
    const l = wg.tidy(() => nn.trainStep(model, opt, x, y, { clipGradNorm: 5 }).loss.detach());
    losses.push(await l.item());
    l.dispose();
  }
  const state: Record<string, number[]> = {};
  for (const [k, t] of Object.entries(model.stateDict())) state[k] = Array.from(await t.data());
  return { model, opt, losses, state };
}

describe.skipIf(!gpu.ok)(`nn on webgpu (${gpu.reason})`, () => {
  for (const kind of ['sgd', 'adam'] as const) {
    it(`training steps (${kind}, BatchNorm, clipping) match cpu`, async () => {
      const cpu = await train('cpu', kind);
      const dev = await train('webgpu', kind);
      expectClose(dev.losses, cpu.losses, 'losses', 1e-3, 1e-4);
      for (const k of Object.keys(cpu.state)) expectClose(dev.state[k], cpu.state[k], k, 2e-3, 1e-4);
      expect(dev.model.parameters().every((p) => p.device === 'webgpu')).toBe(true);
    });
  }

  it('a webgpu model saves a checkpoint that a cpu model loads, and toAsync brings it back', async () => {
    const { model, opt } = await train('webgpu', 'adam');
    const path = join(mkdtempSync(join(tmpdir(), 'webgrad-gpu-')), 'ck.safetensors');
    await nn.saveCheckpoint(path, { model, optimizer: opt, epoch: 1 });
    wg.manualSeed(99);
    const cpuModel = net();
    const cpuOpt = new nn.AdamW(cpuModel.parameters(), { lr: 0.01 });
    await nn.loadCheckpoint(path, { model: cpuModel, optimizer: cpuOpt });
    await model.toAsync('cpu');
    for (const [k, t] of Object.entries(model.stateDict())) expect(Array.from(cpuModel.stateDict()[k].dataSync()), k).toEqual(Array.from(t.dataSync()));
    expect(() => model.to('webgpu').to('cpu')).toThrow('use await model.toAsync');
  });

  it('a training loop on webgpu holds memory flat', async () => {
    const { model, opt } = await train('webgpu', 'sgd');
    const x = wg.randn([6, 3, 8, 8], { device: 'webgpu' });
    const y = wg.tensor([0, 1, 2, 0, 1, 2], [6], { dtype: 'int32', device: 'webgpu' });
    // Two batches an epoch, so that each epoch after the first traces the step (fit frees the
    // gradients between epochs) and replays it.
    const data = [{ x, y }, { x, y }];
    const seen: number[][] = [];
    await nn.fit(model, data, {
      optimizer: opt, epochs: 4, progress: 'none',
      callbacks: { onEpochEnd: () => void seen.push([wg.memoryStats().liveTensors, wg.memoryStats().byDevice.webgpu.buffers]) },
    });
    expect(seen[2]).toEqual(seen[1]);
    expect(seen[3]).toEqual(seen[1]);
  });

});
