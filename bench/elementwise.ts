/**
 * `npm run bench -- elementwise`: elementwise ops of a training step at 1M float32 elements
 * (64×32×32×16) on the cpu backend: the JavaScript loops rendered from the op table, and
 * the WASM SIMD kernels rendered from the same table on 1 thread and on every thread.
 */
import * as wg from '@webgrad/tensor';
import type { Backend, Storage } from '@webgrad/tensor';
import { printTable, time } from './util';

const SHAPE = [64, 32, 32, 16];
const CHANNEL = [1, 32, 1, 1];
const N = SHAPE.reduce((a, b) => a * b, 1);

/** [row name, op name, second operand's shape (binary)]. */
const CASES: [string, string, number[] | null][] = [
  ['relu', 'relu', null],
  ["relu's backward (reluGrad)", 'reluGrad', SHAPE],
  ['mul, same shape', 'mul', SHAPE],
  ['add NCHW + [C,1,1]', 'add', CHANNEL],
  ['sigmoid', 'sigmoid', null],
  ['gelu (erf)', 'gelu', null],
];

async function timeCase(b: Backend, opName: string, yShape: number[] | null, x: Storage, y: Storage | null): Promise<number> {
  const op = wg.elementwiseOps.get(opName)!.op;
  const run = () => (yShape ? b.binary(op, x, SHAPE, y!, yShape, SHAPE, 'float32', 'float32') : b.unary(op, x, N, 'float32', 'float32', 0, 0));
  const t = await time(() => b.dispose(run()), { warmup: 2, repeats: 15, budgetMs: 5_000 });
  return t.medianMs;
}

export async function benchElementwise(): Promise<object> {
  const cpu = wg.getBackend('cpu');
  const all = wg.cpuThreads();
  const columns: [string, Backend, number][] = [['JS loops', wg.cpuReferenceBackend, 1], ['WASM 1 thread', cpu, 1], [`WASM ${all} threads`, cpu, all]];
  const random = (n: number) => Float32Array.from({ length: n }, () => Math.random() * 4 - 2);
  const rows: Record<string, string | number>[] = CASES.map(([name]) => ({ op: name }));
  for (const [column, b, threads] of columns) {
    await wg.useDevice('cpu', { threads });
    const x = b.upload(random(N), 'float32');
    const inputs = new Map(CASES.filter((c) => c[2]).map((c) => [c[0], b.upload(random(c[2]!.reduce((p, q) => p * q, 1)), 'float32')]));
    for (let i = 0; i < CASES.length; i++) {
      const [name, op, yShape] = CASES[i];
      rows[i][`${column} ms`] = await timeCase(b, op, yShape, x, inputs.get(name) ?? null);
    }
    for (const s of [x, ...inputs.values()]) b.dispose(s);
  }
  await wg.useDevice('cpu', { threads: all });
  printTable(`elementwise ops on ${N.toLocaleString('en-US')} float32 elements (median ms); ${cpu.description}`, rows);
  return { elements: N, rows };
}
