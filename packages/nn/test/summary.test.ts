import { describe, expect, it } from 'vitest';
import * as wg from '@webgrad/tensor';
import * as nn from '@webgrad/nn';

describe('model.summary(inputShape), like torchinfo', () => {
  const model = () =>
    new nn.Sequential(new nn.Conv2d(3, 4, 3, { padding: 1 }), new nn.BatchNorm2d(4), new nn.ReLU(), new nn.MaxPool2d(2), new nn.Flatten(), new nn.Linear(4 * 4 * 4, 5));

  it('lists every layer call with its output shape and parameter count', () => {
    const s = model().summary([2, 3, 8, 8]);
    expect(s.rows.map((r) => [r.name, r.type, r.depth, r.outputShape, r.params])).toEqual([
      ['', 'Sequential', 0, [2, 5], 0],
      ['0', 'Conv2d', 1, [2, 4, 8, 8], 3 * 4 * 9 + 4],
      ['1', 'BatchNorm2d', 1, [2, 4, 8, 8], 8],
      ['2', 'ReLU', 1, [2, 4, 8, 8], 0],
      ['3', 'MaxPool2d', 1, [2, 4, 4, 4], 0],
      ['4', 'Flatten', 1, [2, 64], 0],
      ['5', 'Linear', 1, [2, 5], 64 * 5 + 5],
    ]);
    expect(s.totalParams).toBe(112 + 8 + 325);
    const text = String(s);
    expect(text).toMatch(/├─0: Conv2d\s+\[2, 4, 8, 8\]\s+112\n/);
    expect(text).toMatch(/├─5: Linear\s+\[2, 5\]\s+325\n/);
    expect(text).toContain('Total params: 445\nTrainable params: 445\nNon-trainable params: 0');
  });

  it('nests submodules, folds them into their parent past `depth`, and counts frozen parameters', () => {
    const block = () => new nn.Sequential(new nn.Conv2d(2, 2, 3, { padding: 1 }), new nn.ReLU());
    const net = new nn.Sequential(new nn.Sequential(block(), block()), new nn.Flatten(), new nn.Linear(2 * 4 * 4, 3));
    const fc = net.modules().find((m) => m instanceof nn.Linear) as nn.Linear;
    fc.weight.requiresGrad_(false);
    const s = net.summary([1, 2, 4, 4], { depth: 1 });
    const inner = s.rows.find((r) => r.name === '0.1.0')!;
    expect([inner.type, inner.depth, inner.outputShape, inner.params]).toEqual(['Conv2d', 3, [1, 2, 4, 4], 38]);
    const text = String(s);
    expect(text).not.toContain('Conv2d');
    expect(text).toMatch(/├─0: Sequential\s+\[1, 2, 4, 4\]\s+76\n/);
    expect(text).toContain('Non-trainable params: 96');
    expect(String(net.summary([1, 2, 4, 4]))).toMatch(/│ │ ├─0: Conv2d\s+\[1, 2, 4, 4\]\s+38\n/);
  });

  it('leaves the model as it was: modes, running statistics, no graph, no leaked tensors', () => {
    const m = model();
    m.train();
    const bn = m.modules().find((x) => x instanceof nn.BatchNorm2d) as nn.BatchNorm2d;
    const before = bn.runningMean!.dataSync().slice();
    const live = wg.memoryStats().liveTensors;
    m.summary([1, 3, 8, 8]);
    expect(m.modules().every((x) => x.training)).toBe(true);
    expect(Object.hasOwn(m, 'forward')).toBe(false);
    expect([...bn.runningMean!.dataSync()]).toEqual([...before]);
    expect(wg.memoryStats().liveTensors).toBe(live);
  });

  it('a bad input shape names the problem', () => {
    expect(() => model().summary([3, 8, 8])).toThrow(/summary: the forward pass on an input of shape \[3, 8, 8\] failed/);
    expect(() => model().summary([1, 3, 8.5, 8])).toThrow(/inputShape must be an array of positive integers/);
  });
});
