/**
 * `npm run bench -- peak`: what bounds the cpu backend's GEMM on this machine. Three numbers
 * on one core, each the median of several runs:
 * - the WebAssembly SIMD peak: a loop of independent f32x4 fused multiply-adds (or mul + add
 *   where relaxed SIMD is off) on registers only, no memory traffic;
 * - the GEMM's macro-kernel alone: packed A block and B panels already in cache, the 4×8
 *   register tile over them (what the packed GEMM runs between its packing steps);
 * - the whole float32 matmul through the cpu backend (packing, edges, dispatch), on 1 thread
 *   and on every thread.
 * The ratios say where the time goes: peak → micro-kernel is the kernel's code, micro-kernel →
 * matmul is packing and memory, 1 → N threads is the pool.
 */
import * as wg from '@webgrad/tensor';
import {
  MC, KC, NC, assemble, brIf, f32x4, func, get, i32, kernelFunctions, loop, set, simdSupport, v128, type Code, type Local,
} from '@webgrad/kernels-wasm';
import { printTable } from './util';

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** GFLOP/s of `call` (which does `flops` each time), median of `runs` timed batches after warm-up. */
function rate(call: () => void, flops: number, reps: number, runs = 7): number {
  for (let i = 0; i < 3; i++) call();
  const samples: number[] = [];
  for (let r = 0; r < runs; r++) {
    const t0 = performance.now();
    for (let i = 0; i < reps; i++) call();
    samples.push((flops * reps) / ((performance.now() - t0) * 1e6));
  }
  return median(samples);
}

function memory(pages: number): WebAssembly.Memory {
  return new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true } as WebAssembly.MemoryDescriptor);
}

/** 12 independent accumulators: enough to cover the FMA latency at two per cycle. */
const PEAK_ACCUMULATORS = 12;

function peakLoop(relaxed: boolean): { run: (n: number) => void; flopsPerIteration: number } {
  const names = Array.from({ length: PEAK_ACCUMULATORS }, (_, k) => `a${k}`);
  const locals = Object.fromEntries([['i', 'i32'], ['b', 'v128'], ['c', 'v128'], ...names.map((n) => [n, 'v128'])]) as Record<string, 'i32' | 'v128'>;
  const fn = func('peak', { n: 'i32' }, locals, (v) => {
    const at = (n: string) => (v as Record<string, Local>)[n];
    const madd = (acc: Code) => (relaxed ? f32x4.relaxedMadd(get(at('b')), get(at('c')), acc) : f32x4.add(f32x4.mul(get(at('b')), get(at('c'))), acc));
    const sum = names.map((n) => get(at(n))).reduce((x, y) => f32x4.add(x, y));
    return [
      set(at('b'), v128.load(i32.const(0))),
      set(at('c'), v128.load(i32.const(16))),
      loop(...names.map((n) => set(at(n), madd(get(at(n))))), set(at('i'), i32.add(get(at('i')), i32.const(1))), brIf(0, i32.lt(get(at('i')), get(at('n'))))),
      v128.store(i32.const(32), sum), // keeps the loop alive
    ];
  });
  const mem = memory(1);
  const bytes = assemble({ module: 'env', field: 'memory', initialPages: 1, maximumPages: 1, shared: true }, [fn]);
  const ex = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory: mem } }).exports as { peak: (n: number) => void };
  return { run: ex.peak, flopsPerIteration: PEAK_ACCUMULATORS * 8 };
}

/** The GEMM's own module with its macro-kernel exported, on packed panels of random numbers. */
function macroKernel(relaxed: boolean): { run: () => void; flops: number } {
  const fns = kernelFunctions({ relaxed }).map((f) => (f.name === 'gemmMacro' ? { ...f, exported: true } : f));
  const pages = 512; // 32 MiB
  const bytes = assemble({ module: 'env', field: 'memory', initialPages: pages, maximumPages: pages, shared: true }, fns);
  const mem = memory(pages);
  const f = new Float32Array(mem.buffer);
  for (let i = 0; i < f.length; i++) f[i] = Math.random() - 0.5;
  const ex = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory: mem } }).exports as {
    gemmMacro: (pA: number, pB: number, C: number, ldc: number, mc: number, nc: number, kc: number, tile: number) => void;
  };
  const [pA, pB, C, tile] = [1 << 20, 4 << 20, 12 << 20, 20 << 20];
  return { run: () => ex.gemmMacro(pA, pB, C, NC * 4, MC, NC, KC, tile), flops: 2 * MC * NC * KC };
}

async function matmulRate(n: number, threads: number): Promise<number> {
  await wg.useDevice('cpu', { threads });
  const a = wg.randn([n, n]);
  const b = wg.randn([n, n]);
  const samples: number[] = [];
  for (let r = 0; r < 8; r++) {
    const t0 = performance.now();
    const c = a.matmul(b);
    await c.data();
    if (r >= 2) samples.push((2 * n ** 3) / ((performance.now() - t0) * 1e6));
    c.dispose();
  }
  a.dispose();
  b.dispose();
  return median(samples);
}

export async function benchPeak(): Promise<object> {
  const description = wg.getBackend('cpu').description; // starts the runtime (its engine flags come first)
  const threads = wg.cpuThreads();
  const { simd, relaxed } = simdSupport();
  if (!simd) {
    console.log('\npeak: this runtime has no WebAssembly SIMD; nothing to measure');
    return { simd: false };
  }
  const peak = peakLoop(relaxed);
  // wasm has no on-stack replacement: short calls first, so the long ones run optimised code
  for (let i = 0; i < 2000; i++) peak.run(100);
  const peakRate = rate(() => peak.run(1e6), 1e6 * peak.flopsPerIteration, 5);
  const macro = macroKernel(relaxed);
  const macroRate = rate(macro.run, macro.flops, 20);
  const one = await matmulRate(1024, 1);
  const all = await matmulRate(1024, threads);
  await wg.useDevice('cpu', { threads });
  const rows = [
    { measure: `SIMD peak, one core (${PEAK_ACCUMULATORS} ${relaxed ? 'fused multiply-add' : 'mul + add'} chains on registers)`, 'GFLOP/s': peakRate, 'of peak': '100 %' },
    { measure: `GEMM macro-kernel alone (packed ${MC}×${KC} A block, ${KC}×${NC} B panels, in cache), one core`, 'GFLOP/s': macroRate, 'of peak': `${((100 * macroRate) / peakRate).toFixed(0)} %` },
    { measure: 'matmul 1024³ through the cpu backend, 1 thread', 'GFLOP/s': one, 'of peak': `${((100 * one) / peakRate).toFixed(0)} %` },
    { measure: `matmul 1024³ through the cpu backend, ${threads} threads`, 'GFLOP/s': all, 'of peak': `${((100 * all) / (peakRate * threads)).toFixed(0)} % of ${threads} × peak` },
  ];
  printTable(`What bounds the GEMM: ${description}`, rows);
  return { description, relaxed, threads, peakPerCore: peakRate, macroKernel: macroRate, matmul1024: { oneThread: one, allThreads: all } };
}
