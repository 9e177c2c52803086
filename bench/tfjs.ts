/**
 * Loads TensorFlow.js 4.22 (core + gradients + cpu, wasm and webgpu backends) for `npm run bench -- peers`.
 *
 * tfjs-core's Node entry (a CommonJS bundle) carries no gradient functions; they live only in
 * its ES-module files, which import directories without extensions and so cannot be loaded
 * by Node (or tsx) as they are. So the four packages are bundled once with esbuild, ES
 * modules throughout (one copy of tfjs-core), into node_modules/.cache/webgrad-bench/, and
 * that file is imported. Rebuilt when the installed tfjs changes.
 *
 * tfjs-backend-webgpu registers itself at import time only if `navigator.gpu` exists, so
 * call installNavigatorGpu() (bench/gpu-device.ts) before loadTfjs() to get it.
 *
 * tfjs-backend-wasm ships its .wasm binaries inside the npm package; loadTfjs() points it at
 * that folder (setWasmPaths), so nothing is fetched. The bundle re-exports setWasmPaths and
 * getThreadsCount under `wasm`.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const packages = ['@tensorflow/tfjs-core', '@tensorflow/tfjs-backend-cpu', '@tensorflow/tfjs-backend-wasm', '@tensorflow/tfjs-backend-webgpu'];

// A loose type: the bench uses a small, stable part of the tfjs API.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Tfjs = any;

let loaded: Promise<Tfjs> | null = null;

export function tfjsVersion(): string {
  const req = createRequire(join(root, 'package.json'));
  return JSON.parse(readFileSync(req.resolve('@tensorflow/tfjs-core/package.json'), 'utf8')).version;
}

export function loadTfjs(): Promise<Tfjs> {
  loaded ??= (async () => {
    const req = createRequire(join(root, 'package.json'));
    const pkgFiles = packages.map((p) => req.resolve(`${p}/package.json`));
    const contents = [
      "export * from '@tensorflow/tfjs-core';",
      "export * as wasm from '@tensorflow/tfjs-backend-wasm';",
      "import '@tensorflow/tfjs-core/dist/register_all_gradients';",
      "import '@tensorflow/tfjs-backend-cpu';",
      "import '@tensorflow/tfjs-backend-webgpu';",
    ].join('\n');
    // CommonJS names the bundled code expects (emscripten's loader in tfjs-backend-wasm reads __dirname).
    const banner = [
      "import { createRequire as __wgCreateRequire } from 'node:module';",
      "import { fileURLToPath as __wgFileURLToPath } from 'node:url';",
      'const require = __wgCreateRequire(import.meta.url);',
      'const __filename = __wgFileURLToPath(import.meta.url);',
      "const __dirname = __filename.slice(0, __filename.lastIndexOf('/'));",
    ].join(' ');
    // The file name carries a hash of the entry and banner, so changing either rebuilds the bundle.
    const hash = createHash('sha256').update(contents).update(banner).digest('hex').slice(0, 12);
    const out = join(root, 'node_modules', '.cache', 'webgrad-bench', `tfjs-${hash}.mjs`);
    const stale = !existsSync(out) || pkgFiles.some((f) => statSync(f).mtimeMs > statSync(out).mtimeMs);
    if (stale) {
      const { build } = await import('esbuild');
      mkdirSync(dirname(out), { recursive: true });
      await build({
        stdin: {
          contents,
          resolveDir: root,
          loader: 'js',
        },
        bundle: true,
        platform: 'node',
        format: 'esm',
        mainFields: ['module', 'main'],
        outfile: out,
        logLevel: 'error',
        banner: { js: banner },
      });
    }
    const tf: Tfjs = await import(pathToFileURL(out).href);
    tf.enableProdMode(); // no per-op NaN checks, and no "install tfjs-node" banner
    // The .wasm binaries from the installed package (a folder prefix, so each variant is found).
    tf.wasm.setWasmPaths(dirname(req.resolve('@tensorflow/tfjs-backend-wasm/package.json')) + '/dist/');
    return tf;
  })();
  return loaded;
}

/** Waits for every op queued so far: on webgpu, submits tfjs's pending commands and awaits the queue; elsewhere reads the tensors. */
export async function tfjsSync(tf: Tfjs, tensors: { data(): Promise<unknown> }[]): Promise<void> {
  const be = tf.backend();
  if (tf.getBackend() === 'webgpu' && be?.device && typeof be.submitQueue === 'function') {
    be.ensureCommandEncoderReady();
    be.endComputePassEncoder();
    be.submitQueue();
    await be.device.queue.onSubmittedWorkDone();
    return;
  }
  await Promise.all(tensors.map((t) => t.data()));
}
