import { describe, expect, it } from 'vitest';
import * as wg from '@webgrad/tensor';
import * as nn from '@webgrad/nn';

describe('cpu memory without tidy', () => {
  it('500 training steps that dispose nothing stay bounded: reading the loss gives the GC safety net its turn', async () => {
    wg.manualSeed(0);
    const model = new nn.Sequential(new nn.Linear(256, 256), new nn.ReLU(), new nn.Linear(256, 10));
    const optimizer = new nn.SGD(model.parameters(), { lr: 0.01 });
    const x = wg.randn([32, 256]);
    const y = wg.tensor(Array.from({ length: 32 }, (_, i) => i % 10), [32], { dtype: 'int32' });
    const start = wg.memoryStats().liveTensors;
    const live: number[] = [];
    let perStep = 0;
    for (let step = 0; step < 500; step++) {
      const before = wg.memoryStats().liveTensors;
      optimizer.zeroGrad();
      const loss = wg.crossEntropy(model.forward(x), y);
      loss.backward();
      optimizer.step();
      if (step === 0) perStep = wg.memoryStats().liveTensors - before;
      await loss.item();
      live.push(wg.memoryStats().liveTensors - start);
    }
    // Each step leaves its intermediates for the GC; never disposed, they would add up to 500
    // steps' worth. cpu storage lives in WebAssembly memory, which puts no pressure on V8's GC,
    // so the cpu backend asks for a collection when its use between steps has grown by 16 MiB
    // (about 160 of these steps): the count saws up and down under that, well under the 500
    // steps it would otherwise reach.
    expect(perStep).toBeGreaterThan(10);
    const leakedAtMost = Math.max(...live.slice(250));
    expect(leakedAtMost).toBeLessThan(250 * perStep);
    expect(live[live.length - 1]).toBeLessThan(250 * perStep);
  });
});
