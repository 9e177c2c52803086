/**
 * `bench/gpu.sh --prepare` step: bundles bench/gpu-main.ts (with webgrad's packages inlined
 * through tsconfig paths) into one ES module, <out>/bench.mjs, for a machine with no
 * node_modules. Kept outside: `webgpu` (its dawn.node is loaded from a computed path; gpu.sh
 * carries the package beside the bundle) and the bench-only libraries that the GPU groups
 * never load (tfjs, vega, resvg, esbuild). A module of the repository that is not in the tree
 * yet (a bench group, a backend) becomes a stub that throws when loaded, and is named.
 *
 *   npx tsx bench/gpu-bundle.ts <out dir>
 */
import { existsSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type Plugin } from 'esbuild';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const outDir = resolve(process.argv[2] ?? join(root, '.gpu'));

/** Relative imports inside the repository whose file does not exist (yet) become throwing stubs. */
const missing: string[] = [];
const missingModules: Plugin = {
  name: 'missing-modules',
  setup(b) {
    b.onResolve({ filter: /^\.\.?\// }, (args) => {
      if (!args.importer.startsWith(root) || args.importer.includes('node_modules')) return undefined;
      const base = join(args.resolveDir, args.path);
      const found = ['', '.ts', '.js', '.mjs', '/index.ts', '/index.js'].some((ext) => existsSync(base + ext) && (ext !== '' || !base.endsWith('/')));
      if (found) return undefined;
      const rel = relative(root, base);
      missing.push(rel);
      return { path: rel, namespace: 'missing-module' };
    });
    b.onLoad({ filter: /.*/, namespace: 'missing-module' }, (args) => ({
      contents: `throw new Error(${JSON.stringify(`${args.path} was not in the tree when bench/gpu.sh --prepare bundled the bench`)});`,
      loader: 'js',
    }));
  },
};

const result = await build({
  entryPoints: [join(root, 'bench', 'gpu-main.ts')],
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  outfile: join(outDir, 'bench.mjs'),
  tsconfig: join(root, 'tsconfig.json'),
  external: ['webgpu', '@tensorflow/*', 'vega', 'vega-lite', '@resvg/resvg-js', 'esbuild'],
  banner: { js: "import { createRequire as __wgCreateRequire } from 'node:module'; const require = __wgCreateRequire(import.meta.url);" },
  plugins: [missingModules],
  logLevel: 'warning',
  metafile: true,
});
const bytes = Object.values(result.metafile.outputs).reduce((a, o) => a + o.bytes, 0);
if (missing.length) console.log(`warning: not in the tree, stubbed (they throw when used): ${[...new Set(missing)].join(', ')}`);
console.log(`bundled bench/gpu-main.ts -> ${join(outDir, 'bench.mjs')} (${(bytes / 1024).toFixed(0)} KiB)`);
