/**
 * Golden values from PyTorch (test/fixtures/make_fixtures.py writes golden.json): outputs and
 * every input gradient of d(sum(output · upstream)) within 1e-4 relative, in float64.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import * as wg from '@webgrad/tensor';
import type { Tensor } from '@webgrad/tensor';

interface Arr { shape: number[]; data: number[]; dtype?: string }
interface Case {
  name: string;
  op: string;
  options: Record<string, any>;
  inputs: Record<string, Arr | null>;
  upstream: Arr;
  output: Arr;
  grads: Record<string, Arr>;
  [extra: string]: unknown;
}

const cases: Case[] = JSON.parse(readFileSync(new URL('./fixtures/golden.json', import.meta.url), 'utf8')).cases;

type Run = (t: Record<string, Tensor>, o: Record<string, any>) => Tensor;
const conv = (f: typeof wg.conv2d): Run => (t, o) => f(t.x, t.weight, t.bias ?? null, o);
const pool = (f: typeof wg.maxPool2d): Run => (t, o) => f(t.x, o.kernelSize, o);

const ops: Record<string, Run> = {
  conv1d: conv(wg.conv1d),
  conv2d: conv(wg.conv2d),
  conv3d: conv(wg.conv3d),
  maxPool1d: pool(wg.maxPool1d),
  maxPool2d: pool(wg.maxPool2d),
  maxPool3d: pool(wg.maxPool3d),
  avgPool1d: pool(wg.avgPool1d),
  avgPool2d: pool(wg.avgPool2d),
  avgPool3d: pool(wg.avgPool3d),
  adaptiveAvgPool2d: (t, o) => wg.adaptiveAvgPool2d(t.x, o.outputSize),
  softmax: (t, o) => wg.softmax(t.x, o.dim),
  logSoftmax: (t, o) => wg.logSoftmax(t.x, o.dim),
  crossEntropy: (t, o) => wg.crossEntropy(t.x, t.target, o),
  batchNorm: (t, o) => wg.batchNorm(t.x, t.runningMean ?? null, t.runningVar ?? null, t.weight ?? null, t.bias ?? null, o),
};

function close(actual: ArrayLike<number>, expected: Arr, what: string): void {
  expect(actual.length, `${what}: element count`).toBe(expected.data.length);
  for (let i = 0; i < expected.data.length; i++) {
    const e = expected.data[i];
    const err = Math.abs(actual[i] - e) / Math.max(1, Math.abs(e));
    if (!(err < 1e-4)) expect.fail(`${what}[${i}]: got ${actual[i]}, PyTorch ${e}`);
  }
}

const opName = (c: Case) => (c.op.replace(/_(\w)/g, (_, ch: string) => ch.toUpperCase()));

describe('golden values from PyTorch', () => {
  it('covers every op family the issue names', () => {
    const seen = new Set(cases.map(opName));
    for (const op of ['conv1d', 'conv2d', 'conv3d', 'maxPool2d', 'avgPool2d', 'batchNorm', 'crossEntropy']) expect(seen).toContain(op);
  });
  for (const c of cases) {
    it(c.name, () => {
      const run = ops[opName(c)];
      if (!run) throw new Error(`no mapping for fixture op '${c.op}'`);
      const t: Record<string, Tensor> = {};
      for (const [name, a] of Object.entries(c.inputs)) {
        if (!a) continue;
        const isInt = a.dtype === 'int32' || a.dtype === 'int64';
        t[name] = wg.tensor(a.data, a.shape, { dtype: isInt ? 'int32' : 'float64' });
        if (!isInt && c.grads[name]) t[name].requiresGrad_();
      }
      const out = run(t, c.options ?? {});
      expect(out.shape).toEqual(c.output.shape);
      close(out.dataSync(), c.output, 'output');
      out.backward(wg.tensor(c.upstream.data, c.upstream.shape, { dtype: 'float64' }));
      for (const [name, g] of Object.entries(c.grads)) close(t[name].grad!.dataSync(), g, `grad ${name}`);
      for (const key of ['runningMeanAfter', 'runningVarAfter', 'running_mean_after', 'running_var_after']) {
        const expected = c[key] as Arr | undefined;
        if (!expected) continue;
        const holder = key.toLowerCase().includes('mean') ? t.runningMean : t.runningVar;
        close(holder.dataSync(), expected, key);
      }
    });
  }
});
