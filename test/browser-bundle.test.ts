/**
 * The packages bundle for a browser as they are: esbuild and Vite resolve `@webgrad/tensor`
 * and `@webgrad/nn` to their browser entries, which reach no Node built-in (no Dawn, no
 * files, no terminal). The Node entries are bundled too, to show the check can fail.
 */
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { esbuildForBrowser, repoRoot, viteForBrowser } from './browser/bundle';

const consumer = join(repoRoot, 'test/browser/consumer.ts');
const nodeOnlyFiles = /node\.ts$|webgpu\/dawn\.ts|checkpoint\/file\.ts|progress-bar\.ts|node_modules\/(webgpu|cli-progress)\//;

describe('browser bundles', () => {
  it('esbuild: the whole of tensor, and of tensor + nn, with no unresolved module and no Node-only file', async () => {
    const tensorOnly = await esbuildForBrowser({ code: "export * from '@webgrad/tensor';" });
    const both = await esbuildForBrowser({ code: "export * as wg from '@webgrad/tensor'; export * as nn from '@webgrad/nn';" });
    const page = await esbuildForBrowser({ file: consumer });
    for (const r of [tensorOnly, both, page]) {
      expect(r.errors).toEqual([]);
      expect(r.inputs.filter((f) => nodeOnlyFiles.test(f))).toEqual([]);
    }
    expect(both.inputs.some((f) => f.includes('packages/nn/src/'))).toBe(true);
    console.log(`browser bundle, minified (esbuild): tensor ${(tensorOnly.bytes / 1024).toFixed(1)} KiB, tensor + nn ${(both.bytes / 1024).toFixed(1)} KiB`);
  });

  it('esbuild: the whole of datasets (loader, transforms, decoding from Files, Blobs, URLs) with no Node module; its Node entry does not bundle', async () => {
    const page = await esbuildForBrowser({ code: "export * from '@webgrad/datasets';" });
    expect(page.errors).toEqual([]);
    expect(page.inputs.filter((f) => /^node_modules\/(tar|cli-progress)\/|datasets\/src\/(node|worker-pool|load-image|paths)\.ts/.test(f))).toEqual([]);
    const node = await esbuildForBrowser({ code: "export * from '@webgrad/datasets/node';" });
    expect(node.errors.join('\n')).toMatch(/Could not resolve "node:(fs|os|worker_threads)"/);
  });

  it('esbuild: the Node entries do not bundle for a browser, and the errors name the Node modules', async () => {
    const r = await esbuildForBrowser({ code: "export * from '@webgrad/nn/node'; export * from '@webgrad/tensor/node';" });
    expect(r.errors.join('\n')).toMatch(/Could not resolve "node:fs\/promises"/);
    expect(r.errors.join('\n')).toMatch(/Could not resolve "(node:)?(path|events|readline|module|url)"/);
  });

  it('Vite: a page importing both packages builds with nothing stubbed out; the Node entry would be', async () => {
    const page = await viteForBrowser(consumer);
    expect(page.stubbed).toEqual([]);
    expect(page.bytes).toBeGreaterThan(1000);
    const nodeEntry = await viteForBrowser(join(repoRoot, 'packages/nn/src/node.ts'));
    expect(nodeEntry.stubbed).toEqual(expect.arrayContaining(['node:fs/promises', 'readline']));
  });
});
