import { describe, expect, it } from 'vitest';
import * as wg from '@webgrad/tensor';
import * as nn from '@webgrad/nn';

const outShape = (m: nn.Module, x: number[]) => wg.tidy(() => wg.noGrad(() => m.eval().forward(wg.randn(x)).shape));

describe('the lab\'s models: output shapes and parameter counts', () => {
  it('simpleCnn: 3 blocks of 32/64/128', () => {
    const m = nn.simpleCnn({ blocks: 3, channels: [32, 64, 128] });
    expect(m.numParameters()).toBe(896 + 64 + 18496 + 128 + 73856 + 256 + (128 * 4 * 4 * 10 + 10));
    expect(outShape(m, [2, 3, 32, 32])).toEqual([2, 10]);
    const two = nn.simpleCnn({ blocks: 2, channels: [16, 32], numClasses: 3, inChannels: 1, inputSize: 28 });
    expect(two.numParameters()).toBe(16 * 9 + 16 + 32 + 32 * 16 * 9 + 32 + 64 + (32 * 7 * 7 * 3 + 3));
    expect(outShape(two, [4, 1, 28, 28])).toEqual([4, 3]);
  });

  it('dilatedCnn [1, 2, 5]: 32 → 30 → 26 → 16, pooled to 1×1, then Linear', () => {
    expect(nn.dilatedCnnSizes(32, [1, 2, 5])).toEqual([32, 30, 26, 16]);
    const m = nn.dilatedCnn({ dilations: [1, 2, 5], channels: [32, 64, 128] });
    expect(m.numParameters()).toBe(896 + 64 + 18496 + 128 + 73856 + 256 + 1290);
    const x = wg.randn([1, 3, 32, 32]);
    const sizes: number[] = [];
    wg.noGrad(() => {
      let y = x;
      for (let i = 0; i < m.length; i++) {
        y = m.at(i).forward(y);
        if (m.at(i) instanceof nn.Conv2d) sizes.push(y.shape[2]);
      }
      expect(y.shape).toEqual([1, 10]);
    });
    expect(sizes).toEqual([30, 26, 16]);
    expect(() => nn.dilatedCnn({ dilations: [8, 8, 8] })).toThrow('shrinks below 1×1');
  });

  it('resnet18 has 11,173,962 parameters at width 64; plainNet18 has no shortcuts', () => {
    const r = nn.resnet18({ numClasses: 10 });
    expect(r.numParameters()).toBe(11_173_962);
    const names = r.namedParameters().map(([n]) => n);
    expect(names).toContain('layer2.0.downsample.0.weight');
    expect(names).toContain('layer4.1.conv2.weight');
    expect(names.at(-1)).toBe('fc.bias');
    r.dispose();
    const p = nn.plainNet18({ numClasses: 10 });
    expect(p.numParameters()).toBe(11_173_962 - (8192 + 256) - (32768 + 512) - (131072 + 1024));
    expect(p.namedParameters().some(([n]) => n.includes('downsample'))).toBe(false);
    p.dispose();
    const small = nn.resnet18({ width: 8, numClasses: 5 });
    expect(outShape(small, [2, 3, 32, 32])).toEqual([2, 5]);
  });

  it('BasicBlock: 1×1 shortcut only when stride or channels change; addition before the final ReLU', () => {
    expect(new nn.BasicBlock(8, 8).downsample).toBeNull();
    expect(new nn.BasicBlock(8, 16).downsample).not.toBeNull();
    expect(new nn.BasicBlock(8, 8, { stride: 2 }).downsample).not.toBeNull();
    const b = new nn.BasicBlock(4, 4);
    // With the residual branch zeroed, the block is relu(x): the sum comes before the activation.
    nn.init.zeros_(b.bn2.weight!);
    const x = wg.randn([1, 4, 5, 5]);
    expect(Array.from(wg.noGrad(() => b.forward(x)).dataSync())).toEqual(Array.from(x.relu().dataSync()));
  });

  it('dilatedResNet: residual + HDC dilations', () => {
    const m = nn.dilatedResNet({ width: 8, numClasses: 10 });
    expect(m.numParameters()).toBe(216 + 16 + 1184 + 3680 + 3 * 4672 + 170);
    expect(outShape(m, [2, 3, 32, 32])).toEqual([2, 10]);
    expect(() => nn.dilatedResNet({ dilations: [1, 2, 5] })).toThrow('pairs');
  });

  it('alexnet: 62,378,344 parameters at 227×227 and 1000 classes; a reduced form for 32×32', () => {
    const full = nn.alexnet({ numClasses: 1000, inputSize: 227 });
    expect(full.numParameters()).toBe(62_378_344);
    full.dispose();
    const small = nn.alexnet({ numClasses: 10, inputSize: 32, width: 0.125 });
    expect(outShape(small, [2, 3, 32, 32])).toEqual([2, 10]);
    expect(small.numParameters()).toBe(
      (12 * 3 * 9 + 12) + (32 * 12 * 25 + 32) + (48 * 32 * 9 + 48) + (48 * 48 * 9 + 48) + (32 * 48 * 9 + 32) + (32 * 4 * 4 * 512 + 512) + (512 * 512 + 512) + (512 * 10 + 10),
    );
    const mid = nn.alexnet({ numClasses: 3, inputSize: 227, width: 0.0625 });
    expect(outShape(mid, [1, 3, 227, 227])).toEqual([1, 3]);
  });

  it('mlp', () => {
    const m = nn.mlp({ sizes: [3072, 512, 256, 10] });
    expect(m.numParameters()).toBe(1_707_274);
    expect(outShape(m, [2, 3, 32, 32])).toEqual([2, 10]);
  });
});

