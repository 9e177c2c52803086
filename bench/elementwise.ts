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

// --- fused ---------------------------------------------------------------------------------

const FUSED_SHAPE = [64, 32, 32, 32];
const FUSED_N = FUSED_SHAPE.reduce((a, b) => a * b, 1);

/** [row name, first op (x, w), second op (·, bias [C,1,1]), third op (unary)]. */
const FUSED_CASES: [string, string, string, string][] = [
  ['mul · add [C,1,1] · relu', 'mul', 'add', 'relu'],
  ['mul · add [C,1,1] · sigmoid', 'mul', 'add', 'sigmoid'],
];

/**
 * `npm run bench -- fused`: three elementwise ops as three backend calls (two intermediate
 * tensors written and read back) against one fused op (kernels-ir's inlineOp), on the cpu
 * backend's WASM kernels (every thread) and on webgpu, at [64,32,32,32] float32.
 */
export async function benchFused(): Promise<object> {
  const { fusedOp, inlineOp, expr: E } = await import('@webgrad/kernels-ir');
  const op = (name: string) => wg.elementwiseOps.get(name)!.op;
  const random = (n: number) => Float32Array.from({ length: n }, () => Math.random() * 4 - 2);
  const backends: [string, Backend][] = [['cpu WASM', wg.getBackend('cpu')]];
  let gpuNote = '';
  try {
    await wg.useDevice('webgpu');
    backends.push(['webgpu', wg.getBackend('webgpu')]);
    wg.setDefaultDevice('cpu');
  } catch (err) {
    gpuNote = `; webgpu skipped: ${(err as Error).message.split('\n')[0]}`;
  }
  const rows: Record<string, string | number>[] = FUSED_CASES.map(([name]) => ({ ops: name }));
  for (const [column, b] of backends) {
    const x = b.upload(random(FUSED_N), 'float32'), w = b.upload(random(FUSED_N), 'float32'), bias = b.upload(random(32), 'float32');
    for (let i = 0; i < FUSED_CASES.length; i++) {
      const [, first, second, third] = FUSED_CASES[i];
      const fused = fusedOp(inlineOp(op(third), [inlineOp(op(second), [inlineOp(op(first), [E.arg(0), E.arg(1)]), E.arg(2)])]), 3);
      const separate = () => {
        const t1 = b.binary(op(first), x, FUSED_SHAPE, w, FUSED_SHAPE, FUSED_SHAPE, 'float32', 'float32');
        const t2 = b.binary(op(second), t1, FUSED_SHAPE, bias, CHANNEL, FUSED_SHAPE, 'float32', 'float32');
        b.dispose(t1);
        const t3 = b.unary(op(third), t2, FUSED_N, 'float32', 'float32', 0, 0);
        b.dispose(t2);
        return t3;
      };
      const once = () => b.fused(fused, [x, w, bias], [FUSED_SHAPE, FUSED_SHAPE, CHANNEL], FUSED_SHAPE);
      for (const [label, run] of [['3 calls', separate], ['fused', once]] as const) {
        const t = await time(async () => {
          b.dispose(run());
          await b.sync();
        }, { warmup: 2, repeats: 15, budgetMs: 5_000 });
        rows[i][`${column} ${label} ms`] = t.medianMs;
      }
    }
    for (const s of [x, w, bias]) b.dispose(s);
  }
  const describe = backends.map(([c, b]) => `${c}: ${b.description}`).join('; ');
  printTable(`three elementwise ops one by one against one fused op on ${FUSED_N.toLocaleString('en-US')} float32 elements (median ms); ${describe}${gpuNote}`, rows);
  return { elements: FUSED_N, shape: FUSED_SHAPE, rows, backends: backends.map(([c, b]) => [c, b.description]) };
}
