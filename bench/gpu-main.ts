/**
 * Entry point of the bundle that bench/gpu.sh runs on a machine with a GPU (no Node install,
 * no node_modules there: `bench/gpu.sh --prepare` bundles this file with esbuild).
 *
 *   node .gpu/bench.mjs [group ...]     groups: kernels, train (webgpu only), loops, host; default kernels train host
 *
 * Writes <results dir>/<date-time>-gpu.json (BENCH_RESULTS_DIR, else results/ beside the bundle).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as wg from '@webgrad/tensor';

const groups: Record<string, () => Promise<object>> = {
  kernels: async () => (await import('./kernels')).benchKernels(),
  // The cpu rows of `train` take minutes on their own (resnet18); the GPU run wants webgpu.
  train: async () => (await import('./train')).benchTrain({ devices: ['webgpu'] }),
  loops: async () => (await import('./loops')).benchLoops({ chart: false }),
  // Dawn's null backend ships in the same dawn.node; TF.js is not carried to the GPU machine.
  host: async () => (await import('./host')).benchHost({ tfjs: false }),
};

async function main(): Promise<void> {
  const asked = process.argv.slice(2).filter((a) => !a.startsWith('-'));
  const names = asked.length ? asked : ['kernels', 'train', 'host'];
  const unknown = names.filter((g) => !(g in groups));
  if (unknown.length) {
    console.error(`unknown GPU bench group(s): ${unknown.join(', ')}; groups: ${Object.keys(groups).join(', ')}`);
    process.exit(2);
  }
  let adapter = 'none';
  try {
    adapter = (await wg.useDevice('webgpu')).description;
    console.log(`webgpu: ${adapter}`);
  } catch (err) {
    console.log(`webgpu did not open: ${(err as Error).message.split('\n')[0]}`);
  } finally {
    wg.setDefaultDevice('cpu');
  }
  const results: Record<string, object> = {};
  for (const name of names) {
    const t0 = performance.now();
    try {
      results[name] = await groups[name]();
    } catch (err) {
      console.log(`group ${name} failed: ${(err as Error).message.split('\n')[0]}`);
      results[name] = { error: (err as Error).message };
    }
    console.log(`  (${name}: ${((performance.now() - t0) / 1000).toFixed(0)} s)`);
  }
  const dir = process.env.BENCH_RESULTS_DIR ?? join(dirname(fileURLToPath(import.meta.url)), 'results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${new Date().toISOString().replace(/[:.]/g, '-')}-gpu.json`);
  writeFileSync(file, JSON.stringify({ date: new Date().toISOString(), node: process.version, adapter, results }, null, 2));
  console.log(`\nresults: ${file}`);
  await wg.releaseWebGPU();
  const { releaseBenchGpu } = await import('./gpu-device');
  await releaseBenchGpu();
}

await main();
