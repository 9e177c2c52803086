/**
 * `npm run bench -- kernels`: GFLOP/s of the backends' matmul and convolution kernels,
 * called directly (no autograd), webgpu and cpu side by side. Each entry is the median of
 * a few repeats after a warm-up, timed to completion with `await backend.sync()`.
 */
import * as wg from '@webgrad/tensor';
import type { Backend, ConvParams, Storage } from '@webgrad/tensor';
import { convFlops, gflops, printTable, time } from './util';

interface ConvCase { name: string; n: number; cin: number; hw: number; cout: number; k: number; pad: number; dil: number }

const CONVS: ConvCase[] = [
  { name: '(64,3,32,32)->32 k3 p1', n: 64, cin: 3, hw: 32, cout: 32, k: 3, pad: 1, dil: 1 },
  { name: '(64,32,16,16)->64 k3 p1', n: 64, cin: 32, hw: 16, cout: 64, k: 3, pad: 1, dil: 1 },
  { name: '(64,64,8,8)->128 k3 p1', n: 64, cin: 64, hw: 8, cout: 128, k: 3, pad: 1, dil: 1 },
  { name: '(64,32,32,32)->32 k3 d2 p2', n: 64, cin: 32, hw: 32, cout: 32, k: 3, pad: 2, dil: 2 },
  { name: '(64,32,32,32)->32 k3 d5 p5', n: 64, cin: 32, hw: 32, cout: 32, k: 3, pad: 5, dil: 5 },
];

const MATMULS = [256, 512, 1024];

function random(n: number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = Math.random() * 2 - 1;
  return a;
}

function convParams(c: ConvCase): ConvParams {
  const out = c.hw + 2 * c.pad - c.dil * (c.k - 1);
  return {
    batch: c.n, inChannels: c.cin, outChannels: c.cout, groups: 1, inSize: [c.hw, c.hw], kernel: [c.k, c.k],
    outSize: [out, out], stride: [1, 1], padding: [c.pad, c.pad], dilation: [c.dil, c.dil],
  };
}

/** Median ms of `run` (which returns the storages it made, disposed after each repeat). */
async function timeOp(b: Backend, run: () => Storage[], repeats: number): Promise<number> {
  const t = await time(async () => {
    const made = run();
    await b.sync();
    for (const s of made) b.dispose(s);
  }, { warmup: 1, repeats, budgetMs: 20_000 });
  return t.medianMs;
}

async function benchBackend(b: Backend, repeats: number): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const n of MATMULS) {
    const a = b.upload(random(n * n), 'float32'), c = b.upload(random(n * n), 'float32');
    const p = { batch: 1, m: n, n, k: n, transA: false, transB: false, aBatchStride: 0, bBatchStride: 0 };
    const ms = await timeOp(b, () => [b.matmul(a, c, p, 'float32')], repeats);
    out[`matmul ${n}^3`] = gflops(2 * n ** 3, ms);
    b.dispose(a);
    b.dispose(c);
  }
  for (const c of CONVS) {
    const p = convParams(c);
    const x = b.upload(random(c.n * c.cin * c.hw * c.hw), 'float32');
    const w = b.upload(random(c.cout * c.cin * c.k * c.k), 'float32');
    const bias = b.upload(random(c.cout), 'float32');
    const gy = b.upload(random(c.n * c.cout * p.outSize[0] * p.outSize[1]), 'float32');
    const flops = convFlops(c.n, c.cin, c.cout, p.outSize, p.kernel);
    const fwd = await timeOp(b, () => [b.conv(x, w, bias, p, 'float32')], repeats);
    const both = await timeOp(b, () => [b.conv(x, w, bias, p, 'float32'), b.convBackwardInput(gy, w, p, 'float32'), b.convBackwardWeight(x, gy, p, 'float32').weight], repeats);
    out[`conv2d ${c.name} forward`] = gflops(flops, fwd);
    out[`conv2d ${c.name} fwd+bwd`] = gflops(3 * flops, both);
    for (const s of [x, w, bias, gy]) b.dispose(s);
  }
  return out;
}

export async function benchKernels(): Promise<object> {
  const results: Record<string, Record<string, number>> = {};
  // cpu: the backend as it runs (WASM SIMD on every thread); cpu-js: its JavaScript reference kernels
  const devices: [string, Backend][] = [['cpu', wg.getBackend('cpu')], ['cpu-js', wg.cpuReferenceBackend]];
  const prev = wg.getDefaultDevice();
  try {
    const info = await wg.useDevice('webgpu');
    devices.unshift([`webgpu (${info.description})`, wg.getBackend('webgpu')]);
  } catch (err) {
    console.log(`webgpu unavailable: ${(err as Error).message.split('\n')[0]}`);
  } finally {
    wg.setDefaultDevice(prev);
  }
  for (const [name, b] of devices) results[name] = await benchBackend(b, name.startsWith('cpu') ? 3 : 5);
  const names = Object.keys(results);
  const rows = Object.keys(results[names[0]]).map((kernel) => {
    const row: Record<string, string | number> = { kernel };
    for (const n of names) row[`${n.split(' ')[0]} GFLOP/s`] = results[n][kernel];
    return row;
  });
  printTable(`kernels (GFLOP/s; forward+backward counts 3x the forward FLOPs)${names[0].startsWith('webgpu') ? `; ${names[0]}` : ''}; ${wg.getBackend('cpu').description}`, rows);
  return results;
}
