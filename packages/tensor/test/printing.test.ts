import { inspect } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import * as wg from '@webgrad/tensor';

afterEach(() => wg.setPrintOptions());

describe('tensors print like PyTorch', () => {
  it('a float matrix: fixed four decimals, right-aligned columns', () => {
    expect(String(wg.tensor([[0.12341, -1], [2.5, 3]]))).toBe('tensor([[ 0.1234, -1.0000],\n        [ 2.5000,  3.0000]])');
  });
  it('whole floats as `1.`, ints plain with their dtype, scalars bare', () => {
    expect(String(wg.tensor([1, 2, 3]))).toBe('tensor([1., 2., 3.])');
    expect(String(wg.tensor([[1, -20], [3, 4]], { dtype: 'int32' }))).toBe('tensor([[  1, -20],\n        [  3,   4]], dtype=int32)');
    expect(String(wg.tensor(3.5))).toBe('tensor(3.5000)');
    expect(String(wg.zeros([0, 3]))).toBe('tensor([], shape=[0, 3])');
  });
  it('scientific when magnitudes span too far, with nan and inf', () => {
    expect(String(wg.tensor([1e-6, 1, 1e5, NaN, -Infinity]))).toBe('tensor([1.0000e-06, 1.0000e+00, 1.0000e+05,        nan,       -inf])');
  });
  it('3-D tensors separate matrices with a blank line', () => {
    expect(String(wg.arange(0, 8).reshape([2, 2, 2]))).toBe('tensor([[[0, 1],\n         [2, 3]],\n\n        [[4, 5],\n         [6, 7]]], dtype=int32)');
  });
  it('summarises past the threshold with ... in every long dim', () => {
    const s = String(wg.arange(0, 2000).reshape([40, 50]));
    expect(s.split('\n')).toEqual([
      'tensor([[   0,    1,    2,  ...,   47,   48,   49],',
      '        [  50,   51,   52,  ...,   97,   98,   99],',
      '        [ 100,  101,  102,  ...,  147,  148,  149],',
      '        ...,',
      '        [1850, 1851, 1852,  ..., 1897, 1898, 1899],',
      '        [1900, 1901, 1902,  ..., 1947, 1948, 1949],',
      '        [1950, 1951, 1952,  ..., 1997, 1998, 1999]], dtype=int32)',
    ]);
    wg.setPrintOptions({ threshold: 10, edgeItems: 1 });
    expect(String(wg.arange(0, 20))).toBe('tensor([ 0,  ..., 19], dtype=int32)');
  });
  it('long rows wrap at the line width', () => {
    const lines = String(wg.arange(0, 30).float()).split('\n');
    expect(lines.length).toBeGreaterThan(1);
    expect(lines.every((l) => l.length <= 80)).toBe(true);
    expect(lines[1].startsWith('        ')).toBe(true);
  });
  it('autograd state: requiresGrad on leaves, gradFn on results', () => {
    const x = wg.tensor([1.5, 2], { requiresGrad: true });
    expect(String(x)).toBe('tensor([1.5000, 2.0000], requiresGrad=true)');
    expect(String(x.mul(2))).toBe('tensor([3., 4.], gradFn=<mul>)');
  });
  it('console.log shows the values, not the fields', () => {
    const s = inspect(wg.tensor([1, 2]));
    expect(s).toBe('tensor([1., 2.])');
    expect(s).not.toMatch(/_node|box|id:/);
  });
  it('format() and print() read from any device', async () => {
    const t = wg.tensor([0.5, 0.25]);
    await expect(t.format({ precision: 2 })).resolves.toBe('tensor([0.50, 0.25])');
    const logged: unknown[] = [];
    const orig = console.log;
    console.log = (...a: unknown[]) => void logged.push(...a);
    try {
      await t.print();
    } finally {
      console.log = orig;
    }
    expect(logged).toEqual(['tensor([0.5000, 0.2500])']);
  });
  it('a disposed tensor and a tensor that cannot be read synchronously say so', () => {
    const t = wg.tensor([1, 2]);
    t.dispose();
    expect(String(t)).toBe('tensor(<disposed>, shape=[2])');
    const gpuLike: wg.Backend = { ...wg.cpuBackend, name: 'fakegpu', readSync: undefined };
    wg.registerBackend(gpuLike);
    const g = wg.tensor([1, 2], { device: 'fakegpu' });
    expect(String(g)).toMatch(/^tensor\(<on a GPU: await t\.format\(\) or t\.print\(\) to read the values>, shape=\[2\], device='fakegpu'\)$/);
  });
});
