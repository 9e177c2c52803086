/** `npm run bench -- cpu`: the cpu backend's convolution and matrix multiply, in GFLOP/s. */
import * as wg from '@webgrad/tensor';
import { convFlops, gflops, printTable, time } from './util';

export const convShapes = [
  { name: '(64,3,32,32)->32 k3 p1', x: [64, 3, 32, 32], cout: 32 },
  { name: '(64,32,16,16)->64 k3 p1', x: [64, 32, 16, 16], cout: 64 },
  { name: '(64,64,8,8)->128 k3 p1', x: [64, 64, 8, 8], cout: 128 },
];

export async function benchCpu(): Promise<object> {
  wg.setDefaultDevice('cpu');
  wg.manualSeed(0);
  const rows: Record<string, string | number>[] = [];
  for (const s of convShapes) {
    const x = wg.randn(s.x, { requiresGrad: true });
    const w = wg.randn([s.cout, s.x[1], 3, 3], { requiresGrad: true });
    const flops = convFlops(s.x[0], s.x[1], s.cout, s.x.slice(2), [3, 3]);
    const fwd = await time(() => wg.tidy(() => void wg.conv2d(x, w, null, { padding: 1 })));
    const both = await time(() =>
      wg.tidy(() => {
        wg.conv2d(x, w, null, { padding: 1 }).backward(wg.ones([s.x[0], s.cout, s.x[2], s.x[3]]));
        x.grad?.dispose();
        w.grad?.dispose();
        x.grad = w.grad = null;
      }),
    );
    rows.push({ workload: `conv2d ${s.name}`, 'forward GFLOP/s': gflops(flops, fwd.medianMs), 'fwd+bwd GFLOP/s': gflops(3 * flops, both.medianMs), 'forward ms': fwd.medianMs, 'fwd+bwd ms': both.medianMs });
  }
  const a = wg.randn([512, 512]);
  const b = wg.randn([512, 512]);
  const mm = await time(() => wg.tidy(() => void wg.matmul(a, b)));
  rows.push({ workload: 'matmul 512³', 'forward GFLOP/s': gflops(2 * 512 ** 3, mm.medianMs), 'fwd+bwd GFLOP/s': '', 'forward ms': mm.medianMs, 'fwd+bwd ms': '' });
  printTable('cpu backend (JavaScript, one thread)', rows);
  return { rows };
}
