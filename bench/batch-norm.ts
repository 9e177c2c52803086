/**
 * `npm run bench -- batchnorm`: batch norm with its neighbours fused (Backend.batchNorm's
 * epilogue and running statistics, batchNormBackward's prologue) against the separate
 * calls, at [64, 32, 32, 32] (a ResNet-18 stage-1 activation): forward bn + relu, the
 * residual block's relu(bn + shortcut) with the running statistics (asked of batchNorm on
 * both sides: there is no separate call for them), backward reluGrad +
 * bnBackward. On the cpu (WASM, 1 thread and every thread) and on webgpu where an adapter
 * is (lavapipe in CI: a CPU, so the numbers are memory traffic, not launches). ms per call,
 * median; webgpu times include a read of one value, to wait for the queue.
 */
import * as wg from '@webgrad/tensor';
import type { Backend, DType, Storage } from '@webgrad/tensor';
import { printTable, time } from './util';

const SHAPE = [64, 32, 32, 32];
const SIZE = SHAPE.reduce((a, b) => a * b, 1);
const P = { n: 64, c: 32, s: 32 * 32, eps: 1e-5 };
const F32: DType = 'float32';

interface Case { name: string; unfused: () => Storage[]; fused: () => Storage[] }

function cases(b: Backend): { list: Case[]; done: () => void } {
  const made: Storage[] = [];
  const up = (a: Float32Array) => {
    const s = b.upload(a, F32);
    made.push(s);
    return s;
  };
  const rand = (n: number) => up(Float32Array.from({ length: n }, () => Math.random() * 4 - 2));
  const op = (name: string) => wg.elementwiseOps.get(name)!.op;
  const relu = op('relu'), add = op('add'), reluGrad = op('reluGrad');
  const x = rand(SIZE), shortcut = rand(SIZE), gy = rand(SIZE), w = rand(P.c), bias = rand(P.c);
  const rm = rand(P.c), rv = up(new Float32Array(P.c).fill(1));
  const y = b.batchNorm(x, w, bias, P, F32, { op: relu });
  made.push(y.y, y.mean, y.invstd);
  const running = { mean: rm, var: rv, momentum: 0.1, count: P.n * P.s };
  const list: Case[] = [
    {
      name: 'forward bn + relu',
      unfused: () => {
        const r = b.batchNorm(x, w, bias, P, F32);
        const out = b.unary(relu, r.y, SIZE, F32, F32, 0, 0);
        b.dispose(r.y);
        return [out, r.mean, r.invstd];
      },
      fused: () => {
        const r = b.batchNorm(x, w, bias, P, F32, { op: relu });
        return [r.y, r.mean, r.invstd];
      },
    },
    {
      name: 'forward relu(bn + shortcut) + running stats',
      unfused: () => {
        const r = b.batchNorm(x, w, bias, { ...P, running }, F32);
        const sum = b.binary(add, r.y, SHAPE, shortcut, SHAPE, SHAPE, F32, F32);
        const out = b.unary(relu, sum, SIZE, F32, F32, 0, 0);
        b.dispose(r.y);
        b.dispose(sum);
        return [out, r.mean, r.invstd, r.runningMean!, r.runningVar!];
      },
      fused: () => {
        const r = b.batchNorm(x, w, bias, { ...P, running }, F32, [{ op: add, residual: shortcut }, { op: relu }]);
        return [r.y, r.mean, r.invstd, r.runningMean!, r.runningVar!];
      },
    },
    {
      name: 'backward reluGrad + bnBackward',
      unfused: () => {
        const g = b.binary(reluGrad, gy, SHAPE, y.y, SHAPE, SHAPE, F32, F32);
        const r = b.batchNormBackward(g, x, y.mean, y.invstd, w, P, F32);
        b.dispose(g);
        return [r.gx, r.gweight, r.gbias];
      },
      fused: () => {
        const r = b.batchNormBackward(gy, x, y.mean, y.invstd, w, P, F32, { op: reluGrad, y: y.y });
        return [r.gx, r.gweight, r.gbias];
      },
    },
  ];
  return { list, done: () => made.splice(0).forEach((s) => b.dispose(s)) };
}

/** Median ms of one call, its results read back (one value) on webgpu so the queue has finished. */
async function timed(b: Backend, run: () => Storage[]): Promise<number> {
  const t = await time(async () => {
    const out = run();
    if (b.name === 'webgpu') await b.read(out[0], 1, F32);
    out.forEach((s) => b.dispose(s));
  }, { warmup: 2, repeats: 15, budgetMs: 8_000 });
  return t.medianMs;
}

export async function benchBatchNorm(): Promise<object> {
  const threads = wg.cpuThreads();
  const columns: [string, () => Promise<Backend>][] = [
    ['WASM 1 thread', async () => (await wg.useDevice('cpu', { threads: 1 }), wg.getBackend('cpu'))],
    [`WASM ${threads} threads`, async () => (await wg.useDevice('cpu', { threads }), wg.getBackend('cpu'))],
  ];
  try {
    const info = await wg.useDevice('webgpu');
    columns.push([`webgpu (${info.description})`, async () => wg.getBackend('webgpu')]);
  } catch (err) {
    console.log(`webgpu unavailable: ${(err as Error).message.split('\n')[0]}`);
  }
  const rows: Record<string, string | number>[] = [];
  for (const [column, open] of columns) {
    const b = await open();
    const { list, done } = cases(b);
    for (const c of list) {
      const unfused = await timed(b, c.unfused), fused = await timed(b, c.fused);
      rows.push({ backend: column, workload: `${c.name} [${SHAPE}]`, 'unfused ms': +unfused.toFixed(3), 'fused ms': +fused.toFixed(3), speedup: +(unfused / fused).toFixed(2) });
    }
    done();
  }
  await wg.useDevice('cpu', { threads });
  printTable('batch norm fusion: fused against the separate calls', rows);
  return { threads, rows };
}
