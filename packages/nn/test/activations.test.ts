/**
 * The activation layers against PyTorch's (fixtures/make_activations.py writes the golden
 * values): output and input gradient within 1e-4 relative in float64; in float32, 1e-3 (the
 * tails' gradients are differences of nearly equal float32 values, e.g. 1 − tanh²).
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import * as wg from '@webgrad/tensor';
import * as nn from '@webgrad/nn';

interface Case { layer: string; args: (number | string)[]; x: { shape: number[]; data: number[] }; upstream: number[]; output: number[]; grad: number[] }
const { cases } = JSON.parse(readFileSync(new URL('./fixtures/activations.json', import.meta.url), 'utf8')) as { cases: Case[] };

type Ctor = new (...args: (number | string)[]) => nn.Module;

function expectNear(actual: ArrayLike<number>, expected: number[], tol: number, what: string): void {
  expect(actual.length, what).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    expect(Math.abs(actual[i] - expected[i]) / (1e-3 + Math.abs(expected[i])), `${what} [${i}]: ${actual[i]} vs ${expected[i]}`).toBeLessThan(tol);
  }
}

describe('activation layers equal PyTorch', () => {
  for (const c of cases) {
    for (const dtype of ['float64', 'float32'] as const) {
      it(`${c.layer}(${c.args.join(', ')}) ${dtype}`, async () => {
        const layer = new (nn as unknown as Record<string, Ctor>)[c.layer](...c.args);
        const x = wg.tensor(c.x.data, c.x.shape, { dtype, requiresGrad: true });
        const out = layer.forward(x);
        out.backward(wg.tensor(c.upstream, c.x.shape, { dtype }));
        const tol = dtype === 'float64' ? 1e-4 : 1e-3;
        expectNear(await out.data(), c.output, tol, 'output');
        expectNear(await x.grad!.data(), c.grad, tol, 'gradient');
      });
    }
  }

  it('GELU names its approximation and rejects unknown ones', () => {
    expect(new nn.GELU('tanh').toString()).toContain("approximate='tanh'");
    expect(() => new nn.GELU('fast' as 'tanh')).toThrow(/approximate must be 'none' or 'tanh'/);
    expect(() => new nn.Hardtanh(1, -1)).toThrow(/minVal \(1\) is greater than maxVal \(-1\)/);
  });

  it('F.gelu takes PyTorch\'s approximate option', async () => {
    const x = wg.tensor([-1, 0.5, 2]);
    expect(Array.from(await nn.F.gelu(x, { approximate: 'tanh' }).data())).toEqual(Array.from(await wg.geluTanh(x).data()));
    expect(Array.from(await nn.F.gelu(x).data())).toEqual(Array.from(await wg.gelu(x).data()));
  });
});
