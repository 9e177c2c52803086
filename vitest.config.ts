import { defineConfig } from 'vitest/config';
import { fileURLToPath } from 'node:url';

const pkg = (name: string) => fileURLToPath(new URL(`./packages/${name}/src/index.ts`, import.meta.url));

export default defineConfig({
  resolve: {
    alias: {
      '@webgrad/kernels-wgsl': pkg('kernels-wgsl'),
      '@webgrad/kernels-wasm': pkg('kernels-wasm'),
      '@webgrad/tensor': pkg('tensor'),
      '@webgrad/nn': pkg('nn'),
      '@webgrad/datasets': pkg('datasets'),
    },
  },
  test: {
    include: ['test/**/*.test.ts', 'packages/*/test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Dawn keeps one device per process; forks isolate it from the cpu-only files.
    pool: 'forks',
  },
});
