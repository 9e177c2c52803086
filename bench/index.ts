/**
 * `npm run bench [-- group ...]`: groups cpu, peak, kernels, elementwise, fused, train, data, loops, memops, batchnorm, peers, host.
 * No group runs them all. Results go to bench/results/<date-time>.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { releaseWebGPU } from '@webgrad/tensor';

type Group = () => Promise<object>;

const descriptions: Record<string, string> = {
  cpu: 'conv2d and matmul GFLOP/s on the cpu backend',
  peak: "the machine's WebAssembly SIMD peak against the GEMM micro-kernel and matmul (what bounds the cpu backend)",
  kernels: 'matmul, conv2d and dilated conv GFLOP/s on webgpu and cpu',
  elementwise: 'elementwise ops at 1M elements: the JS loops against the WASM SIMD kernels on 1 and every thread',
  fused: 'three elementwise ops as three calls against one fused op at [64,32,32,32]: cpu WASM and webgpu',
  train: 'images/s of one training step (batch 64) for simpleCnn, dilatedCnn, resnet18',
  data: 'CIFAR-10 decode, cache load and DataLoader batches/s',
  loops: 'the hand-written loop convolution against the kernels (table + log-scale PNG chart)',
  memops: "the cpu backend's pooling backward, reductions, softmax and optimizer steps: JS reference against WASM",
  batchnorm: 'batch norm with relu / residual / running statistics / reluGrad fused, against the separate calls, on WASM and webgpu',
  peers: 'webgrad against TensorFlow.js (cpu, wasm, webgpu) and PyTorch (cpu, when installed): one table of ratios',
  host: "host ms per WebGPU training step on Dawn's null backend (the ceiling on any GPU), commands per step, against TF.js webgpu",
};

const groups: Record<string, () => Promise<Group>> = {
  cpu: async () => (await import('./cpu')).benchCpu,
  peak: async () => (await import('./peak')).benchPeak,
  kernels: async () => (await import('./kernels')).benchKernels,
  elementwise: async () => (await import('./elementwise')).benchElementwise,
  fused: async () => (await import('./elementwise')).benchFused,
  train: async () => (await import('./train')).benchTrain,
  data: async () => (await import('./data')).benchData,
  loops: async () => (await import('./loops')).benchLoops,
  memops: async () => (await import('./memops')).benchMemops,
  batchnorm: async () => (await import('./batch-norm')).benchBatchNorm,
  peers: async () => (await import('./peers')).benchPeers,
  host: async () => (await import('./host')).benchHost,
};

async function main(): Promise<void> {
  if (process.argv.includes('--help') || process.argv.includes('-h')) {
    console.log('npm run bench [-- group ...]   (no group: all of them)\n');
    for (const [name, what] of Object.entries(descriptions)) console.log(`  ${name.padEnd(8)} ${what}`);
    return;
  }
  const asked = process.argv.slice(2).filter((a) => !a.startsWith('-'));
  const unknown = asked.filter((g) => !(g in groups));
  if (unknown.length) {
    console.error(`unknown bench group(s): ${unknown.join(', ')}; groups: ${Object.keys(groups).join(', ')}`);
    process.exit(2);
  }
  // host goes last: it installs Dawn's null adapter as navigator.gpu and TF.js's webgpu backend
  // for the rest of the process, so a webgpu group after it would measure the null device.
  const names = (asked.length ? asked : Object.keys(groups)).sort((a, b) => Number(a === 'host') - Number(b === 'host'));
  const results: Record<string, object> = {};
  const seconds: Record<string, number> = {};
  const start = performance.now();
  for (const name of names) {
    const t0 = performance.now();
    const run = await groups[name]();
    results[name] = await run();
    seconds[name] = (performance.now() - t0) / 1000;
  }
  const total = (performance.now() - start) / 1000;
  console.log(`\ntime: ${names.map((n) => `${n} ${seconds[n].toFixed(0)} s`).join(', ')}; total ${(total / 60).toFixed(1)} min`);
  const dir = join(dirname(fileURLToPath(import.meta.url)), 'results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, JSON.stringify({ date: new Date().toISOString(), node: process.version, seconds, results }, null, 2));
  console.log(`\nresults: ${file}`);
  await releaseWebGPU();
}

await main();
