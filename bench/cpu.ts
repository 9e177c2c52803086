/**
 * `npm run bench -- cpu`: the cpu backend's convolution and matrix multiply, in GFLOP/s, on
 * its WASM SIMD kernels with every thread, with one thread, and (matmul 512³) the JS reference.
 */
import * as wg from '@webgrad/tensor';
import { convFlops, gflops, printTable, time } from './util';

export const convShapes = [
  { name: '(64,3,32,32)->32 k3 p1', x: [64, 3, 32, 32], cout: 32 },
  { name: '(64,32,16,16)->64 k3 p1', x: [64, 32, 16, 16], cout: 64 },
  { name: '(64,64,8,8)->128 k3 p1', x: [64, 64, 8, 8], cout: 128 },
];

/** The dilated middle layer of the lab's dilatedCnn (as in the peers group), at d = 2 and 5. */
const dilatedShapes = [2, 5].map((d) => ({ name: `(64,32,30,30)->64 k3 d${d}`, x: [64, 32, 30, 30], cout: 64, dilation: d, padding: 0 }));

async function cpuRows(): Promise<Record<string, string | number>[]> {
  const rows: Record<string, string | number>[] = [];
  for (const s of [...convShapes.map((c) => ({ ...c, dilation: 1, padding: 1 })), ...dilatedShapes]) {
    const opts = { padding: s.padding, dilation: s.dilation };
    const out = s.x.slice(2).map((v) => v + 2 * s.padding - 2 * s.dilation);
    const x = wg.randn(s.x, { requiresGrad: true });
    const w = wg.randn([s.cout, s.x[1], 3, 3], { requiresGrad: true });
    const flops = convFlops(s.x[0], s.x[1], s.cout, out, [3, 3]);
    const fwd = await time(() => wg.tidy(() => void wg.conv2d(x, w, null, opts)));
    const both = await time(() =>
      wg.tidy(() => {
        wg.conv2d(x, w, null, opts).backward(wg.ones([s.x[0], s.cout, ...out]));
        x.grad?.dispose();
        w.grad?.dispose();
        x.grad = w.grad = null;
      }),
    );
    rows.push({ workload: `conv2d ${s.name}`, 'forward GFLOP/s': gflops(flops, fwd.medianMs), 'fwd+bwd GFLOP/s': gflops(3 * flops, both.medianMs), 'forward ms': fwd.medianMs, 'fwd+bwd ms': both.medianMs });
    wg.tidy(() => [x, w].forEach((t) => t.dispose()));
  }
  for (const n of [512, 1024]) {
    const a = wg.randn([n, n]);
    const b = wg.randn([n, n]);
    const mm = await time(() => wg.tidy(() => void wg.matmul(a, b)));
    rows.push({ workload: `matmul ${n}³`, 'forward GFLOP/s': gflops(2 * n ** 3, mm.medianMs), 'fwd+bwd GFLOP/s': '', 'forward ms': mm.medianMs, 'fwd+bwd ms': '' });
    a.dispose();
    b.dispose();
  }
  return rows;
}

export async function benchCpu(): Promise<object> {
  wg.setDefaultDevice('cpu');
  wg.manualSeed(0);
  const threads = wg.cpuThreads();
  const result: Record<string, unknown> = {};
  for (const t of threads > 1 ? [threads, 1] : [threads]) {
    const { description } = await wg.useDevice('cpu', { threads: t });
    const rows = await cpuRows();
    printTable(`cpu backend: ${description}`, rows);
    result[`threads${t}`] = { description, rows };
  }
  await wg.useDevice('cpu', { threads });
  // the JS reference kernels on the same product, for the ratio
  const ref = wg.cpuReferenceBackend;
  const n = 512;
  const a = ref.upload(wg.randn([n, n]).dataSync(), 'float32');
  const b = ref.upload(wg.randn([n, n]).dataSync(), 'float32');
  const p = { batch: 1, m: n, n, k: n, transA: false, transB: false, aBatchStride: 0, bBatchStride: 0 };
  const mm = await time(() => ref.dispose(ref.matmul(a, b, p, 'float32')), { repeats: 3 });
  ref.dispose(a);
  ref.dispose(b);
  const refRow = { workload: `matmul ${n}³, JS reference kernel`, 'forward GFLOP/s': gflops(2 * n ** 3, mm.medianMs), 'forward ms': mm.medianMs };
  printTable('cpu JS reference (one thread)', [refRow]);
  result.reference = refRow;
  return result;
}
