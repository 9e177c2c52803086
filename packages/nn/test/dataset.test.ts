import { describe, expect, it } from 'vitest';
import * as wg from '@webgrad/tensor';
import * as nn from '@webgrad/nn';

describe('fit and evaluate take a Dataset', () => {
  it('a TensorDataset trains like the same batches given as an array', async () => {
    wg.manualSeed(1);
    const x = wg.randn([10, 4]);
    const y = wg.tensor([0, 1, 0, 1, 1, 0, 0, 1, 1, 0], { dtype: 'int32' });
    const run = async (data: nn.TrainingData) => {
      wg.manualSeed(2);
      const model = new nn.Linear(4, 2);
      const history = await nn.fit(model, data, { optimizer: new nn.SGD(model.parameters(), { lr: 0.1 }), epochs: 2, batchSize: 4, progress: 'none', log: () => {} });
      return { losses: history.epochs.map((e) => e.trainLoss), weight: [...model.weight.dataSync()], evaluated: await nn.evaluate(model, data, { batchSize: 4 }) };
    };
    const batches = [0, 4, 8].map((s) => [x.narrow(0, s, Math.min(4, 10 - s)), y.narrow(0, s, Math.min(4, 10 - s))] as const);
    const fromDataset = await run(new wg.TensorDataset(x, y));
    const fromArray = await run(batches);
    expect(fromDataset.losses).toEqual(fromArray.losses);
    expect(fromDataset.weight).toEqual(fromArray.weight);
    expect(fromDataset.evaluated.count).toBe(10);
    expect(fromDataset.evaluated.loss).toBeCloseTo(fromArray.evaluated.loss, 6);
  });
});
