import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';

/**
 * Starts this package's worker thread. The built package runs dist/worker.js directly. From
 * the TypeScript sources (tests, tsx) the worker is a .ts file, and in Node 20 a worker does not
 * inherit the parent's loader hooks, so a two-line bootstrap registers tsx inside it first.
 */
/** tsx's ESM register API, found through its package.json (its CommonJS build cannot register hooks here). */
function tsxEsmApi(): string {
  const manifest = createRequire(import.meta.url).resolve('tsx/package.json');
  const exports = JSON.parse(readFileSync(manifest, 'utf8')).exports['./esm/api'];
  return pathToFileURL(join(dirname(manifest), exports.import.default)).href;
}

export function spawnWorker(): Worker {
  const fromSource = import.meta.url.endsWith('.ts');
  const entry = new URL(fromSource ? './worker.ts' : './worker.js', import.meta.url).href;
  if (!fromSource) return new Worker(new URL(entry));
  const tsxApi = tsxEsmApi();
  const boot = `import(${JSON.stringify(tsxApi)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(entry)}); });`;
  return new Worker(boot, { eval: true });
}