describe('HDC tools (LAB.md §3)', () => {
  it('[1, 2, 5] with k = 3 passes with M_2 = 2, worked as the lab does', () => {
    const v = nn.checkHDC([1, 2, 5], 3);
    expect(v.ok).toBe(true);
    expect(v.rules.map((r) => r.ok)).toEqual([true, true, true]);
    expect(v.M).toEqual({ 3: 5, 2: 2 });
    expect(v.M2).toBe(2);
    expect(v.chain).toEqual(['M_3 = r_3 = 5', 'M_2 = max(5 − 2·2, 5 − 2·(5 − 2), 2) = max(1, -1, 2) = 2']);
    const saw = nn.checkHDC([1, 2, 5, 1, 2, 5], 3);
    expect(saw.ok).toBe(true);
    expect(saw.groups.map((g) => g.M2)).toEqual([2, 2]);
    expect(nn.checkHDC([1, 2, 5, 1, 2, 5], 3).rules[1].detail).toBe('rising groups: [1, 2, 5] [1, 2, 5]');
    expect(nn.checkHDC([5, 2, 1], 3).rules[1].ok).toBe(false);
  });

  it('[2, 4, 6] fails rule 1; [1, 2, 9] with k = 3 fails rule 3', () => {
    const a = nn.checkHDC([2, 4, 6], 3);
    expect(a.ok).toBe(false);
    expect(a.rules[0].ok).toBe(false);
    expect(a.rules[0].detail).toContain('gcd(2, 4, 6) = 2');
    const b = nn.checkHDC([1, 2, 9], 3);
    expect(b.rules.map((r) => r.ok)).toEqual([true, true, false]);
    expect(b.M2).toBe(5);
    expect(nn.checkHDC([2, 2, 2], 3).rules[1].ok).toBe(false);
  });

  it('receptiveField (WaveNet: 5 inputs ordinary, 16 dilated) and convOutputSize', () => {
    expect(nn.receptiveField([1, 1, 1, 1].map((d) => ({ kernelSize: 2, dilation: d }))).size).toBe(5);
    expect(nn.receptiveField([1, 2, 4, 8].map((d) => ({ kernelSize: 2, dilation: d }))).size).toBe(16);
    expect(nn.receptiveField([1, 2, 5].map((d) => ({ kernelSize: 3, dilation: d }))).size).toBe(17);
    expect(nn.convOutputSize(3, 2)).toBe(2);
    expect(nn.convOutputSize(32, 3, 1, 2)).toBe(16);
    expect(nn.convOutputSize(26, 3, 0, 1, 5)).toBe(16);
    expect(nn.convOutputSize(227, 11, 0, 4)).toBe(55);
  });
});
