import { defineConfig } from 'vitest/config';
import { fileURLToPath } from 'node:url';

const src = (file: string) => fileURLToPath(new URL(`./packages/${file}`, import.meta.url));

// The tests run in Node, so the packages resolve to their Node entry points (the "node"
// condition of their package.json); the browser entries are bundled by test/browser-bundle.
const alias = [
  { find: /^@webgrad\/kernels-ir$/, replacement: src('kernels-ir/src/index.ts') },
  { find: /^@webgrad\/kernels-wgsl$/, replacement: src('kernels-wgsl/src/index.ts') },
  { find: /^@webgrad\/kernels-wasm$/, replacement: src('kernels-wasm/src/index.ts') },
  { find: /^@webgrad\/tensor(\/node)?$/, replacement: src('tensor/src/node.ts') },
  { find: /^@webgrad\/nn(\/node)?$/, replacement: src('nn/src/node.ts') },
  { find: /^@webgrad\/datasets(\/node)?$/, replacement: src('datasets/src/node.ts') },
];

export default defineConfig({
  resolve: { alias },
  test: {
    include: ['test/**/*.test.ts', 'packages/*/test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Dawn keeps one device per process; forks isolate it from the cpu-only files.
    pool: 'forks',
  },
});
