/**
 * `npm run bench [-- group ...]`: groups cpu, kernels, train, data, loops, peers.
 * No group runs them all. Results go to bench/results/<date-time>.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { releaseWebGPU } from '@webgrad/tensor';

type Group = () => Promise<object>;

const groups: Record<string, () => Promise<Group>> = {
  cpu: async () => (await import('./cpu')).benchCpu,
  kernels: async () => (await import('./kernels')).benchKernels,
  train: async () => (await import('./train')).benchTrain,
  data: async () => (await import('./data')).benchData,
  loops: async () => (await import('./loops')).benchLoops,
  peers: async () => (await import('./peers')).benchPeers,
};

async function main(): Promise<void> {
  const asked = process.argv.slice(2).filter((a) => !a.startsWith('-'));
  const unknown = asked.filter((g) => !(g in groups));
  if (unknown.length) {
    console.error(`unknown bench group(s): ${unknown.join(', ')}; groups: ${Object.keys(groups).join(', ')}`);
    process.exit(2);
  }
  const names = asked.length ? asked : Object.keys(groups);
  const results: Record<string, object> = {};
  for (const name of names) {
    const run = await groups[name]();
    results[name] = await run();
  }
  const dir = join(dirname(fileURLToPath(import.meta.url)), 'results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, JSON.stringify({ date: new Date().toISOString(), node: process.version, results }, null, 2));
  console.log(`\nresults: ${file}`);
  await releaseWebGPU();
}

await main();
