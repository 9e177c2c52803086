import { describe, expect, it } from 'vitest';
import * as wg from '@webgrad/tensor';
import * as nn from '@webgrad/nn';

class Net extends nn.Module {
  conv = new nn.Conv2d(3, 4, 3, { padding: 1 });
  bn = new nn.BatchNorm2d(4);
  blocks = [new nn.Linear(4, 4), new nn.Linear(4, 2)];
  scale = new nn.Parameter(wg.ones([1]));
  forward(x: wg.Tensor): wg.Tensor {
    let y = this.bn.forward(this.conv.forward(x)).mean([2, 3]);
    for (const b of this.blocks) y = b.forward(y);
    return y.mul(this.scale);
  }
}

describe('Module', () => {
  it('finds parameters, buffers and children from its properties, in PyTorch order', () => {
    const net = new Net();
    expect(net.namedParameters().map(([n]) => n)).toEqual([
      'scale', 'conv.weight', 'conv.bias', 'bn.weight', 'bn.bias', 'blocks.0.weight', 'blocks.0.bias', 'blocks.1.weight', 'blocks.1.bias',
    ]);
    expect(net.namedBuffers().map(([n]) => n)).toEqual(['bn.runningMean', 'bn.runningVar', 'bn.numBatchesTracked']);
    expect(net.namedChildren().map(([n]) => n)).toEqual(['conv', 'bn', 'blocks.0', 'blocks.1']);
    expect(net.children()).toHaveLength(4);
    expect(net.parameters().every((p) => p instanceof nn.Parameter && p.requiresGrad && p.isLeaf)).toBe(true);
    expect(net.numParameters()).toBe(1 + 112 + 8 + 20 + 10);
    expect(Object.keys(net.stateDict())).toEqual([
      'scale', 'conv.weight', 'conv.bias', 'bn.weight', 'bn.bias', 'bn.runningMean', 'bn.runningVar', 'bn.numBatchesTracked',
      'blocks.0.weight', 'blocks.0.bias', 'blocks.1.weight', 'blocks.1.bias',
    ]);
  });

  it('counts a shared parameter once and Sequential names children 0, 1, ...', () => {
    const lin = new nn.Linear(3, 3);
    const seq = new nn.Sequential(lin, new nn.ReLU(), lin);
    expect(seq.namedParameters().map(([n]) => n)).toEqual(['0.weight', '0.bias']);
    expect(seq.length).toBe(3);
    expect(seq.at(1)).toBeInstanceOf(nn.ReLU);
  });

  it('train() and eval() set every submodule', () => {
    const net = new Net();
    net.eval();
    expect(net.modules().every((m) => !m.training)).toBe(true);
    net.train();
    expect(net.modules().every((m) => m.training)).toBe(true);
  });

  it('parameters survive tidy() and a training step leaves memory flat', () => {
    wg.manualSeed(1);
    let net!: Net;
    wg.tidy(() => void (net = new Net()));
    const x = wg.randn([2, 3, 5, 5]);
    const opt = new nn.SGD(net.parameters(), { lr: 0.1, momentum: 0.9 });
    const step = () =>
      wg.tidy(() => {
        opt.zeroGrad();
        net.forward(x).sum().backward();
        opt.step();
      });
    step();
    const before = wg.memoryStats();
    for (let i = 0; i < 3; i++) step();
    const after = wg.memoryStats();
    expect(after.liveTensors).toBe(before.liveTensors);
    expect(after.liveBuffers).toBe(before.liveBuffers);
    expect(after.bytes).toBe(before.bytes);
    opt.zeroGrad();
    net.dispose();
    x.dispose();
  });

  it('loadStateDict copies values (no sharing), and says exactly what differs', () => {
    wg.manualSeed(2);
    const a = new Net();
    const b = new Net();
    const res = b.loadStateDict(a.stateDict());
    expect(res).toEqual({ missingKeys: [], unexpectedKeys: [] });
    expect(b.conv.weight.dataSync()).toEqual(a.conv.weight.dataSync());
    expect(b.conv.weight).not.toBe(a.conv.weight);
    // Updating one must not move the other.
    nn.init.zeros_(a.conv.weight);
    expect(b.conv.weight.dataSync().some((v) => v !== 0)).toBe(true);

    const wrong = { ...a.stateDict(), 'conv.weight': wg.zeros([5, 3, 3, 3]), extra: wg.zeros([1]) };
    delete (wrong as Record<string, unknown>)['bn.bias'];
    let message = '';
    try {
      b.loadStateDict(wrong);
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toContain('conv.weight: shape [5,3,3,3] in the state, [4,3,3,3] in the model');
    expect(message).toContain('missing from the state: bn.bias');
    expect(message).toContain('not in the model: extra');
    const dtype = { ...a.stateDict(), 'bn.numBatchesTracked': wg.zeros([]) };
    expect(() => b.loadStateDict(dtype)).toThrow('bn.numBatchesTracked: dtype float32 in the state, int32 in the model');
    // Non-strict loading ignores key differences but never shape differences.
    const partial = { 'conv.bias': wg.ones([4]), other: wg.ones([2]) };
    expect(b.loadStateDict(partial, { strict: false })).toEqual({
      missingKeys: Object.keys(b.stateDict()).filter((k) => k !== 'conv.bias'),
      unexpectedKeys: ['other'],
    });
    expect(Array.from(b.conv.bias!.dataSync())).toEqual([1, 1, 1, 1]);
  });

  it('toString() reads like PyTorch with parameter counts', () => {
    const s = nn.simpleCnn({ blocks: 1, channels: 8, inputSize: 8 }).toString();
    expect(s).toContain('Sequential(  # 1,530');
    expect(s).toContain('(0): Conv2d(3, 8, kernelSize=[3,3], stride=[1,1], padding=[1,1])  # 224');
    expect(s).toContain('(1): BatchNorm2d(8, eps=0.00001, momentum=0.1)  # 16');
    expect(s).toContain('(2): ReLU()');
    expect(s).toContain('(2): Linear(inFeatures=128, outFeatures=10)  # 1,290');
    expect(s.trim().split('\n').at(-1)).toBe('Total: 1,530 parameters');
  });

  it('to(device) moves parameters and buffers, keeps names, and the optimizer says when it was built too early', () => {
    wg.registerBackend({ ...wg.cpuBackend, name: 'cpu2', description: 'a second cpu' });
    wg.manualSeed(3);
    const net = new Net();
    const early = new nn.SGD(net.parameters(), { lr: 0.1 });
    const before = Object.fromEntries(Object.entries(net.stateDict()).map(([k, t]) => [k, Array.from(t.dataSync())]));
    expect(net.to('cpu2')).toBe(net);
    const sd = net.stateDict();
    for (const [k, t] of Object.entries(sd)) {
      expect(t.device, k).toBe('cpu2');
      expect(Array.from(t.dataSync()), k).toEqual(before[k]);
    }
    expect(net.conv.weight).toBeInstanceOf(nn.Parameter);
    expect(net.conv.weight.requiresGrad).toBe(true);
    const x = wg.randn([2, 3, 4, 4], { device: 'cpu2' });
    const opt = new nn.SGD(net.parameters(), { lr: 0.1 });
    net.forward(x).sum().backward();
    opt.step();
    expect(net.bn.runningMean!.device).toBe('cpu2');
    expect(() => early.step()).toThrow(/was disposed; model.to\(device\) replaces the parameters, so create the optimizer after moving the model/);
    net.to('cpu');
    expect(net.parameters().every((p) => p.device === 'cpu')).toBe(true);
  });

  it('toAsync(device) moves too', async () => {
    const net = new Net();
    await net.toAsync('cpu2');
    expect(net.buffers().every((b) => b.device === 'cpu2')).toBe(true);
    await net.toAsync('cpu');
    expect(net.parameters().every((p) => p.device === 'cpu')).toBe(true);
  });
});
